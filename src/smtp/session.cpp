// session.cpp: the SMTP server state machine (RFC 5321 4.1.4 order of commands,
// 3.3 transactions, 4.2.5 DATA replies; RFC 2920; RFC 1870; RFC 3207 4.2; RFC
// 3030 2-3; RFC 6531 3.5). See session.hpp for the driver contract.
// Security: the session never trusts the peer's order of commands; a driver that
// calls an event in the wrong state is a bug and aborts (MXG_ASSERT).
#include "smtp/session.hpp"

#include <algorithm>
#include <cctype>

#include "base/ascii.hpp"
#include "base/result.hpp"

namespace mxg::smtp {

using namespace status;

const char* to_string(action_kind k) noexcept {
  switch (k) {
    case action_kind::none:
      return "none";
    case action_kind::read_data:
      return "read-data";
    case action_kind::read_bdat:
      return "read-bdat";
    case action_kind::enqueue:
      return "enqueue";
    case action_kind::start_tls:
      return "start-tls";
    case action_kind::close:
      return "close";
    case action_kind::policy:
      return "policy";
    case action_kind::xclient:
      return "xclient";
  }
  return "none";
}

const char* to_string(policy_stage s) noexcept {
  switch (s) {
    case policy_stage::mail:
      return "mail";
    case policy_stage::rcpt:
      return "rcpt";
    case policy_stage::data:
      return "data";
  }
  return "mail";
}

const char* to_string(session_state s) noexcept {
  switch (s) {
    case session_state::fresh:
      return "fresh";
    case session_state::refused:
      return "refused";
    case session_state::ready:
      return "ready";
    case session_state::identified:
      return "identified";
    case session_state::in_mail:
      return "in-mail";
    case session_state::in_data:
      return "in-data";
    case session_state::in_bdat:
      return "in-bdat";
    case session_state::queueing:
      return "queueing";
    case session_state::starting_tls:
      return "starting-tls";
    case session_state::policy_wait:
      return "policy-wait";
    case session_state::closed:
      return "closed";
  }
  return "closed";
}

session::session(session_config cfg, session_hooks hooks)
    : cfg_(std::move(cfg)), hooks_(std::move(hooks)) {}

std::vector<std::string> session::extensions() const {
  // RFC 5321 4.1.1.1 / 2.2.2: one keyword per line after the hostname line.
  std::vector<std::string> kw;
  if (cfg_.pipelining) kw.emplace_back("PIPELINING");                 // RFC 2920
  kw.emplace_back("SIZE " + std::to_string(cfg_.max_message_size));   // RFC 1870
  if (cfg_.eightbitmime) kw.emplace_back("8BITMIME");                 // RFC 6152
  kw.emplace_back("ENHANCEDSTATUSCODES");                             // RFC 2034
  if (cfg_.smtputf8) kw.emplace_back("SMTPUTF8");                     // RFC 6531
  if (cfg_.tls_available && !info_.tls) kw.emplace_back("STARTTLS");  // RFC 3207 4.2
  if (cfg_.chunking) {
    kw.emplace_back("CHUNKING");    // RFC 3030 2
    kw.emplace_back("BINARYMIME");  // RFC 3030 3 (requires CHUNKING)
  }
  // Postfix XCLIENT_README: announced only to clients that may use it.
  if (cfg_.xclient && xclient_allowed_) kw.emplace_back("XCLIENT NAME ADDR PORT PROTO HELO LOGIN");
  return kw;
}

session_state session::idle_state() const {
  return greeted_ ? session_state::identified : session_state::ready;
}

void session::reset_transaction() {
  txn_.reset();
  pending_bdat_error_.reset();
  pending_.reset();
}

void session::set_client(std::string ip, std::string port) {
  info_.client_ip = std::move(ip);
  info_.client_port = std::move(port);
}

step session::ok(reply r, action a) {
  if (r.code == 421) {  // a hook may close the session
    state_ = session_state::closed;
    a.kind = action_kind::close;
  }
  return step{std::move(r), a};
}

step session::error(reply r) {
  ++errors_;
  action a;
  if (r.code == 421) {
    state_ = session_state::closed;
    a.kind = action_kind::close;
  }
  return step{std::move(r), a};
}

step session::on_connect(std::optional<reply> refuse) {
  MXG_ASSERT(state_ == session_state::fresh);
  if (refuse) return refuse_client(std::move(*refuse));
  state_ = session_state::ready;
  return step{replies::greeting(cfg_.hostname, cfg_.greeting), {}};
}

step session::refuse_client(reply r) {
  MXG_ASSERT(state_ == session_state::fresh || (state_ == session_state::ready && info_.xclient));
  if (r.code == 421) {  // RFC 5321 3.8: the service closes the channel
    state_ = session_state::closed;
    return step{std::move(r), action{action_kind::close}};
  }
  state_ = session_state::refused;  // RFC 5321 3.1: 554 greeting, then wait for QUIT
  return step{std::move(r), {}};
}

step session::on_early_input() {
  state_ = session_state::closed;
  return step{replies::early_talker(), action{action_kind::close}};
}

step session::on_timeout() {
  state_ = session_state::closed;
  return step{replies::timeout(cfg_.hostname), action{action_kind::close}};
}

step session::on_shutdown() {
  state_ = session_state::closed;
  return step{replies::shutting_down(cfg_.hostname), action{action_kind::close}};
}

step session::on_line_too_long() {
  if (state_ == session_state::closed) return step{{}, action{action_kind::close}};
  if (errors_ >= cfg_.max_errors) {
    state_ = session_state::closed;
    return step{replies::too_many_errors(cfg_.hostname), action{action_kind::close}};
  }
  return error(replies::line_too_long());
}

step session::on_bare_lf_command() {
  if (state_ == session_state::closed) return step{{}, action{action_kind::close}};
  if (errors_ >= cfg_.max_errors) {
    state_ = session_state::closed;
    return step{replies::too_many_errors(cfg_.hostname), action{action_kind::close}};
  }
  return error(replies::bare_lf_command());
}

step session::on_line(std::string_view line) {
  if (state_ == session_state::closed) return step{{}, action{action_kind::close}};
  if (state_ == session_state::fresh) return on_early_input();
  MXG_ASSERT(state_ == session_state::refused || state_ == session_state::ready ||
             state_ == session_state::identified || state_ == session_state::in_mail);
  // Postfix-style error limit: once reached, the next command gets 421 (RFC 5321 4.2.2).
  if (errors_ >= cfg_.max_errors) {
    state_ = session_state::closed;
    return step{replies::too_many_errors(cfg_.hostname), action{action_kind::close}};
  }
  auto parsed = parse_command(line);
  if (state_ == session_state::refused) {
    if (parsed && parsed->v == verb::quit) {
      state_ = session_state::closed;
      return step{replies::bye(cfg_.hostname), action{action_kind::close}};
    }
    return error(replies::bad_sequence("service refused at connection; only QUIT is served"));
  }
  if (!parsed) {
    // A BDAT whose size we cannot read: its chunk follows on the wire and we
    // cannot skip it, so the stream is lost (RFC 3030 2). Say so and close.
    if (peek_verb(line) == verb::bdat) {
      state_ = session_state::closed;
      ++errors_;
      return step{std::move(parsed.error()), action{action_kind::close}};
    }
    return error(std::move(parsed.error()));
  }
  return dispatch(*parsed);
}

step session::dispatch(const command& c) {
  switch (c.v) {
    case verb::ehlo:
      return do_helo(c, true);
    case verb::helo:
      return do_helo(c, false);
    case verb::mail:
      return do_mail(c);
    case verb::rcpt:
      return do_rcpt(c);
    case verb::data:
      return do_data(c);
    case verb::bdat:
      return do_bdat(c);
    case verb::starttls:
      return do_starttls(c);
    case verb::xclient:
      return do_xclient(c);
    case verb::rset:  // RFC 5321 4.1.1.5: abort the transaction, keep the session
      reset_transaction();
      state_ = idle_state();
      return ok(replies::ok());
    case verb::noop:
      return ok(replies::ok());  // RFC 5321 4.1.1.9
    case verb::quit:             // RFC 5321 4.1.1.10
      reset_transaction();
      state_ = session_state::closed;
      return step{replies::bye(cfg_.hostname), action{action_kind::close}};
    case verb::vrfy:
      return ok(replies::vrfy());  // RFC 5321 3.5.3: 252
    case verb::help:
      return ok(replies::help());  // RFC 5321 4.1.1.8
    case verb::not_implemented:
      return error(replies::not_implemented());
    case verb::non_smtp:
      state_ = session_state::closed;
      ++errors_;
      return step{replies::non_smtp(cfg_.hostname), action{action_kind::close}};
    case verb::unknown:
      return error(replies::unrecognized());
  }
  return error(replies::unrecognized());
}

step session::do_helo(const command& c, bool esmtp) {
  session_info next = info_;
  std::string_view arg = c.argument;
  next.helo = std::string(arg.substr(0, arg.find(' ')));
  next.esmtp = esmtp;
  if (hooks_.on_helo) {
    if (auto r = hooks_.on_helo(next, next.helo); r && r->failure()) return error(std::move(*r));
  }
  // RFC 5321 4.1.4: a new EHLO/HELO resets the transaction like RSET.
  reset_transaction();
  info_ = std::move(next);
  greeted_ = true;
  state_ = session_state::identified;
  if (esmtp) return ok(replies::ehlo(cfg_.hostname, extensions()));
  return ok(replies::helo(cfg_.hostname));
}

step session::do_mail(const command& c) {
  if (txn_) return error(replies::bad_sequence("nested MAIL command"));
  if (cfg_.require_helo && !greeted_) return error(replies::bad_sequence("send HELO/EHLO first"));
  if (cfg_.tls_required && !info_.tls) return error(replies::tls_required());
  const mail_params& p = c.params;
  // A parameter of an extension we do not offer (RFC 5321 4.1.1.11: 555).
  if ((p.body == body_param::eight_bit_mime && !cfg_.eightbitmime) ||
      (p.body == body_param::binary_mime && !cfg_.chunking) || (p.smtputf8 && !cfg_.smtputf8)) {
    return error(reply(555, k_5_5_4, "Error: unsupported MAIL parameter"));
  }
  // RFC 1870 6.1: a declared SIZE above our fixed maximum is a permanent 552.
  if (p.size && *p.size > cfg_.max_message_size) return error(replies::message_too_big());
  reply r = replies::sender_ok();
  if (hooks_.on_mail) {
    if (auto o = hooks_.on_mail(info_, c.address, p)) {
      if (o->failure()) return error(std::move(*o));
      r = std::move(*o);
    }
  }
  if (cfg_.policy_mail) {
    pending_ = c;
    pending_stage_ = policy_stage::mail;
    pending_reply_ = std::move(r);
    state_ = session_state::policy_wait;
    action a{action_kind::policy};
    a.stage = policy_stage::mail;
    return step{{}, a};
  }
  return accept_mail(c, std::move(r));
}

step session::accept_mail(const command& c, reply r) {
  txn_.emplace();
  txn_->sender = c.address;
  txn_->params = c.params;
  state_ = session_state::in_mail;
  return ok(std::move(r));
}

step session::do_rcpt(const command& c) {
  if (!txn_) return error(replies::bad_sequence("need MAIL command"));
  // RFC 6531 3.5: a UTF-8 address needs SMTPUTF8 on MAIL.
  if (c.address.is_utf8() && !txn_->params.smtputf8) {
    ++txn_->rejected_recipients;
    return error(
        reply(553, k_5_6_7, "Non-ASCII address without the SMTPUTF8 parameter (RFC 6531)"));
  }
  // RFC 5321 4.5.3.1.10: 452 too many recipients; the client sends the rest in
  // another transaction. Not a protocol error: not counted toward the limit.
  if (txn_->recipients.size() >= cfg_.max_recipients) {
    ++txn_->rejected_recipients;
    return ok(replies::too_many_recipients());
  }
  reply r = replies::recipient_ok();
  if (hooks_.on_rcpt) {
    if (auto o = hooks_.on_rcpt(info_, *txn_, c.address)) {
      if (o->failure()) {
        ++txn_->rejected_recipients;
        return error(std::move(*o));
      }
      r = std::move(*o);
    }
  }
  if (cfg_.policy_rcpt) {
    pending_ = c;
    pending_stage_ = policy_stage::rcpt;
    pending_reply_ = std::move(r);
    state_ = session_state::policy_wait;
    action a{action_kind::policy};
    a.stage = policy_stage::rcpt;
    return step{{}, a};
  }
  return accept_rcpt(c, std::move(r));
}

step session::accept_rcpt(const command& c, reply r) {
  const std::string addr = c.address.address();
  const bool dup = std::any_of(txn_->recipients.begin(), txn_->recipients.end(),
                               [&](const path& p) { return p.address() == addr; });
  if (!dup) txn_->recipients.push_back(c.address);
  return ok(std::move(r));
}

step session::do_data(const command&) {
  if (!txn_) return error(replies::bad_sequence("need MAIL command"));
  if (txn_->bdat_used) return error(replies::bad_sequence("DATA after BDAT in one transaction"));
  // RFC 3030 3: BINARYMIME content can only be sent with BDAT.
  if (txn_->params.body == body_param::binary_mime)
    return error(replies::bad_sequence("BODY=BINARYMIME requires BDAT"));
  if (txn_->recipients.empty()) {
    // RFC 5321 4.1.1.4 / RFC 2920 3.1: all RCPTs refused (pipelined DATA must fail).
    if (txn_->rejected_recipients > 0) return error(replies::no_valid_recipients());
    return error(replies::bad_sequence("need RCPT command"));
  }
  state_ = session_state::in_data;
  return ok(replies::start_data(), action{action_kind::read_data});
}

step session::on_data_end(data_error err, std::uint64_t size) {
  MXG_ASSERT(state_ == session_state::in_data && txn_);
  if (err == data_error::none && size > cfg_.max_message_size) err = data_error::too_big;
  if (err != data_error::none) {
    reset_transaction();
    state_ = idle_state();
    return error(data_error_reply(err, cfg_.max_message_size));
  }
  return message_complete();
}

step session::message_complete() {
  if (cfg_.policy_data) {
    pending_.reset();
    pending_stage_ = policy_stage::data;
    state_ = session_state::policy_wait;
    action a{action_kind::policy};
    a.stage = policy_stage::data;
    return step{{}, a};
  }
  state_ = session_state::queueing;
  return step{{}, action{action_kind::enqueue}};
}

step session::on_policy(std::optional<reply> answer) {
  MXG_ASSERT(state_ == session_state::policy_wait);
  const bool refused = answer && answer->failure();
  switch (pending_stage_) {
    case policy_stage::mail: {
      MXG_ASSERT(pending_.has_value());
      command c = std::move(*pending_);
      pending_.reset();
      state_ = idle_state();
      if (refused) return error(std::move(*answer));
      return accept_mail(
          c, answer && !answer->empty() ? std::move(*answer) : std::move(pending_reply_));
    }
    case policy_stage::rcpt: {
      MXG_ASSERT(pending_.has_value() && txn_);
      command c = std::move(*pending_);
      pending_.reset();
      state_ = session_state::in_mail;
      if (refused) {
        ++txn_->rejected_recipients;
        return error(std::move(*answer));
      }
      return accept_rcpt(
          c, answer && !answer->empty() ? std::move(*answer) : std::move(pending_reply_));
    }
    case policy_stage::data:
      MXG_ASSERT(txn_.has_value());
      if (refused) {
        // The message is refused as a whole (RFC 5321 4.2.5); the session goes on. Not
        // the client's protocol error: not counted toward the error limit.
        reset_transaction();
        state_ = idle_state();
        return ok(std::move(*answer));
      }
      state_ = session_state::queueing;
      return step{{}, action{action_kind::enqueue}};
  }
  return step{};
}

step session::do_bdat(const command& c) {
  // A chunk larger than the largest message we take can never be accepted; reading it
  // to stay in sync (RFC 3030 2) would cost whatever the client announces (up to
  // 2^64 octets). Refuse at once and close: the stream cannot be resynchronised
  // without reading it.
  if (c.chunk_size > cfg_.max_message_size) {
    reset_transaction();
    state_ = session_state::closed;
    ++errors_;
    return step{replies::chunk_too_big(cfg_.hostname), action{action_kind::close}};
  }
  action a{action_kind::read_bdat};
  a.chunk_size = c.chunk_size;
  a.last_chunk = c.last_chunk;
  // RFC 3030 2: after a failing BDAT the chunk is still read and discarded, then
  // the error reply is sent, so the stream stays in sync.
  std::optional<reply> failure;
  if (!txn_) {
    failure = replies::bad_sequence("need MAIL command");
  } else if (txn_->recipients.empty()) {
    failure = txn_->rejected_recipients > 0 ? replies::no_valid_recipients()
                                            : replies::bad_sequence("need RCPT command");
  } else if (txn_->bdat_bytes + c.chunk_size > cfg_.max_message_size) {
    failure = replies::message_too_big();
    reset_transaction();  // the message is lost; later chunks get 503 until a new MAIL
  }
  if (failure) {
    a.discard_chunk = true;
    pending_bdat_error_ = std::move(failure);
  } else {
    txn_->bdat_used = true;
    txn_->bdat_bytes += c.chunk_size;
  }
  pending_bdat_ = a;
  state_ = session_state::in_bdat;
  return step{{}, a};
}

step session::on_bdat_chunk() {
  MXG_ASSERT(state_ == session_state::in_bdat);
  if (pending_bdat_error_) {
    reply r = std::move(*pending_bdat_error_);
    pending_bdat_error_.reset();
    state_ = txn_ ? session_state::in_mail : idle_state();
    return error(std::move(r));
  }
  MXG_ASSERT(txn_.has_value());
  if (pending_bdat_.last_chunk) return message_complete();
  state_ = session_state::in_mail;
  return ok(replies::chunk_ok(pending_bdat_.chunk_size));
}

step session::on_queued(std::string_view queue_id) {
  MXG_ASSERT(state_ == session_state::queueing);
  ++messages_;
  reset_transaction();
  state_ = idle_state();
  return ok(replies::queued(queue_id));
}

step session::on_queue_failed(std::optional<reply> r) {
  MXG_ASSERT(state_ == session_state::queueing);
  reset_transaction();
  state_ = idle_state();
  // Our failure, not the client's: not counted toward the error limit.
  return ok(r && r->failure() ? std::move(*r) : replies::queue_failure());
}

step session::do_starttls(const command&) {
  if (!cfg_.tls_available) return error(replies::not_implemented());
  if (info_.tls) return error(replies::bad_sequence("TLS already active"));
  if (txn_) return error(replies::bad_sequence("MAIL transaction in progress"));
  state_ = session_state::starting_tls;
  action a{action_kind::start_tls};
  // RFC 3207 4.2 / CVE-2011-0411: anything pipelined after STARTTLS was sent
  // in plaintext and must not be executed after the handshake.
  a.discard_buffered_input = true;
  return ok(replies::tls_ready(), a);
}

namespace {

// RFC 3461 4 xtext: "+" HEX HEX encodes a byte; anything else stands for itself.
std::optional<std::string> xtext_decode(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '+') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;
    auto hex = [](char h) -> int {
      if (h >= '0' && h <= '9') return h - '0';
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      return -1;
    };
    int hi = hex(v[i + 1]), lo = hex(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    char ch = static_cast<char>(hi * 16 + lo);
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return std::nullopt;
    out += ch;
    i += 2;
  }
  return out;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii::to_upper(a[i]) != ascii::to_upper(b[i])) return false;
  return true;
}

// An IPv4 dotted quad or an IPv6 address (characters only; the driver parses it).
bool plausible_ip(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  for (char ch : s)
    if (!std::isxdigit(static_cast<unsigned char>(ch)) && ch != '.' && ch != ':') return false;
  return true;
}

}  // namespace

step session::do_xclient(const command& c) {
  // Postfix XCLIENT_README: only for authorized clients; outside a transaction; the
  // server then greets again (220) and the client starts over with EHLO.
  if (!cfg_.xclient || !xclient_allowed_)
    return error(reply(550, k_5_7_0, "Error: insufficient authorization"));
  if (txn_) return error(replies::bad_sequence("MAIL transaction in progress"));
  session_info next = info_;
  std::string_view rest = c.argument;
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    std::string_view attr = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (attr.empty()) continue;
    auto eq = attr.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return error(reply(501, k_5_5_4, "Bad XCLIENT attribute syntax"));
    std::string_view name = attr.substr(0, eq);
    auto value = xtext_decode(attr.substr(eq + 1));
    if (!value) return error(reply(501, k_5_5_4, "Bad XCLIENT attribute value"));
    const bool unavailable = *value == "[UNAVAILABLE]" || *value == "[TEMPUNAVAIL]";
    if (unavailable) value->clear();
    if (ieq(name, "ADDR")) {
      std::string v = *value;
      if (v.size() > 5 && ieq(std::string_view(v).substr(0, 5), "IPV6:")) v = v.substr(5);
      if (!v.empty() && !plausible_ip(v))
        return error(reply(501, k_5_5_4, "Bad XCLIENT ADDR syntax"));
      next.client_ip = v;
    } else if (ieq(name, "NAME")) {
      next.client_name = value->substr(0, 255);
    } else if (ieq(name, "PORT")) {
      next.client_port = value->substr(0, 5);
    } else if (ieq(name, "HELO")) {
      next.helo = value->substr(0, 255);
    } else if (ieq(name, "PROTO")) {
      if (!value->empty() && !ieq(*value, "SMTP") && !ieq(*value, "ESMTP"))
        return error(reply(501, k_5_5_4, "Bad XCLIENT PROTO syntax"));
      next.esmtp = ieq(*value, "ESMTP");
    } else if (ieq(name, "LOGIN") || ieq(name, "DESTADDR") || ieq(name, "DESTPORT")) {
      // accepted and not used
    } else {
      return error(reply(501, k_5_5_4, "Bad XCLIENT attribute name"));
    }
  }
  reset_transaction();
  info_ = std::move(next);
  info_.xclient = true;
  greeted_ = false;
  state_ = session_state::ready;
  return step{replies::greeting(cfg_.hostname, cfg_.greeting), action{action_kind::xclient}};
}

step session::on_tls_started() {
  MXG_ASSERT(state_ == session_state::starting_tls);
  // RFC 3207 4.2: discard all knowledge obtained from the client (EHLO
  // argument, ...) and wait for a new EHLO.
  reset_transaction();
  session_info fresh;
  fresh.client_ip = info_.client_ip;  // the client is the same one
  fresh.client_name = info_.client_name;
  fresh.client_port = info_.client_port;
  fresh.xclient = info_.xclient;
  info_ = std::move(fresh);
  info_.tls = true;
  greeted_ = false;
  state_ = session_state::ready;
  return step{};
}

}  // namespace mxg::smtp
