// psl.cpp: the Public Suffix List loader and matcher (psl.hpp; https://publicsuffix.org/list/
// "Formal Algorithm"; RFC 7489 3.2 for its use as DMARC's legacy Organizational Domain).
// Rules are read one per line, the first whitespace-free token; "//" lines are comments.
// A rule with non-ASCII labels is stored in A-label form. A line that cannot be converted
// is skipped (never guessed). It never throws; a file over kPslFileMax is refused.
#include "dmarc/psl.hpp"

#include <fstream>
#include <sstream>

#include "base/ascii.hpp"
#include "dmarc/from.hpp"

namespace mxg::dmarc {

namespace {

// Labels of `domain`, left-most first; empty when the domain is empty or has an empty label.
std::vector<std::string_view> split_labels(std::string_view domain) {
  std::vector<std::string_view> out;
  if (domain.empty()) return out;
  std::size_t b = 0;
  while (true) {
    auto dot = domain.find('.', b);
    std::string_view l = domain.substr(b, dot == std::string_view::npos ? dot : dot - b);
    if (l.empty()) return {};
    out.push_back(l);
    if (dot == std::string_view::npos) break;
    b = dot + 1;
  }
  return out;
}

std::string join(const std::vector<std::string_view>& labels, std::size_t from) {
  std::string s;
  for (std::size_t i = from; i < labels.size(); ++i) {
    if (!s.empty()) s += '.';
    s += labels[i];
  }
  return s;
}

}  // namespace

mxg::result<public_suffix_list> public_suffix_list::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::io_error, "cannot open the public suffix list " + path);
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kPslFileMax)
      return fail(errc::limit_exceeded, path + " is over " + std::to_string(kPslFileMax) +
                                            " bytes: not a public suffix list");
  }
  auto l = parse(text);
  if (l.size() == 0) return fail(errc::parse_error, path + " holds no public suffix rule");
  return l;
}

public_suffix_list public_suffix_list::parse(std::string_view text) {
  public_suffix_list l;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    line = ascii::trim_space(line);
    if (line.empty() || line.starts_with("//")) continue;
    auto sp = line.find_first_of(" \t");
    std::string_view rule = line.substr(0, sp);
    unsigned char kind = kNormal;
    if (rule.starts_with("!")) {
      kind = kException;
      rule.remove_prefix(1);
    } else if (rule.starts_with("*.")) {
      kind = kWildcard;
      rule.remove_prefix(2);
    }
    auto a = to_a_label(rule);
    if (!a) continue;  // not a usable rule: skipped
    auto& bits = l.rules_[*a];
    if (!(bits & kind)) ++l.count_;
    bits |= kind;
  }
  return l;
}

std::size_t public_suffix_list::suffix_labels(const std::vector<std::string_view>& labels) const {
  const std::size_t n = labels.size();
  std::size_t best = 1;  // the implicit "*" rule
  for (std::size_t i = 0; i < n; ++i) {
    // suffix made of labels[i..n): n - i labels
    std::string s = join(labels, i);
    auto it = rules_.find(s);
    if (it != rules_.end()) {
      if (it->second & kException) return n - i - 1;  // exception rules win
      if (it->second & kNormal) best = std::max(best, n - i);
    }
    // "*.<labels[i+1..n)>" matches labels[i..n)
    if (i + 1 < n) {
      auto w = rules_.find(join(labels, i + 1));
      if (w != rules_.end() && (w->second & kWildcard)) best = std::max(best, n - i);
    }
  }
  return best;
}

std::string public_suffix_list::public_suffix(std::string_view domain) const {
  std::string d = ascii::lower(domain);
  auto labels = split_labels(d);
  if (labels.empty()) return "";
  std::size_t k = std::min(suffix_labels(labels), labels.size());
  return join(labels, labels.size() - k);
}

std::optional<std::string> public_suffix_list::registrable_domain(std::string_view domain) const {
  std::string d = ascii::lower(domain);
  auto labels = split_labels(d);
  if (labels.empty()) return std::nullopt;
  std::size_t k = suffix_labels(labels);
  if (labels.size() <= k) return std::nullopt;
  return join(labels, labels.size() - k - 1);
}

}  // namespace mxg::dmarc
