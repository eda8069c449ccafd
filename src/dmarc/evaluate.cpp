// evaluate.cpp: DMARC policy discovery, identifier alignment and the result (RFC 9989 4.4,
// 4.7, 4.10, 5.3; RFC 7489 3.2 and 6.6.3 for the legacy PSL mode); the RFC 8601 resinfo.
// See evaluate.hpp for the rules; each step below cites its section.
// Concurrency: the Author Domain's walk is sequential (each step depends on the last,
// RFC 9989 4.10); once the record is known, the walks for the identifiers to align and
// the A/AAAA/MX existence check (np=) are independent and run together (awaitable
// operators on the caller's executor; every task writes only its own slot).
// Never: more than kTreeWalkQueriesMax queries in one walk, more than kAlignmentWalksMax
// identifier walks, a URI fetched, an exception for a DNS outcome.
#include "dmarc/evaluate.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>

#include <exception>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "base/ascii.hpp"
#include "dns/memory_zone.hpp"

namespace mxg::dmarc {

namespace {

// What one _dmarc.<name> TXT query found (RFC 9989 4.10 steps 1-2, 5-6).
struct lookup {
  enum class kind { none, one, multiple, temperror } k = kind::none;
  std::optional<record> rec;
  std::string detail;
};

using cache_t = std::map<std::string, lookup>;

asio::awaitable<lookup> fetch(dns::resolver& r, std::string domain) {
  std::string qname = "_dmarc." + domain;
  dns::answer a = co_await r.query(qname, dns::rrtype::txt);
  lookup l;
  if (a.st == dns::status::timeout || a.st == dns::status::servfail) {
    l.k = lookup::kind::temperror;
    l.detail =
        qname + ": " + dns::to_string(a.st) + (a.detail.empty() ? "" : " (" + a.detail + ")");
    co_return l;
  }
  if (!a.ok()) co_return l;  // NXDOMAIN or NODATA: no record here
  int n = 0;
  bool broken = false;
  for (const auto& rr : a.records) {
    if (rr.type != dns::rrtype::txt) continue;
    // RFC 9989 4.5: the character-strings are joined before parsing.
    auto p = parse_record(rr.joined_text());
    if (p) {
      ++n;
      l.rec = std::move(*p);
    } else if (p.error().code != errc::not_found) {
      ++n;  // a DMARC record we refuse (over the size cap): it still counts
      broken = true;
      l.detail = qname + ": " + p.error().message;
    }
  }
  if (n > 1) {
    // RFC 9989 4.10 step 2: several DMARC records at one name are all discarded.
    l.k = lookup::kind::multiple;
    l.rec.reset();
    l.detail = qname + ": several DMARC records";
  } else if (n == 1 && !broken) {
    l.k = lookup::kind::one;
  } else {
    l.rec.reset();
  }
  co_return l;
}

struct walk_state {
  std::vector<std::pair<std::string, record>> found;  // names with one record, longest first
  std::vector<std::string> queried;                   // "_dmarc.<name>" asked, in order
  bool temperror = false;
  std::string detail;
};

// RFC 9989 4.10 steps 5-7 over names[from..to): stops after a psd=y/psd=n record or at
// a DNS failure. Names already in `cache` are not asked again.
asio::awaitable<void> walk(dns::resolver& r, std::vector<std::string> names, std::size_t from,
                           std::size_t to, cache_t* cache, walk_state* w) {
  for (std::size_t i = from; i < to && i < names.size(); ++i) {
    lookup l;
    auto it = cache->find(names[i]);
    if (it != cache->end()) {
      l = it->second;
    } else {
      w->queried.push_back("_dmarc." + names[i]);
      l = co_await fetch(r, names[i]);
      (*cache)[names[i]] = l;
    }
    if (l.k == lookup::kind::temperror) {
      w->temperror = true;
      w->detail = l.detail;
      co_return;
    }
    if (l.k == lookup::kind::one) {
      w->found.emplace_back(names[i], *l.rec);
      if (l.rec->psd != psd_flag::unset) co_return;  // steps 2 and 6: psd=y|n stops
    }
  }
}

// `start` minus everything above the label just below `name` (start ends in "." + name).
std::string one_label_below(const std::string& start, const std::string& name) {
  if (start.size() <= name.size() + 1) return start;
  std::string prefix = start.substr(0, start.size() - name.size() - 1);
  auto dot = prefix.rfind('.');
  return (dot == std::string::npos ? prefix : prefix.substr(dot + 1)) + "." + name;
}

// RFC 9989 4.10.2: the Organizational Domain from one walk's records.
std::string org_from(const walk_state& w, const std::string& start) {
  for (const auto& [name, rec] : w.found) {    // longest to shortest
    if (rec.psd == psd_flag::no) return name;  // rule 1
    if (rec.psd == psd_flag::yes && name != start) return one_label_below(start, name);  // 2
  }
  if (!w.found.empty()) return w.found.back().first;  // rule 3: fewest labels
  return start;  // "If this process does not determine the Organizational Domain..."
}

struct discovery_work {
  policy_discovery d;
  cache_t cache;
};

// The Author Domain's discovery. `need_org(rec)` says, once the Author Domain's own record
// is known, whether relaxed alignment needs its Organizational Domain (4.10.2 "no need").
asio::awaitable<discovery_work> discover_impl(std::string author, dns::resolver& r, options o,
                                              std::function<bool(const record&)> need_org) {
  discovery_work out;
  policy_discovery& d = out.d;
  if (o.mode == discovery_mode::psl) {
    // RFC 7489 6.6.3: the author's name, then the PSL Organizational Domain's.
    if (!o.psl) {
      d.detail = "legacy discovery without a public suffix list";
      co_return out;
    }
    d.org_domain = o.psl->registrable_domain(author).value_or(author);
    std::vector<std::string> names{author};
    if (d.org_domain != author) names.push_back(d.org_domain);
    for (const auto& n : names) {
      d.queried.push_back("_dmarc." + n);
      lookup l = co_await fetch(r, n);
      out.cache[n] = l;
      if (l.k == lookup::kind::temperror) {
        d.temperror = true;
        d.detail = l.detail;
        break;
      }
      if (l.k == lookup::kind::multiple) {  // 6.6.3 step 5: several records: no DMARC
        d.detail = l.detail;
        break;
      }
      if (l.k == lookup::kind::one) {
        d.rec = l.rec;
        d.policy_domain = n;
        break;
      }
    }
    d.queries = static_cast<int>(d.queried.size());
    if (!d.rec && d.detail.empty() && !d.temperror) d.detail = "no DMARC record";
    co_return out;
  }

  // Tree walk (RFC 9989 4.10, 4.10.1).
  std::vector<std::string> names = tree_walk_names(author);
  walk_state w;
  co_await walk(r, names, 0, 1, &out.cache, &w);  // the Author Domain's own record
  const bool author_rec = !w.found.empty();
  bool go_on = !w.temperror;
  if (author_rec) {
    const record& own = w.found.front().second;
    // 4.10 step 2: psd=y|n on the start stops the walk. 4.10.2: no Organizational
    // Domain is needed when alignment is strict or every identifier is the author.
    if (own.psd != psd_flag::unset || !need_org(own)) go_on = false;
  }
  if (go_on) co_await walk(r, names, 1, names.size(), &out.cache, &w);
  d.queried = w.queried;
  d.queries = static_cast<int>(w.queried.size());
  if (w.temperror) {
    d.detail = w.detail;
    d.org_known = false;
    if (!author_rec) {
      d.temperror = true;  // 5.3.6: the policy could not be discovered
      co_return out;
    }
  }
  if (author_rec && !go_on && w.found.front().second.psd == psd_flag::unset) {
    d.org_domain = author;  // 4.10.2 note: the common domain is the Organizational Domain
  } else if (d.org_known) {
    d.org_domain = org_from(w, author);
  }
  // 4.10.1: the Author Domain's record, else the Organizational Domain's, else the PSD's.
  if (author_rec) {
    d.rec = w.found.front().second;
    d.policy_domain = author;
  } else {
    for (const auto& [name, rec] : w.found)
      if (name == d.org_domain) {
        d.rec = rec;
        d.policy_domain = name;
      }
    // XXX: with 9+ labels the name one below a psd=y record can be one the jump of 4.10
    // step 4 skipped (never asked); its record, if any, is then unknown and the PSD's
    // applies. RFC 9989 does not say to ask it; 5.1.8 tells owners to publish at the
    // Author Domain instead. Asking it would cost a ninth query.
    if (!d.rec && !w.found.empty() && w.found.back().second.psd == psd_flag::yes) {
      d.rec = w.found.back().second;
      d.policy_domain = w.found.back().first;
    }
  }
  if (!d.rec && d.detail.empty()) d.detail = "no DMARC record";
  co_return out;
}

}  // namespace

std::vector<std::string> tree_walk_names(const std::string& domain) {
  std::vector<std::string> labels;
  std::size_t b = 0;
  while (b <= domain.size()) {
    auto dot = domain.find('.', b);
    if (dot == std::string::npos) dot = domain.size();
    labels.push_back(domain.substr(b, dot - b));
    b = dot + 1;
  }
  std::vector<std::string> out;
  if (domain.empty()) return out;
  auto suffix = [&](std::size_t k) {  // the last k labels
    std::string s;
    for (std::size_t i = labels.size() - k; i < labels.size(); ++i) {
      if (!s.empty()) s += '.';
      s += labels[i];
    }
    return s;
  };
  const std::size_t x = labels.size();
  out.push_back(domain);  // step 1: the starting point
  // step 4: x < 8: drop one label; x >= 8: keep the last 7; step 7: one label at a time
  std::size_t next = x >= 8 ? 7 : x - 1;
  for (std::size_t k = next; k >= 1; --k) out.push_back(suffix(k));
  return out;
}

namespace {

// The in-memory zone as a resolver, for the synchronous forms (its lookup is const).
class zone_resolver : public dns::resolver {
 public:
  explicit zone_resolver(const dns::memory_zone& z) : z_(z) {}
  asio::awaitable<dns::answer> query(std::string name, dns::rrtype type) override {
    co_return z_.lookup(name, type);
  }

 private:
  const dns::memory_zone& z_;
};

template <typename T>
T run_sync(asio::awaitable<T> task) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr ex;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    if (e)
      ex = e;
    else
      out = std::move(v);
  });
  io.run();
  if (ex) std::rethrow_exception(ex);
  MXG_ASSERT(out.has_value());
  return std::move(*out);
}

// Runs tasks[b..e) together (awaitable operators are binary: split in halves).
asio::awaitable<void> all_of(std::vector<asio::awaitable<void>>* tasks, std::size_t b,
                             std::size_t e) {
  using namespace asio::experimental::awaitable_operators;
  if (e <= b) co_return;
  if (e - b == 1) {
    co_await std::move((*tasks)[b]);
    co_return;
  }
  std::size_t m = b + (e - b) / 2;
  co_await (all_of(tasks, b, m) && all_of(tasks, m, e));
}

// One identifier's Organizational Domain by its own walk (4.10.2), reusing what the
// Author Domain's walk already asked.
struct org_task {
  std::string domain;
  cache_t cache;
  walk_state w;
  std::string org;
  bool known = false;
};

asio::awaitable<void> find_org(dns::resolver& r, org_task* t) {
  std::vector<std::string> names = tree_walk_names(t->domain);
  co_await walk(r, names, 0, names.size(), &t->cache, &t->w);
  if (t->w.temperror) co_return;
  t->org = org_from(t->w, t->domain);
  t->known = true;
}

// RFC 9989 3.2.13 / RFC 8020: a domain does not exist when the answer is NXDOMAIN. Asked
// for A, AAAA and MX together: any record or NODATA means it exists; all NXDOMAIN means
// it does not; a failure otherwise leaves it open (-1).
asio::awaitable<void> check_existence(dns::resolver& r, std::string domain, int* state) {
  using namespace asio::experimental::awaitable_operators;
  std::string n1 = domain, n2 = domain, n3 = domain;
  auto [a, aaaa, mx] = co_await (r.query(std::move(n1), dns::rrtype::a) &&
                                 r.query(std::move(n2), dns::rrtype::aaaa) &&
                                 r.query(std::move(n3), dns::rrtype::mx));
  int nx = 0, fail = 0;
  for (const dns::answer* x : {&a, &aaaa, &mx}) {
    if (x->st == dns::status::ok || x->st == dns::status::nodata) {
      *state = 1;
      co_return;
    }
    if (x->st == dns::status::nxdomain)
      ++nx;
    else
      ++fail;
  }
  *state = nx == 3 ? 0 : -1;
}

disposition lowered(disposition d) {
  // RFC 9989 4.7 "t=y": one level below; no effect on none.
  switch (d) {
    case disposition::reject:
      return disposition::quarantine;
    case disposition::quarantine:
      return disposition::none;
    case disposition::none:
      return disposition::none;
  }
  return d;
}

struct candidate {
  std::string domain;  // A-label, lower case
  bool spf = false;
  std::size_t dkim_index = 0;
};

asio::awaitable<evaluation> evaluate_impl(from_domain from, spf_input spf,
                                          std::vector<dkim_input> dkim, dns::resolver& r,
                                          options o) {
  evaluation e;
  e.mode = o.mode;
  e.spf_domain = spf.domain;
  if (!from.ok) {
    // from.hpp: no usable Author Domain (RFC 9989 4.4, 5.3.1).
    e.res = result::permerror;
    e.reason = from.error.empty() ? "no usable From domain" : from.error;
    co_return e;
  }
  e.from_domain = from.domain;
  if (o.mode == discovery_mode::psl && !o.psl) {
    e.res = result::permerror;
    e.reason = "legacy (psl) discovery configured without a public suffix list";
    co_return e;
  }
  const std::string& author = from.domain;

  // Authenticated Identifiers (RFC 9989 4.4.1, 4.4.2, 5.3.3): only passes count.
  std::vector<candidate> cands;
  if (ascii::iequals(spf.result, "pass") && !spf.domain.empty()) {
    // A whole MAIL FROM address is accepted too: its domain is the identifier.
    std::string_view d = spf.domain;
    if (auto at = d.rfind('@'); at != std::string_view::npos) d.remove_prefix(at + 1);
    if (auto a = to_a_label(d)) cands.push_back({*a, true, 0});
  }
  for (std::size_t i = 0; i < dkim.size(); ++i) {
    if (!ascii::iequals(dkim[i].result, "pass") || dkim[i].domain.empty()) continue;
    if (auto a = to_a_label(dkim[i].domain)) cands.push_back({*a, false, i});
  }
  auto mode_of = [](const record& rec, const candidate& c) { return c.spf ? rec.aspf : rec.adkim; };
  auto need_org = [&](const record& rec) {
    for (const auto& c : cands)
      if (c.domain != author && mode_of(rec, c) == alignment_mode::relaxed) return true;
    return false;
  };

  discovery_work dw = co_await discover_impl(author, r, o, need_org);
  policy_discovery& d = dw.d;
  e.queried = d.queried;
  e.policy_domain = d.policy_domain;
  e.org_domain = d.org_domain;
  if (d.temperror) {
    e.res = result::temperror;  // RFC 9989 5.3.6
    e.reason = "DNS failure during policy discovery: " + d.detail;
    co_return e;
  }
  if (!d.rec) {
    e.res = result::none;  // RFC 9989 4.10.1, 5.3.2: the mechanism does not apply
    e.reason = d.detail;
    co_return e;
  }
  if (!d.rec->usable()) {
    e.res = result::none;  // 4.10.1: invalid p/sp/np and no valid rua: no DMARC processing
    e.rec = d.rec;
    e.reason = "_dmarc." + d.policy_domain +
               ": invalid p=, sp= or np= and no valid rua=: no DMARC processing";
    co_return e;
  }
  const record& rec = *d.rec;
  e.rec = rec;
  e.testing = rec.testing;

  // Organizational Domains of the identifiers (4.10.2) and the existence check (np=),
  // concurrently.
  std::vector<org_task> tasks;
  std::map<std::string, std::size_t> task_of;
  if (o.mode == discovery_mode::treewalk && d.org_known) {
    for (const auto& c : cands) {
      if (c.domain == author || mode_of(rec, c) != alignment_mode::relaxed) continue;
      if (task_of.count(c.domain) || tasks.size() >= kAlignmentWalksMax) continue;
      task_of[c.domain] = tasks.size();
      tasks.push_back(org_task{c.domain, dw.cache, {}, {}, false});
    }
  }
  const bool subdomain_policy = d.policy_domain != author;
  const bool need_existence = subdomain_policy && rec.np.has_value() && !rec.as_p_none();
  int exists = 1;
  {
    std::vector<asio::awaitable<void>> work;
    for (auto& t : tasks) work.push_back(find_org(r, &t));
    if (need_existence) work.push_back(check_existence(r, author, &exists));
    co_await all_of(&work, 0, work.size());
  }

  // Alignment (RFC 9989 3.2.10, 4.4).
  auto org_of = [&](const candidate& c) -> std::optional<std::string> {
    if (o.mode == discovery_mode::psl)
      return o.psl->registrable_domain(c.domain).value_or(c.domain);
    auto it = task_of.find(c.domain);
    if (it == task_of.end() || !tasks[it->second].known) return std::nullopt;
    return tasks[it->second].org;
  };
  bool undecided = false;
  for (const auto& c : cands) {
    const alignment_mode m = mode_of(rec, c);
    bool ok = false;
    if (c.domain == author) {
      ok = true;
    } else if (m == alignment_mode::relaxed) {
      auto org = org_of(c);
      if (!org || !d.org_known) {
        undecided = true;
        continue;
      }
      ok = aligned(d.org_domain, *org, author, c.domain, m);
    }
    if (!ok) continue;
    if (c.spf) {
      e.spf_aligned = true;
    } else if (!e.dkim_aligned) {
      e.dkim_aligned = true;
      e.dkim_domain = dkim[c.dkim_index].domain;
      e.dkim_selector = dkim[c.dkim_index].selector;
    }
  }

  // The policy that applies (4.10.1, 4.7).
  if (!subdomain_policy) {
    e.policy = rec.effective_p();
    e.policy_source = "p";
  } else if (need_existence && exists == 0) {
    e.policy = rec.effective_np();
    e.policy_source = "np";
  } else {
    e.policy = rec.effective_sp();
    e.policy_source = rec.sp ? "sp" : "p";
  }
  e.effective_policy = rec.testing ? lowered(*e.policy) : *e.policy;

  if (e.dkim_aligned || e.spf_aligned) {
    e.res = result::pass;  // 5.3.5
    e.reason = e.dkim_aligned ? "aligned DKIM pass (d=" + e.dkim_domain + ")"
                              : "aligned SPF pass (" + spf.domain + ")";
  } else if (undecided) {
    e.res = result::temperror;  // 5.3.6: an alignment walk failed, nothing else passed
    e.reason = "DNS failure while finding an Organizational Domain";
    e.policy.reset();
    e.effective_policy.reset();
  } else if (need_existence && exists < 0) {
    e.res = result::temperror;  // 5.3.6: whether np= applies is unknown
    e.reason = "DNS failure while checking whether " + author + " exists";
    e.policy.reset();
    e.effective_policy.reset();
  } else {
    e.res = result::fail;  // 5.3.5
    e.reason = cands.empty() ? "no SPF or DKIM pass" : "no aligned SPF or DKIM pass";
  }
  if (!d.org_known && e.res != result::temperror)
    e.reason += " (Organizational Domain unknown: " + d.detail + ")";
  co_return e;
}

// RFC 8601 2.2: a comment holds no unbalanced parentheses or backslash; keep it printable.
std::string comment_text(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '(' || c == ')' || c == '\\') continue;
    out += (c < 0x20 || c > 0x7e) ? '?' : static_cast<char>(c);
  }
  return out;
}

}  // namespace

asio::awaitable<policy_discovery> discover(std::string from_domain, dns::resolver& r, options o) {
  auto w = co_await discover_impl(from_domain, r, o, [](const record&) { return true; });
  co_return std::move(w.d);
}

policy_discovery discover(const std::string& from_domain, const dns::memory_zone& zone, options o) {
  zone_resolver zr(zone);
  return run_sync(discover(from_domain, zr, o));
}

asio::awaitable<evaluation> evaluate(from_domain from, spf_input spf, std::vector<dkim_input> dkim,
                                     dns::resolver& r, options o) {
  co_return co_await evaluate_impl(std::move(from), std::move(spf), std::move(dkim), r, o);
}

evaluation evaluate(const from_domain& from, const spf_input& spf,
                    const std::vector<dkim_input>& dkim, const dns::memory_zone& zone, options o) {
  zone_resolver zr(zone);
  return run_sync(evaluate_impl(from, spf, dkim, zr, o));
}

bool aligned(const std::string& a_org, const std::string& b_org, const std::string& a,
             const std::string& b, alignment_mode mode) {
  if (mode == alignment_mode::strict) return ascii::iequals(a, b);  // 3.2.10.2
  return !a_org.empty() && ascii::iequals(a_org, b_org);            // 3.2.10.1
}

std::string authres_entry(const evaluation& e) {
  std::string s = "dmarc=";
  s += to_string(e.res);
  std::string comment;
  if (e.res == result::pass || e.res == result::fail) {
    if (e.rec) {
      comment = std::string("p=") + to_string(e.rec->effective_p()) +
                " sp=" + to_string(e.rec->effective_sp());
      if (e.rec->np) comment += std::string(" np=") + to_string(e.rec->effective_np());
      if (e.testing) comment += " t=y";
    }
  } else if (e.res != result::none) {
    comment = e.reason;
  }
  comment = comment_text(comment);
  if (!comment.empty()) s += " (" + comment + ")";
  // header.from: the domain part of RFC5322.From (RFC 9989 9.1); an A-label is a valid
  // RFC 8601 pvalue (domain-name).
  if (!e.from_domain.empty()) s += " header.from=" + e.from_domain;
  if (e.res == result::fail && e.effective_policy)
    s += std::string(" policy.dmarc=") + to_string(*e.effective_policy);  // RFC 9989 9.1
  return s;
}

}  // namespace mxg::dmarc
