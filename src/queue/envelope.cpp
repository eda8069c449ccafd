// envelope.cpp: control file writer and strict parser (format in envelope.hpp and
// docs/queue.md).
//
// Security: parse_control reads files that may have been truncated by a crash or
// edited by hand, and whose values came from SMTP peers. It checks every line, caps
// sizes (kControlFileMax, kControlLineMax, kControlRecipientsMax), never trusts a
// value to be free of control characters (they must be escaped), and reports the
// first problem with its line number. Fuzzed by fuzz/queue_control.cpp.
#include "queue/envelope.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace mxg::queue {

namespace {

constexpr std::string_view kVersionKey = "mxguard-queue";
constexpr char kHex[] = "0123456789ABCDEF";

bool is_raw_control(unsigned char c) noexcept {
  return c < 0x20 || c == 0x7f;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <typename T>
bool parse_uint(std::string_view s, T& out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool valid_extra_key(std::string_view k) noexcept {
  if (k.empty() || k.size() > 64) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Splits off the next space-separated token of a recipient line.
std::string_view next_token(std::string_view& rest) {
  auto sp = rest.find(' ');
  std::string_view tok = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  return tok;
}

}  // namespace

const char* to_string(delivery_mode m) noexcept {
  switch (m) {
    case delivery_mode::deliver:
      return "deliver";
    case delivery_mode::queueonly:
      return "queueonly";
    case delivery_mode::hold:
      return "hold";
  }
  return "?";
}

result<delivery_mode> parse_delivery_mode(std::string_view s) {
  if (s == "deliver") return delivery_mode::deliver;
  if (s == "queueonly") return delivery_mode::queueonly;
  if (s == "hold") return delivery_mode::hold;
  return fail(errc::invalid_argument, "unknown delivery mode (deliver, queueonly, hold)");
}

const char* to_string(body_type b) noexcept {
  switch (b) {
    case body_type::seven_bit:
      return "7bit";
    case body_type::eight_bit_mime:
      return "8bitmime";
    case body_type::binary_mime:
      return "binarymime";
  }
  return "?";
}

result<body_type> parse_body_type(std::string_view s) {
  if (s == "7bit") return body_type::seven_bit;
  if (s == "8bitmime") return body_type::eight_bit_mime;
  if (s == "binarymime") return body_type::binary_mime;
  return fail(errc::invalid_argument, "unknown body type (7bit, 8bitmime, binarymime)");
}

const char* to_string(rcpt_status s) noexcept {
  switch (s) {
    case rcpt_status::pending:
      return "pending";
    case rcpt_status::delivered:
      return "delivered";
    case rcpt_status::failed:
      return "failed";
    case rcpt_status::deferred:
      return "deferred";
  }
  return "?";
}

static result<rcpt_status> parse_rcpt_status(std::string_view s) {
  if (s == "pending") return rcpt_status::pending;
  if (s == "delivered") return rcpt_status::delivered;
  if (s == "failed") return rcpt_status::failed;
  if (s == "deferred") return rcpt_status::deferred;
  return fail(errc::parse_error, "unknown recipient status");
}

bool envelope::done() const noexcept {
  return std::all_of(recipients.begin(), recipients.end(), [](const recipient& r) {
    return r.status == rcpt_status::delivered || r.status == rcpt_status::failed;
  });
}

const std::string* envelope::find_extra(std::string_view key) const noexcept {
  for (const auto& [k, v] : extra)
    if (k == key) return &v;
  return nullptr;
}

std::string message_text(const envelope& env, std::string data) {
  if (const std::string* p = env.find_extra(kPrependExtra); p && !p->empty()) data.insert(0, *p);
  return data;
}

void envelope::set_extra(std::string_view key, std::string value) {
  for (auto& [k, v] : extra)
    if (k == key) {
      v = std::move(value);
      return;
    }
  extra.emplace_back(std::string(key), std::move(value));
}

std::string escape_value(std::string_view v, bool escape_space) {
  std::string out;
  out.reserve(v.size());
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (is_raw_control(c) || (escape_space && c == ' ')) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  return out;
}

result<std::string> unescape_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto c = static_cast<unsigned char>(v[i]);
    if (is_raw_control(c)) return fail(errc::parse_error, "raw control character in value");
    if (c != '\\') {
      out += v[i];
      continue;
    }
    if (++i >= v.size()) return fail(errc::parse_error, "value ends with a lone backslash");
    switch (v[i]) {
      case '\\':
        out += '\\';
        break;
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'x': {
        int hi = i + 1 < v.size() ? hex_digit(v[i + 1]) : -1;
        int lo = i + 2 < v.size() ? hex_digit(v[i + 2]) : -1;
        if (hi < 0 || lo < 0) return fail(errc::parse_error, "bad \\x escape in value");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        return fail(errc::parse_error, "unknown escape in value");
    }
  }
  return out;
}

std::string format_time(time_point t) {
  auto days = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd{days};
  std::chrono::hh_mm_ss hms{t - days};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

result<time_point> parse_time(std::string_view s) {
  // RFC 3339 section 5.6 date-time, restricted to UTC ("Z") and whole seconds.
  auto bad = [&] { return fail(errc::parse_error, "bad time (want YYYY-MM-DDTHH:MM:SSZ)"); };
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z')
    return bad();
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!parse_uint(s.substr(0, 4), y) || !parse_uint(s.substr(5, 2), mo) ||
      !parse_uint(s.substr(8, 2), d) || !parse_uint(s.substr(11, 2), h) ||
      !parse_uint(s.substr(14, 2), mi) || !parse_uint(s.substr(17, 2), se))
    return bad();
  std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{mo},
                                  std::chrono::day{d}};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 59) return bad();
  return std::chrono::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
         std::chrono::seconds{se};
}

std::string format_control(const envelope& env) {
  MXG_ASSERT(queue_id::valid(env.id.str()));
  std::string out;
  out.reserve(512 + env.recipients.size() * 64);
  auto line = [&](std::string_view key, std::string_view value) {
    out += key;
    out += ':';
    if (!value.empty()) {
      out += ' ';
      out += value;
    }
    out += '\n';
  };
  auto opt_time = [](const std::optional<time_point>& t) {
    return t ? format_time(*t) : std::string();
  };
  line(kVersionKey, std::to_string(kControlFormatVersion));
  line("id", env.id.str());
  line("created", format_time(env.created));
  // The null reverse-path is "<>"; a (bogus) mailbox spelled "<>" is escaped apart.
  line("sender", env.sender.empty()   ? std::string("<>")
                 : env.sender == "<>" ? std::string("\\x3C>")
                                      : escape_value(env.sender));
  for (const auto& r : env.recipients) {
    std::string v = to_string(r.status);
    v += ' ';
    v += escape_value(r.address, true);
    if (r.status == rcpt_status::deferred) {
      v += ' ';
      v += r.next_attempt ? format_time(*r.next_attempt) : format_time(env.created);
    }
    if (!r.reply.empty()) {
      v += ' ';
      v += escape_value(r.reply);
    }
    line("recipient", v);
  }
  line("client-ip", escape_value(env.client_ip));
  line("client-name", escape_value(env.client_name));
  line("helo", escape_value(env.helo));
  line("listener", escape_value(env.listener));
  line("session", escape_value(env.session));
  line("mode", to_string(env.mode));
  line("attempts", std::to_string(env.attempts));
  line("next-attempt", opt_time(env.next_attempt));
  line("size", std::to_string(env.size));
  line("body", to_string(env.body));
  line("smtputf8", env.smtputf8 ? "yes" : "no");
  for (const auto& [k, v] : env.extra) {
    MXG_ASSERT(valid_extra_key(k));
    line("x-" + k, escape_value(v));
  }
  line("end", env.id.str());
  return out;
}

result<envelope> parse_control(std::string_view text) {
  std::size_t lineno = 0;
  auto err = [&](std::string_view what) {
    return fail(errc::parse_error, fmt::format("line {}: {}", lineno, what));
  };
  if (text.size() > kControlFileMax)
    return fail(errc::parse_error,
                fmt::format("control file larger than {} bytes", kControlFileMax));
  if (text.empty()) return fail(errc::parse_error, "empty control file");

  envelope env;
  bool seen_end = false;
  // Fields that may appear once; the bit is set when seen.
  enum : unsigned {
    f_id = 1,
    f_created = 2,
    f_sender = 4,
    f_client_ip = 8,
    f_client_name = 16,
    f_helo = 32,
    f_listener = 64,
    f_session = 128,
    f_mode = 256,
    f_attempts = 512,
    f_next = 1024,
    f_size = 2048,
    f_body = 4096,
    f_utf8 = 8192,
  };
  unsigned seen = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++lineno;
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return err("no line end (truncated file?)");
    std::string_view ln = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (seen_end) return err("data after the end marker");
    if (ln.size() > kControlLineMax) return err("line too long");
    for (char c : ln)
      if (is_raw_control(static_cast<unsigned char>(c)))
        return err("raw control character (values must be escaped)");
    auto colon = ln.find(':');
    if (colon == std::string_view::npos || colon == 0) return err("not a \"key: value\" line");
    std::string_view key = ln.substr(0, colon);
    std::string_view raw = ln.substr(colon + 1);
    if (!raw.empty()) {
      if (raw[0] != ' ') return err("expected a space after the colon");
      raw.remove_prefix(1);
    }
    if (lineno == 1) {
      if (key != kVersionKey) return err("not an mxguard control file (first line)");
      if (raw != std::to_string(kControlFormatVersion))
        return err(fmt::format("unsupported control file version \"{}\"", escape_value(raw)));
      continue;
    }
    auto once = [&](unsigned bit) -> bool {
      if (seen & bit) return false;
      seen |= bit;
      return true;
    };
    auto text_value = [&](std::string& dst, unsigned bit) -> result<void> {
      if (!once(bit)) return err(fmt::format("duplicate field \"{}\"", key));
      auto v = unescape_value(raw);
      if (!v) return err(v.error().message);
      dst = std::move(*v);
      return {};
    };
    auto opt_time_value = [&](std::optional<time_point>& dst, unsigned bit) -> result<void> {
      if (!once(bit)) return err(fmt::format("duplicate field \"{}\"", key));
      if (raw.empty()) {
        dst.reset();
        return {};
      }
      auto t = parse_time(raw);
      if (!t) return err(t.error().message);
      dst = *t;
      return {};
    };
    result<void> r;
    if (key == "id") {
      if (!once(f_id)) return err("duplicate field \"id\"");
      auto id = queue_id::parse(raw);
      if (!id) return err(id.error().message);
      env.id = *id;
    } else if (key == "created") {
      if (!once(f_created)) return err("duplicate field \"created\"");
      auto t = parse_time(raw);
      if (!t) return err(t.error().message);
      env.created = *t;
    } else if (key == "sender") {
      if (raw == "<>") {
        if (!once(f_sender)) return err("duplicate field \"sender\"");
        env.sender.clear();
      } else {
        if (raw.empty()) return err("empty sender (the null sender is written <>)");
        r = text_value(env.sender, f_sender);
      }
    } else if (key == "recipient") {
      if (env.recipients.size() >= kControlRecipientsMax) return err("too many recipients");
      std::string_view rest = raw;
      recipient rc;
      auto st = parse_rcpt_status(next_token(rest));
      if (!st) return err(st.error().message);
      rc.status = *st;
      std::string_view addr = next_token(rest);
      if (addr.empty()) return err("recipient without an address");
      auto a = unescape_value(addr);
      if (!a) return err(a.error().message);
      rc.address = std::move(*a);
      if (rc.status == rcpt_status::deferred) {
        auto t = parse_time(next_token(rest));
        if (!t) return err("deferred recipient: " + t.error().message);
        rc.next_attempt = *t;
      }
      auto reply = unescape_value(rest);
      if (!reply) return err(reply.error().message);
      rc.reply = std::move(*reply);
      env.recipients.push_back(std::move(rc));
    } else if (key == "client-ip") {
      r = text_value(env.client_ip, f_client_ip);
    } else if (key == "client-name") {
      r = text_value(env.client_name, f_client_name);
    } else if (key == "helo") {
      r = text_value(env.helo, f_helo);
    } else if (key == "listener") {
      r = text_value(env.listener, f_listener);
    } else if (key == "session") {
      r = text_value(env.session, f_session);
    } else if (key == "mode") {
      if (!once(f_mode)) return err("duplicate field \"mode\"");
      auto m = parse_delivery_mode(raw);
      if (!m) return err(m.error().message);
      env.mode = *m;
    } else if (key == "attempts") {
      if (!once(f_attempts)) return err("duplicate field \"attempts\"");
      unsigned n = 0;
      if (!parse_uint(raw, n) || n > 1000000) return err("bad attempts count");
      env.attempts = static_cast<int>(n);
    } else if (key == "next-attempt") {
      r = opt_time_value(env.next_attempt, f_next);
    } else if (key == "size") {
      if (!once(f_size)) return err("duplicate field \"size\"");
      if (!parse_uint(raw, env.size)) return err("bad size");
    } else if (key == "body") {
      if (!once(f_body)) return err("duplicate field \"body\"");
      auto b = parse_body_type(raw);
      if (!b) return err(b.error().message);
      env.body = *b;
    } else if (key == "smtputf8") {
      if (!once(f_utf8)) return err("duplicate field \"smtputf8\"");
      if (raw == "yes") {
        env.smtputf8 = true;
      } else if (raw == "no") {
        env.smtputf8 = false;
      } else {
        return err("smtputf8 must be yes or no");
      }
    } else if (key.starts_with("x-")) {
      std::string_view name = key.substr(2);
      if (!valid_extra_key(name)) return err("bad extension field name");
      if (env.find_extra(name)) return err(fmt::format("duplicate field \"{}\"", key));
      auto v = unescape_value(raw);
      if (!v) return err(v.error().message);
      env.extra.emplace_back(std::string(name), std::move(*v));
    } else if (key == "end") {
      if (!(seen & f_id)) return err("end marker before the id");
      if (raw != env.id.str()) return err("end marker does not repeat the id");
      seen_end = true;
    } else {
      return err(fmt::format("unknown field \"{}\"", escape_value(key)));
    }
    if (!r) return std::unexpected(r.error());
  }
  if (!seen_end) return err("no end marker (truncated or half-written file)");
  const std::pair<unsigned, const char*> required[] = {{f_id, "id"},
                                                       {f_created, "created"},
                                                       {f_sender, "sender"},
                                                       {f_mode, "mode"},
                                                       {f_size, "size"}};
  for (auto [bit, name] : required)
    if (!(seen & bit)) return fail(errc::parse_error, fmt::format("missing field \"{}\"", name));
  if (env.recipients.empty()) return fail(errc::parse_error, "no recipient");
  return env;
}

}  // namespace mxg::queue
