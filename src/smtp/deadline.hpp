// deadline.hpp: the deadlines of the server session against slow clients (slowloris,
// issue 16 item 2), pure arithmetic over time points the driver passes in (no clock
// is read here, so the rules are unit-tested without waiting).
//
// RFC 5321 4.5.3.2 gives per-state timeouts but not whether a timeout restarts with
// each octet; restarting lets a client that sends one byte just inside every timeout
// hold a session forever. Like Postfix's smtpd_per_record_deadline and
// smtpd_per_request_deadline + smtpd_min_data_rate:
//   - a command line must arrive whole within the command timeout (record_deadline:
//     a fixed point in time, set when the wait for a command starts);
//   - DATA and each BDAT chunk start with the data timeout; each read of N octets
//     extends it by N / min_rate seconds, but never to more than the timeout from now
//     (request_deadline), and never past the optional absolute cap `total`.
// A client sending at min_rate or faster, without a pause longer than the timeout,
// never hits the deadline; a slower one does, however it spaces its bytes.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace mxg::smtp {

using deadline_clock = std::chrono::steady_clock;

// Time left until `at` (zero once passed), rounded up to whole milliseconds.
inline std::chrono::milliseconds time_left(deadline_clock::time_point at,
                                           deadline_clock::time_point now) {
  if (now >= at) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(at - now);
}

class request_deadline {
 public:
  // min_rate: octets per second a client must keep up on average; 0 = no minimum (each
  // read restarts the full timeout, the behaviour of a plain per-read timeout).
  // total: absolute cap from `start`; 0 = none.
  request_deadline(deadline_clock::time_point start, std::chrono::milliseconds timeout,
                   std::size_t min_rate, std::chrono::milliseconds total = {})
      : timeout_(timeout), min_rate_(min_rate), at_(start + timeout) {
    if (total.count() > 0) cap_ = start + total;
    if (cap_) at_ = std::min(at_, *cap_);
  }

  // `n` octets arrived at `now`.
  void on_bytes(deadline_clock::time_point now, std::uint64_t n) {
    const deadline_clock::time_point limit = now + timeout_;
    if (min_rate_ == 0) {
      at_ = limit;
    } else {
      // n / min_rate seconds of credit (no more than the timeout: no overflow).
      const std::chrono::duration<double> credit(static_cast<double>(n) /
                                                 static_cast<double>(min_rate_));
      if (credit >= timeout_)
        at_ = limit;
      else
        at_ = std::min(at_ + std::chrono::duration_cast<deadline_clock::duration>(credit), limit);
    }
    if (cap_) at_ = std::min(at_, *cap_);
  }

  deadline_clock::time_point at() const { return at_; }
  std::chrono::milliseconds left(deadline_clock::time_point now) const {
    return time_left(at_, now);
  }
  bool expired(deadline_clock::time_point now) const { return now >= at_; }

 private:
  std::chrono::milliseconds timeout_;
  std::size_t min_rate_;
  deadline_clock::time_point at_;
  std::optional<deadline_clock::time_point> cap_;
};

}  // namespace mxg::smtp
