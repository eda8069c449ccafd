// quarantine_digest.cpp: `mxguard quarantine digest --since 1d [--config F] [--to-admin ADDR]
// [--console-url URL] [--smtp HOST:PORT] [--dry-run]` (issue 11 section 3): for each
// recipient with held messages (or once for an admin) an RFC 5322 text message listing
// what was held for them (date, sender, subject, check/rule and reason, queue id) with a
// link to the console's message page (URL/#quarantine/ID). The link only opens the page:
// the reader still signs in (nothing in it signs anyone in). With --config (whose
// state_dir holds the console's request key, web/request_token.hpp) a recipient's digest
// also carries, per message, a release-request link (URL/request/ID?rcpt=..&t=TOKEN,
// issue 11): it shows that one message's sender, subject and date and files a request
// an admin approves; it signs nobody in either.
// Submission: to --smtp HOST:PORT, else through the gateway's routing table ([routing]
// of --config; no table: the recipient's MX). --dry-run prints the messages instead.
//   RFC 5322 3.6   From, To, Subject, Date, Message-ID; lines at most 998 octets
//   RFC 3834 5     Auto-Submitted: auto-generated; the envelope sender is null (<>),
//                  so nothing answers or bounces a digest back (no loop)
//   RFC 2045/6532  text/plain; charset=utf-8, 8bit only when a subject needs it
// Security: every value from mail (sender, subject, reason, recipient) is peer data.
// None of it reaches a header: the To: address is used only when it is plain printable
// ASCII without specials (others are skipped with a warning), the Subject: is ours. In the
// body control characters and invalid UTF-8 are shown escaped (\r, \n, \xHH), so a
// subject can neither end a line nor add a header, and long values are cut.
// Exit: 0 every digest submitted (or printed, or nothing to send), 1 some submission
// failed, 2 usage (bad flags, config), 74 the index cannot be read.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "base/ascii.hpp"
#include "base/time.hpp"
#include "cli/age.hpp"
#include "cli/dns_flags.hpp"
#include "cli/registry.hpp"
#include "delivery/client.hpp"
#include "delivery/routing.hpp"
#include "gateway/config.hpp"
#include "gateway/preflight.hpp"
#include "store/history.hpp"
#include "web/request_token.hpp"

namespace {

using mxg::store::quarantine_entry;
constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitIo = 74;
constexpr std::size_t kValueMax = 200;    // characters of a value shown in a digest
constexpr std::size_t kEntriesMax = 500;  // entries listed per digest (the rest counted)
constexpr std::size_t kAddressMax = 254;  // RFC 5321 4.5.3.1.3 path, less the brackets

struct digest_args {
  std::string since = "1d", config, to_admin, console_url, smtp, from;
  std::string history = "var/history.db";
  std::string request_key;  // issue 11: the console's request key ("" = no request links)
  bool dry_run = false, no_request_links = false;
  mxg::cli::dns_flags dns;
};

void complain(const std::string& msg) {
  std::fprintf(stderr, "mxguard quarantine digest: %s\n", msg.c_str());
}

// A value from mail as one safe line of text: valid UTF-8 is kept, controls and invalid
// bytes are shown escaped; at most kValueMax characters.
std::string shown(std::string_view v) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < v.size() && chars < kValueMax; ++chars) {
    auto c = static_cast<unsigned char>(v[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= v.size();
    for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(v[i + k]) >> 6) == 2;
    if (ok && n == 2) ok = c >= 0xc2;  // no overlong forms
    if (!ok || (n == 1 && (c < 0x20 || c == 0x7f))) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      if (c == '\r')
        out += "\\r";
      else if (c == '\n')
        out += "\\n";
      else if (c == '\t')
        out += "\\t";
      else
        out += std::string("\\x") + kHex[c >> 4] + kHex[c & 0xf];
      ++i;
      continue;
    }
    if (c == '\\') out += '\\';
    out.append(v.substr(i, n));
    i += n;
  }
  if (chars >= kValueMax && out.size() < v.size()) out += "...";
  return out;
}

// An address that may go into a To: header as it is: printable ASCII, one '@', no
// specials that would end or change the header.
bool header_safe_address(std::string_view a) {
  if (a.empty() || a.size() > kAddressMax || a.find('@') == std::string_view::npos) return false;
  for (char ch : a) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return false;
    if (std::string_view("<>()[],;:\"\\").find(ch) != std::string_view::npos) return false;
  }
  return true;
}

std::vector<std::string> split_recipients(const std::string& csv) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= csv.size()) {
    auto comma = csv.find(',', start);
    if (comma == std::string::npos) comma = csv.size();
    std::string r = csv.substr(start, comma - start);
    if (!r.empty()) out.push_back(r);
    start = comma + 1;
  }
  return out;
}

std::string utc_minute(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  std::string h = buf;
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return "localhost";
  return h;
}

struct digest {
  std::string to;    // envelope and header recipient
  std::string text;  // the message, CRLF line ends
};

// One digest: headers (none carries mail data but the checked To: address) and a body
// listing `entries` newest first.
digest build(const std::string& to, const std::vector<const quarantine_entry*>& entries,
             const digest_args& a, const std::string& from, std::int64_t since, std::int64_t now,
             bool for_admin) {
  std::string body;
  body += std::to_string(entries.size()) + " message(s) " +
          (for_admin ? std::string("were held in quarantine")
                     : "addressed to you were held in quarantine") +
          " since " + utc_minute(since) + ":\n";
  std::size_t n = 0;
  for (const auto* e : entries) {
    if (++n > kEntriesMax) {
      body += "\n... and " + std::to_string(entries.size() - kEntriesMax) + " more.\n";
      break;
    }
    body += "\n" + std::to_string(n) + ". " + utc_minute(e->time) + "\n";
    body += "   From:    " + shown(e->sender.empty() ? "<>" : e->sender) + "\n";
    if (for_admin) body += "   To:      " + shown(e->recipients) + "\n";
    body += "   Subject: " + shown(e->subject) + "\n";
    body += "   Held by: " + shown(e->check) + (e->rule.empty() ? "" : " rule " + shown(e->rule)) +
            (e->reason.empty() ? "" : ": " + shown(e->reason)) + "\n";
    body += "   Id:      " + e->queue_id + "\n";
    if (!a.console_url.empty())
      body += "   Open:    " + a.console_url + "/#quarantine/" + e->queue_id + "\n";
    if (!a.console_url.empty() && !a.request_key.empty() && !for_admin)
      body +=
          "   Ask:     " + mxg::web::request_link(a.console_url, a.request_key, e->queue_id, to) +
          "\n";
  }
  body += "\n";
  if (!a.console_url.empty())
    body +=
        "The links open the quarantine console; sign in there to release or delete a\n"
        "message. They do not sign you in.\n";
  if (!a.console_url.empty() && !a.request_key.empty() && !for_admin)
    body +=
        "An \"Ask\" link asks an administrator to release that one message to you; it\n"
        "shows its sender, subject and date only.\n";
  body +=
      "Ask your mail administrator to release a message you expected.\n"
      "-- \nmxguard quarantine digest (automatic message, do not reply)\n";

  bool eight_bit = false;
  for (char c : body) eight_bit = eight_bit || static_cast<unsigned char>(c) >= 0x80;
  static std::mt19937_64 rng{std::random_device{}()};
  const std::string host = from.substr(from.find('@') + 1);
  char mid[64];
  std::snprintf(mid, sizeof mid, "%lld.%016llx", static_cast<long long>(now),
                static_cast<unsigned long long>(rng()));
  std::string h;
  h += "From: mxguard quarantine <" + from + ">\n";
  h += "To: <" + to + ">\n";
  h += "Subject: Quarantine digest: " + std::to_string(entries.size()) + " message(s) held" +
       (for_admin ? "" : " for you") + "\n";
  h += "Date: " + mxg::base::rfc5322_date(now) + "\n";
  h += "Message-ID: <digest." + std::string(mid) + "@" + host + ">\n";
  h += "Auto-Submitted: auto-generated\n";  // RFC 3834 5
  h += "X-Auto-Response-Suppress: All\n";
  h += "MIME-Version: 1.0\n";
  h +=
      std::string("Content-Type: text/plain; charset=") + (eight_bit ? "utf-8" : "us-ascii") + "\n";
  h += std::string("Content-Transfer-Encoding: ") + (eight_bit ? "8bit" : "7bit") + "\n";
  std::string text;
  for (char c : h + "\n" + body) text += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return {to, text};
}

// Submits one digest with a null envelope sender; "" on success, else the reason.
std::string submit(asio::io_context& io, mxg::dns::resolver& res, const digest& d,
                   const digest_args& a, const mxg::delivery::routing_table* routes,
                   const std::string& helo) {
  mxg::delivery::next_hop hop;
  if (!a.smtp.empty()) {
    auto colon = a.smtp.rfind(':');
    hop.host = a.smtp.substr(0, colon);
    if (!hop.host.empty() && hop.host.front() == '[' && hop.host.back() == ']')
      hop.host = hop.host.substr(1, hop.host.size() - 2);
    hop.mx_lookup = false;
    hop.port = static_cast<std::uint16_t>(std::stoi(a.smtp.substr(colon + 1)));
    hop.relay = true;
  } else {
    mxg::delivery::route_action act;  // default: mx
    if (routes) act = routes->route("", d.to).action;
    auto h = mxg::delivery::hop_for(act, d.to);
    if (!h) return "the routing table holds mail for " + d.to + " (hold)";
    hop = *h;
  }
  mxg::delivery::outgoing_message m;
  m.sender = "";  // null reverse-path (RFC 3834 5, RFC 5321 4.5.5): no bounce, no loop
  m.recipients = {d.to};
  m.data = d.text;
  mxg::delivery::client_options o;
  o.helo_name = helo;
  o.connect = std::chrono::seconds(10);
  auto fut = asio::co_spawn(io, mxg::delivery::deliver(res, hop, m, o, nullptr), asio::use_future);
  io.restart();
  io.run();
  auto r = fut.get();
  if (r.recipients.empty()) return "no answer from " + hop.to_string();
  if (!r.recipients[0].delivered()) return hop.to_string() + ": " + r.recipients[0].reply;
  return "";
}

int run(digest_args& a) {
  auto logger = spdlog::stderr_logger_mt("mxguard-digest");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto age = mxg::cli::parse_age(a.since);
  if (!age) return complain("--since: " + age.error().message), kExitUsage;
  if (!a.smtp.empty()) {
    auto colon = a.smtp.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == a.smtp.size() ||
        a.smtp.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
        a.smtp.size() - colon > 6 || std::stoi(a.smtp.substr(colon + 1)) > 65535)
      return complain("--smtp wants HOST:PORT"), kExitUsage;
  }
  if (!a.to_admin.empty() && !header_safe_address(a.to_admin))
    return complain("--to-admin: not a plain address: " + a.to_admin), kExitUsage;
  if (!a.console_url.empty()) {
    while (!a.console_url.empty() && a.console_url.back() == '/') a.console_url.pop_back();
    bool ok = a.console_url.starts_with("http://") || a.console_url.starts_with("https://");
    for (char c : a.console_url)
      ok = ok && static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f &&
           c != '#' && c != '?';
    if (!ok) return complain("--console-url wants http(s)://HOST[:PORT][/PATH]"), kExitUsage;
  }

  std::unique_ptr<mxg::store::history> h;
  std::shared_ptr<const mxg::delivery::routing_table> routes;
  std::string helo = host_name();
  if (!a.config.empty()) {
    auto c = mxg::gateway::load_config_file(a.config);
    if (!c) return complain(c.error().message), kExitUsage;
    if (a.console_url.empty() && !c->console.listen.empty())
      a.console_url = (c->console.tls_cert.empty() ? "http://" : "https://") + c->console.listen;
    if (a.smtp.empty() && !c->routing_table.empty()) {
      auto t = mxg::gateway::load_routing_table(*c);
      if (!t) return complain(t.error().message), kExitUsage;
      routes = *t;
    }
    if (!c->listeners.empty() && !c->listeners.front().hostname.empty())
      helo = c->listeners.front().hostname;
    if (a.from.empty() && !c->relay.postmaster.empty() && header_safe_address(c->relay.postmaster))
      a.from = c->relay.postmaster;
    if (!a.console_url.empty() && !a.no_request_links && a.to_admin.empty()) {
      auto key = mxg::web::load_or_create_request_key(c->state_dir);
      if (!key) return complain(key.error().message), kExitIo;
      a.request_key = *key;
    }
    auto opened = mxg::store::open(mxg::gateway::store_options(*c));
    if (!opened) return complain(opened.error().message), kExitIo;
    h = std::move(*opened);
  } else {
    std::error_code ec;
    if (!std::filesystem::exists(a.history, ec))
      return complain("no history database at " + a.history + " (--history PATH or --config)"),
             kExitIo;
    auto opened = mxg::store::open_sqlite(a.history);
    if (!opened) return complain(opened.error().message), kExitIo;
    h = std::move(*opened);
  }
  if (a.from.empty()) a.from = "postmaster@" + helo;
  if (!header_safe_address(a.from)) return complain("--from: not a plain address"), kExitUsage;

  mxg::store::quarantine_query q;
  q.since = now - *age;
  auto found = h->quarantine_find(q);
  if (!found) return complain(found.error().message), kExitIo;

  // Held entries per recipient, newest first as the index answers. Recipients that differ
  // only in case are one reader (key: lower case); the digest goes to the address as first
  // recorded (a local part may be case-sensitive, RFC 5321 2.4).
  std::map<std::string, std::pair<std::string, std::vector<const quarantine_entry*>>> per;
  std::vector<const quarantine_entry*> all;
  for (const auto& e : *found) {
    if (e.released_at || e.deleted_at) continue;
    all.push_back(&e);
    std::set<std::string> seen;
    for (const auto& r : split_recipients(e.recipients)) {
      std::string key = mxg::ascii::lower(r);
      if (!seen.insert(key).second) continue;
      auto& slot = per[key];
      if (slot.first.empty()) slot.first = r;
      slot.second.push_back(&e);
    }
  }
  std::vector<digest> out;
  if (!a.to_admin.empty()) {
    if (!all.empty()) out.push_back(build(a.to_admin, all, a, a.from, q.since, now, true));
  } else {
    for (const auto& [key, v] : per) {
      const auto& [rcpt, list] = v;
      if (!header_safe_address(rcpt)) {
        complain("skipped recipient " + shown(rcpt) + ": not a plain address for a header");
        continue;
      }
      out.push_back(build(rcpt, list, a, a.from, q.since, now, false));
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "nothing held since %s: no digest\n", utc_minute(q.since).c_str());
    return kExitOk;
  }
  if (a.dry_run) {
    for (const auto& d : out) {
      std::string lf;
      for (char c : d.text)
        if (c != '\r') lf += c;
      std::printf("--- digest for %s (envelope from <>)\n%s", d.to.c_str(), lf.c_str());
    }
    std::fprintf(stderr, "%zu digest(s) not sent (--dry-run)\n", out.size());
    return kExitOk;
  }
  asio::io_context io;
  auto res = a.dns.make(io.get_executor());
  if (!res) return complain(res.error().message), kExitUsage;
  int failed = 0;
  for (const auto& d : out) {
    auto why = submit(io, **res, d, a, routes.get(), helo);
    if (why.empty()) {
      std::printf("sent digest to %s\n", d.to.c_str());
    } else {
      complain("digest to " + d.to + " not sent: " + shown(why));
      ++failed;
    }
  }
  return failed ? kExitFailed : kExitOk;
}

mxg::cli::registration reg(212, [](CLI::App& root, int& exit_code) {
  auto* q = mxg::cli::group(root, "quarantine", "Quarantined mail");
  auto a = std::make_shared<digest_args>();
  auto* d = q->add_subcommand(
      "digest",
      "Mail each recipient (or an admin) the list of what was held for them, with a link to\n"
      "the console. Exit: 0 sent/printed, 1 some submission failed, 2 usage, 74 index error");
  d->add_option("--since", a->since, "Held in the last 1d (default), 12h, 7d, ...")
      ->type_name("AGE");
  d->add_option("--config,-c", a->config,
                "Gateway configuration: the history (or [store]), [routing] table, console URL, "
                "postmaster")
      ->type_name("FILE");
  d->add_option("--history", a->history,
                "History database without --config (default ./var/history.db)")
      ->type_name("PATH");
  d->add_option("--to-admin", a->to_admin, "One digest of everything to this address")
      ->type_name("ADDR");
  d->add_flag("--no-request-links", a->no_request_links,
              "No release-request links (they need --config: its state_dir holds the key)");
  d->add_option("--console-url", a->console_url,
                "Console base URL for the links (default: [console] listen of --config)")
      ->type_name("URL");
  d->add_option("--smtp", a->smtp, "Submit to this SMTP server instead of the routing table")
      ->type_name("HOST:PORT");
  d->add_option("--from", a->from,
                "From: header (default [relay] postmaster, else postmaster@HOSTNAME); the "
                "envelope sender is always <>")
      ->type_name("ADDR");
  d->add_flag("--dry-run", a->dry_run, "Print the messages, send nothing");
  a->dns.add_to(d);
  d->callback([a, &exit_code] { exit_code = run(*a); });
});

}  // namespace
