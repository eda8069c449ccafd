// data.hpp: the two byte-level readers of the SMTP server, pure and incremental
// (no I/O: the driver feeds what it read and gets results back).
//
// line_reader: splits command lines with a hard cap (RFC 5321 4.5.3.1.4: 512
// octets with CRLF). A line ending in a bare LF is accepted (real clients and
// telnet do it) unless strict; a line over the cap is reported once and
// swallowed up to its LF so the session stays in sync.
//
// data_reader: the DATA body (RFC 5321 4.1.1.4, 4.5.2 transparency, 2.3.8 line
// ends). It removes dot-stuffing and ends ONLY at <CRLF>.<CRLF>: never at
// <LF>.<LF>, <CR>.<CR>, <CRLF>.<LF> or <LF>.<CRLF> (SMTP smuggling,
// CVE-2023-51764/5/6). The CRLF of the DATA command line counts as the first
// <CRLF>, so an empty message is ".\r\n".
// A bare LF or bare CR is by default an error (the message is refused with
// 550 5.6.0, the reader keeps swallowing to the real terminator so the session
// stays in sync and may continue: unlike Postfix's 521 + disconnect we lose no
// sync because nothing but <CRLF>.<CRLF> ends the data). With
// bare_line_end::normalize each bare LF and each bare CR becomes CRLF in the
// output; a normalized line can never end the data. Line length and total size
// are enforced the same way: the error is remembered, output stops, input is
// swallowed to the terminator. So is a NUL octet (RFC 5321 2.3.8 "SHOULD NOT" be
// sent; many MTAs and mail stores mishandle it): the message is refused with
// 554 5.6.0 rather than stored with it. BINARYMIME content (BDAT) is not read here.
//
// Security: every byte is untrusted; memory use is O(1) beyond the caller's output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/limits.hpp"
#include "smtp/reply.hpp"

namespace mxg::smtp {

enum class line_status {
  need_more,  // no complete line yet: read more and call next() again with the grown buffer
  line,       // a complete line (without its CRLF / LF)
  too_long,   // the line exceeds the cap: reply 500 5.5.2; the reader swallows the rest
  bare_lf,    // strict mode only: line ended in a bare LF (consumed); reply 500 5.5.2
};

struct line_event {
  line_status status = line_status::need_more;
  std::string_view line;     // valid for status::line: points into the buffer given to next()
  std::size_t consumed = 0;  // bytes the caller must drop from the front of its buffer
};

class line_reader {
 public:
  explicit line_reader(std::size_t max_line = limits::kSmtpCommandLineMax, bool strict = false)
      : max_(max_line), strict_(strict) {}

  // Looks at the unread bytes `buf` (front of the caller's buffer). The caller
  // handles the event (event.line points into buf), then always drops
  // `consumed` bytes (also for need_more: swallowed parts of an over-long line),
  // and calls again until need_more.
  line_event next(std::string_view buf);

  // The rest of an over-long line is still being swallowed.
  bool discarding() const { return discarding_; }
  // Forget state (after STARTTLS, the plaintext buffer is dropped, RFC 3207 4.2).
  void reset() { discarding_ = false; }

 private:
  std::size_t max_;
  bool strict_;
  bool discarding_ = false;
};

enum class bare_line_end { reject, normalize };

struct data_limits {
  std::uint64_t max_size = 25 * 1024 * 1024;        // message bytes after unstuffing (RFC 1870)
  std::size_t max_line = limits::kSmtpTextLineMax;  // with CRLF, 0 = no limit (4.5.3.1.6)
  bare_line_end bare = bare_line_end::reject;
};

enum class data_error {
  none,
  too_big,        // 552 5.3.4 (RFC 1870 6.3 / RFC 5321 4.5.3.1.10)
  line_too_long,  // 550 5.6.0 line > max_line
  bare_lf,        // 550 5.6.0 (reject mode)
  bare_cr,        // 550 5.6.0 (reject mode)
  nul,            // 554 5.6.0: a NUL octet (RFC 5321 2.3.8: SHOULD NOT be sent; never stored)
};
const char* to_string(data_error e) noexcept;

// The reply for a data error (empty reply for data_error::none).
reply data_error_reply(data_error e, std::uint64_t max_size);

class data_reader {
 public:
  explicit data_reader(data_limits lim = {}) : lim_(lim) {}

  // Feeds received bytes. Appends body bytes (CRLF line ends, unstuffed) to
  // `out` while no error was found. Returns how many input bytes were used:
  // less than in.size() only when the terminator was found, the rest belongs
  // to the next command (RFC 2920 pipelining).
  std::size_t feed(std::string_view in, std::string& out);

  bool done() const { return state_ == st::done; }
  data_error error() const { return error_; }   // first error seen
  std::uint64_t size() const { return size_; }  // body bytes, counted even past errors
  std::uint64_t lines() const { return lines_; }

  void reset() { *this = data_reader(lim_); }

 private:
  enum class st { line_start, dot, dot_cr, mid, cr, done };
  void emit(std::string& out, std::string_view bytes);
  void end_line(std::string& out);
  void fail(data_error e);
  void fail_or_normalize_lf(std::string& out, bool normalize);
  void bare_cr(std::string& out, bool normalize);

  data_limits lim_;
  st state_ = st::line_start;
  data_error error_ = data_error::none;
  std::uint64_t size_ = 0;
  std::uint64_t lines_ = 0;
  std::size_t line_len_ = 0;  // wire bytes of the current line so far
  bool soft_ = false;         // the current line began after a bare CR/LF: it cannot end the data
};

}  // namespace mxg::smtp
