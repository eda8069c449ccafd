// data.cpp: command line splitter and DATA body reader (RFC 5321 2.3.8 line
// ends, 4.1.1.4 end of data, 4.5.2 transparency, 4.5.3.1.4/6 line limits).
// Security: the end of data is ONLY <CRLF>.<CRLF> (SMTP smuggling); a line that
// began after a bare CR or bare LF can never be the terminator, whatever the
// bare_line_end policy. Memory is O(1) beyond the caller's output buffer.
#include "smtp/data.hpp"

#include <algorithm>
#include <cstring>

namespace mxg::smtp {

// ---------------------------------------------------------------- line_reader

line_event line_reader::next(std::string_view buf) {
  std::size_t off = 0;
  if (discarding_) {
    std::size_t lf = buf.find('\n');
    if (lf == std::string_view::npos) return {line_status::need_more, {}, buf.size()};
    discarding_ = false;
    off = lf + 1;
  }
  std::string_view rest = buf.substr(off);
  std::size_t lf = rest.find('\n');
  if (lf == std::string_view::npos) {
    // Content plus a possible CR already reaches the cap: with the LF still to
    // come the line is longer than max_ (RFC 5321 4.5.3.1.4 counts the CRLF).
    if (rest.size() >= max_) {
      discarding_ = true;
      return {line_status::too_long, {}, buf.size()};
    }
    return {line_status::need_more, {}, off};
  }
  const bool has_cr = lf > 0 && rest[lf - 1] == '\r';
  const std::size_t content = has_cr ? lf - 1 : lf;
  const std::size_t consumed = off + lf + 1;
  if (content + 2 > max_) return {line_status::too_long, {}, consumed};
  if (!has_cr && strict_) return {line_status::bare_lf, {}, consumed};
  return {line_status::line, rest.substr(0, content), consumed};
}

// ---------------------------------------------------------------- data_reader

const char* to_string(data_error e) noexcept {
  switch (e) {
    case data_error::none:
      return "none";
    case data_error::too_big:
      return "too-big";
    case data_error::line_too_long:
      return "line-too-long";
    case data_error::bare_lf:
      return "bare-lf";
    case data_error::bare_cr:
      return "bare-cr";
    case data_error::nul:
      return "nul";
  }
  return "none";
}

reply data_error_reply(data_error e, std::uint64_t max_size) {
  using namespace status;
  switch (e) {
    case data_error::none:
      return {};
    case data_error::too_big:
      (void)max_size;
      return replies::message_too_big();
    case data_error::line_too_long:
      return reply(550, k_5_6_0,
                   "Message refused: a line is longer than 1000 octets (RFC 5321 4.5.3.1.6)");
    case data_error::bare_lf:
      return reply(550, k_5_6_0,
                   "Message refused: bare <LF> in message data; lines must end with <CR><LF> "
                   "(RFC 5321 2.3.8)");
    case data_error::bare_cr:
      return reply(550, k_5_6_0,
                   "Message refused: bare <CR> in message data; lines must end with <CR><LF> "
                   "(RFC 5321 2.3.8)");
    case data_error::nul:
      return reply(554, k_5_6_0, "Message refused: NUL octet in message data (RFC 5321 2.3.8)");
  }
  return {};
}

void data_reader::fail(data_error e) {
  if (error_ == data_error::none) error_ = e;
}

void data_reader::emit(std::string& out, std::string_view bytes) {
  size_ += bytes.size();
  if (error_ == data_error::none && size_ > lim_.max_size) fail(data_error::too_big);
  // RFC 5321 2.3.8: NUL SHOULD NOT be sent; refused, never stored.
  if (error_ == data_error::none && std::memchr(bytes.data(), '\0', bytes.size()) != nullptr)
    fail(data_error::nul);
  if (error_ == data_error::none) out.append(bytes);
}

// A CRLF (or a normalized bare line end) finished the current line.
void data_reader::end_line(std::string& out) {
  emit(out, "\r\n");
  ++lines_;
  line_len_ = 0;
  state_ = st::line_start;
}

std::size_t data_reader::feed(std::string_view in, std::string& out) {
  const bool normalize = lim_.bare == bare_line_end::normalize;
  std::size_t i = 0;
  // soft_: the current line began after a bare CR/LF, so it cannot end the data.
  while (i < in.size() && state_ != st::done) {
    const char c = in[i];
    // Fast path: the middle of a line up to the next CR or LF, in one append.
    if (state_ == st::mid && c != '\r' && c != '\n') {
      const char* p = in.data() + i;
      std::size_t n = in.size() - i;
      const void* cr = std::memchr(p, '\r', n);
      const void* lf = std::memchr(p, '\n', n);
      std::size_t stop = n;
      if (cr) stop = static_cast<std::size_t>(static_cast<const char*>(cr) - p);
      if (lf) stop = std::min(stop, static_cast<std::size_t>(static_cast<const char*>(lf) - p));
      line_len_ += stop;
      if (lim_.max_line != 0 && line_len_ > lim_.max_line) fail(data_error::line_too_long);
      emit(out, std::string_view(p, stop));
      i += stop;
      continue;
    }
    ++i;
    ++line_len_;
    if (lim_.max_line != 0 && line_len_ > lim_.max_line) fail(data_error::line_too_long);
    switch (state_) {
      case st::line_start:
        if (c == '.') {
          state_ = st::dot;
        } else if (c == '\r') {
          state_ = st::cr;
        } else if (c == '\n') {  // bare LF: an empty line for normalize, never an end
          fail_or_normalize_lf(out, normalize);
        } else {
          emit(out, std::string_view(&c, 1));
          state_ = st::mid;
        }
        break;
      case st::dot:
        if (c == '\r') {
          state_ = st::dot_cr;
        } else if (c == '\n') {  // "<CRLF>.<LF>": not the end (smuggling); content "."
          emit(out, ".");
          fail_or_normalize_lf(out, normalize);
        } else {
          // RFC 5321 4.5.2: delete the first period of a line that has more.
          state_ = st::mid;
          emit(out, std::string_view(&c, 1));
        }
        break;
      case st::dot_cr:
        if (c == '\n') {
          if (!soft_) {  // <CRLF>.<CRLF>: the only end of data (RFC 5321 4.1.1.4)
            ++lines_;
            state_ = st::done;
            return i;
          }
          // "." after a bare line end, ended by CRLF: content, never the end.
          emit(out, ".");
          soft_ = false;
          end_line(out);
        } else {  // ".<CR>x": bare CR
          emit(out, ".");
          bare_cr(out, normalize);
          --i;  // reprocess c at the start of the next line
        }
        break;
      case st::mid:  // only CR or LF reach here (fast path above)
        if (c == '\r') {
          state_ = st::cr;
        } else {
          fail_or_normalize_lf(out, normalize);
        }
        break;
      case st::cr:
        if (c == '\n') {
          soft_ = false;
          end_line(out);
        } else {
          bare_cr(out, normalize);
          --i;
        }
        break;
      case st::done:
        break;
    }
  }
  return i;
}

void data_reader::fail_or_normalize_lf(std::string& out, bool normalize) {
  if (!normalize) fail(data_error::bare_lf);
  end_line(out);  // output is already stopped when failed
  soft_ = true;
}

void data_reader::bare_cr(std::string& out, bool normalize) {
  if (!normalize) fail(data_error::bare_cr);
  end_line(out);
  soft_ = true;
}

}  // namespace mxg::smtp
