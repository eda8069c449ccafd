// backscatter.cpp: backscatter judgement, source ranking, abuse contacts and report
// drafts (see backscatter.hpp).
#include "ndr/backscatter.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <ctime>

#include "net/ip_address.hpp"
#include "spf/evaluator.hpp"

namespace mxg::ndr {

namespace {

constexpr std::size_t kHeaderScanBytes = 64 * 1024;
constexpr std::size_t kSampleSubjects = 5;
constexpr std::size_t kEvidenceFiles = 20;
constexpr std::size_t kIpsLookedUp = 3;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string domain_of(std::string_view addr) {
  auto at = addr.rfind('@');
  if (at == std::string_view::npos) return {};
  auto d = addr.substr(at + 1);
  while (!d.empty() && (d.back() == '>' || d.back() == '.' || d.back() == ' ')) d.remove_suffix(1);
  return lower(d);
}

bool is_ours(const std::string& domain, const std::vector<std::string>& ours) {
  if (domain.empty()) return false;
  for (const auto& o : ours)
    if (domain == o || (domain.size() > o.size() && domain.ends_with("." + o))) return true;
  return false;
}

// Unfolded value of the first header `name` in the top-level header block.
std::string header(std::string_view raw, std::string_view name) {
  raw = raw.substr(0, std::min(raw.size(), kHeaderScanBytes));
  std::size_t pos = 0;
  while (pos < raw.size()) {
    auto eol = raw.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) eol = raw.size();
    auto line = raw.substr(pos, eol - pos);
    if (line.empty()) break;  // end of the header block
    auto next = eol;
    if (next < raw.size() && raw[next] == '\r') ++next;
    if (next < raw.size() && raw[next] == '\n') ++next;
    if (line.size() > name.size() && line[name.size()] == ':' &&
        lower(line.substr(0, name.size())) == lower(name)) {
      std::string value(line.substr(name.size() + 1));
      // Folded continuation lines (RFC 5322 2.2.3).
      while (next < raw.size() && (raw[next] == ' ' || raw[next] == '\t')) {
        auto e2 = raw.find_first_of("\r\n", next);
        if (e2 == std::string_view::npos) e2 = raw.size();
        value += " ";
        value += raw.substr(next, e2 - next);
        next = e2;
        if (next < raw.size() && raw[next] == '\r') ++next;
        if (next < raw.size() && raw[next] == '\n') ++next;
      }
      auto b = value.find_first_not_of(" \t");
      return b == std::string::npos ? "" : value.substr(b);
    }
    pos = next;
  }
  return {};
}

std::string first_address(const std::string& v) {
  auto lt = v.find('<');
  if (lt != std::string::npos) {
    auto gt = v.find('>', lt);
    if (gt != std::string::npos) return v.substr(lt + 1, gt - lt - 1);
  }
  auto at = v.find('@');
  if (at == std::string::npos) return {};
  auto b = v.find_last_of(" \t,;:", at);
  auto e = v.find_first_of(" \t,;>", at);
  b = b == std::string::npos ? 0 : b + 1;
  return v.substr(b, (e == std::string::npos ? v.size() : e) - b);
}

std::int64_t parse_date(const std::string& v) {
  if (v.empty()) return 0;
  init_mime();
  GDateTime* dt = g_mime_utils_header_decode_date(v.c_str());
  if (!dt) return 0;
  auto t = static_cast<std::int64_t>(g_date_time_to_unix(dt));
  g_date_time_unref(dt);
  return t;
}

std::string network_of(const std::string& ip) {
  auto a = net::ip_address::parse(ip);
  if (!a) return {};
  auto u = a->unmapped();
  net::cidr c{u, u.is_v4() ? 24u : 48u};
  return c.network().to_string() + "/" + std::to_string(c.prefix);
}

std::string format_time(std::int64_t t) {
  if (t == 0) return "unknown";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace

const char* to_string(verdict v) {
  switch (v) {
    case verdict::backscatter:
      return "backscatter";
    case verdict::legitimate:
      return "legitimate";
    case verdict::unknown:
      return "unknown";
    case verdict::not_ours:
      return "not-ours";
  }
  return "?";
}

bounce_info describe(const record& r, std::string_view raw) {
  bounce_info b;
  b.rec = r;
  for (const char* h : {"X-Original-To", "Delivered-To", "To"}) {
    auto v = first_address(header(raw, h));
    if (!v.empty()) {
      b.ndr_to = v;
      break;
    }
  }
  b.ndr_time = parse_date(header(raw, "Date"));
  if (b.ndr_time == 0) b.ndr_time = parse_date(r.last_attempt_date);
  if (b.ndr_time == 0) b.ndr_time = parse_date(r.arrival_date);
  return b;
}

std::string registered_domain(std::string_view host) {
  std::string h = lower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty() || net::ip_address::parse(h)) return {};
  std::vector<std::string> labels;
  std::size_t start = 0;
  while (true) {
    auto dot = h.find('.', start);
    labels.push_back(h.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (labels.size() < 2) return h;
  std::size_t keep = 2;
  static const std::set<std::string> second_level = {"co",  "com", "net", "org", "gov", "ac",
                                                     "edu", "ne",  "or",  "go",  "gob", "nic"};
  if (labels.size() >= 3 && labels.back().size() == 2 &&
      second_level.count(labels[labels.size() - 2]))
    keep = 3;
  std::string out;
  for (std::size_t i = labels.size() - keep; i < labels.size(); ++i) {
    if (!out.empty()) out += '.';
    out += labels[i];
  }
  return out;
}

asio::awaitable<judged> judge(const bounce_info& b, const analysis_options& opt,
                              dns::resolver* res) {
  judged j;
  j.info = b;
  const record& r = b.rec;
  j.source_ip = r.original_client_ip;
  j.source_host = r.original_client_host;
  if (j.source_host.empty() && j.source_ip.empty()) j.source_host = r.reporting_mta;

  std::string our_addr = r.original_sender;
  if (!is_ours(domain_of(our_addr), opt.our_domains)) our_addr = b.ndr_to;
  std::string stripped = policy::batv::strip(our_addr);
  std::string our_domain = domain_of(stripped);
  if (!opt.our_domains.empty() && !is_ours(our_domain, opt.our_domains)) {
    j.v = verdict::not_ours;
    j.evidence.push_back("neither the original sender nor the bounce recipient is in our domains");
    co_return j;
  }
  int against = 0, for_real = 0;

  if (opt.history) {
    bool sent = false;
    if (!r.original_message_id.empty()) {
      auto s = opt.history->sent_message_id(r.original_message_id);
      sent = s && *s;
    }
    if (!sent && !r.recipient.empty()) {
      auto s = opt.history->sent_to(r.recipient, opt.since);
      sent = s && *s;
    }
    if (sent) {
      ++for_real;
      j.evidence.push_back("our outbound history has this message or recipient");
    } else {
      ++against;
      j.evidence.push_back("not in our outbound history (Message-ID " +
                           (r.original_message_id.empty() ? std::string("unknown")
                                                          : "<" + r.original_message_id + ">") +
                           ", recipient " + r.recipient + ")");
    }
  }
  if (!r.original_message_id.empty()) {
    auto id_domain = domain_of(r.original_message_id);
    if (!id_domain.empty() && !opt.our_domains.empty() && !is_ours(id_domain, opt.our_domains)) {
      ++against;
      j.evidence.push_back("Message-ID <" + r.original_message_id +
                           "> was not generated by our domains");
    }
  }
  if (opt.batv && !b.ndr_to.empty()) {
    std::int64_t today = opt.today ? opt.today : policy::batv::day_of(std::time(nullptr));
    auto c = opt.batv->verify(b.ndr_to, today);
    if (c.status == policy::batv_status::valid) {
      ++for_real;
      j.evidence.push_back("bounce addressed to a valid BATV address");
    } else {
      ++against;
      j.evidence.push_back(
          std::string("bounce addressed to an address without a valid BATV tag (") +
          policy::to_string(c.status) + ")");
    }
  }
  if (opt.check_spf && res && !j.source_ip.empty() && !our_domain.empty()) {
    if (auto ip = net::ip_address::parse(j.source_ip)) {
      spf::evaluator ev(*res);
      auto o = co_await ev.check_host(*ip, our_domain, stripped, j.source_host);
      std::string res_name = spf::to_string(o.result);
      if (o.result == spf::result::pass) {
        ++for_real;
        j.evidence.push_back("SPF pass: " + j.source_ip + " is authorized by " + our_domain);
      } else if (o.result == spf::result::fail || o.result == spf::result::softfail) {
        ++against;
        j.evidence.push_back("SPF " + res_name + ": " + j.source_ip + " is not authorized by " +
                             our_domain + "'s SPF record");
      } else {
        j.evidence.push_back("SPF " + res_name + " for " + j.source_ip + " (no conclusion)");
      }
    }
  }
  if (for_real > 0)
    j.v = verdict::legitimate;
  else if (against > 0)
    j.v = verdict::backscatter;
  else
    j.v = verdict::unknown;
  co_return j;
}

std::vector<source_group> rank_sources(const std::vector<judged>& bounces) {
  std::map<std::string, source_group> groups;
  for (const auto& j : bounces) {
    if (j.v != verdict::backscatter) continue;
    std::string dom = registered_domain(j.source_host);
    std::string netw = network_of(j.source_ip);
    std::string key = !dom.empty() ? dom : !netw.empty() ? netw : "(unknown source)";
    auto& g = groups[key];
    g.key = key;
    if (g.domain.empty()) g.domain = dom;
    if (g.network.empty()) g.network = netw;
    if (!j.source_host.empty()) g.hosts.insert(lower(j.source_host));
    if (!j.source_ip.empty()) g.ips.insert(j.source_ip);
    ++g.count;
    auto t = j.info.ndr_time;
    if (t) {
      if (g.first_seen == 0 || t < g.first_seen) g.first_seen = t;
      if (t > g.last_seen) g.last_seen = t;
    }
    const auto& subj = j.info.rec.original_subject;
    if (!subj.empty() && g.sample_subjects.size() < kSampleSubjects &&
        std::find(g.sample_subjects.begin(), g.sample_subjects.end(), subj) ==
            g.sample_subjects.end())
      g.sample_subjects.push_back(subj);
    auto td = domain_of(j.info.rec.recipient);
    if (!td.empty()) ++g.target_domains[td];
    if (g.files.size() < kEvidenceFiles && !j.info.rec.file.empty())
      g.files.push_back(j.info.rec.file);
  }
  std::vector<source_group> out;
  for (auto& [_, g] : groups) out.push_back(std::move(g));
  std::stable_sort(out.begin(), out.end(), [](const source_group& a, const source_group& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  return out;
}

asio::awaitable<void> find_contacts(std::vector<source_group>& groups, dns::resolver& res) {
  for (auto& g : groups) {
    std::set<std::string> seen;
    auto add = [&](std::string addr, std::string how) {
      addr = lower(addr);
      if (addr.empty() || addr.find('@') == std::string::npos || !seen.insert(addr).second) return;
      g.contacts.push_back({addr, how});
    };
    if (!g.domain.empty()) {
      add("abuse@" + g.domain, "abuse@ of the domain (RFC 2142)");
      add("postmaster@" + g.domain, "postmaster@ of the domain (RFC 5321 4.5.1)");
      auto txt = co_await res.query(g.domain + ".contacts.abuse.net", dns::rrtype::txt);
      for (const auto& rr : txt.records) add(rr.joined_text(), "abuse.net contact database");
      auto soa = co_await res.query(g.domain, dns::rrtype::soa);
      for (const auto& rr : soa.records) {
        // RFC 1035 3.3.13: RNAME is a mailbox with its first label as the local part.
        auto dot = rr.rname.find('.');
        if (dot != std::string::npos && dot > 0)
          add(rr.rname.substr(0, dot) + "@" + rr.rname.substr(dot + 1), "SOA RNAME of the domain");
      }
    }
    std::size_t n = 0;
    for (const auto& ip : g.ips) {
      if (n++ >= kIpsLookedUp) break;
      auto a = net::ip_address::parse(ip);
      if (!a) continue;
      auto ptr = co_await res.query(a->unmapped().reverse_name(), dns::rrtype::ptr);
      for (const auto& rr : ptr.records) {
        g.hosts.insert(rr.target);
        auto parent = registered_domain(rr.target);
        if (!parent.empty()) add("abuse@" + parent, "abuse@ of the reverse DNS of " + ip);
      }
    }
  }
}

std::string draft_report(const source_group& g, const std::vector<judged>& bounces,
                         const std::string& reporter, std::int64_t now) {
  std::string to;
  for (const auto& c : g.contacts) {
    if (!to.empty()) to += ", ";
    to += c.address;
    if (to.size() > 200) break;
  }
  if (to.empty()) to = "undisclosed-recipients:;";
  std::string m;
  m += "From: " + reporter + "\r\n";
  m += "To: " + to + "\r\n";
  m += "Subject: Abuse report: " + std::to_string(g.count) + " forged messages accepted by " +
       g.key + " (backscatter)\r\n";
  m += "Date: " + format_time(now) + "\r\n";
  m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n";
  m += "Hello,\r\n\r\n";
  m += "Between " + format_time(g.first_seen) + " and " + format_time(g.last_seen) +
       " we received " + std::to_string(g.count) +
       " non-delivery reports for messages that our domains never sent. The messages\r\n"
       "forged our addresses as sender and were accepted and handed on by your systems:\r\n\r\n";
  for (const auto& h : g.hosts) m += "  host: " + h + "\r\n";
  for (const auto& ip : g.ips) m += "  IP:   " + ip + "\r\n";
  if (!g.network.empty()) m += "  network: " + g.network + "\r\n";
  m += "\r\nThis pattern usually means a web form that lets visitors choose the sender, the\r\n"
       "recipient and a free-text message without a captcha (it works as an open relay),\r\n"
       "or an open mail relay. Please check your forms and mail logs for these messages.\r\n\r\n";
  m += "Targeted recipient domains:\r\n";
  for (const auto& [d, n] : g.target_domains) m += "  " + d + ": " + std::to_string(n) + "\r\n";
  if (!g.sample_subjects.empty()) {
    m += "\r\nSample subjects of the forged messages:\r\n";
    for (const auto& s : g.sample_subjects) m += "  " + s + "\r\n";
  }
  m += "\r\nEvidence (one line per bounce, up to 20):\r\n";
  int shown = 0;
  for (const auto& j : bounces) {
    if (j.v != verdict::backscatter || shown >= 20) continue;
    std::string key = registered_domain(j.source_host);
    if (key.empty()) key = network_of(j.source_ip);
    if (key.empty()) key = "(unknown source)";
    if (key != g.key) continue;
    ++shown;
    const auto& r = j.info.rec;
    m += "  - " + format_time(j.info.ndr_time) + ": recipient " + r.recipient + ", status " +
         r.status + ", Message-ID <" + r.original_message_id + ">, subject \"" +
         r.original_subject + "\"";
    if (!j.source_ip.empty()) m += ", accepted from " + j.source_ip;
    m += "\r\n";
    if (!r.diagnostic.empty()) m += "    diagnostic: " + r.diagnostic.substr(0, 200) + "\r\n";
  }
  m += "\r\nThank you,\r\n" + reporter + "\r\n";
  return m;
}

}  // namespace mxg::ndr
