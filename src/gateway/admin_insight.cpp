// admin_insight.cpp: two read-only admin operations of the console (issue 11 section 3):
// the rules in force (the running [spf], [dkim], [dmarc] and [dnsbl] sections as the
// gateway parsed them; read on the io thread, where a SIGHUP swaps the configuration) and
// the backscatter sources (`mxguard ndr report` over the bounces the gateway quarantined).
// Threads: SQLite only on the history writer's thread, queue files on a worker thread
// (net::offload); the io thread runs the DNS of the judgement and the contact look-ups.
// Security: bounces are hostile input, parsed by ndr/ (capped, fuzzed); their text goes
// out as JSON strings only.
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <string>

#include "base/ascii.hpp"
#include "gateway/admin.hpp"
#include "gateway/backscatter_filter.hpp"
#include "gateway/history_writer.hpp"
#include "gateway/quarantine_expiry.hpp"
#include "gateway/sent_snapshot.hpp"
#include "gateway/server.hpp"
#include "ndr/bounce_info.hpp"
#include "ndr/ndr.hpp"
#include "net/offload.hpp"
#include "queue/queue_id.hpp"
#include "spf/evaluator.hpp"

namespace mxg::gateway::admin {

rules_in_force policy_in_force(server& srv) {
  const auto& c = srv.cfg();
  return rules_in_force{c.spf, c.dkim, c.dmarc, c.dnsbl};
}

namespace {

using json = nlohmann::json;

json cidrs(const std::vector<net::cidr>& v) {
  json a = json::array();
  for (const auto& n : v) a.push_back(n.to_string());
  return a;
}

json spf_actions(const std::array<std::optional<policy::verdict>, policy::kSpfResults>& a) {
  json o = json::object();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i]) o[spf::to_string(static_cast<spf::result>(i))] = policy::to_string(*a[i]);
  return o;
}

json dmarc_actions(const std::array<std::optional<policy::verdict>, policy::kDmarcOutcomes>& a) {
  json o = json::object();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i])
      o[policy::to_string(static_cast<policy::dmarc_outcome>(i))] = policy::to_string(*a[i]);
  return o;
}

template <std::size_t N>
std::array<std::optional<policy::verdict>, N> all_set(const std::array<policy::verdict, N>& a) {
  std::array<std::optional<policy::verdict>, N> o{};
  for (std::size_t i = 0; i < N; ++i) o[i] = a[i];
  return o;
}

json thresholds(const policy::dnsbl_thresholds& t) {
  json o = json::object();
  if (t.reject) o["reject"] = *t.reject;
  if (t.tempfail) o["tempfail"] = *t.tempfail;
  if (t.quarantine) o["quarantine"] = *t.quarantine;
  if (t.tag) o["tag"] = *t.tag;
  return o;
}

}  // namespace

asio::awaitable<result<backscatter_report>> backscatter_sources(server& srv, std::int64_t since) {
  history_writer* hw = srv.history();
  if (!hw) co_return fail(errc::unsupported, "backscatter: the history is disabled in this daemon");
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  store::quarantine_query q;
  q.since = since;
  q.check = "backscatter";
  q.include_released = q.include_deleted = true;
  q.limit = kBackscatterBouncesMax;
  using R = result<std::vector<store::quarantine_entry>>;
  auto find = [q](store::history& db) -> R { return db.quarantine_find(q); };
  R found = co_await hw->async_call(find, R(fail(errc::temporary, "history queue full: try again")),
                                    ex, asio::use_awaitable);
  if (!found) co_return std::unexpected(found.error());

  backscatter_report rep;
  rep.since = since;
  rep.quarantined = found->size();
  // Which queue holds each bounce (io thread: the server's queue map), then the files on
  // a worker thread, parsed there too (no DNS in parsing).
  auto all = selected_queues(srv, "");
  std::vector<std::pair<queue::queue_dir*, std::string>> where;
  for (const auto& e : *found) {
    queue::queue_dir* qd = quarantine_queue(
        e, [&](const std::string& w) { return srv.find_queue(w); }, all);
    if (qd && queue::queue_id::valid(e.queue_id)) where.emplace_back(qd, e.queue_id);
  }
  auto read = [where]() {
    std::vector<ndr::bounce_info> out;
    for (const auto& [qd, id] : where) {
      auto qid = queue::queue_id::parse(id);
      auto env = qd->load(*qid);
      if (!env) continue;
      auto data = qd->read_data(*qid);
      if (!data) continue;
      std::string text = queue::message_text(*env, std::move(*data));
      for (auto& r : ndr::parse_message(text)) {
        r.file = id;
        out.push_back(ndr::describe(r, text));
      }
    }
    return out;
  };
  std::vector<ndr::bounce_info> bounces = co_await net::offload(read);
  rep.unreadable = rep.quarantined - std::min(rep.quarantined, where.size());

  // The outbound history's answers for every bounce at once, through the writer.
  std::vector<std::string> ids, rcpts;
  for (const auto& b : bounces) {
    if (!b.rec.original_message_id.empty()) ids.push_back(b.rec.original_message_id);
    if (!b.rec.recipient.empty()) rcpts.push_back(b.rec.recipient);
  }
  sent_facts facts =
      co_await hw->async_sent(std::move(ids), std::move(rcpts), 0, ex, asio::use_awaitable);
  const bool available = facts.available;
  auto snap = sent_snapshot(std::move(facts));

  const auto& bs = srv.backscatter()->config();
  policy::analysis_options opt;
  opt.our_domains = bs.our_domains.empty() ? srv.cfg().relay.local_domains : bs.our_domains;
  for (auto& d : opt.our_domains) d = ascii::lower(d);
  opt.history = available ? snap.get() : nullptr;
  if (bs.batv) opt.batv.emplace(*bs.batv);
  dns::resolver* res = srv.resolver();
  opt.check_spf = res != nullptr;
  // XXX: the bounces are judged one after another (each may wait for SPF DNS); with many
  // slow look-ups the console answers 503 after 60 s while this still completes. Judging
  // a few at a time (as ndr report probes) would bound it.
  for (const auto& b : bounces) rep.bounces.push_back(co_await policy::judge(b, opt, res));
  rep.sources = policy::rank_sources(rep.bounces);
  if (res) co_await policy::find_contacts(rep.sources, *res);
  co_return rep;
}

json to_json(const backscatter_report& r) {
  std::map<std::string, std::size_t> verdicts;
  for (const char* v : {"backscatter", "legitimate", "unknown", "not-ours"}) verdicts[v] = 0;
  for (const auto& j : r.bounces) ++verdicts[policy::to_string(j.v)];
  json sources = json::array();
  for (const auto& g : r.sources) {
    json contacts = json::array();
    for (const auto& c : g.contacts)
      contacts.push_back({{"address", c.address}, {"source", c.source}});
    sources.push_back({{"source", g.key},
                       {"domain", g.domain},
                       {"network", g.network},
                       {"hosts", g.hosts},
                       {"ips", g.ips},
                       {"count", g.count},
                       {"first_seen", g.first_seen},
                       {"last_seen", g.last_seen},
                       {"sample_subjects", g.sample_subjects},
                       {"target_domains", g.target_domains},
                       {"queue_ids", g.files},
                       {"contacts", contacts}});
  }
  return json{{"since", r.since},           {"quarantined", r.quarantined},
              {"unreadable", r.unreadable}, {"bounces", r.bounces.size()},
              {"verdicts", verdicts},       {"sources", sources}};
}

json to_json(const rules_in_force& r) {
  json spf_rules = json::array();
  for (const auto& x : r.spf.rules)
    spf_rules.push_back({{"name", x.name},
                         {"domains", x.domains},
                         {"actions", spf_actions(x.actions)},
                         {"monitor", x.monitor},
                         {"line", x.line}});
  json dmarc_rules = json::array();
  for (const auto& x : r.dmarc.rules)
    dmarc_rules.push_back({{"name", x.name},
                           {"domains", x.domains},
                           {"actions", dmarc_actions(x.actions)},
                           {"monitor", x.monitor},
                           {"line", x.line}});
  json zones = json::array();
  for (const auto& z : r.dnsbl.zones) {
    json codes = json::array();
    for (const auto& c : z.codes)
      codes.push_back(
          {{"code", c.value.to_string()}, {"weight", c.weight}, {"meaning", c.meaning}});
    zones.push_back({{"name", z.name},
                     {"label", z.label},
                     {"type", z.type == policy::dnsbl_zone_type::allow ? "allow" : "block"},
                     {"weight", z.weight},
                     {"codes", codes},
                     {"bitmask", z.bitmask},
                     {"ipv4", z.ipv4},
                     {"ipv6", z.ipv6}});
  }
  json dnsbl_rules = json::array();
  for (const auto& x : r.dnsbl.rules)
    dnsbl_rules.push_back({{"name", x.name},
                           {"networks", cidrs(x.networks)},
                           {"actions", thresholds(x.thresholds)},
                           {"monitor", x.monitor},
                           {"line", x.line}});
  return json{{"spf",
               {{"enabled", r.spf.enabled},
                {"check_helo", r.spf.check_helo},
                {"reject_stage", policy::to_string(r.spf.reject_stage)},
                {"actions", spf_actions(all_set(r.spf.actions))},
                {"rules", spf_rules},
                {"trusted_networks", cidrs(r.spf.trusted_networks)},
                {"trusted_forwarders", cidrs(r.spf.trusted_forwarders)}}},
              {"dkim", {{"enabled", r.dkim.enabled}}},
              {"dmarc",
               {{"enabled", r.dmarc.enabled},
                {"mode", r.dmarc.mode == dmarc::discovery_mode::psl ? "psl" : "treewalk"},
                {"actions", dmarc_actions(all_set(r.dmarc.actions))},
                {"rules", dmarc_rules},
                {"trusted_arc_sealers", r.dmarc.trusted_arc_sealers}}},
              {"dnsbl",
               {{"enabled", r.dnsbl.enabled},
                {"monitor", r.dnsbl.monitor},
                {"stage", policy::to_string(r.dnsbl.stage)},
                {"timeout_ms", r.dnsbl.timeout.count()},
                {"error_action", policy::to_string(r.dnsbl.error_action)},
                {"zones", zones},
                {"actions", thresholds(r.dnsbl.actions)},
                {"rules", dnsbl_rules},
                {"trusted_networks", cidrs(r.dnsbl.trusted_networks)}}}};
}

}  // namespace mxg::gateway::admin
