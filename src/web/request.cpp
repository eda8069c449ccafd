// request.cpp: see request.hpp.
#include "web/request.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "queue/queue_id.hpp"
#include "web/password.hpp"

namespace mxg::web {

using json = nlohmann::json;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

result<json> parse_object(std::string_view body) {
  if (body.size() > kBodyMax) return fail(errc::invalid_argument, "request body too large");
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(errc::invalid_argument, "the body must be a JSON object");
  return j;
}

result<std::string> string_field(const json& j, std::string_view field, std::size_t max) {
  auto it = j.find(std::string(field));
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return fail(errc::invalid_argument, std::string(field) + " must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max) return fail(errc::invalid_argument, std::string(field) + " is too long");
  return s;
}

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view v = trim(pair.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

result<login_request> parse_login(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return std::unexpected(j.error());
  auto user = string_field(*j, "user", 64);
  if (!user) return std::unexpected(user.error());
  auto pw = string_field(*j, "password", 1024);
  if (!pw) return std::unexpected(pw.error());
  if (user->empty() || pw->empty())
    return fail(errc::invalid_argument, "user and password are needed");
  return login_request{std::move(*user), std::move(*pw)};
}

result<std::vector<std::string>> parse_ids(std::string_view body, bool allow_empty) {
  auto j = parse_object(body);
  if (!j) return std::unexpected(j.error());
  std::vector<std::string> out;
  auto it = j->find("ids");
  if (it == j->end() || it->is_null()) {
    if (allow_empty) return out;
    return fail(errc::invalid_argument, "ids: a list of queue ids is needed");
  }
  if (!it->is_array()) return fail(errc::invalid_argument, "ids must be a list of queue ids");
  if (it->size() > kIdsMax) return fail(errc::invalid_argument, "ids: at most 1000 at a time");
  for (const auto& v : *it) {
    if (!v.is_string() || !queue::queue_id::valid(v.get_ref<const std::string&>()))
      return fail(errc::invalid_argument, "ids: not a queue id");
    out.push_back(v.get<std::string>());
  }
  if (out.empty() && !allow_empty)
    return fail(errc::invalid_argument, "ids: a list of queue ids is needed");
  return out;
}

result<std::string> parse_field(std::string_view body, std::string_view field, std::size_t max) {
  auto j = parse_object(body);
  if (!j) return std::unexpected(j.error());
  return string_field(*j, field, max);
}

std::optional<std::int64_t> parse_age(std::string_view s) {
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || p == s.data()) return std::nullopt;
  std::string_view unit(p, s.data() + s.size() - p);
  std::uint64_t mult = 0;
  if (unit.empty() || unit == "s")
    mult = 1;
  else if (unit == "m")
    mult = 60;
  else if (unit == "h")
    mult = 3600;
  else if (unit == "d")
    mult = 86400;
  else
    return std::nullopt;
  if (n > 3650ull * 86400 / mult) return std::nullopt;
  return static_cast<std::int64_t>(n * mult);
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  return needle.empty() || lower(hay).find(lower(needle)) != std::string::npos;
}

bool csrf_ok(std::string_view method, std::string_view header, std::string_view session_token) {
  if (method == "GET" || method == "HEAD") return true;
  return tokens_equal(header, session_token);
}

std::string address_domain(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return "";
  return lower(trim(address.substr(at + 1)));
}

bool visible_to(const std::vector<std::string>& domains, std::string_view recipients) {
  if (domains.empty() || trim(recipients).empty()) return false;
  while (true) {
    auto comma = recipients.find(',');
    std::string d = address_domain(recipients.substr(0, comma));
    if (d.empty() || std::find(domains.begin(), domains.end(), d) == domains.end()) return false;
    if (comma == std::string_view::npos) return true;
    recipients.remove_prefix(comma + 1);
  }
}

message_parts split_message(std::string_view text, std::size_t max) {
  message_parts p;
  std::size_t cut = text.find("\r\n\r\n");
  std::size_t skip = 4;
  if (auto lf = text.find("\n\n"); lf != std::string_view::npos && lf < cut) {
    cut = lf;
    skip = 2;
  }
  if (cut == std::string_view::npos) {
    p.headers = std::string(text);
    return p;
  }
  p.headers = std::string(text.substr(0, cut));
  std::string_view body = text.substr(cut + skip);
  if (body.size() > max) {
    body = body.substr(0, max);
    p.truncated = true;
  }
  p.body = std::string(body);
  return p;
}

}  // namespace mxg::web
