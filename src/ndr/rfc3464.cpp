// rfc3464.cpp: message/delivery-status field parser; see rfc3464.hpp.
// RFC 3464 2.1 (syntax), 2.2 (per-message fields), 2.3 (per-recipient fields).
#include "ndr/rfc3464.hpp"

#include "ndr/text.hpp"

namespace mxg::ndr {

namespace {
bool is_field_name_char(char c) {
  // RFC 5322 3.6.8 ftext: printable US-ASCII except ':'.
  return c > 32 && c < 127 && c != ':';
}

bool starts_recipient(std::string_view name) {
  return text::iequals(name, "Final-Recipient") || text::iequals(name, "Original-Recipient") ||
         text::iequals(name, "X-Actual-Recipient");
}
}  // namespace

std::string field_group::get(std::string_view name) const {
  for (const auto& [n, v] : fields)
    if (text::iequals(n, name)) return v;
  return {};
}

bool field_group::has(std::string_view name) const {
  for (const auto& [n, v] : fields)
    if (text::iequals(n, name)) return true;
  return false;
}

std::vector<field_group> parse_field_groups(std::string_view body) {
  std::vector<field_group> groups;
  field_group cur;
  auto flush = [&] {
    if (!cur.fields.empty()) groups.push_back(std::move(cur));
    cur = field_group{};
  };
  for (auto line : text::split_lines(body)) {
    if (text::trim(line).empty()) {
      flush();
      continue;
    }
    if ((line.front() == ' ' || line.front() == '\t')) {
      // Folded continuation (RFC 5322 2.2.3).
      if (!cur.fields.empty()) {
        auto& v = cur.fields.back().second;
        if (!v.empty()) v.push_back(' ');
        v.append(text::trim(line));
      }
      continue;
    }
    auto colon = line.find(':');
    bool ok = colon != std::string_view::npos && colon > 0;
    for (std::size_t i = 0; ok && i < colon; ++i) ok = is_field_name_char(line[i]);
    if (!ok) {
      // Not a field: text inside the part; treat as continuation of nothing.
      continue;
    }
    if (cur.fields.size() >= kMaxFieldsPerGroup) continue;
    cur.fields.emplace_back(std::string(line.substr(0, colon)),
                            std::string(text::trim(line.substr(colon + 1))));
  }
  flush();
  return groups;
}

delivery_status parse_delivery_status(std::string_view body) {
  delivery_status out;
  for (auto& g : parse_field_groups(body)) {
    bool has_rcpt = false;
    for (const auto& f : g.fields) has_rcpt = has_rcpt || starts_recipient(f.first);
    if (!has_rcpt) {
      // Per-message fields (or stray fields): merge, first value wins.
      for (auto& f : g.fields)
        if (!out.per_message.has(f.first)) out.per_message.fields.push_back(std::move(f));
      continue;
    }
    // Re-cut a group holding several recipients without blank lines between them.
    field_group cur;
    bool cur_has_final = false, cur_has_orig = false;
    for (auto& f : g.fields) {
      const bool is_final = text::iequals(f.first, "Final-Recipient");
      const bool is_orig = text::iequals(f.first, "Original-Recipient");
      if ((is_final && cur_has_final) || (is_orig && cur_has_orig)) {
        if (out.recipients.size() < kMaxDsnRecipients) out.recipients.push_back(std::move(cur));
        cur = field_group{};
        cur_has_final = cur_has_orig = false;
      }
      cur_has_final = cur_has_final || is_final;
      cur_has_orig = cur_has_orig || is_orig;
      cur.fields.push_back(std::move(f));
    }
    if (!cur.fields.empty() && out.recipients.size() < kMaxDsnRecipients)
      out.recipients.push_back(std::move(cur));
  }
  return out;
}

std::string strip_type(std::string_view value, std::string* type) {
  value = text::trim(value);
  auto semi = value.find(';');
  if (semi != std::string_view::npos && semi <= 16) {
    auto t = text::trim(value.substr(0, semi));
    bool atom = !t.empty();
    for (char c : t)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
        atom = false;
    if (atom) {
      if (type) *type = std::string(t);
      return std::string(text::trim(value.substr(semi + 1)));
    }
  }
  if (type) type->clear();
  return std::string(value);
}

}  // namespace mxg::ndr
