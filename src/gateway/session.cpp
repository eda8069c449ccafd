// session.cpp: the SMTP server session coroutine. It drives smtp::session (the
// I/O-free state machine of src/smtp) and adds what needs I/O:
//   - greeting after an optional delay; talking before it: 554 and close
//     (smtp::session::on_early_input, RFC 5321 4.3.1 / 3.1);
//   - deadlines (RFC 5321 4.5.3.2) for a whole command line and for a whole DATA or
//     BDAT chunk with a minimum data rate (smtp/deadline.hpp; slowloris, issue 16);
//   - PIPELINING flush groups (RFC 2920 3.2): replies are written when no further
//     complete command is buffered, and before any wait for input;
//   - STARTTLS (RFC 3207 4.2): buffered plaintext is dropped before the handshake;
//   - DATA/BDAT bodies stream through smtp::data_reader into the queue writer with
//     an RFC 5321 4.4 Received header first; 250 only after the queue committed
//     (RFC 5321 4.1.1.4 / issue 3 section 4), 451 4.3.0 when it could not, 452 4.3.1
//     when the disk is full; MAIL ... SIZE= above the queue's free space: 452 4.3.1
//     (RFC 1870 6.1);
//   - RCPT TO:<Postmaster> goes to [relay] postmaster or is refused (RFC 5321 4.5.1);
//   - relay control (smtp::check_relay with the trusted networks);
//   - the backscatter filter of the listener (backscatter_filter.hpp): asked at RCPT
//     (BATV) and after DATA (null-sender messages judged as bounces); the transaction
//     keeps the strongest decision (txn_decision): reject answers 550 5.7.1 and queues
//     nothing, quarantine commits in hold mode (x-quarantine) and answers 250 as usual,
//     tag inserts X-Mxguard-Backscatter after our Received header;
//   - every decision is recorded in the history (history_writer, never blocking);
//   - rDNS of the client (RFC 5321 4.4 Received "from HELO (NAME [IP])") looked up in
//     the background from connect on, forward-confirmed; never delays the greeting
//     (rdns.hpp);
//   - SPF (issue 9, spf_step.hpp): started at MAIL, answered through the core's policy
//     step at MAIL or RCPT (reject/tempfail) and awaited before the header is written:
//     Authentication-Results and Received-SPF above our Received (trace_headers.hpp);
//     arriving Authentication-Results claiming our authserv-id are removed;
//   - XCLIENT from the relay's trusted networks (a proxy presents the real client);
//   - DNS lists (issue 12, dnsbl_step.hpp): looked up from connect (and after XCLIENT),
//     answered before the greeting or at RCPT, X-Mxguard-DNSBL above the message.
//   - DKIM, ARC and DMARC (issue 10, auth_step.hpp): fed the message as it streams,
//     decided after the final dot; our one Authentication-Results field (spf, dkim,
//     dmarc, arc) then goes on top through the queue's x-prepend field.
// Every check answers with a policy::decision; the transaction carries out the
// strongest (policy::txn_decisions) and the history records all of them.
// Security: every byte is hostile. Input is consumed through smtp::line_reader
// (hard cap) and smtp::data_reader (size cap, smuggling-safe end of data), so the
// buffer stays bounded; BDAT chunks are streamed, never held whole in memory, except
// a null-sender message being judged, which is kept up to kJudgeMax.
#include "gateway/session.hpp"
#include "base/spawn.hpp"

#include <sys/statvfs.h>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <random>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>

#include "base/ascii.hpp"
#include "base/log.hpp"
#include "gateway/auth_step.hpp"
#include "gateway/dnsbl_step.hpp"
#include "gateway/header_scan.hpp"
#include "gateway/history_writer.hpp"
#include "gateway/rdns.hpp"
#include "gateway/spf_step.hpp"
#include "gateway/trace_headers.hpp"
#include "gateway/transport.hpp"
#include "policy/decision.hpp"
#include "queue/report.hpp"
#include "smtp/deadline.hpp"
#include "smtp/relay.hpp"
#include "smtp/session.hpp"

namespace mxg::gateway {

namespace {

inline constexpr std::size_t kBodyFlushBytes = 64 * 1024;  // queue write granularity
inline constexpr std::chrono::seconds kTlsHandshakeTimeout{60};
inline constexpr std::chrono::seconds kReplyWriteTimeout{60};
// A null-sender message judged after DATA is kept in memory up to this size so it can
// be parsed as a bounce and a header inserted. Real DSNs (RFC 3464) are small: they
// return the original's headers or a truncated copy. Above it: accepted unjudged
// ("too large to judge"), streamed to the queue like any other message.
inline constexpr std::size_t kJudgeMax = 1024 * 1024;
// Log field value: quoted when it has spaces; controls replaced.
std::string field(std::string_view s) {
  std::string v;
  for (unsigned char c : s.substr(0, 512))
    v += (c < 0x20 || c == 0x7f || c == '"') ? '?' : static_cast<char>(c);
  if (v.empty() || v.find(' ') != std::string::npos) return "\"" + v + "\"";
  return v;
}

template <typename Token>
auto async_commit(queue::queue_dir& q, queue::message_writer w, queue::envelope env,
                  asio::any_io_executor ex, Token&& token) {
  return asio::async_initiate<Token, void(result<queue::queue_id>)>(
      [&q, ex](auto handler, queue::message_writer w, queue::envelope env) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        q.commit(std::move(w), std::move(env), [h, ex](result<queue::queue_id> r) {
          asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
        });
      },
      token, std::move(w), std::move(env));
}

queue::body_type body_of(smtp::body_param b) {
  switch (b) {
    case smtp::body_param::eight_bit_mime:
      return queue::body_type::eight_bit_mime;
    case smtp::body_param::binary_mime:
      return queue::body_type::binary_mime;
    default:
      return queue::body_type::seven_bit;
  }
}

class driver {
 public:
  driver(server& srv, std::shared_ptr<listener_state> l, asio::ip::tcp::socket sock,
         asio::ip::tcp::endpoint remote, std::string sid)
      : remote_(remote),
        srv_(srv),
        l_(std::move(l)),
        cfg_(*l_->cfg),
        sid_(std::move(sid)),
        t_(std::make_shared<transport>(std::move(sock))),
        lines_(cfg_.limits.line_length, cfg_.strict_lf),
        sess_(make_config(), make_hooks()) {}

  asio::awaitable<void> run();

 private:
  smtp::session_config make_config() const {
    smtp::session_config c;
    c.hostname = cfg_.hostname;
    c.max_message_size = cfg_.limits.message_size;
    c.max_recipients = cfg_.limits.recipients;
    c.max_errors = cfg_.limits.errors;
    c.tls_available = l_->tls != nullptr;
    // SPF refuses at MAIL or at each RCPT through the core's policy step.
    c.policy_mail = spf_on() && l_->spf->cfg.reject_stage == policy::spf_stage::mail;
    c.policy_rcpt = (spf_on() && l_->spf->cfg.reject_stage == policy::spf_stage::rcpt) ||
                    (dnsbl_on() && l_->dnsbl->cfg.stage == policy::dnsbl_stage::rcpt);
    c.xclient = true;  // offered to, and accepted from, the relay's trusted networks only
    return c;
  }

  smtp::session_hooks make_hooks() {
    smtp::session_hooks h;
    h.on_helo = [this](const smtp::session_info&,
                       std::string_view helo) -> std::optional<smtp::reply> {
      spdlog::info("helo sid={} helo={}", sid_, field(helo));
      return std::nullopt;
    };
    h.on_mail = [this](const smtp::session_info&, const smtp::path& sender,
                       const smtp::mail_params& p) -> std::optional<smtp::reply> {
      // RFC 1870 6.1: a declared SIZE we cannot store now is a temporary 452, before
      // the client sends the body.
      if (p.size) {
        auto free = free_space(l_->queue->path().string());
        if (free && *p.size > *free) {
          spdlog::warn("mail sid={} from=<{}> size={} result=refused reason=queue-space free={}",
                       sid_, sender.address(), *p.size, *free);
          return smtp::replies::insufficient_storage();
        }
      }
      // A new transaction: its decision starts at accept.
      decisions_.clear();
      spf_logged_ = false;
      spf_eval_ = nullptr;
      dnsbl_added_ = false;
      ar_filter_.reset();
      rcpt_map_.clear();
      spf_.reset();
      auth_.reset();
      if (spf_on()) {
        auto ip = net::ip_address::parse(sess_.info().client_ip);
        if (ip)
          spf_.start(l_->spf, *srv_.resolver(), {*ip, sender.address(), sess_.info().helo},
                     cfg_.hostname, sid_, srv_.exceptions());
      }
      spdlog::info("mail sid={} from=<{}> size={} body={}", sid_, sender.address(),
                   p.size ? std::to_string(*p.size) : "-", smtp::to_string(p.body));
      return std::nullopt;
    };
    h.on_rcpt = [this](const smtp::session_info&, const smtp::transaction& txn,
                       const smtp::path& rcpt) -> std::optional<smtp::reply> {
      auto d = smtp::check_relay(rcpt, domains_, trusted_);
      if (!d.accepted()) {
        spdlog::info("rcpt sid={} to=<{}> result=refused relay=denied why={}", sid_, rcpt.address(),
                     field(d.why));
        return d.refusal;
      }
      // <Postmaster> (RFC 5321 4.5.1) is delivered to the configured address.
      const std::string to = d.deliver_to.empty() ? rcpt.address() : d.deliver_to;
      if (filter_->config().enabled) {
        auto day = policy::batv::day_of(static_cast<std::int64_t>(std::time(nullptr)));
        auto b = filter_->check_rcpt(txn.sender.address(), to, day);
        if (b.action == bs_action::reject) {
          smtp::reply rep = b.to_decision().reply;
          spdlog::info("rcpt sid={} to=<{}> result=refused backscatter=reject reason={}", sid_,
                       rcpt.address(), field(b.reason));
          policy::txn_decisions one;
          one.add(b.to_decision());
          record(txn.sender.address(), {rcpt.address()}, "", one, {}, 0);
          return rep;
        }
        if (b.recipient != to) rcpt_map_.emplace_back(to, b.recipient);
        if (b.action != bs_action::accept)
          spdlog::info("rcpt sid={} to=<{}> backscatter={} reason={}", sid_, rcpt.address(),
                       to_string(b.action), field(b.reason));
        if (b.action != bs_action::accept) decisions_.add(b.to_decision());
      }
      spdlog::info("rcpt sid={} to=<{}> result=accepted relay={}{}", sid_, rcpt.address(),
                   smtp::to_string(d.verdict),
                   to == rcpt.address() ? "" : " deliver_to=<" + to + ">");
      return std::nullopt;
    };
    return h;
  }

  void say(const smtp::reply& r) {
    if (r.empty()) return;
    t_->queue_output(r.format());
    if (r.failure()) {
      ++failures_;
      spdlog::info("reply sid={} cmd={} reply={}", sid_, field(last_cmd_), field(r.summary()));
    }
  }

  bool in_transaction() const { return sess_.current() != nullptr; }
  bool spf_on() const { return l_->spf->enabled && srv_.resolver() != nullptr; }
  bool dnsbl_on() const { return l_->dnsbl && srv_.resolver() != nullptr; }
  // DNS lists: start the check of the current client; the greeting's refusal at stage
  // "connect"; the transaction's decision (added to decisions_ once), null when off.
  void dnsbl_start();
  asio::awaitable<std::optional<smtp::reply>> dnsbl_connect();
  asio::awaitable<const policy::decision*> dnsbl_decision();
  // XCLIENT was accepted (its 220 not yet written): re-derive the client, and at stage
  // "connect" let the DNS lists replace the 220 with a refusal.
  asio::awaitable<smtp::step> after_xclient(smtp::step s);
  // DKIM/DMARC for this message: on for the listener, not from our own clients.
  bool auth_on() const {
    if (!l_->auth->active() || srv_.resolver() == nullptr || trusted_) return false;
    return !(spf_eval_ && spf_eval_->skipped && spf_eval_->skip_reason == "trusted network");
  }
  // The data-stage step: DKIM/ARC/DMARC decided, its decision added; the refusal to
  // answer (reject/tempfail), or an empty reply.
  asio::awaitable<smtp::reply> auth_result();
  std::string received_header(const std::string& qid);
  // The core's policy step (action_kind::policy): SPF at MAIL or RCPT.
  asio::awaitable<smtp::step> policy_step(smtp::policy_stage stage);
  // The SPF evaluation of the transaction (awaited; null when SPF is off or skipped
  // the transaction), its decision added to decisions_ once.
  asio::awaitable<const policy::spf_evaluation*> spf_result();
  // XCLIENT was accepted: the client is the one it presented.
  void client_changed();
  std::string rdns_name() const { return rdns_ && rdns_->done ? rdns_->name : ""; }
  asio::awaitable<void> wait_rdns();
  void maybe_flush();
  bool local_recipient(std::string_view address) const;
  // One history row for a transaction's decisions (no-op when the history is off).
  void record(const std::string& sender, std::vector<std::string> rcpts, const std::string& qid,
              const policy::txn_decisions& d, const header_facts& h, std::uint64_t size,
              const smtp::reply& refusal = {});
  asio::awaitable<bool> handle(smtp::step s);
  asio::awaitable<bool> read_data();
  // One read within a DATA/BDAT deadline, which the octets read then extend.
  asio::awaitable<read_status> fill_by(smtp::request_deadline& d);
  asio::awaitable<bool> read_bdat(const smtp::action& a);
  asio::awaitable<smtp::step> enqueue();
  result<void> ensure_writer();
  void flush_body();
  // Moves chunk_ (message bytes just read) into body_ through the Authentication-Results
  // filter; `last`: the message ends here.
  void take_chunk(bool last);

  asio::ip::tcp::endpoint remote_;  // the client's endpoint (from accept)
  server& srv_;
  std::shared_ptr<listener_state> l_;
  const listener_config& cfg_;
  std::string sid_;
  std::shared_ptr<transport> t_;
  smtp::line_reader lines_;
  smtp::relay_domains domains_{l_->relay->local_domains, l_->relay->relay_domains,
                               l_->relay->postmaster};
  bool trusted_ = false;
  std::string client_ip_;
  smtp::session sess_;
  std::string last_cmd_;
  std::optional<queue::message_writer> writer_;
  std::optional<error> writer_error_;
  std::string body_;  // body bytes not yet appended to the writer
  std::shared_ptr<const backscatter_filter> filter_ = l_->filter;
  policy::txn_decisions decisions_;  // of the current transaction
  spf_step spf_{t_->socket().get_executor()};
  const policy::spf_evaluation* spf_eval_ = nullptr;  // of the current transaction, once known
  bool spf_logged_ = false;                           // its decision was added and logged
  dnsbl_step dnsbl_{t_->socket().get_executor()};
  const policy::dnsbl_evaluation* dnsbl_eval_ = nullptr;  // once known
  bool dnsbl_added_ = false;  // its decision is in this transaction's decisions_
  auth_step auth_;            // DKIM/ARC/DMARC of the message
  std::optional<auth_results_filter> ar_filter_;               // of the message being received
  std::string chunk_;                                          // data read, before the filter
  std::vector<std::pair<std::string, std::string>> rcpt_map_;  // as received -> deliver to
  bool judging_ = false;          // null-sender message kept in body_ for check_bounce
  std::size_t received_len_ = 0;  // our header lines at the start of the message
  std::string head_;              // the first kHeaderScanMax bytes written (header scan)
  std::shared_ptr<rdns_state> rdns_;
  std::uint64_t messages_ = 0, rcpts_ = 0, failures_ = 0;
  std::string end_reason_ = "quit";
  // The whole current command line must arrive by then (set when the wait starts).
  std::optional<smtp::deadline_clock::time_point> cmd_deadline_;
};

std::string driver::received_header(const std::string& qid) {
  const auto& info = sess_.info();
  received_info r;
  r.helo = info.helo;
  r.rdns_name = rdns_name();
  r.client_ip = client_ip_;
  r.hostname = cfg_.hostname;
  r.queue_id = qid;
  r.esmtp = info.esmtp;
  r.tls = t_->tls_active();
  if (r.tls) {
    r.tls_version = t_->tls_version();
    r.tls_cipher = t_->tls_cipher();
    r.tls_bits = t_->tls_bits();
  }
  const auto* txn = sess_.current();
  if (txn && txn->recipients.size() == 1) r.for_recipient = txn->recipients.front().address();
  r.utf8 = txn && txn->params.smtputf8;  // RFC 6532: else the field is US-ASCII
  return gateway::received_header(r);
}

asio::awaitable<const policy::spf_evaluation*> driver::spf_result() {
  if (!spf_.started()) co_return nullptr;
  const policy::spf_evaluation* e = co_await spf_.wait();
  spf_eval_ = e;
  if (e && !spf_logged_) {
    spf_logged_ = true;
    const auto& f = e->facts;
    if (e->skipped)
      spdlog::info("spf sid={} result=skipped why={}", sid_, field(e->skip_reason));
    else
      spdlog::info("spf sid={} result={} identity={} domain={} mechanism={} action={} rule={}{}{}",
                   sid_, spf::to_string(f.result), spf::to_string(f.identity),
                   f.domain.empty() ? "-" : f.domain, field(f.mechanism),
                   policy::to_string(e->dec.action), field(e->dec.rule),
                   e->dec.monitor && e->dec.would
                       ? fmt::format(" monitor=yes would={}", policy::to_string(*e->dec.would))
                       : std::string(),
                   f.problem.empty() ? "" : " problem=" + field(f.problem));
    if (!e->skipped) decisions_.add(e->dec);
  }
  co_return e;
}

asio::awaitable<smtp::step> driver::policy_step(smtp::policy_stage stage) {
  if (stage == smtp::policy_stage::rcpt && dnsbl_on() &&
      l_->dnsbl->cfg.stage == policy::dnsbl_stage::rcpt) {
    const policy::decision* d = co_await dnsbl_decision();
    if (d && d->refuses()) {
      const auto* txn = sess_.current();
      const auto* cmd = sess_.pending();
      std::string to = cmd ? cmd->address.address() : "";
      spdlog::info("rcpt sid={} to=<{}> result=refused dnsbl={} reason={}", sid_, to,
                   policy::to_string(d->action), field(d->reason));
      policy::txn_decisions one;
      one.add(*d);
      record(txn ? txn->sender.address() : "", {to}, "", one, {}, 0, d->reply);
      co_return sess_.on_policy(d->reply);
    }
  }
  const policy::spf_evaluation* e = co_await spf_result();
  if (!e || !e->dec.refuses()) co_return sess_.on_policy(std::nullopt);
  smtp::reply rep = e->dec.reply;
  if (stage == smtp::policy_stage::rcpt) {
    const auto* txn = sess_.current();
    const auto* cmd = sess_.pending();
    std::string to = cmd ? cmd->address.address() : "";
    spdlog::info("rcpt sid={} to=<{}> result=refused spf={} action={} rule={}", sid_, to,
                 spf::to_string(e->facts.result), policy::to_string(e->dec.action),
                 field(e->dec.rule));
    policy::txn_decisions one;
    one.add(e->dec);
    record(txn ? txn->sender.address() : "", {to}, "", one, {}, 0, rep);
  } else {
    const auto* cmd = sess_.pending();
    std::string from = cmd ? cmd->address.address() : "";
    spdlog::info("mail sid={} from=<{}> result=refused spf={} action={} rule={}", sid_, from,
                 spf::to_string(e->facts.result), policy::to_string(e->dec.action),
                 field(e->dec.rule));
    policy::txn_decisions one;
    one.add(e->dec);
    record(from, {}, "", one, {}, 0, rep);
  }
  co_return sess_.on_policy(rep);
}

void driver::dnsbl_start() {
  dnsbl_.reset();
  dnsbl_eval_ = nullptr;
  auto ip = net::ip_address::parse(client_ip_);
  if (dnsbl_on() && ip) dnsbl_.start(l_->dnsbl, *srv_.resolver(), *ip, sid_);
}

asio::awaitable<std::optional<smtp::reply>> driver::dnsbl_connect() {
  if (!dnsbl_on() || l_->dnsbl->cfg.stage != policy::dnsbl_stage::connect) co_return std::nullopt;
  const policy::dnsbl_evaluation* e = co_await dnsbl_.wait();
  dnsbl_eval_ = e;
  if (!e || e->skipped) co_return std::nullopt;
  auto refuse = dnsbl_step::connect_refusal(e->dec);
  if (refuse) {
    spdlog::info("connect sid={} client={} result=refused dnsbl={} reply={}", sid_, client_ip_,
                 policy::to_string(e->dec.action), field(refuse->summary()));
    policy::txn_decisions one;
    one.add(e->dec);
    record("", {}, "", one, {}, 0, *refuse);
  }
  co_return refuse;
}

asio::awaitable<const policy::decision*> driver::dnsbl_decision() {
  if (!dnsbl_.started()) co_return nullptr;
  const policy::dnsbl_evaluation* e = co_await dnsbl_.wait();
  dnsbl_eval_ = e;
  if (!e || e->skipped) co_return nullptr;
  if (!dnsbl_added_ && in_transaction()) {
    dnsbl_added_ = true;
    decisions_.add(e->dec);
  }
  co_return &e->dec;
}

asio::awaitable<smtp::step> driver::after_xclient(smtp::step s) {
  client_changed();
  dnsbl_start();
  auto refuse = co_await dnsbl_connect();
  if (refuse) co_return sess_.refuse_client(std::move(*refuse));
  co_return s;
}

asio::awaitable<smtp::reply> driver::auth_result() {
  if (!auth_.active()) co_return smtp::reply{};
  dns::resolver* res = srv_.resolver();
  if (!res) co_return smtp::reply{};
  const auth_step::outcome* o = co_await auth_.finish(*res, spf_eval_, sid_);
  if (!o || !o->dec) co_return smtp::reply{};
  policy::decision d = *o->dec;
  // Issue 11: an exception covers DMARC only when the From domain is the scope's.
  if (const auto* txn = sess_.current(); txn && o->dmarc) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    auto exc = srv_.exceptions();
    if (const auto* e = policy::except_dmarc(d, *exc, txn->sender.address(), client_ip_,
                                             o->dmarc->from_domain, now))
      spdlog::info("dmarc sid={} exception={} scope={} action=tag", sid_, e->id, e->kind);
  }
  decisions_.add(d);
  co_return d.refuses() ? d.reply : smtp::reply{};
}

void driver::client_changed() {
  const auto& info = sess_.info();
  auto ip = net::ip_address::parse(info.client_ip);
  if (ip) {
    client_ip_ = ip->unmapped().to_string();
    trusted_ = false;
    for (const auto& n : l_->relay->trusted_networks) trusted_ |= n.contains(ip->unmapped());
  }
  // The proxy's rDNS no longer describes the client: take the presented NAME.
  rdns_ = std::make_shared<rdns_state>(t_->socket().get_executor());
  rdns_->done = true;
  rdns_->name = info.client_name;
  spdlog::info("xclient sid={} client={} name={} helo={} trusted={}", sid_, client_ip_,
               info.client_name.empty() ? "unknown" : field(info.client_name), field(info.helo),
               trusted_ ? "yes" : "no");
}

bool driver::local_recipient(std::string_view address) const {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  return smtp::domain_matches(ascii::lower(address.substr(at + 1)), l_->relay->local_domains);
}

asio::awaitable<void> driver::wait_rdns() {
  if (!rdns_ || rdns_->done || srv_.rdns_degraded() ||
      std::chrono::steady_clock::now() >= rdns_->deadline)
    co_return;
  rdns_->timer.expires_at(rdns_->deadline);
  asio::error_code ec;
  co_await rdns_->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void driver::record(const std::string& sender, std::vector<std::string> rcpts,
                    const std::string& qid, const policy::txn_decisions& d, const header_facts& h,
                    std::uint64_t size, const smtp::reply& refusal) {
  history_writer* hw = srv_.history();
  if (!hw) return;
  store::message_record m;
  m.time = static_cast<std::int64_t>(std::time(nullptr));
  // Mail from a trusted client to a non-local recipient is ours going out: backscatter
  // analysis (sent_message_id / sent_to) looks for it there.
  bool outbound = false;
  for (const auto& r : rcpts) outbound |= trusted_ && !local_recipient(r);
  m.dir = outbound ? store::direction::outbound : store::direction::inbound;
  m.queue_id = qid;
  m.listener = cfg_.name;
  m.client_ip = client_ip_;
  m.helo = sess_.info().helo;
  m.sender = sender;
  m.recipients = std::move(rcpts);
  m.message_id = h.message_id;
  m.subject = h.subject;
  m.size = size;
  const policy::decision& fin = d.final();
  m.decision = policy::to_string(fin.action);
  m.reason = fin.reason;
  m.rule = fin.rule;
  if (!refusal.empty()) m.reply = refusal.summary();
  if (spf_eval_ && !spf_eval_->skipped) {
    const auto& f = spf_eval_->facts;
    m.spf_result = spf::to_string(f.result);
    m.spf_identity = spf::to_string(f.identity);
    m.spf_domain = f.domain;
    m.spf_mechanism = f.mechanism;
  }
  auth_.fill(m);
  for (const auto& x : d.all()) {
    store::decision_record r;
    r.check = x.check;
    r.action = policy::to_string(x.action);
    r.rule = x.rule;
    r.monitor = x.monitor;
    if (x.would) r.would = policy::to_string(*x.would);
    r.reason = x.reason;
    m.decisions.push_back(std::move(r));
  }
  hw->record(std::move(m));
}

result<void> driver::ensure_writer() {
  if (writer_ || writer_error_)
    return writer_error_ ? result<void>(std::unexpected(*writer_error_)) : result<void>{};
  auto w = l_->queue->begin();
  if (!w) {
    writer_error_ = w.error();
    spdlog::error("queue sid={} error={}", sid_, field(w.error().message));
    return std::unexpected(w.error());
  }
  writer_.emplace(std::move(*w));
  body_.clear();
  // RFC 8601 5 / RFC 7208 9.1: Authentication-Results and Received-SPF above our
  // Received (RFC 5321 4.4), which is first of the fields the message arrived with.
  if (auth_on())
    auth_.begin(l_->auth);  // its Authentication-Results goes on top at the end
  else
    auth_.reset();
  if (spf_eval_ && !auth_.active()) {
    body_ += policy::authentication_results_field(l_->spf->cfg.authserv_id, *spf_eval_) + "\r\n";
  }
  if (spf_eval_ && !spf_eval_->skipped)
    body_ += policy::received_spf_field(*spf_eval_, cfg_.hostname) + "\r\n";
  body_ += received_header(writer_->id().str());
  // Our DNS list field, then the tags decided so far, right after it.
  if (dnsbl_eval_ && !dnsbl_eval_->skipped)
    body_ += policy::dnsbl_header_field(*dnsbl_eval_) + "\r\n";
  for (const auto& d : decisions_.all())
    if (d.action == policy::verdict::tag && !d.header.empty()) body_ += d.header + "\r\n";
  received_len_ = body_.size();
  if (auth_.active())
    ar_filter_.emplace(l_->auth->cfg.authserv_id);
  else if (spf_on())
    ar_filter_.emplace(l_->spf->cfg.authserv_id);
  else
    ar_filter_.reset();
  head_.clear();
  // Without BATV, a bounce to our users is judged after DATA: keep it in memory.
  judging_ = false;
  if (const auto* txn = sess_.current();
      txn && filter_->judges_after_data() && txn->sender.address().empty())
    for (const auto& r : txn->recipients) judging_ |= filter_->is_ours(r.address());
  return {};
}

void driver::take_chunk(bool last) {
  auth_.feed(chunk_);  // the message as received (before our fields and the filter)
  if (ar_filter_) {
    ar_filter_->feed(chunk_, body_);
    if (last) {
      ar_filter_->finish(body_);
      if (ar_filter_->removed() > 0)
        spdlog::info("header sid={} removed={} field=Authentication-Results authserv-id={}", sid_,
                     ar_filter_->removed(),
                     field(auth_.active() ? l_->auth->cfg.authserv_id : l_->spf->cfg.authserv_id));
    }
  } else {
    body_ += chunk_;
  }
  chunk_.clear();
}

void driver::flush_body() {
  if (head_.size() < kHeaderScanMax)
    head_.append(std::string_view(body_).substr(0, kHeaderScanMax - head_.size()));
  if (writer_ && !body_.empty()) {
    if (auto r = writer_->append(body_); !r && !writer_error_) {
      writer_error_ = r.error();
      spdlog::error("queue sid={} qid={} error={}", sid_, writer_->id().str(),
                    field(r.error().message));
    }
  }
  body_.clear();
}

void driver::maybe_flush() {
  if (body_.size() < kBodyFlushBytes) return;
  if (judging_) {
    if (body_.size() <= kJudgeMax) return;
    judging_ = false;
    spdlog::info("backscatter sid={} qid={} action=accept reason=\"too large to judge\" max={}",
                 sid_, writer_ ? writer_->id().str() : "-", kJudgeMax);
    policy::decision big;
    big.check = "backscatter";
    big.reason = "too large to judge";
    decisions_.add(std::move(big));
  }
  flush_body();
}

asio::awaitable<smtp::step> driver::enqueue() {
  if (judging_ && writer_ && !writer_error_ && sess_.current()) {
    judging_ = false;
    std::string_view msg = std::string_view(body_).substr(received_len_);
    // The outbound history is asked on the history thread (SQLite never runs here).
    bs_decision d;
    if (history_writer* hw = srv_.history())
      d = co_await filter_->check_bounce(msg, *hw, srv_.resolver());
    else
      d = co_await filter_->check_bounce(msg, nullptr, srv_.resolver());
    spdlog::info("backscatter sid={} qid={} action={} reason={}", sid_, writer_->id().str(),
                 to_string(d.action), field(d.reason));
    policy::decision bd = d.to_decision();
    if (d.action == bs_action::reject) {
      const auto* txn = sess_.current();
      std::vector<std::string> rcpts;
      for (const auto& r : txn->recipients) rcpts.push_back(r.address());
      decisions_.add(bd);
      record(txn->sender.address(), std::move(rcpts), "", decisions_, scan_headers(msg), 0,
             bd.reply);
      writer_.reset();  // removes the temporary file: nothing is queued
      body_.clear();
      co_return sess_.on_queue_failed(bd.reply);
    }
    decisions_.add(bd);  // an accept too: history keeps its reason
    if (d.action == bs_action::tag) body_.insert(received_len_, d.header + "\r\n");
  }
  flush_body();
  const auto* txn = sess_.current();
  if (!writer_ || writer_error_ || !txn) {
    smtp::reply why = writer_error_ ? queue_failure_reply(*writer_error_) : smtp::reply{};
    writer_.reset();
    writer_error_.reset();
    ++srv_.stats().queue_errors;
    co_return sess_.on_queue_failed(why);
  }
  smtp::reply refusal = co_await auth_result();  // DKIM/ARC/DMARC: the data stage
  if (!refusal.empty()) {
    std::vector<std::string> rcpts;
    for (const auto& r : txn->recipients) rcpts.push_back(r.address());
    record(txn->sender.address(), std::move(rcpts), "", decisions_,
           scan_headers(std::string_view(head_).substr(std::min(received_len_, head_.size()))), 0,
           refusal);
    writer_.reset();  // removes the temporary file: nothing is queued
    body_.clear();
    co_return sess_.on_queue_failed(refusal);
  }
  queue::envelope env;
  env.created =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  env.sender = txn->sender.address();
  std::string tagged;
  for (const auto& r : txn->recipients) {
    // <Postmaster> is queued as the configured postmaster (RFC 5321 4.5.1; check_relay
    // refused it when none is configured); a validly prvs=-signed recipient as the
    // original address.
    std::string to = r.is_postmaster_only() ? domains_.postmaster : r.address();
    for (const auto& [got, orig] : rcpt_map_)
      if (got == to) {
        tagged += (tagged.empty() ? "" : " ") + got;
        to = orig;
      }
    bool dup = false;
    for (const auto& e : env.recipients) dup |= e.address == to;
    if (dup) continue;
    queue::recipient rcpt;
    rcpt.address = std::move(to);
    env.recipients.push_back(std::move(rcpt));
  }
  if (!tagged.empty()) env.set_extra("batv-recipients", tagged);
  env.client_ip = client_ip_;
  env.client_name = rdns_name();
  env.helo = sess_.info().helo;
  env.listener = cfg_.name;
  env.session = sid_;
  env.mode = cfg_.mode;
  env.body = body_of(txn->params.body);
  env.smtputf8 = txn->params.smtputf8;
  if (t_->tls_active()) env.set_extra("tls", t_->tls_version() + " " + t_->tls_cipher());
  if (auth_.done()) {
    // RFC 8601 5: on top, above Received-SPF and our Received; tags decided after the
    // message follow it.
    std::string top = auth_.header_field(spf_eval_, client_ip_);
    for (const auto& d : decisions_.all())  // the DMARC tag (or its exception's)
      if (d.check == "dmarc" && d.action == policy::verdict::tag && !d.header.empty())
        top += d.header + "\r\n";
    env.set_extra(queue::kPrependExtra, std::move(top));
  }
  const policy::decision decision = decisions_.final();
  if (decision.action == policy::verdict::quarantine) {
    // Held until an operator releases it; the sender is answered 250 like any other.
    env.mode = queue::delivery_mode::hold;
    env.set_extra(queue::kQuarantineExtra, decision.reason);
  } else if (decision.action == policy::verdict::tag) {
    env.set_extra(decision.check == "backscatter" ? "backscatter" : "policy-tag",
                  "tagged: " + decision.reason);
  }
  std::string qid = writer_->id().str();
  std::uint64_t size = writer_->size();
  std::size_t nrcpt = env.recipients.size();
  std::string from = env.sender;
  std::vector<std::string> rcpts;
  for (const auto& r : env.recipients) rcpts.push_back(r.address);
  header_facts facts =
      scan_headers(std::string_view(head_).substr(std::min(received_len_, head_.size())));
  queue::message_writer w = std::move(*writer_);
  writer_.reset();
  auto r = co_await async_commit(*l_->queue, std::move(w), std::move(env),
                                 t_->socket().get_executor(), asio::use_awaitable);
  if (!r) {
    ++srv_.stats().queue_errors;
    spdlog::error("queue sid={} qid={} error={}", sid_, qid, field(r.error().message));
    co_return sess_.on_queue_failed(queue_failure_reply(r.error()));
  }
  ++messages_;
  rcpts_ += nrcpt;
  spdlog::info("queued sid={} qid={} from=<{}> nrcpt={} size={} listener={} mode={}{}", sid_, qid,
               from, nrcpt, size, cfg_.name,
               decision.action == policy::verdict::quarantine ? "hold" : to_string(cfg_.mode),
               decision.action == policy::verdict::accept
                   ? std::string()
                   : fmt::format(" {}={}", decision.check, policy::to_string(decision.action)));
  if (decision.action == policy::verdict::quarantine) {
    if (auto* hw = srv_.history()) {
      store::quarantine_entry q;
      q.queue_id = qid;
      q.time = static_cast<std::int64_t>(std::time(nullptr));
      q.sender = from;
      for (const auto& a : rcpts) q.recipients += (q.recipients.empty() ? "" : ",") + a;
      q.subject = facts.subject;
      q.reason = decision.reason;
      q.check = decision.check;
      q.rule = decision.rule;
      if (spf_eval_ && !spf_eval_->skipped) {
        q.spf_result = spf::to_string(spf_eval_->facts.result);
        q.spf_identity = spf::to_string(spf_eval_->facts.identity);
        q.spf_domain = spf_eval_->facts.domain;
      }
      q.client_ip = client_ip_;
      q.helo = sess_.info().helo;
      q.listener = cfg_.name;
      q.queue_dir = l_->queue->path().string();
      q.size = size;
      hw->quarantine_add(std::move(q));
    }
  }
  record(from, std::move(rcpts), qid, decisions_, facts, size);
  decisions_.clear();
  rcpt_map_.clear();
  srv_.message_queued(*l_, qid);  // the scheduler leaves hold-mode (quarantined) mail alone
  co_return sess_.on_queued(qid);
}

asio::awaitable<read_status> driver::fill_by(smtp::request_deadline& d) {
  auto left = d.left(smtp::deadline_clock::now());
  if (left.count() <= 0) co_return read_status::timeout;
  std::size_t before = t_->buffered().size();
  auto st = co_await t_->fill(left);
  if (st == read_status::ok)
    d.on_bytes(smtp::deadline_clock::now(), t_->buffered().size() - before);
  co_return st;
}

asio::awaitable<bool> driver::read_data() {
  smtp::data_limits lim;
  lim.max_size = cfg_.limits.message_size;
  lim.max_line = cfg_.limits.text_line_length;
  lim.bare = cfg_.bare_lf == bare_lf_policy::normalize ? smtp::bare_line_end::normalize
                                                       : smtp::bare_line_end::reject;
  smtp::data_reader dr(lim);
  (void)ensure_writer();  // a failure is answered 451 after the data (nothing lost)
  smtp::request_deadline deadline(smtp::deadline_clock::now(), cfg_.tmo.data_block,
                                  cfg_.tmo.data_min_rate, cfg_.tmo.data_total);
  for (;;) {
    std::size_t used = dr.feed(t_->buffered(), chunk_);
    t_->consume(used);
    take_chunk(dr.done());
    if (dr.error() != smtp::data_error::none) body_.clear();
    maybe_flush();
    if (dr.done()) break;
    auto st = co_await fill_by(deadline);
    if (st == read_status::timeout) {
      end_reason_ = "timeout-data";
      writer_.reset();
      co_return co_await handle(sess_.on_timeout());
    }
    if (st == read_status::closed) {
      end_reason_ = "lost-in-data";
      writer_.reset();
      co_return false;
    }
  }
  spdlog::info("data sid={} qid={} size={} lines={} error={}", sid_,
               writer_ ? writer_->id().str() : "-", dr.size(), dr.lines(),
               smtp::to_string(dr.error()));
  if (dr.error() != smtp::data_error::none) {
    writer_.reset();  // removes the temporary file
    writer_error_.reset();
    body_.clear();
  }
  co_return co_await handle(sess_.on_data_end(dr.error(), dr.size()));
}

asio::awaitable<bool> driver::read_bdat(const smtp::action& a) {
  std::uint64_t left = a.chunk_size;
  if (!a.discard_chunk) (void)ensure_writer();
  smtp::request_deadline deadline(smtp::deadline_clock::now(), cfg_.tmo.data_block,
                                  cfg_.tmo.data_min_rate, cfg_.tmo.data_total);
  while (left > 0) {
    if (!t_->has_buffered()) {
      auto st = co_await fill_by(deadline);
      if (st == read_status::timeout) {
        end_reason_ = "timeout-bdat";
        writer_.reset();
        co_return co_await handle(sess_.on_timeout());
      }
      if (st == read_status::closed) {
        end_reason_ = "lost-in-bdat";
        writer_.reset();
        co_return false;
      }
    }
    auto buf = t_->buffered();
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    if (!a.discard_chunk) {
      chunk_.append(buf.substr(0, n));
      take_chunk(a.last_chunk && left == n);
    }
    t_->consume(n);
    left -= n;
    maybe_flush();
  }
  if (a.last_chunk && a.chunk_size == 0 && !a.discard_chunk) take_chunk(true);
  if (a.discard_chunk) {
    writer_.reset();
    writer_error_.reset();
    body_.clear();
  }
  co_return co_await handle(sess_.on_bdat_chunk());
}

// Writes the step's reply and performs its action. false: the session is over.
asio::awaitable<bool> driver::handle(smtp::step s) {
  for (;;) {
    if (s.act.kind == smtp::action_kind::xclient) s = co_await after_xclient(std::move(s));
    say(s.out);
    switch (s.act.kind) {
      case smtp::action_kind::none:
        if (!writer_ && sess_.current() == nullptr) writer_error_.reset();
        co_return true;
      case smtp::action_kind::close:
        co_await t_->flush(kReplyWriteTimeout);
        if (end_reason_ == "quit" && last_cmd_ != "QUIT") end_reason_ = "closed-by-server";
        co_return false;
      case smtp::action_kind::read_data:
        if (!co_await t_->flush(kReplyWriteTimeout)) co_return false;
        co_await wait_rdns();   // the Received header names the client when it can
        co_await spf_result();  // Authentication-Results / Received-SPF go first
        co_await dnsbl_decision();
        co_return co_await read_data();
      case smtp::action_kind::read_bdat:
        if (!writer_) {
          co_await wait_rdns();
          co_await spf_result();
          co_await dnsbl_decision();
        }
        co_return co_await read_bdat(s.act);
      case smtp::action_kind::policy:
        s = co_await policy_step(s.act.stage);
        continue;
      case smtp::action_kind::xclient:  // after_xclient() ran before its 220
        co_return true;
      case smtp::action_kind::enqueue:
        s = co_await enqueue();
        continue;
      case smtp::action_kind::start_tls: {
        if (!co_await t_->flush(kReplyWriteTimeout)) co_return false;
        lines_.reset();
        auto r = co_await t_->start_tls(*l_->tls, kTlsHandshakeTimeout);
        if (!r) {
          spdlog::info("tls sid={} result=failed error={}", sid_, field(r.error().message));
          end_reason_ = "tls-failed";
          co_return false;
        }
        spdlog::info("tls sid={} version={} cipher={}", sid_, t_->tls_version(), t_->tls_cipher());
        s = sess_.on_tls_started();
        continue;
      }
    }
    co_return true;
  }
}

asio::awaitable<void> driver::run() {
  auto start = std::chrono::steady_clock::now();
  asio::error_code ec;
  const auto& remote = remote_;
  auto ip = net::ip_address::parse(remote.address().to_string());
  net::ip_address client = ip ? ip->unmapped() : net::ip_address{};
  client_ip_ = client.to_string();
  for (const auto& n : l_->relay->trusted_networks) trusted_ |= n.contains(client);
  sess_.set_client(client_ip_, std::to_string(remote.port()));
  sess_.set_xclient_allowed(trusted_);
  t_->socket().set_option(asio::ip::tcp::no_delay(true), ec);
  spdlog::info("connect sid={} listener={} client={} port={} trusted={}", sid_, cfg_.name,
               client_ip_, remote.port(), trusted_ ? "yes" : "no");
  if (auto n = srv_.hosts().name_of(client); ip && n) {
    // The static host table answers first, as in the system resolver (hosts: files dns):
    // no query, nothing to wait for.
    rdns_ = std::make_shared<rdns_state>(t_->socket().get_executor());
    rdns_->name = *n;
    rdns_->done = true;
    spdlog::info("rdns sid={} client={} name={} ptr={} confirmed=yes dns=hosts-file", sid_,
                 client_ip_, *n, *n);
  } else if (auto* res = srv_.resolver(); res && ip) {
    // In the background: the greeting does not wait (a follow-up "rdns" line logs it).
    rdns_ = std::make_shared<rdns_state>(t_->socket().get_executor());
    rdns_->deadline = std::chrono::steady_clock::now() + kRdnsWait;
    asio::co_spawn(t_->socket().get_executor(), lookup_rdns(srv_, rdns_, *res, client, sid_),
                   log_escape("rdns lookup sid=" + sid_));
  }

  dnsbl_start();  // in the background, like rDNS; awaited below at stage "connect"

  bool go = true;
  // Talking before the greeting (RFC 5321 3.1: the client waits for the 220).
  bool early = false;
  if (cfg_.tmo.greeting_delay.count() > 0) {
    early = co_await t_->wait_readable(cfg_.tmo.greeting_delay);
  } else {
    early = t_->socket().available(ec) > 0;
  }
  if (early) {
    spdlog::info("pregreet sid={} client={}", sid_, client_ip_);
    end_reason_ = "pregreet";
    go = co_await handle(sess_.on_early_input());
  } else if (srv_.draining()) {
    go = co_await handle(sess_.on_shutdown());
  } else {
    auto refuse = co_await dnsbl_connect();  // RFC 5321 3.1: a 554 greeting
    go = co_await handle(sess_.on_connect(std::move(refuse)));
  }

  while (go) {
    auto ev = lines_.next(t_->buffered());
    t_->consume(ev.consumed);
    smtp::step s;
    switch (ev.status) {
      case smtp::line_status::need_more: {
        // RFC 2920 3.2: flush before waiting for more input.
        if (!co_await t_->flush(kReplyWriteTimeout)) {
          end_reason_ = "write-failed";
          go = false;
          continue;  // leaves the loop (a break would only leave the switch)
        }
        bool idle = !in_transaction();
        if (idle && srv_.draining()) {
          end_reason_ = "shutdown";
          go = co_await handle(sess_.on_shutdown());
          go = false;
          continue;  // leaves the loop
        }
        // The whole command line must arrive within the command timeout, however its
        // bytes are spaced (per-record deadline; slowloris).
        auto now = smtp::deadline_clock::now();
        if (!cmd_deadline_) cmd_deadline_ = now + cfg_.tmo.command;
        auto left = smtp::time_left(*cmd_deadline_, now);
        if (idle) srv_.set_idle(sid_, t_);
        auto st = left.count() > 0 ? co_await t_->fill(left) : read_status::timeout;
        if (idle) srv_.clear_idle(sid_);
        if (st == read_status::timeout) {
          end_reason_ = "timeout";
          co_await handle(sess_.on_timeout());
          go = false;
        } else if (st == read_status::closed) {
          if (srv_.draining() && !in_transaction()) {
            end_reason_ = "shutdown";
            co_await handle(sess_.on_shutdown());
          } else {
            end_reason_ = "lost";
          }
          go = false;
        }
        continue;
      }
      case smtp::line_status::line: {
        cmd_deadline_.reset();
        auto sp = ev.line.find(' ');
        last_cmd_ = std::string(ev.line.substr(0, std::min<std::size_t>(sp, 16)));
        for (auto& c : last_cmd_) c = ascii::to_upper(c);
        s = sess_.on_line(ev.line);
        break;
      }
      case smtp::line_status::too_long:
        cmd_deadline_.reset();
        last_cmd_ = "(too-long)";
        s = sess_.on_line_too_long();
        break;
      case smtp::line_status::bare_lf:
        cmd_deadline_.reset();
        last_cmd_ = "(bare-lf)";
        s = sess_.on_bare_lf_command();
        break;
    }
    go = co_await handle(std::move(s));
  }
  co_await t_->flush(std::chrono::seconds(5));
  writer_.reset();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  // Logged and written out before the close: a client that saw the connection end finds
  // the session's lines in the log (records are otherwise written once per event loop
  // turn, base/log.hpp); one write for all of them.
  spdlog::info(
      "disconnect sid={} client={} messages={} rcpts={} errors={} duration_ms={} reason={}", sid_,
      client_ip_, messages_, rcpts_, failures_, ms, end_reason_);
  mxg::log::flush();
  t_->close();
}

}  // namespace

std::string new_session_id() {
  static std::atomic<std::uint64_t> counter{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) & 0xffffffULL) << 24;
  }()};
  return fmt::format("{:012X}", counter.fetch_add(1) & 0xffffffffffffULL);
}

smtp::reply queue_failure_reply(const error& e) {
  return e.code == errc::no_space ? smtp::replies::insufficient_storage()
                                  : smtp::replies::queue_failure();
}

std::optional<std::uint64_t> free_space(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(v.f_bavail) * static_cast<std::uint64_t>(v.f_frsize);
}

asio::awaitable<void> run_session(server& srv, std::shared_ptr<listener_state> l,
                                  asio::ip::tcp::socket sock, asio::ip::tcp::endpoint remote,
                                  std::string sid) {
  driver d(srv, std::move(l), std::move(sock), remote, std::move(sid));
  co_await d.run();
}

}  // namespace mxg::gateway
