// policy_protocol.cpp: Postfix policy delegation protocol, I/O-free (see the header;
// SMTPD_POLICY_README "Protocol description", access(5) actions, RFC 3463 / RFC 7372
// status codes). Security: every input byte is checked against the bounds of the
// header before it is kept; nothing here trusts the MTA's framing.
#include "policy/policy_protocol.hpp"

#include <charconv>

#include "base/ascii.hpp"
#include "net/ip_address.hpp"

namespace mxg::policy {

namespace {

bool name_char(unsigned char c) {
  return ascii::is_alpha(c) || ascii::is_digit(c) || c == '_' || c == '-' || c == '.';
}

}  // namespace

result<void> policy_request_reader::fail_with(std::string msg) {
  failed_ = error{errc::parse_error, "policy request: " + msg};
  line_.clear();
  cur_.clear();
  return std::unexpected(*failed_);
}

result<void> policy_request_reader::feed(std::string_view bytes) {
  if (failed_) return std::unexpected(*failed_);
  for (char ch : bytes) {
    if (ch == '\n') {
      std::string line = std::move(line_);
      line_.clear();
      line_cr_ = false;
      if (auto r = take_line(line); !r) return r;
      continue;
    }
    if (line_cr_) return fail_with("CR inside a line");  // only CRLF is tolerated
    if (ch == '\r') {
      line_cr_ = true;
      continue;
    }
    if (ch == '\0') return fail_with("NUL byte");
    if (line_.size() >= kPolicyMaxLine)
      return fail_with("line longer than " + std::to_string(kPolicyMaxLine) + " bytes");
    if (cur_bytes_ + line_.size() >= kPolicyMaxRequest)
      return fail_with("request larger than " + std::to_string(kPolicyMaxRequest) + " bytes");
    line_ += ch;
  }
  return {};
}

result<void> policy_request_reader::take_line(std::string_view line) {
  if (line.empty()) {
    if (cur_.empty()) return fail_with("empty request");
    if (ready_.size() >= kPolicyMaxPending)
      return fail_with("more than " + std::to_string(kPolicyMaxPending) + " requests pending");
    ready_.push_back(std::move(cur_));
    cur_.clear();
    cur_bytes_ = 0;
    return {};
  }
  auto eq = line.find('=');
  if (eq == std::string_view::npos) return fail_with("line without '='");
  std::string_view name = line.substr(0, eq);
  if (name.empty()) return fail_with("empty attribute name");
  if (name.size() > kPolicyMaxName)
    return fail_with("attribute name longer than " + std::to_string(kPolicyMaxName));
  for (unsigned char c : name)
    if (!name_char(c)) return fail_with("bad byte in an attribute name");
  if (cur_.size() >= kPolicyMaxAttributes)
    return fail_with("more than " + std::to_string(kPolicyMaxAttributes) + " attributes");
  // Postfix never repeats an attribute; two values for one name would make the request
  // ambiguous (which sender is checked?), so it is malformed.
  if (cur_.contains(name)) return fail_with("attribute repeated: " + policy_text(name, 64));
  cur_bytes_ += line.size() + 1;
  cur_.emplace(std::string(name), std::string(line.substr(eq + 1)));
  return {};
}

std::optional<policy_attributes> policy_request_reader::next() {
  if (ready_.empty()) return std::nullopt;
  policy_attributes a = std::move(ready_.front());
  ready_.pop_front();
  return a;
}

result<policy_request> read_policy_request(const policy_attributes& a) {
  auto get = [&](std::string_view k) -> std::string {
    auto it = a.find(k);
    return it == a.end() ? std::string() : it->second;
  };
  policy_request r;
  r.request = get("request");
  if (r.request != "smtpd_access_policy")
    return fail(errc::invalid_argument, "policy request: request=" + policy_text(r.request, 64) +
                                            ", want smtpd_access_policy");
  r.protocol_state = get("protocol_state");  // Postfix sends upper case; accept any
  for (auto& c : r.protocol_state)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  r.protocol_name = get("protocol_name");
  r.client_address = get("client_address");
  r.client_name = get("client_name");
  r.helo_name = get("helo_name");
  r.sender = get("sender");
  r.recipient = get("recipient");
  r.instance = get("instance");
  r.queue_id = get("queue_id");
  return r;
}

std::string policy_text(std::string_view s, std::size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  bool space = false;
  for (unsigned char c : s) {
    if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) {
      if (out.size() + 1 >= max) break;
      out += ' ';
    }
    space = false;
    if (out.size() >= max) break;
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  return out;
}

std::string format_policy_reply(std::string_view action) {
  std::string a = policy_text(action, kPolicyMaxAction);
  if (a.empty()) a = "DUNNO";
  return "action=" + a + "\n\n";
}

namespace {

std::string reply_text(const smtp::reply& r) {
  std::string t;
  for (const auto& l : r.lines) {
    if (!t.empty()) t += ' ';
    t += l;
  }
  return policy_text(t);
}

std::string fallback_reason(const spf_evaluation& e) {
  std::string d = e.facts.domain.empty() ? e.outcome.domain : e.facts.domain;
  return "SPF " + std::string(spf::to_string(e.facts.result)) + " for " +
         (d.empty() ? std::string("the sender") : d);
}

}  // namespace

std::string spf_policy_action(const spf_evaluation& e, std::string_view received_spf) {
  if (e.skipped) return "DUNNO";
  const decision& d = e.dec;
  switch (d.action) {
    case verdict::accept:
    case verdict::tag: {
      std::string h = policy_text(received_spf, kPolicyMaxAction - 8);
      if (h.empty()) return "DUNNO";
      return "PREPEND " + h;
    }
    case verdict::quarantine: {
      std::string why = policy_text(d.reason);
      if (why.empty()) why = fallback_reason(e) + ": held";
      return "HOLD " + why;
    }
    case verdict::tempfail: {
      // access(5): DEFER_IF_PERMIT takes an optional enhanced status before the text;
      // Postfix replies with its defer code (450) and that status.
      smtp::enhanced_status st = d.reply.status.empty() || d.reply.status.cls != 4
                                     ? smtp::enhanced_status{4, 7, 1}
                                     : d.reply.status;
      std::string text = reply_text(d.reply);
      if (text.empty()) text = fallback_reason(e) + ": try again later";
      return "DEFER_IF_PERMIT " + st.to_string() + " " + text;
    }
    case verdict::reject: {
      int code = d.reply.permanent() && d.reply.code <= 599 ? d.reply.code : 550;
      smtp::enhanced_status st = d.reply.status.empty() || d.reply.status.cls != 5
                                     ? smtp::enhanced_status{5, 7, 1}
                                     : d.reply.status;
      std::string text = reply_text(d.reply);
      if (text.empty()) text = fallback_reason(e) + ": rejected";
      return std::to_string(code) + " " + st.to_string() + " " + text;
    }
  }
  return "DUNNO";
}

std::string later_recipient_action(std::string_view first_action) {
  if (first_action.starts_with("PREPEND ") || first_action.starts_with("HOLD")) return "DUNNO";
  return std::string(first_action);
}

result<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view s) {
  auto bad = [&](std::string why) {
    return fail(errc::invalid_argument,
                "policy_service listen \"" + policy_text(s, 128) + "\": " + why);
  };
  std::string_view host, port;
  if (s.starts_with('[')) {
    auto close = s.find(']');
    if (close == std::string_view::npos || s.substr(close + 1, 1) != ":")
      return bad("want [IPv6]:PORT");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return bad("want IP:PORT");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("write an IPv6 address as [IP]:PORT");
  }
  auto ip = net::ip_address::parse(host);
  if (!ip) return bad("not an IP address: " + policy_text(host, 64));
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p > 65535)
    return bad("bad port");
  return std::pair<std::string, std::uint16_t>{std::string(host), static_cast<std::uint16_t>(p)};
}

std::string policy_instance_cache::fingerprint(const policy_request& r) {
  std::string f = r.client_address;
  f += '\0';
  f += r.sender;
  f += '\0';
  f += r.helo_name;
  return f;
}

void policy_instance_cache::expire(clock::time_point now) {
  while (!order_.empty()) {
    auto& [key, gen] = order_.front();
    auto it = map_.find(key);
    if (it == map_.end() || it->second.gen != gen) {
      order_.pop_front();  // stale: replaced or removed
      continue;
    }
    if (now - it->second.at < ttl_ && map_.size() <= max_) break;
    map_.erase(it);
    order_.pop_front();
  }
}

const policy_instance_cache::entry* policy_instance_cache::find(std::string_view instance,
                                                                std::string_view fingerprint,
                                                                clock::time_point now) {
  expire(now);
  auto it = map_.find(std::string(instance));
  if (it == map_.end() || it->second.e.fingerprint != fingerprint) return nullptr;
  return &it->second.e;
}

void policy_instance_cache::put(std::string instance, entry e, clock::time_point now) {
  if (max_ == 0 || instance.empty()) return;
  std::uint64_t g = ++gen_;
  order_.emplace_back(instance, g);
  map_[std::move(instance)] = slot{std::move(e), now, g};
  expire(now);
  // Stale pairs (an instance replaced many times) never outgrow the live entries much.
  if (order_.size() > 2 * max_ + 16) {
    std::deque<std::pair<std::string, std::uint64_t>> live;
    for (auto& p : order_) {
      auto it = map_.find(p.first);
      if (it != map_.end() && it->second.gen == p.second) live.push_back(std::move(p));
    }
    order_ = std::move(live);
  }
}

void policy_instance_cache::clear() {
  map_.clear();
  order_.clear();
}

}  // namespace mxg::policy
