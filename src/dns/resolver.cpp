// resolver.cpp: names of DNS types and outcomes, record formatting.
#include "dns/resolver.hpp"
#include "base/ascii.hpp"

#include <algorithm>
#include <cstdio>

namespace mxg::dns {

asio::awaitable<std::shared_ptr<const answer>> resolver::query_shared(std::string name,
                                                                      rrtype type) {
  co_return std::make_shared<const answer>(co_await query(std::move(name), type));
}

std::shared_ptr<const answer> resolver::query_now(std::string_view, rrtype) {
  return nullptr;
}

const char* to_string(rrtype t) {
  switch (t) {
    case rrtype::a:
      return "A";
    case rrtype::ns:
      return "NS";
    case rrtype::cname:
      return "CNAME";
    case rrtype::soa:
      return "SOA";
    case rrtype::ptr:
      return "PTR";
    case rrtype::mx:
      return "MX";
    case rrtype::txt:
      return "TXT";
    case rrtype::aaaa:
      return "AAAA";
    case rrtype::spf:
      return "SPF";
  }
  return "TYPE?";
}

const char* to_string(status s) {
  switch (s) {
    case status::ok:
      return "NOERROR";
    case status::nodata:
      return "NODATA";
    case status::nxdomain:
      return "NXDOMAIN";
    case status::timeout:
      return "TIMEOUT";
    case status::servfail:
      return "SERVFAIL";
  }
  return "?";
}

std::string record::joined_text() const {
  std::string out;
  for (const auto& s : strings) out += s;
  return out;
}

std::string presentation_name(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (c == '.') {
      out += '.';
    } else if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == ';' || c == '(' ||
               c == ')') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03u", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + ".";
}

std::string record::to_string() const {
  std::string out =
      presentation_name(name) + " " + std::to_string(ttl) + " IN " + dns::to_string(type) + " ";
  switch (type) {
    case rrtype::a:
    case rrtype::aaaa:
      out += addr.to_string();
      break;
    case rrtype::mx:
      out += std::to_string(preference) + " " + presentation_name(target);
      break;
    case rrtype::txt:
    case rrtype::spf:
      for (std::size_t i = 0; i < strings.size(); ++i) {
        if (i) out += ' ';
        out += '"';
        for (unsigned char c : strings[i]) {
          if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
          } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\%03u", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
        }
        out += '"';
      }
      break;
    case rrtype::soa:
      out += presentation_name(target) + " " + presentation_name(rname) + " " +
             std::to_string(serial) + " " + std::to_string(refresh) + " " + std::to_string(retry) +
             " " + std::to_string(expire) + " " + std::to_string(minimum);
      break;
    default:
      out += presentation_name(target);
      break;
  }
  return out;
}

std::string normalize_name(std::string_view name) {
  std::string out(name);
  if (!out.empty() && out.back() == '.') out.pop_back();
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii::to_lower(c); });
  return out;
}

}  // namespace mxg::dns
