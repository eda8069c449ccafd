// lint.cpp: the SPF linter (see lint.hpp). Every finding cites the RFC 7208 rule it
// enforces; the walk mirrors check_host()'s order so the counts match an evaluation.
#include "spf/lint.hpp"

#include <algorithm>
#include <set>

#include "base/ascii.hpp"
#include "base/limits.hpp"

namespace mxg::spf {

const char* to_string(severity s) {
  switch (s) {
    case severity::error:
      return "error";
    case severity::warning:
      return "warning";
    case severity::info:
      return "info";
  }
  return "?";
}

int lint_report::count(severity s) const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(),
                                        [&](const finding& f) { return f.sev == s; }));
}

namespace {

bool has_macro(std::string_view s) {
  return s.find('%') != std::string_view::npos;
}

bool starts_with_ci(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (ascii::to_lower(s[i]) != p[i]) return false;
  return true;
}

struct fetched {
  dns::status st = dns::status::servfail;
  std::vector<std::string> spf;      // v=spf1 records (joined strings)
  std::vector<dns::record> spf_rrs;  // the TXT RRs holding them
  bool sender_id = false;            // a spf2.0/... record exists
  std::size_t wire_size = 0;
  std::string detail;
};

asio::awaitable<fetched> fetch(dns::resolver& res, const std::string& domain) {
  auto a = co_await res.query(domain, dns::rrtype::txt);
  fetched f;
  f.st = a.st;
  f.wire_size = a.wire_size;
  f.detail = a.detail;
  for (const auto& rr : a.records) {
    auto text = rr.joined_text();
    if (is_spf_record(text)) {
      f.spf.push_back(text);
      f.spf_rrs.push_back(rr);
    } else if (starts_with_ci(text, "spf2.0/")) {
      f.sender_id = true;
    }
  }
  co_return f;
}

// A concrete fix for a syntax diagnostic: "did you mean ip4:?" on "ipv4:1.2.3.4" becomes
// `write "ip4:1.2.3.4"`; other suggestions are passed through.
std::string fix_for(const diagnostic& d) {
  if (d.suggestion.empty()) return "correct the term as RFC 7208 section 12 defines it";
  constexpr std::string_view prefix = "did you mean ";
  std::string_view sug = d.suggestion;
  if (sug.starts_with(prefix) && sug.ends_with("?")) {
    auto name = sug.substr(prefix.size(), sug.size() - prefix.size() - 1);
    auto sep = d.term.find_first_of(":=/");
    if (!name.empty() && (name.back() == ':' || name.back() == '=') && sep != std::string::npos &&
        d.term[sep] == name.back()) {
      std::size_t start =
          (!d.term.empty() && std::string_view("+-~?").find(d.term[0]) != std::string_view::npos)
              ? 1
              : 0;
      return "write \"" + d.term.substr(0, start) + std::string(name) + d.term.substr(sep + 1) +
             "\"";
    }
  }
  return d.suggestion;
}

class linter {
 public:
  linter(dns::resolver* res, lint_options opt, lint_report& out) : res_(res), opt_(opt), r_(out) {}

  void add(severity sev, std::string code, const std::string& domain, std::string message,
           std::string fix, std::string term = {}, std::optional<std::size_t> offset = {}) {
    r_.findings.push_back(finding{sev, std::move(code), domain, std::move(term), offset,
                                  std::move(message), std::move(fix)});
  }

  // Record-publication checks on a TXT answer (RFC 7208 3.3, 3.4, 4.5).
  void check_publication(const std::string& domain, const fetched& f) {
    for (const auto& rr : f.spf_rrs)
      for (const auto& s : rr.strings)
        if (s.size() > limits::kDnsTxtStringMax)
          add(severity::error, "string-too-long", domain,
              "a TXT character-string is " + std::to_string(s.size()) +
                  " bytes; DNS allows at most 255 (RFC 1035 3.3.14, RFC 7208 3.3)",
              "split the record into several quoted strings of at most 255 bytes; receivers "
              "join them without spaces");
    if (f.wire_size > limits::kDnsUdpAnswerMax)
      add(severity::warning, "answer-over-512", domain,
          "the TXT answer is " + std::to_string(f.wire_size) +
              " bytes: over 512 bytes it needs TCP fallback, which some receivers lack "
              "(RFC 7208 3.4)",
          "shorten the record (fewer, wider ip4/ip6 networks) or move other TXT records "
          "(verification tokens) to subdomains");
    if (f.sender_id)
      add(severity::info, "sender-id", domain,
          "a Sender-ID record (spf2.0/...) is published; Sender-ID (RFC 4406) is obsolete and "
          "SPF receivers ignore it",
          "remove the spf2.0 record");
  }

  // Syntax and record-level checks. Returns the parsed record when it parses.
  std::optional<record> check_record(const std::string& domain, const std::string& text) {
    std::vector<diagnostic> diags;
    auto rec = parse(text, diags);
    for (const auto& d : diags) {
      std::string what = d.reason;
      if (!d.term.empty()) what += " \"" + d.term + "\"";
      add(severity::error, "syntax", domain,
          what + ": the whole record is a permerror for every client (RFC 7208 4.6)", fix_for(d),
          d.term, d.offset);
    }
    if (!rec) return std::nullopt;

    const auto& mechs = rec->mechanisms();
    std::optional<std::size_t> all_at;
    for (std::size_t i = 0; i < mechs.size(); ++i)
      if (mechs[i].kind == mechanism_kind::all) {
        all_at = i;
        break;
      }
    if (all_at) {
      const auto& m = mechs[*all_at];
      switch (m.qual) {
        case qualifier::pass:
          add(severity::error, "plus-all", domain,
              "\"" + std::string(m.text) +
                  "\" authorizes every host on the Internet to send as this domain",
              "end the record with -all (or ~all while you collect your sending hosts)",
              std::string(m.text), m.offset);
          break;
        case qualifier::neutral:
          add(severity::warning, "neutral-all", domain,
              "\"?all\" asserts nothing about other hosts: receivers treat forgeries as "
              "unauthenticated mail",
              "list your sending hosts and end with -all", std::string(m.text), m.offset);
          break;
        case qualifier::softfail:
          add(severity::info, "softfail-all", domain,
              "\"~all\" means no enforcement by most receivers: forged mail is at most marked "
              "as suspicious, rarely rejected",
              "once every legitimate sending host is listed, change ~all to -all",
              std::string(m.text), m.offset);
          break;
        case qualifier::fail:
          break;
      }
      for (std::size_t i = *all_at + 1; i < mechs.size(); ++i)
        add(severity::warning, "after-all", domain,
            "\"" + std::string(mechs[i].text) +
                "\" comes after \"all\" and is never evaluated (RFC 7208 5.1)",
            "move it before the all mechanism or remove it", std::string(mechs[i].text),
            mechs[i].offset);
      if (rec->redirect())
        add(severity::warning, "redirect-ignored", domain,
            "redirect= is ignored because the record has an \"all\" mechanism (RFC 7208 6.1)",
            "remove either the all mechanism or the redirect", std::string(rec->redirect()->text),
            rec->redirect()->offset);
    } else if (!rec->redirect()) {
      add(severity::warning, "no-all", domain,
          "no \"all\" mechanism and no redirect: mail from any other host gets the default "
          "result neutral (RFC 7208 4.7)",
          "end the record with -all (or ~all)");
    }

    std::vector<const mechanism*> nets;
    for (const auto& m : mechs) {
      if (m.kind == mechanism_kind::ptr)
        add(severity::warning, "ptr-deprecated", domain,
            "the ptr mechanism is slow, unreliable and deprecated (RFC 7208 5.5: SHOULD NOT be "
            "used)",
            "replace it with ip4/ip6 networks or a/mx mechanisms", std::string(m.text), m.offset);
      if (m.kind == mechanism_kind::ip4 || m.kind == mechanism_kind::ip6) {
        unsigned prefix = m.kind == mechanism_kind::ip4 ? m.cidr4 : m.cidr6;
        net::cidr c{m.network, prefix};
        if (c.host_bits_set())
          add(severity::warning, "cidr-host-bits", domain,
              c.to_string() + " has host bits set: it means " + c.network().to_string() + "/" +
                  std::to_string(prefix) + " (RFC 4632 3.1)",
              "write " + std::string(m.kind == mechanism_kind::ip4 ? "ip4:" : "ip6:") +
                  c.network().to_string() + "/" + std::to_string(prefix) +
                  " if the whole network is meant, or the single address without a prefix",
              std::string(m.text), m.offset);
        nets.push_back(&m);
      }
    }
    for (std::size_t i = 0; i < nets.size(); ++i)
      for (std::size_t j = i + 1; j < nets.size(); ++j) {
        const auto& a = *nets[i];
        const auto& b = *nets[j];
        if (a.kind != b.kind) continue;
        unsigned pa = a.kind == mechanism_kind::ip4 ? a.cidr4 : a.cidr6;
        unsigned pb = b.kind == mechanism_kind::ip4 ? b.cidr4 : b.cidr6;
        net::cidr ca{a.network, pa}, cb{b.network, pb};
        if (pa == pb && ca.network() == cb.network()) {
          add(severity::warning, "duplicate-network", domain,
              "\"" + std::string(b.text) + "\" repeats \"" + std::string(a.text) + "\"",
              "remove the duplicate", std::string(b.text), b.offset);
        } else if (ca.contains(cb.network()) && pa <= pb) {
          add(severity::warning, "overlapping-network", domain,
              "\"" + std::string(b.text) + "\" lies inside \"" + std::string(a.text) + "\"",
              "remove the narrower network", std::string(b.text), b.offset);
        } else if (cb.contains(ca.network()) && pb <= pa) {
          add(severity::warning, "overlapping-network", domain,
              "\"" + std::string(a.text) + "\" lies inside \"" + std::string(b.text) + "\"",
              "remove the narrower network", std::string(a.text), a.offset);
        }
      }
    for (const auto& mod : rec->modifiers())
      if (mod.kind == modifier_kind::unknown)
        add(severity::info, "unknown-modifier", domain,
            "unknown modifier \"" + std::string(mod.name) + "\" is ignored (RFC 7208 6)",
            "remove it unless a receiver you care about uses it", std::string(mod.text),
            mod.offset);
    return std::move(*rec);
  }

  asio::awaitable<void> void_check(const std::string& name, bool v4, bool v6) {
    if (v4) {
      auto a = co_await res_->query(name, dns::rrtype::a);
      if (a.is_void()) ++r_.void_lookups_v4;
    }
    if (v6) {
      auto a = co_await res_->query(name, dns::rrtype::aaaa);
      if (a.is_void()) ++r_.void_lookups_v6;
    }
  }

  // Visits one record and everything it reaches. `path` holds the domains on the
  // current include/redirect chain (loop detection).
  asio::awaitable<void> walk(const std::string& domain, const std::string& text,
                             const std::string& via, int depth, std::vector<std::string>& path) {
    lint_node node{domain, text, via, depth, 0};
    std::size_t node_index = r_.tree.size();
    r_.tree.push_back(node);
    auto rec = check_record(domain, text);
    if (!rec) co_return;
    if (++visited_ > opt_.max_records) {
      add(severity::error, "tree-too-large", domain, "the include/redirect tree is too large",
          "flatten the includes");
      co_return;
    }
    bool has_all = false;
    for (const auto& m : rec->mechanisms()) {
      if (m.kind == mechanism_kind::all) {
        has_all = true;
        break;  // terms after all are never evaluated (5.1)
      }
      if (!m.counts_dns()) continue;
      ++r_.dns_terms;
      ++r_.tree[node_index].dns_terms;
      std::string target = m.domain_spec.empty() ? domain : std::string(m.domain_spec);
      if (!res_ || target.empty()) continue;
      if (has_macro(target)) {
        add(severity::info, "macro-target", domain,
            "\"" + std::string(m.text) +
                "\" uses macros: its DNS lookups depend on each message and are not followed",
            "", std::string(m.text), m.offset);
        continue;
      }
      target = dns::normalize_name(target);
      switch (m.kind) {
        case mechanism_kind::include:
          co_await follow(domain, target, "include", m.text, m.offset, depth, path);
          break;
        case mechanism_kind::a:
          co_await void_check(target, true, true);
          break;
        case mechanism_kind::exists:
          co_await void_check(target, true, true);
          break;
        case mechanism_kind::mx: {
          auto mx = co_await res_->query(target, dns::rrtype::mx);
          if (mx.is_void()) {
            ++r_.void_lookups_v4;
            ++r_.void_lookups_v6;
          }
          if (mx.records.size() > static_cast<std::size_t>(limits::kSpfMxNames))
            add(severity::error, "too-many-mx", domain,
                target + " has " + std::to_string(mx.records.size()) +
                    " MX hosts; more than 10 make \"" + std::string(m.text) +
                    "\" a permerror (RFC 7208 4.6.4)",
                "list the outbound hosts with ip4/ip6 instead of mx", std::string(m.text),
                m.offset);
          break;
        }
        default:
          break;
      }
    }
    if (!has_all && rec->redirect()) {
      const auto* red = rec->redirect();
      ++r_.dns_terms;
      ++r_.tree[node_index].dns_terms;
      std::string target(red->value);
      if (!res_) co_return;
      if (has_macro(target)) {
        add(severity::info, "macro-target", domain,
            "the redirect target uses macros and is not followed", "", std::string(red->text),
            red->offset);
        co_return;
      }
      co_await follow(domain, dns::normalize_name(target), "redirect", red->text, red->offset,
                      depth, path);
    }
  }

  asio::awaitable<void> follow(const std::string& from, const std::string& target,
                               const std::string& via, std::string_view term, std::size_t offset,
                               int depth, std::vector<std::string>& path) {
    if (std::find(path.begin(), path.end(), target) != path.end()) {
      add(severity::error, via + "-loop", from,
          "\"" + std::string(term) + "\" leads back to " + target +
              ": the evaluation loops until the 10-term limit makes it a permerror",
          "remove the " + via + " that closes the loop", std::string(term), offset);
      co_return;
    }
    if (depth + 1 > opt_.max_depth) {
      add(severity::error, "too-deep", from, "includes nested too deeply", "flatten the includes",
          std::string(term), offset);
      co_return;
    }
    auto f = co_await fetch(*res_, target);
    if (f.st == dns::status::timeout || f.st == dns::status::servfail) {
      add(severity::error, "dns-error", target,
          "looking up the SPF record of " + target + " failed (" + dns::to_string(f.st) +
              "): receivers get temperror",
          "check the name servers of " + target, std::string(term), offset);
      co_return;
    }
    if (f.spf.empty()) {
      add(severity::error, via + "-no-record", from,
          "\"" + std::string(term) + "\": " + target + " has no SPF record, so the " + via +
              " is a permerror when reached (RFC 7208 " + (via == "include" ? "5.2" : "6.1") + ")",
          "remove it or ask the owner of " + target + " to publish a record", std::string(term),
          offset);
      co_return;
    }
    if (f.spf.size() > 1) {
      add(severity::error, "multiple-records", target,
          target + " publishes " + std::to_string(f.spf.size()) +
              " v=spf1 records: that is a permerror (RFC 7208 4.5)",
          "merge them into one record");
      co_return;
    }
    check_publication(target, f);
    path.push_back(target);
    co_await walk(target, f.spf.front(), via, depth + 1, path);
    path.pop_back();
  }

  void totals() {
    if (r_.dns_terms > limits::kSpfDnsTerms)
      add(severity::error, "too-many-dns-terms", r_.domain,
          std::to_string(r_.dns_terms) +
              " DNS-querying terms (include, a, mx, ptr, exists, redirect) across the "
              "include/redirect tree; over 10 the evaluation is a permerror (RFC 7208 4.6.4)",
          "replace includes and a/mx terms by ip4/ip6 networks (flatten), or drop senders "
          "you no longer use");
    for (auto [n, fam] : {std::pair{r_.void_lookups_v4, "IPv4"}, {r_.void_lookups_v6, "IPv6"}})
      if (n > limits::kSpfVoidLookups)
        add(severity::error, "too-many-void-lookups", r_.domain,
            std::to_string(n) + " void lookups (no such name, or no address) for an " + fam +
                " client; over 2 the evaluation is a permerror (RFC 7208 4.6.4)",
            "remove a/mx/exists terms that point at names without addresses");
  }

  dns::resolver* res_;
  lint_options opt_;
  lint_report& r_;
  int visited_ = 0;
};

}  // namespace

asio::awaitable<lint_report> lint_domain(dns::resolver& res, std::string domain, lint_options opt) {
  lint_report r;
  r.domain = dns::normalize_name(domain);
  linter l(&res, opt, r);
  auto f = co_await fetch(res, r.domain);
  auto spf_type = co_await res.query(r.domain, dns::rrtype::spf);
  if (spf_type.ok())
    l.add(severity::warning, "spf-rrtype", r.domain,
          "a record of the deprecated DNS type SPF (99) is published; RFC 7208 3.1 removed it "
          "and receivers only read TXT",
          "delete the SPF-type record and keep the TXT one");
  if (f.st == dns::status::nxdomain) {
    l.add(severity::error, "no-domain", r.domain, r.domain + " does not exist (NXDOMAIN)",
          "check the spelling of the domain");
    co_return r;
  }
  if (f.st == dns::status::timeout || f.st == dns::status::servfail) {
    l.add(severity::error, "dns-error", r.domain,
          "the TXT lookup failed (" + std::string(dns::to_string(f.st)) +
              (f.detail.empty() ? "" : ": " + f.detail) + "): receivers get temperror",
          "check the domain's name servers");
    co_return r;
  }
  l.check_publication(r.domain, f);
  if (f.spf.empty()) {
    l.add(severity::error, "no-record", r.domain,
          r.domain + " publishes no SPF record: receivers get none and cannot tell forgeries",
          "publish a TXT record such as \"v=spf1 mx -all\" (or \"v=spf1 -all\" if the domain "
          "sends no mail)");
    co_return r;
  }
  if (f.spf.size() > 1) {
    l.add(severity::error, "multiple-records", r.domain,
          r.domain + " publishes " + std::to_string(f.spf.size()) +
              " v=spf1 records: every evaluation is a permerror (RFC 7208 4.5)",
          "merge them into one record");
    r.record = f.spf.front();
    co_return r;
  }
  r.record = f.spf.front();
  std::vector<std::string> path{r.domain};
  co_await l.walk(r.domain, r.record, "top", 0, path);
  l.totals();
  co_return r;
}

asio::awaitable<lint_report> lint_record(dns::resolver* res, std::string text, lint_options opt) {
  lint_report r;
  r.record = std::move(text);
  linter l(res, opt, r);
  if (!is_spf_record(r.record)) {
    l.add(severity::error, "not-spf", "", "the text does not start with \"v=spf1\" (RFC 7208 4.5)",
          "begin the record with v=spf1");
    co_return r;
  }
  if (r.record.size() > limits::kDnsTxtStringMax)
    l.add(severity::warning, "string-too-long", "",
          "the record is " + std::to_string(r.record.size()) +
              " bytes; one TXT character-string holds at most 255 (RFC 1035 3.3.14)",
          "publish it as several quoted strings of at most 255 bytes each");
  std::vector<std::string> path;
  co_await l.walk("", r.record, "top", 0, path);
  l.totals();
  co_return r;
}

std::string format_report(const lint_report& r) {
  std::string out;
  out += "SPF lint for " + (r.domain.empty() ? std::string("the given record") : r.domain) + "\n";
  if (!r.record.empty()) out += "record: " + r.record + "\n";
  out += "DNS-querying terms: " + std::to_string(r.dns_terms) +
         " of 10 allowed; void lookups: " + std::to_string(r.void_lookups_v4) + " (IPv4 client), " +
         std::to_string(r.void_lookups_v6) + " (IPv6 client) of 2 allowed\n";
  if (r.tree.size() > 1) {
    out += "include/redirect tree:\n";
    for (const auto& n : r.tree)
      out += std::string(2 + 2 * n.depth, ' ') + (n.via == "top" ? "" : n.via + " ") +
             (n.domain.empty() ? "(record)" : n.domain) + ": " + std::to_string(n.dns_terms) +
             " term(s)\n";
  }
  if (r.findings.empty()) out += "no findings: the record is fine\n";
  for (const auto& f : r.findings) {
    std::string tag = f.sev == severity::error     ? "[ERROR]  "
                      : f.sev == severity::warning ? "[WARN]   "
                                                   : "[INFO]   ";
    out += tag + f.code;
    if (!f.domain.empty() && f.domain != r.domain) out += " (" + f.domain + ")";
    if (f.offset) out += " at offset " + std::to_string(*f.offset);
    out += ": " + f.message + "\n";
    if (!f.fix.empty()) out += "         fix: " + f.fix + "\n";
  }
  out += std::to_string(r.count(severity::error)) + " error(s), " +
         std::to_string(r.count(severity::warning)) + " warning(s), " +
         std::to_string(r.count(severity::info)) + " note(s)\n";
  return out;
}

}  // namespace mxg::spf
