// message_file.cpp: trailer and envelope of a format B queue file (message_file.hpp).
#include "queue/message_file.hpp"

#include <charconv>
#include <limits>

namespace mxg::queue {

namespace {

template <typename T>
bool parse_hex_exact(std::string_view s, T& out) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc{} && p == s.data() + s.size();
}

void append_hex(std::string& out, std::uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 0xF]);
}

}  // namespace

std::string format_trailer(const message_trailer& t) {
  std::string out;
  out.reserve(kTrailerSize);
  out.append(kTrailerTag);
  out.append(t.id.str());
  out.push_back(' ');
  append_hex(out, t.env_offset, 16);
  out.push_back(' ');
  append_hex(out, t.env_length, 8);
  out.push_back('\n');
  return out;
}

result<message_trailer> parse_trailer(std::string_view tail) {
  if (tail.size() != kTrailerSize) return fail(errc::parse_error, "no end marker (file too short)");
  if (!tail.starts_with(kTrailerTag) || tail.back() != '\n')
    return fail(errc::parse_error, "no end marker");
  std::string_view rest = tail.substr(kTrailerTag.size(), tail.size() - kTrailerTag.size() - 1);
  auto id = queue_id::parse(rest.substr(0, kQueueIdLength));
  if (!id) return fail(errc::parse_error, "end marker: bad queue id");
  rest.remove_prefix(kQueueIdLength);
  message_trailer t;
  t.id = *id;
  if (rest.size() != 1 + 16 + 1 + 8 || rest[0] != ' ' || rest[17] != ' ' ||
      !parse_hex_exact(rest.substr(1, 16), t.env_offset) ||
      !parse_hex_exact(rest.substr(18, 8), t.env_length))
    return fail(errc::parse_error, "end marker: bad offset or length");
  return t;
}

std::string format_message_tail(const envelope& env) {
  std::string text = format_control(env);
  message_trailer t{env.id, env.size, static_cast<std::uint32_t>(text.size())};
  text += format_trailer(t);
  return text;
}

result<envelope> parse_message_envelope(const message_trailer& t, std::string_view env_text,
                                        std::uint64_t file_size) {
  if (t.env_length > kControlFileMax)
    return fail(errc::parse_error, "end marker: envelope larger than the limit");
  if (t.env_offset > file_size || file_size - t.env_offset < kTrailerSize ||
      file_size - t.env_offset - kTrailerSize != t.env_length)
    return fail(errc::parse_error, "end marker: offset and length do not match the file size");
  if (env_text.size() != t.env_length) return fail(errc::parse_error, "envelope: short read");
  auto env = parse_control(env_text);
  if (!env) return fail(errc::parse_error, "envelope: " + env.error().message);
  if (env->id != t.id)
    return fail(errc::parse_error,
                "envelope holds id " + env->id.str() + ", end marker " + t.id.str());
  if (env->size != t.env_offset)
    return fail(errc::parse_error, "envelope says size " + std::to_string(env->size) +
                                       ", the message has " + std::to_string(t.env_offset) +
                                       " bytes");
  return env;
}

result<envelope> parse_message_file(std::string_view file) {
  if (file.size() < kTrailerSize) return fail(errc::parse_error, "no end marker (file too short)");
  auto t = parse_trailer(file.substr(file.size() - kTrailerSize));
  if (!t) return std::unexpected(t.error());
  if (t->env_offset > file.size() || t->env_length > file.size() - t->env_offset)
    return fail(errc::parse_error, "end marker: offset and length do not match the file size");
  return parse_message_envelope(*t, file.substr(t->env_offset, t->env_length), file.size());
}

}  // namespace mxg::queue
