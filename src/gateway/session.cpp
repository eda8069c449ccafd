// session.cpp: the SMTP server session coroutine. It drives smtp::session (the
// I/O-free state machine of src/smtp) and adds what needs I/O:
//   - greeting after an optional delay; talking before it: 554 and close
//     (smtp::session::on_early_input, RFC 5321 4.3.1 / 3.1);
//   - per-state deadlines (RFC 5321 4.5.3.2): command wait, each DATA block;
//   - PIPELINING flush groups (RFC 2920 3.2): replies are written when no further
//     complete command is buffered, and before any wait for input;
//   - STARTTLS (RFC 3207 4.2): buffered plaintext is dropped before the handshake;
//   - DATA/BDAT bodies stream through smtp::data_reader into the queue writer with
//     an RFC 5321 4.4 Received header first; 250 only after the queue committed
//     (RFC 5321 4.1.1.4 / issue 3 section 4), 451 4.3.0 when it could not.
//   - relay control (smtp::check_relay with the trusted networks) and the policy
//     hook on MAIL/RCPT (SPF enforcement plugs in there later).
// Security: every byte is hostile. Input is consumed through smtp::line_reader
// (hard cap) and smtp::data_reader (size cap, smuggling-safe end of data), so the
// buffer stays bounded; BDAT chunks are streamed, never held whole in memory.
#include "gateway/session.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <random>

#include "gateway/transport.hpp"
#include "smtp/relay.hpp"
#include "smtp/session.hpp"

namespace mxg::gateway {

namespace {

inline constexpr std::size_t kBodyFlushBytes = 64 * 1024;  // queue write granularity
inline constexpr std::chrono::seconds kTlsHandshakeTimeout{60};
inline constexpr std::chrono::seconds kReplyWriteTimeout{60};

policy_hook& global_policy() {
  static policy_hook h;
  return h;
}

// RFC 5322 3.3 date-time in local time with numeric zone.
std::string rfc5322_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
  return buf;
}

// Keeps peer text printable in a header or log field (no CR/LF, no controls,
// no unbalanced parentheses in a comment).
std::string clean(std::string_view s, std::size_t max = 255) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c < 0x21 || c == 0x7f || c == '(' || c == ')' || c == '\\' || c == '"')
      out += '?';
    else
      out += static_cast<char>(c);
  }
  return out;
}

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
         std::string sid)
      : srv_(srv),
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
    return c;
  }

  smtp::session_hooks make_hooks() {
    smtp::session_hooks h;
    h.on_helo = [this](const smtp::session_info&,
                       std::string_view helo) -> std::optional<smtp::reply> {
      spdlog::info("helo sid={} helo={}", sid_, field(helo));
      return std::nullopt;
    };
    h.on_mail = [this](const smtp::session_info& info, const smtp::path& sender,
                       const smtp::mail_params& p) -> std::optional<smtp::reply> {
      if (auto& pol = global_policy()) {
        std::string r = pol(policy_context{client_ip_, info.helo, sender.address(), ""});
        if (!r.empty()) {
          auto rep = smtp::parse_reply_text(r);
          spdlog::info("mail sid={} from=<{}> result=refused policy={}", sid_, sender.address(),
                       field(r));
          if (!rep.empty()) return rep;
        }
      }
      spdlog::info("mail sid={} from=<{}> size={} body={}", sid_, sender.address(),
                   p.size ? std::to_string(*p.size) : "-", smtp::to_string(p.body));
      return std::nullopt;
    };
    h.on_rcpt = [this](const smtp::session_info& info, const smtp::transaction& txn,
                       const smtp::path& rcpt) -> std::optional<smtp::reply> {
      auto d = smtp::check_relay(rcpt, domains_, trusted_);
      if (!d.accepted()) {
        spdlog::info("rcpt sid={} to=<{}> result=refused relay=denied why={}", sid_, rcpt.address(),
                     field(d.why));
        return d.refusal;
      }
      if (auto& pol = global_policy()) {
        std::string r =
            pol(policy_context{client_ip_, info.helo, txn.sender.address(), rcpt.address()});
        if (!r.empty()) {
          auto rep = smtp::parse_reply_text(r);
          spdlog::info("rcpt sid={} to=<{}> result=refused policy={}", sid_, rcpt.address(),
                       field(r));
          if (!rep.empty()) return rep;
        }
      }
      spdlog::info("rcpt sid={} to=<{}> result=accepted relay={}", sid_, rcpt.address(),
                   smtp::to_string(d.verdict));
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
  std::string received_header(const std::string& qid);
  asio::awaitable<bool> handle(smtp::step s);
  asio::awaitable<bool> read_data();
  asio::awaitable<bool> read_bdat(const smtp::action& a);
  asio::awaitable<smtp::step> enqueue();
  result<void> ensure_writer();
  void flush_body();

  server& srv_;
  std::shared_ptr<listener_state> l_;
  const listener_config& cfg_;
  std::string sid_;
  std::shared_ptr<transport> t_;
  smtp::line_reader lines_;
  smtp::relay_domains domains_{l_->relay->local_domains, l_->relay->relay_domains};
  bool trusted_ = false;
  std::string client_ip_;
  smtp::session sess_;
  std::string last_cmd_;
  std::optional<queue::message_writer> writer_;
  std::optional<error> writer_error_;
  std::string body_;  // body bytes not yet appended to the writer
  std::uint64_t messages_ = 0, rcpts_ = 0, failures_ = 0;
  std::string end_reason_ = "quit";
};

std::string driver::received_header(const std::string& qid) {
  // RFC 5321 4.4 Time-stamp-line; "with" keywords from RFC 3848 (ESMTP, ESMTPS).
  const auto& info = sess_.info();
  std::string proto = info.esmtp ? (t_->tls_active() ? "ESMTPS" : "ESMTP") : "SMTP";
  std::string h = fmt::format("Received: from {} ({} [{}])\r\n\tby {} (mxguard) with {}",
                              clean(info.helo.empty() ? "unknown" : info.helo), "unknown",
                              client_ip_, clean(cfg_.hostname), proto);
  if (t_->tls_active())
    h += fmt::format("\r\n\t(version={} cipher={} bits={})", t_->tls_version(), t_->tls_cipher(),
                     t_->tls_bits());
  h += fmt::format("\r\n\tid {}", qid);
  const auto* txn = sess_.current();
  if (txn && txn->recipients.size() == 1)
    h += fmt::format("\r\n\tfor <{}>", clean(txn->recipients.front().address(), 300));
  h += "; " + rfc5322_now() + "\r\n";
  return h;
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
  body_ = received_header(writer_->id().str());
  return {};
}

void driver::flush_body() {
  if (writer_ && !body_.empty()) {
    if (auto r = writer_->append(body_); !r && !writer_error_) {
      writer_error_ = r.error();
      spdlog::error("queue sid={} qid={} error={}", sid_, writer_->id().str(),
                    field(r.error().message));
    }
  }
  body_.clear();
}

asio::awaitable<smtp::step> driver::enqueue() {
  flush_body();
  const auto* txn = sess_.current();
  if (!writer_ || writer_error_ || !txn) {
    writer_.reset();
    writer_error_.reset();
    ++srv_.stats().queue_errors;
    co_return sess_.on_queue_failed();
  }
  queue::envelope env;
  env.created =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  env.sender = txn->sender.address();
  for (const auto& r : txn->recipients) {
    queue::recipient rcpt;
    rcpt.address = r.address();
    env.recipients.push_back(std::move(rcpt));
  }
  env.client_ip = client_ip_;
  env.helo = sess_.info().helo;
  env.listener = cfg_.name;
  env.session = sid_;
  env.mode = cfg_.mode;
  env.body = body_of(txn->params.body);
  env.smtputf8 = txn->params.smtputf8;
  if (t_->tls_active()) env.set_extra("tls", t_->tls_version() + " " + t_->tls_cipher());
  std::string qid = writer_->id().str();
  std::uint64_t size = writer_->size();
  std::size_t nrcpt = env.recipients.size();
  std::string from = env.sender;
  queue::message_writer w = std::move(*writer_);
  writer_.reset();
  auto r = co_await async_commit(*l_->queue, std::move(w), std::move(env),
                                 t_->socket().get_executor(), asio::use_awaitable);
  if (!r) {
    ++srv_.stats().queue_errors;
    spdlog::error("queue sid={} qid={} error={}", sid_, qid, field(r.error().message));
    co_return sess_.on_queue_failed();
  }
  ++messages_;
  rcpts_ += nrcpt;
  spdlog::info("queued sid={} qid={} from=<{}> nrcpt={} size={} listener={} mode={}", sid_, qid,
               from, nrcpt, size, cfg_.name, to_string(cfg_.mode));
  srv_.message_queued(*l_, qid);
  co_return sess_.on_queued(qid);
}

asio::awaitable<bool> driver::read_data() {
  smtp::data_limits lim;
  lim.max_size = cfg_.limits.message_size;
  lim.max_line = cfg_.limits.text_line_length;
  lim.bare = cfg_.bare_lf == bare_lf_policy::normalize ? smtp::bare_line_end::normalize
                                                       : smtp::bare_line_end::reject;
  smtp::data_reader dr(lim);
  (void)ensure_writer();  // a failure is answered 451 after the data (nothing lost)
  for (;;) {
    std::size_t used = dr.feed(t_->buffered(), body_);
    t_->consume(used);
    if (dr.error() != smtp::data_error::none) body_.clear();
    if (body_.size() >= kBodyFlushBytes) flush_body();
    if (dr.done()) break;
    auto st = co_await t_->fill(cfg_.tmo.data_block);
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
  while (left > 0) {
    if (!t_->has_buffered()) {
      auto st = co_await t_->fill(cfg_.tmo.data_block);
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
    if (!a.discard_chunk) body_.append(buf.substr(0, n));
    t_->consume(n);
    left -= n;
    if (body_.size() >= kBodyFlushBytes) flush_body();
  }
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
        co_return co_await read_data();
      case smtp::action_kind::read_bdat:
        co_return co_await read_bdat(s.act);
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
  auto remote = t_->socket().remote_endpoint(ec);
  auto ip = net::ip_address::parse(remote.address().to_string());
  net::ip_address client = ip ? ip->unmapped() : net::ip_address{};
  client_ip_ = client.to_string();
  for (const auto& n : l_->relay->trusted_networks) trusted_ |= n.contains(client);
  t_->socket().set_option(asio::ip::tcp::no_delay(true), ec);
  spdlog::info("connect sid={} listener={} client={} port={} trusted={}", sid_, cfg_.name,
               client_ip_, remote.port(), trusted_ ? "yes" : "no");

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
    go = co_await handle(sess_.on_connect());
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
          break;
        }
        bool idle = !in_transaction();
        if (idle && srv_.draining()) {
          end_reason_ = "shutdown";
          go = co_await handle(sess_.on_shutdown());
          go = false;
          break;
        }
        if (idle) srv_.set_idle(sid_, t_);
        auto st = co_await t_->fill(cfg_.tmo.command);
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
        auto sp = ev.line.find(' ');
        last_cmd_ = std::string(ev.line.substr(0, std::min<std::size_t>(sp, 16)));
        for (auto& c : last_cmd_)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        s = sess_.on_line(ev.line);
        break;
      }
      case smtp::line_status::too_long:
        last_cmd_ = "(too-long)";
        s = sess_.on_line_too_long();
        break;
      case smtp::line_status::bare_lf:
        last_cmd_ = "(bare-lf)";
        s = sess_.on_bare_lf_command();
        break;
    }
    go = co_await handle(std::move(s));
  }
  co_await t_->flush(std::chrono::seconds(5));
  writer_.reset();
  t_->close();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  spdlog::info(
      "disconnect sid={} client={} messages={} rcpts={} errors={} duration_ms={} reason={}", sid_,
      client_ip_, messages_, rcpts_, failures_, ms, end_reason_);
}

}  // namespace

std::string new_session_id() {
  static std::atomic<std::uint64_t> counter{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) & 0xffffffULL) << 24;
  }()};
  return fmt::format("{:012X}", counter.fetch_add(1) & 0xffffffffffffULL);
}

void set_policy_hook(policy_hook h) {
  global_policy() = std::move(h);
}

asio::awaitable<void> run_session(server& srv, std::shared_ptr<listener_state> l,
                                  asio::ip::tcp::socket sock, std::string sid) {
  driver d(srv, std::move(l), std::move(sock), std::move(sid));
  co_await d.run();
}

}  // namespace mxg::gateway
