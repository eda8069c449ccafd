// evaluator.cpp: check_host() (RFC 7208 4-8), see evaluator.hpp for the rules.
// Security: every name and record comes from untrusted DNS. Work is bounded by the
// 10-term limit (every include and redirect counts, so recursion depth is at most 10),
// the 2-void-lookup limit, 10 MX names, 10 PTR names, and macro output caps.
#include "spf/evaluator.hpp"

#include <algorithm>
#include <ctime>

#include "base/ascii.hpp"
#include "spf/macro.hpp"

namespace mxg::spf {

const char* to_string(result r) {
  switch (r) {
    case result::none:
      return "none";
    case result::neutral:
      return "neutral";
    case result::pass:
      return "pass";
    case result::fail:
      return "fail";
    case result::softfail:
      return "softfail";
    case result::temperror:
      return "temperror";
    case result::permerror:
      return "permerror";
  }
  return "?";
}

std::optional<result> result_from_string(std::string_view s) {
  for (auto r : {result::none, result::neutral, result::pass, result::fail, result::softfail,
                 result::temperror, result::permerror})
    if (s == to_string(r)) return r;
  return std::nullopt;
}

const char* to_string(identity i) {
  return i == identity::helo ? "helo" : "mailfrom";
}

namespace {

using ascii::lower;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Labels of 1-63 bytes, total <= 253 (RFC 1035 2.3.4, RFC 7208 4.3). `d` has no final dot.
bool valid_labels(std::string_view d) {
  if (d.empty() || d.size() > limits::kDnsNameMax) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = d.find('.', start);
    auto len = (dot == std::string_view::npos ? d.size() : dot) - start;
    if (len == 0 || len > limits::kDnsLabelMax) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

result qualifier_result(qualifier q) {
  switch (q) {
    case qualifier::pass:
      return result::pass;
    case qualifier::fail:
      return result::fail;
    case qualifier::softfail:
      return result::softfail;
    case qualifier::neutral:
      return result::neutral;
  }
  return result::neutral;
}

// What one frame of check_host() (the top domain, an include or a redirect) returns.
struct frame_result {
  result res = result::neutral;
  std::string mechanism;
  std::string explanation;
  std::string problem;
  std::optional<diagnostic> diag;
};

// What one check keeps across its passes: the identity, the fixed %{t} and deadline, and
// every answer of the previous pass in query order, replayed by the next one.
struct check_state {
  net::ip_address ip;  // unmapped
  std::string domain, sender, local, sender_domain, helo;
  identity id = identity::mailfrom;
  std::int64_t now = 0;
  std::chrono::steady_clock::time_point deadline;
  struct step {
    std::shared_ptr<const dns::answer> ans;
    bool late = false;  // made up because the time limit had passed (4.6.4)
  };
  std::vector<step> answers;
  std::string missing_name;  // after a pass that stopped: the query to send
  dns::rrtype missing_type = dns::rrtype::txt;
};

// Per-pass state shared by all frames of one check.
struct context {
  context(dns::resolver& r, const options& o, check_state& s, outcome& ou)
      : res(r), opt(o), st(s), out(ou), ip(s.ip) {}
  dns::resolver& res;
  const options& opt;
  check_state& st;
  outcome& out;
  net::ip_address ip;           // unmapped
  std::size_t next_answer = 0;  // position in st.answers
  // An answer was not ready: the pass stops (every caller of query() returns at once,
  // without acting on a partial result); the next pass fetches it (evaluator.hpp). A
  // flag rather than an exception: unwinding cost more than the whole check.
  bool stopped = false;
  bool ptr_names_known = false;
  std::vector<std::string> validated;  // %{p}: names whose address lookup gave the client

  dns::rrtype addr_type() const { return ip.is_v4() ? dns::rrtype::a : dns::rrtype::aaaa; }

  macro_env env(std::string_view domain) const {
    macro_env e;
    e.sender = st.sender;
    e.local_part = st.local;
    e.sender_domain = st.sender_domain;
    e.domain = domain;
    e.helo = st.helo;
    e.receiver = opt.receiver;
    e.ip = ip;
    e.now = st.now;
    return e;
  }

  void note(int depth, std::string_view domain, trace_event::kind k, std::string text,
            std::string detail) {
    if (!opt.trace) return;
    trace_event ev;
    ev.what = k;
    ev.depth = depth;
    ev.domain = std::string(domain);
    ev.text = std::move(text);
    ev.detail = std::move(detail);
    out.trace.push_back(std::move(ev));
  }

  // The answer to the next query of this check: replayed from the previous pass, or
  // ready at once (resolver::query_now, a cache hit), or else the pass stops
  // (nullptr, `stopped`). Answers are shared, read-only, and kept in st.answers for the whole
  // check, so the reference stays valid: a cache hit costs no copy of the records.
  const dns::answer* query(int depth, std::string_view domain, std::string_view name,
                           dns::rrtype type) {
    if (next_answer == st.answers.size()) {
      if (std::chrono::steady_clock::now() > st.deadline) {  // 4.6.4 overall time limit
        auto late = std::make_shared<dns::answer>();
        late->st = dns::status::timeout;
        late->detail = "SPF evaluation time limit reached (RFC 7208 4.6.4)";
        st.answers.push_back({std::move(late), true});
      } else if (auto a = res.query_now(name, type)) {
        st.answers.push_back({std::move(a), false});
      } else {
        st.missing_name.assign(name);
        st.missing_type = type;
        stopped = true;
        return nullptr;
      }
    }
    const check_state::step& s = st.answers[next_answer++];
    const dns::answer& a = *s.ans;
    if (s.late) {
      note(depth, domain, trace_event::kind::note, std::string(name), a.detail);
      return &a;
    }
    ++out.dns_queries;
    if (!opt.trace) return &a;
    trace_event ev;
    ev.what = trace_event::kind::query;
    ev.depth = depth;
    ev.domain = std::string(domain);
    ev.text = std::string(name);
    ev.type = type;
    ev.status = a.st;
    ev.detail = std::string(dns::to_string(type)) + " " + dns::to_string(a.st);
    if (!a.detail.empty()) ev.detail += " (" + a.detail + ")";
    for (const auto& r : a.records) ev.answers.push_back(r.to_string());
    out.trace.push_back(std::move(ev));
    return &a;
  }
};

// RFC 7208 7.3 %{p}: a validated name equal to or under <domain> if there is one,
// else any validated name, else "unknown".
std::string_view pick_ptr(const context& c, std::string_view domain) {
  if (c.validated.empty()) return "unknown";
  for (const auto& n : c.validated) {
    if (iequals(n, domain) ||
        (n.size() > domain.size() && n[n.size() - domain.size() - 1] == '.' &&
         iequals(std::string_view(n).substr(n.size() - domain.size()), domain)))
      return n;
  }
  return c.validated[0];
}

// Expands a domain-spec (or takes `current` when empty) into a query name: final dot
// removed, truncated from the left to 253 bytes (RFC 7208 7.3). Returns false when the
// macro expansion fails; `valid` tells whether the name can be queried at all.
bool target_name(context& c, std::string_view spec, std::string_view current, std::string& out,
                 bool& valid, std::string& why) {
  out.clear();
  if (spec.empty()) {
    out.assign(current);
  } else if (spec.size() <= kMacroExpansionMax && spec.find('%') == std::string_view::npos &&
             std::all_of(spec.begin(), spec.end(),
                         [](char ch) { return ch >= 0x21 && ch <= 0x7e; })) {
    out.assign(spec);  // 7.1: macro-literals only (what expand() would copy); no macro_env
  } else {
    auto env = c.env(current);
    if (c.ptr_names_known) env.validated_ptr = pick_ptr(c, current);
    if (auto e = expand(spec, macro_context::domain, env, out)) {
      why = e->reason;
      return false;
    }
  }
  if (!out.empty() && out.back() == '.') out.pop_back();
  // RFC 7208 7.3: drop labels from the left until the name fits in 253 bytes.
  while (out.size() > limits::kDnsNameMax) {
    auto dot = out.find('.');
    if (dot == std::string::npos) break;
    out.erase(0, dot + 1);
  }
  valid = valid_labels(out);
  if (!valid) why = "\"" + out + "\" is not a valid domain name (empty or over-long label)";
  return true;
}

// RFC 7208 5.5 / 7.3: the PTR names of the client whose address lookup gives the client
// back (at most ptr_name_limit names are looked at). `want` filters candidate names
// (empty: all); used for both the ptr mechanism and %{p}.
std::vector<std::string> validated_names(context& c, int depth, std::string_view domain,
                                         std::string_view want, bool& dns_error, bool& was_void) {
  std::vector<std::string> found;
  const dns::answer* ans_p = c.query(depth, domain, c.ip.reverse_name(), dns::rrtype::ptr);
  if (!ans_p) return found;
  const dns::answer& ans = *ans_p;
  dns_error = ans.st == dns::status::timeout || ans.st == dns::status::servfail;
  was_void = ans.is_void();
  if (!ans.ok()) return found;
  int n = 0;
  for (const auto& r : ans.records) {
    if (n++ >= c.opt.ptr_name_limit) break;  // 4.6.4: the rest are ignored
    std::string_view name = r.target;
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty()) continue;
    if (!want.empty()) {
      bool ok = iequals(name, want) ||
                (name.size() > want.size() && name[name.size() - want.size() - 1] == '.' &&
                 iequals(name.substr(name.size() - want.size()), want));
      if (!ok) continue;
    }
    const dns::answer* a_p = c.query(depth, domain, name, c.addr_type());
    if (!a_p) return found;
    const dns::answer& a = *a_p;
    if (!a.ok()) continue;  // 5.5: a DNS error skips the name
    for (const auto& ar : a.records) {
      if (ar.addr == c.ip) {
        found.emplace_back(name);
        break;
      }
    }
  }
  return found;
}

void ensure_ptr_names(context& c, int depth, std::string_view domain) {
  if (c.ptr_names_known) return;
  bool err = false, was_void = false;
  c.validated = validated_names(c, depth, domain, {}, err, was_void);
  if (c.stopped) return;
  c.ptr_names_known = true;
}

// What RFC 7208 4.5 (record selection) and 4.6 (parse whole) make of one TXT answer.
// Immutable; derived from the answer alone, so it is kept in the answer's derived slot
// (dns/resolver.hpp) and lives and expires with the cache entry: a cached record is
// parsed once per TTL, not once per check. An answer without a slot is parsed as before.
struct selected_record {
  int count = 0;                       // records beginning "v=spf1" (4.5: exactly one)
  std::string text;                    // the first of them, strings joined (3.3)
  std::optional<parse_result> parsed;  // when count == 1
};
constexpr char kSelectedRecordTag = 0;  // its address tags the derived slot

std::shared_ptr<const selected_record> select_record(const dns::answer& ans) {
  dns::derived_slot* slot = ans.derived.get();
  if (slot && slot->tag == &kSelectedRecordTag)
    return std::static_pointer_cast<const selected_record>(slot->value);
  auto sel = std::make_shared<selected_record>();
  const dns::record* chosen = nullptr;
  for (const auto& r : ans.records) {
    // 3.3: the strings of one record are joined with no separator.
    bool spf = r.strings.size() == 1 ? is_spf_record(r.strings[0]) : is_spf_record(r.joined_text());
    if (spf) {
      ++sel->count;
      if (!chosen) chosen = &r;
    }
  }
  if (sel->count == 1) {
    sel->text = chosen->joined_text();
    sel->parsed = parse(sel->text);
  }
  if (slot && !slot->tag) {
    slot->tag = &kSelectedRecordTag;
    slot->value = sel;
  }
  return sel;
}

class frame_runner {
 public:
  frame_runner(context& c) : c_(c) {}

  frame_result run(std::string_view domain, int depth, bool in_include);

 private:
  enum class match { yes, no, temperror, permerror };
  struct term_outcome {
    match m = match::no;
    std::string problem;
  };

  term_outcome eval(const mechanism& m, std::string_view domain, int depth);
  std::string explanation(const record& rec, std::string_view domain, int depth);
  bool count_void(term_outcome& t) {
    ++c_.out.void_lookups;
    if (c_.out.void_lookups > c_.opt.void_lookup_limit) {
      t.m = match::permerror;
      t.problem = "more than " + std::to_string(c_.opt.void_lookup_limit) +
                  " void DNS lookups (RFC 7208 4.6.4)";
      return false;
    }
    return true;
  }
  context& c_;
};

std::string frame_runner::explanation(const record& rec, std::string_view domain, int depth) {
  std::string text;
  auto env = c_.env(domain);
  // RFC 7208 6.2: any problem with exp= means "proceed as if no exp modifier was given".
  if (const modifier* exp = rec.exp()) {
    if (exp->uses_p_macro) ensure_ptr_names(c_, depth, domain);
    if (c_.stopped) return {};
    std::string name, why;
    bool valid = false;
    if (target_name(c_, exp->value, domain, name, valid, why) && valid) {
      const dns::answer* a_p = c_.query(depth, domain, name, dns::rrtype::txt);
      if (!a_p) return {};
      const dns::answer& a = *a_p;
      if (a.ok() && a.records.size() == 1) {
        std::string raw = a.records[0].joined_text();
        macro_check facts;
        if (!check_macro_string(raw, macro_context::explanation, &facts)) {
          if (facts.uses_p) ensure_ptr_names(c_, depth, domain);
          if (c_.stopped) return {};
          auto e2 = c_.env(domain);
          if (c_.ptr_names_known) e2.validated_ptr = pick_ptr(c_, domain);
          if (!expand(raw, macro_context::explanation, e2, text)) return text;
        }
        c_.note(depth, domain, trace_event::kind::note, "exp=" + std::string(exp->value),
                "explanation string invalid; default used");
      } else {
        c_.note(depth, domain, trace_event::kind::note, "exp=" + std::string(exp->value),
                "no single TXT record; default used");
      }
    }
  }
  text.clear();
  macro_check facts;
  const auto& def = c_.opt.default_explanation;
  if (!check_macro_string(def, macro_context::explanation, &facts)) {
    if (facts.uses_p) ensure_ptr_names(c_, depth, domain);
    if (c_.stopped) return {};
    if (c_.ptr_names_known) env.validated_ptr = pick_ptr(c_, domain);
    if (!expand(def, macro_context::explanation, env, text)) return text;
  }
  return def;
}

frame_runner::term_outcome frame_runner::eval(const mechanism& m, std::string_view domain,
                                              int depth) {
  term_outcome t;
  const bool v4 = c_.ip.is_v4();
  switch (m.kind) {
    case mechanism_kind::all:
      t.m = match::yes;
      return t;
    case mechanism_kind::ip4:
      t.m = (v4 && c_.ip.same_prefix(m.network, m.cidr4)) ? match::yes : match::no;
      return t;
    case mechanism_kind::ip6:
      t.m = (!v4 && c_.ip.same_prefix(m.network, m.cidr6)) ? match::yes : match::no;
      return t;
    default:
      break;
  }
  // A DNS-querying term: RFC 7208 4.6.4 counts it before it runs.
  if (++c_.out.dns_terms > c_.opt.dns_term_limit) {
    t.m = match::permerror;
    t.problem = "more than " + std::to_string(c_.opt.dns_term_limit) +
                " DNS-querying terms (include, a, mx, ptr, exists, redirect; RFC 7208 4.6.4)";
    return t;
  }
  if (m.uses_p_macro) ensure_ptr_names(c_, depth, domain);
  if (c_.stopped) return t;
  std::string target, why;
  bool valid = false;
  if (!target_name(c_, m.domain_spec, domain, target, valid, why)) {
    t.m = match::permerror;
    t.problem = "macro expansion failed: " + why;
    return t;
  }
  const unsigned prefix = v4 ? m.cidr4 : m.cidr6;
  switch (m.kind) {
    case mechanism_kind::include: {
      // RFC 7208 5.2: pass -> match; fail/softfail/neutral -> no match;
      // temperror -> temperror; permerror or none -> permerror.
      frame_result r = run(target, depth + 1, true);
      if (c_.stopped) return t;
      switch (r.res) {
        case result::pass:
          t.m = match::yes;
          break;
        case result::fail:
        case result::softfail:
        case result::neutral:
          t.m = match::no;
          break;
        case result::temperror:
          t.m = match::temperror;
          t.problem = r.problem;
          break;
        case result::none:
          t.m = match::permerror;
          t.problem = "include:" + target + " has no SPF record" +
                      (r.problem.empty() ? std::string() : " (" + r.problem + ")");
          break;
        case result::permerror:
          t.m = match::permerror;
          t.problem = r.problem;
          break;
      }
      return t;
    }
    case mechanism_kind::a:
    case mechanism_kind::exists: {
      if (!valid) {  // 4.3 by analogy: a name that cannot be queried does not match
        c_.note(depth, domain, trace_event::kind::note, std::string(m.text), why);
        return t;
      }
      // 5.7: exists always asks for A, whatever the client's family.
      auto type = m.kind == mechanism_kind::exists ? dns::rrtype::a : c_.addr_type();
      const dns::answer* a_p = c_.query(depth, domain, target, type);
      if (!a_p) return t;
      const dns::answer& a = *a_p;
      if (a.st == dns::status::timeout || a.st == dns::status::servfail) {
        t.m = match::temperror;
        t.problem = "DNS " + std::string(dns::to_string(a.st)) + " for " + target + " " +
                    dns::to_string(type);
        return t;
      }
      if (a.is_void() || a.records.empty()) {
        count_void(t);
        return t;
      }
      if (m.kind == mechanism_kind::exists) {
        t.m = match::yes;
        return t;
      }
      for (const auto& r : a.records)
        if (r.addr.same_prefix(c_.ip, prefix)) t.m = match::yes;
      return t;
    }
    case mechanism_kind::mx: {
      if (!valid) {
        c_.note(depth, domain, trace_event::kind::note, std::string(m.text), why);
        return t;
      }
      const dns::answer* a_p = c_.query(depth, domain, target, dns::rrtype::mx);
      if (!a_p) return t;
      const dns::answer& a = *a_p;
      if (a.st == dns::status::timeout || a.st == dns::status::servfail) {
        t.m = match::temperror;
        t.problem = "DNS " + std::string(dns::to_string(a.st)) + " for " + target + " MX";
        return t;
      }
      if (a.is_void() || a.records.empty()) {
        count_void(t);
        return t;
      }
      // 4.6.4: more than 10 MX records is a permerror.
      if (static_cast<int>(a.records.size()) > c_.opt.mx_name_limit) {
        t.m = match::permerror;
        t.problem = target + " has " + std::to_string(a.records.size()) +
                    " MX records, more than " + std::to_string(c_.opt.mx_name_limit) +
                    " (RFC 7208 4.6.4)";
        return t;
      }
      for (const auto& mxr : a.records) {
        std::string_view host = mxr.target;
        if (!host.empty() && host.back() == '.') host.remove_suffix(1);
        if (host.empty()) continue;  // null MX (RFC 7505)
        const dns::answer* h_p = c_.query(depth, domain, host, c_.addr_type());
        if (!h_p) return t;
        const dns::answer& h = *h_p;
        if (h.st == dns::status::timeout || h.st == dns::status::servfail) {
          t.m = match::temperror;
          t.problem = "DNS " + std::string(dns::to_string(h.st)) + " for " + std::string(host);
          return t;
        }
        for (const auto& r : h.records) {
          if (r.addr.same_prefix(c_.ip, prefix)) {
            t.m = match::yes;
            return t;
          }
        }
      }
      return t;
    }
    case mechanism_kind::ptr: {
      if (!valid) {
        c_.note(depth, domain, trace_event::kind::note, std::string(m.text), why);
        return t;
      }
      bool err = false, was_void = false;
      auto names = validated_names(c_, depth, domain, target, err, was_void);
      if (c_.stopped) return t;
      if (was_void && !count_void(t)) return t;
      // 5.5: a DNS error on the PTR lookup means no match.
      t.m = names.empty() ? match::no : match::yes;
      return t;
    }
    default:
      break;
  }
  return t;
}

frame_result frame_runner::run(std::string_view domain, int depth, bool in_include) {
  frame_result fr;
  fr.res = result::none;
  if (!valid_domain(domain)) {
    fr.problem = "\"" + std::string(domain) + "\" is not a valid domain name (RFC 7208 4.3)";
    c_.note(depth, domain, trace_event::kind::note, std::string(domain), fr.problem);
    return fr;
  }
  if (domain.back() == '.') domain.remove_suffix(1);
  // RFC 7208 4.4: the TXT lookup; 4.5: exactly one record beginning "v=spf1".
  const dns::answer* ans_p = c_.query(depth, domain, domain, dns::rrtype::txt);
  if (!ans_p) return fr;
  const dns::answer& ans = *ans_p;
  if (ans.st == dns::status::timeout || ans.st == dns::status::servfail) {
    fr.res = result::temperror;
    fr.problem = "DNS " + std::string(dns::to_string(ans.st)) + " looking up the SPF record of " +
                 std::string(domain);
    return fr;
  }
  // 4.5 selection and 4.6 parse, done once per cached TXT answer (see select_record).
  std::shared_ptr<const selected_record> sel = select_record(ans);
  if (sel->count == 0) {
    fr.problem = "no SPF record at " + std::string(domain);
    c_.note(depth, domain, trace_event::kind::note, std::string(domain), fr.problem);
    return fr;
  }
  if (sel->count > 1) {
    fr.res = result::permerror;
    fr.problem = std::to_string(sel->count) + " SPF records at " + std::string(domain) +
                 " (there must be exactly one, RFC 7208 4.5)";
    return fr;
  }
  const parse_result& parsed = *sel->parsed;
  if (c_.opt.trace)
    c_.note(depth, domain, trace_event::kind::record, sel->text,
            parsed ? "parsed" : "syntax error: " + parsed.error().to_string());
  if (!parsed) {
    fr.res = result::permerror;
    fr.problem = parsed.error().to_string();
    fr.mechanism = parsed.error().term;  // the offending term decided the result
    fr.diag = parsed.error();
    return fr;
  }
  const record& rec = *parsed;
  for (const auto& m : rec.mechanisms()) {
    term_outcome t = eval(m, domain, depth);
    if (c_.stopped) return fr;
    if (c_.opt.trace) {
      const char* what = t.m == match::yes         ? "match"
                         : t.m == match::no        ? "no match"
                         : t.m == match::temperror ? "temperror"
                                                   : "permerror";
      std::string detail = what;
      if (t.m == match::yes) detail += std::string(" -> ") + to_string(qualifier_result(m.qual));
      if (!t.problem.empty()) detail += ": " + t.problem;
      c_.note(depth, domain, trace_event::kind::term, std::string(m.text), std::move(detail));
    }
    if (t.m == match::no) continue;
    fr.mechanism = std::string(m.text);
    if (t.m == match::temperror) {
      fr.res = result::temperror;
      fr.problem = std::move(t.problem);
      return fr;
    }
    if (t.m == match::permerror) {
      fr.res = result::permerror;
      fr.problem = std::move(t.problem);
      return fr;
    }
    fr.res = qualifier_result(m.qual);
    // 6.2: the explanation comes from the record that produced the fail, never from
    // inside an include (5.2).
    if (fr.res == result::fail && !in_include) fr.explanation = explanation(rec, domain, depth);
    if (c_.stopped) return fr;
    return fr;
  }
  // 6.1: redirect applies only when no mechanism matched (and "all" was absent).
  if (const modifier* red = rec.redirect()) {
    fr.mechanism = std::string(red->text);
    if (++c_.out.dns_terms > c_.opt.dns_term_limit) {
      fr.res = result::permerror;
      fr.problem = "more than " + std::to_string(c_.opt.dns_term_limit) +
                   " DNS-querying terms (include, a, mx, ptr, exists, redirect; RFC 7208 4.6.4)";
      c_.note(depth, domain, trace_event::kind::term, fr.mechanism, "permerror: " + fr.problem);
      return fr;
    }
    if (red->uses_p_macro) ensure_ptr_names(c_, depth, domain);
    if (c_.stopped) return fr;
    std::string target, why;
    bool valid = false;
    if (!target_name(c_, red->value, domain, target, valid, why)) {
      fr.res = result::permerror;
      fr.problem = "macro expansion failed: " + why;
      return fr;
    }
    c_.note(depth, domain, trace_event::kind::term, fr.mechanism, "redirect to " + target);
    frame_result r = run(target, depth + 1, in_include);
    if (c_.stopped) return r;
    if (r.res == result::none) {  // 6.1: no record at the target is a permerror
      r.res = result::permerror;
      r.problem = "redirect=" + target + " has no SPF record" +
                  (r.problem.empty() ? std::string() : " (" + r.problem + ")");
      r.mechanism = fr.mechanism;
    }
    return r;
  }
  fr.res = result::neutral;  // 4.7: no match, no redirect
  fr.mechanism = "default";
  return fr;
}

}  // namespace

bool valid_domain(std::string_view d) {
  if (d.empty() || d.front() == '[') return false;  // domain literal (4.3)
  if (d.back() == '.') d.remove_suffix(1);
  for (unsigned char ch : d)
    if (ch < 0x21 || ch > 0x7e) return false;
  if (d.find('.') == std::string_view::npos) return false;  // not multi-label
  return valid_labels(d);
}

namespace {

check_state start_check(const options& opt, net::ip_address ip, std::string domain,
                        std::string sender, std::string helo, identity id) {
  check_state st;
  st.answers.reserve(8);  // most checks make fewer queries
  st.ip = ip.unmapped();
  auto at = sender.rfind('@');
  st.local = at == std::string::npos ? std::string("postmaster") : sender.substr(0, at);
  if (st.local.empty()) st.local = "postmaster";
  st.sender_domain = at == std::string::npos ? sender : sender.substr(at + 1);
  st.sender = std::move(sender);
  st.helo = std::move(helo);
  st.domain = std::move(domain);
  st.id = id;
  st.now = opt.now ? opt.now : static_cast<std::int64_t>(std::time(nullptr));
  st.deadline = std::chrono::steady_clock::now() + opt.time_limit;
  return st;
}

// RFC 7208 2.4, 4.3: the identity checked and its <domain> and <sender>.
check_state start_check(const options& opt, const request& req) {
  if (req.sender.empty())  // 2.4: the null sender: the HELO identity as postmaster@<helo>
    return start_check(opt, req.ip, req.helo, "postmaster@" + req.helo, req.helo, identity::helo);
  auto at = req.sender.rfind('@');
  if (at == std::string::npos)
    return start_check(opt, req.ip, req.sender, "postmaster@" + req.sender, req.helo,
                       identity::mailfrom);
  return start_check(opt, req.ip, req.sender.substr(at + 1),
                     at == 0 ? "postmaster" + req.sender : req.sender,  // 4.3 empty local part
                     req.helo, identity::mailfrom);
}

// One pass of check_host() over the answers at hand. True: `out` is the outcome. False:
// an answer was not ready (st.missing_name/type); `out` is to be discarded.
bool run_pass(dns::resolver& res, const options& opt, check_state& st, outcome& out) {
  out = outcome{};
  context c(res, opt, st, out);
  frame_runner fr(c);
  frame_result r = fr.run(st.domain, 0, false);
  if (c.stopped) return false;
  out.result = r.res;
  out.identity = st.id;
  out.domain = st.domain;
  out.mechanism = std::move(r.mechanism);
  out.explanation = std::move(r.explanation);
  out.problem = std::move(r.problem);
  out.diag = std::move(r.diag);
  out.sender = st.sender;
  return true;
}

// Passes until one finishes, fetching the missing answer between two passes.
asio::awaitable<outcome> run_check(dns::resolver& res, const options& opt, check_state st) {
  outcome out;
  while (!run_pass(res, opt, st, out)) {
    auto a = co_await res.query_shared(std::move(st.missing_name), st.missing_type);
    st.answers.push_back({std::move(a), false});
  }
  co_return out;
}

}  // namespace

std::optional<outcome> evaluator::check_now(const request& req) const {
  check_state st = start_check(opt_, req);
  outcome out;
  if (!run_pass(res_, opt_, st, out)) return std::nullopt;
  return out;
}

asio::awaitable<outcome> evaluator::check(request req) const {
  return run_check(res_, opt_, start_check(opt_, req));
}

asio::awaitable<outcome> evaluator::check_host(net::ip_address ip, std::string domain,
                                               std::string sender, std::string helo) const {
  return run_check(res_, opt_,
                   start_check(opt_, ip, std::move(domain), std::move(sender), std::move(helo),
                               identity::mailfrom));
}

}  // namespace mxg::spf
