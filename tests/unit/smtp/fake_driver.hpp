// fake_driver.hpp: a byte-exact, in-memory driver around the I/O-free SMTP core,
// the same loop the asio session in src/gateway/ runs (docs/smtp.md). Tests feed
// the client's bytes and compare the server's bytes; the "queue" records messages.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/data.hpp"
#include "smtp/session.hpp"

namespace mxg::smtp::testing {

struct queued_message {
  std::string sender;
  std::vector<std::string> recipients;
  mail_params params;
  std::string body;
};

class fake_driver {
 public:
  explicit fake_driver(session_config cfg = default_config(), session_hooks hooks = {},
                       data_limits dl = {}, bool strict_lines = false)
      : sess_(std::move(cfg), std::move(hooks)),
        lines_(limits::kSmtpCommandLineMax, strict_lines),
        dlim_(dl) {}

  static session_config default_config() {
    session_config c;
    c.hostname = "mx.test";
    c.greeting = "ESMTP mxguard";
    return c;
  }

  void connect() { handle(sess_.on_connect()); }

  // Feeds what the client sent (any split) and runs the protocol as far as it can.
  void feed(std::string_view bytes) {
    if (closed_) return;
    in_ += bytes;
    pump();
  }

  const std::string& output() const { return out_; }
  std::string take_output() {
    std::string o;
    o.swap(out_);
    return o;
  }
  bool closed() const { return closed_; }
  const std::vector<queued_message>& queued() const { return queue_; }
  session& sess() { return sess_; }
  // Next queue write fails (451) instead of succeeding.
  void fail_next_enqueue() { fail_enqueue_ = true; }
  // The policy step (action_kind::policy): answered at once by `f` (the gateway's
  // driver awaits DNS here; the protocol is the same). Without one, everything passes.
  using policy_fn = std::function<std::optional<reply>(policy_stage, const session&)>;
  void set_policy(policy_fn f) { policy_ = std::move(f); }
  // How many XCLIENT commands were accepted (action_kind::xclient).
  int xclients() const { return xclients_; }
  // Bytes the client sent that were dropped at STARTTLS (RFC 3207 4.2).
  const std::string& discarded_plaintext() const { return discarded_; }

 private:
  enum class mode { commands, data, bdat };

  void write(const reply& r) { out_ += r.format(); }

  void handle(step st) {
    while (true) {
      write(st.out);
      switch (st.act.kind) {
        case action_kind::none:
          mode_ = mode::commands;
          // The body buffer belongs to the transaction (a failed BDAT ends it).
          if (sess_.current() == nullptr) body_.clear();
          return;
        case action_kind::read_data:
          mode_ = mode::data;
          reader_ = data_reader(dlim_);
          body_.clear();
          return;
        case action_kind::read_bdat:
          mode_ = mode::bdat;
          bdat_left_ = st.act.chunk_size;
          bdat_discard_ = st.act.discard_chunk;
          if (bdat_left_ == 0) {
            st = sess_.on_bdat_chunk();
            continue;
          }
          return;
        case action_kind::enqueue: {
          const transaction* t = sess_.current();
          if (fail_enqueue_) {
            fail_enqueue_ = false;
            body_.clear();
            st = sess_.on_queue_failed();
            continue;
          }
          queued_message m;
          m.sender = t->sender.address();
          for (const auto& r : t->recipients) m.recipients.push_back(r.address());
          m.params = t->params;
          m.body.swap(body_);
          queue_.push_back(std::move(m));
          st = sess_.on_queued("Q" + std::to_string(queue_.size()));
          continue;
        }
        case action_kind::start_tls:
          if (st.act.discard_buffered_input) {
            discarded_ += in_;
            in_.clear();
            lines_.reset();
          }
          out_ += "[TLS]";
          st = sess_.on_tls_started();
          continue;
        case action_kind::close:
          closed_ = true;
          return;
        case action_kind::policy:
          st = sess_.on_policy(policy_ ? policy_(st.act.stage, sess_) : std::nullopt);
          continue;
        case action_kind::xclient:
          ++xclients_;
          mode_ = mode::commands;
          return;
      }
    }
  }

  void pump() {
    while (!closed_) {
      if (mode_ == mode::commands) {
        line_event ev = lines_.next(in_);
        if (ev.status == line_status::need_more) {
          in_.erase(0, ev.consumed);
          return;
        }
        step st;
        if (ev.status == line_status::line) {
          std::string line(ev.line);
          in_.erase(0, ev.consumed);
          st = sess_.on_line(line);
        } else if (ev.status == line_status::too_long) {
          in_.erase(0, ev.consumed);
          st = sess_.on_line_too_long();
        } else {
          in_.erase(0, ev.consumed);
          st = sess_.on_bare_lf_command();
        }
        handle(std::move(st));
      } else if (mode_ == mode::data) {
        std::size_t used = reader_.feed(in_, body_);
        in_.erase(0, used);
        if (!reader_.done()) return;
        handle(sess_.on_data_end(reader_.error(), reader_.size()));
      } else {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bdat_left_, in_.size()));
        if (!bdat_discard_) body_.append(in_, 0, n);
        in_.erase(0, n);
        bdat_left_ -= n;
        if (bdat_left_ > 0) return;
        handle(sess_.on_bdat_chunk());
      }
    }
  }

  session sess_;
  line_reader lines_;
  data_limits dlim_;
  data_reader reader_;
  mode mode_ = mode::commands;
  std::string in_, out_, body_, discarded_;
  std::uint64_t bdat_left_ = 0;
  bool bdat_discard_ = false;
  bool closed_ = false;
  bool fail_enqueue_ = false;
  std::vector<queued_message> queue_;
  policy_fn policy_;
  int xclients_ = 0;
};

}  // namespace mxg::smtp::testing
