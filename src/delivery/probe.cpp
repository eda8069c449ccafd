// probe.cpp: see probe.hpp. Structure: the pure parts first (target, greeting name,
// address literal, name agreement, relay test list, exit code), then one coroutine for
// the diagnostic connection (greeting, EHLO, STARTTLS, EHLO again, QUIT) and one per
// relay test (greeting, EHLO, MAIL, RCPT, RSET or the one DATA, QUIT).
#include "delivery/probe.hpp"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <asio/ip/address.hpp>
#include <asio/this_coro.hpp>
#include <charconv>
#include <ctime>

#include "base/ascii.hpp"
#include "base/time.hpp"
#include "delivery/connection.hpp"
#include "net/ip_address.hpp"

namespace mxg::delivery {

namespace {

constexpr std::size_t kHostNameMax = 253;  // RFC 1035 2.3.4 (255 octets on the wire)

bool host_chars(std::string_view s) {
  if (s.empty() || s.size() > kHostNameMax) return false;
  if (!ascii::is_alpha(static_cast<unsigned char>(s[0])) &&
      !ascii::is_digit(static_cast<unsigned char>(s[0])))
    return false;
  for (unsigned char c : s)
    if (!ascii::is_alpha(c) && !ascii::is_digit(c) && c != '-' && c != '.' && c != '_')
      return false;
  return s.find("..") == std::string_view::npos && s.back() != '.';  // one final dot is cut
}

std::string norm(std::string_view s) {
  std::string out = ascii::lower(s);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::optional<bool> same(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return std::nullopt;
  return norm(a) == norm(b);
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

result<probe_target> parse_target(std::string_view text) {
  probe_target t;
  std::string_view host = text, port;
  if (text.empty()) return fail(errc::invalid_argument, "empty target");
  for (unsigned char c : text)
    if (c <= 0x20 || c >= 0x7f) return fail(errc::invalid_argument, "control byte or space");
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return fail(errc::invalid_argument, "missing ']'");
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail(errc::invalid_argument, "garbage after ']'");
      port = rest.substr(1);
      if (port.empty()) return fail(errc::invalid_argument, "empty port");
    }
    if (host.size() > 5 && ascii::iequals(host.substr(0, 5), "IPv6:")) host.remove_prefix(5);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto c = text.find(':');
    host = text.substr(0, c);
    port = text.substr(c + 1);
    if (port.empty()) return fail(errc::invalid_argument, "empty port");
  }  // else: a name, an IPv4 address, or a bare IPv6 address (no port)
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || p != port.data() + port.size() || v == 0 || v > 65535)
      return fail(errc::invalid_argument, "bad port '" + std::string(port) + "'");
    t.port = static_cast<std::uint16_t>(v);
  }
  if (auto ip = net::ip_address::parse(host)) {
    t.host = ip->to_string();
    t.is_ip = true;
    return t;
  }
  std::string h(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (!host_chars(h)) return fail(errc::invalid_argument, "not a host name or IP address");
  t.host = ascii::lower(h);
  return t;
}

std::string greeting_name(std::string_view text) {
  auto sp = text.find_first_of(" \t");
  std::string_view w = text.substr(0, sp);
  for (unsigned char c : w)
    if (c <= 0x20 || c >= 0x7f) return "";  // not even a literal holds control bytes
  if (w.size() > 2 && w.front() == '[' && w.back() == ']') {  // address-literal, 4.1.3
    auto in = w.substr(1, w.size() - 2);
    if (in.size() > 5 && ascii::iequals(in.substr(0, 5), "IPv6:")) in.remove_prefix(5);
    return net::ip_address::parse(in) ? std::string(w) : "";
  }
  if (!w.empty() && w.back() == '.') w.remove_suffix(1);
  return host_chars(w) ? std::string(w) : "";
}

std::string address_literal(const std::string& ip) {
  auto a = net::ip_address::parse(ip);
  if (a && a->is_v6()) return "[IPv6:" + a->to_string() + "]";
  return "[" + ip + "]";
}

bool name_agreement::all_agree() const {
  if (!banner_rdns && !ehlo_rdns) return false;
  for (const auto& p : {banner_ehlo, banner_rdns, ehlo_rdns})
    if (p && !*p) return false;
  return true;
}

name_agreement judge_names(std::string_view banner, std::string_view ehlo, std::string_view rdns) {
  return {same(banner, ehlo), same(banner, rdns), same(ehlo, rdns)};
}

std::vector<relay_case> relay_cases(const relay_names& n) {
  // The list and order of nmap's scripts/smtp-open-relay.nse (tests 1-16, the same as
  // Metasploit smtp_relay EXTENDED): "srvname" is the target's name from its banner (else
  // its EHLO reply), "ip" its address literal; the sender of 3-16 is at the target itself.
  const std::string lit = address_literal(n.ip);
  const std::string srv = n.server.empty() ? lit : n.server;
  const std::string sender_dom = n.sender_domain.empty() ? n.dest : n.sender_domain;
  const std::string to = n.user + "@" + n.dest;
  const std::string at_ip = n.sender_local + "@" + lit;
  return {
      {1, "", to, "null sender, foreign recipient"},
      {2, n.sender_local + "@" + sender_dom, to, "foreign sender, foreign recipient"},
      {3, n.sender_local + "@" + srv, to, "sender at the target's name"},
      {4, at_ip, to, "sender at the target's address literal"},
      {5, at_ip, n.user + "%" + n.dest + "@" + lit, "percent hack at the address literal"},
      {6, at_ip, n.user + "%" + n.dest + "@" + srv, "percent hack at the target's name"},
      {7, at_ip, "\"" + to + "\"", "quoted foreign address, no domain"},
      {8, at_ip, "\"" + n.user + "%" + n.dest + "\"", "quoted percent hack, no domain"},
      {9, at_ip, to + "@" + lit, "user@dest at the address literal"},
      {10, at_ip, "\"" + to + "\"@" + lit, "quoted user@dest at the address literal"},
      {11, at_ip, to + "@" + srv, "user@dest at the target's name"},
      {12, at_ip, "@" + lit + ":" + to, "source route through the address literal"},
      {13, at_ip, "@" + srv + ":" + to, "source route through the target's name"},
      {14, at_ip, n.dest + "!" + n.user, "bang path"},
      {15, at_ip, n.dest + "!" + n.user + "@" + lit, "bang path at the address literal"},
      {16, at_ip, n.dest + "!" + n.user + "@" + srv, "bang path at the target's name"},
  };
}

bool probe_report::any_connected() const {
  for (const auto& h : hosts)
    if (h.connected) return true;
  return false;
}

std::vector<const relay_outcome*> probe_report::accepted() const {
  std::vector<const relay_outcome*> out;
  for (const auto& h : hosts)
    for (const auto& r : h.relay)
      if (r.accepted) out.push_back(&r);
  return out;
}

int probe_exit_code(const probe_report& r) {
  if (!r.accepted().empty()) return 1;
  return r.any_connected() ? 0 : 3;
}

namespace {

// One dialogue on one connection, with its transcript.
struct talker {
  connection& c;
  std::vector<exchange>& log;
  std::chrono::seconds d;

  asio::awaitable<result<reply>> greeting() {
    auto r = co_await c.read_reply(d);
    log.push_back({"", r ? r->full() : "(error: " + r.error().message + ")"});
    co_return r;
  }
  asio::awaitable<result<reply>> cmd(std::string line, std::string shown = {}) {
    auto w = co_await c.write(line + "\r\n", d);
    if (!w) {
      log.push_back({shown.empty() ? line : shown, "(error: " + w.error().message + ")"});
      co_return std::unexpected(w.error());
    }
    auto r = co_await c.read_reply(d);
    log.push_back(
        {shown.empty() ? line : shown, r ? r->full() : "(error: " + r.error().message + ")"});
    co_return r;
  }
  // EHLO, falling back to HELO on 5xx (RFC 5321 4.1.1.1 / 3.2). The reply or an error.
  asio::awaitable<result<reply>> hello(const std::string& name, bool& esmtp) {
    auto r = co_await cmd("EHLO " + name);
    esmtp = r && r->code == 250;
    if (r && r->code >= 500) co_return co_await cmd("HELO " + name);
    co_return r;
  }
  asio::awaitable<void> quit() {
    auto r = co_await cmd("QUIT");
    if (!r) co_return;  // the peer may close first; nothing to do
  }
};

std::string time_text(const ASN1_TIME* t, std::int64_t* days_left) {
  if (!t) return "";
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "";
  if (days_left) {
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, nullptr, t) == 1) *days_left = days;
  }
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string name_text(X509_NAME* n) {
  if (!n) return "";
  char* s = X509_NAME_oneline(n, nullptr, 0);
  std::string out = s ? s : "";
  OPENSSL_free(s);
  return out;
}

tls_cert_info cert_info(X509* x) {
  tls_cert_info c;
  c.subject = name_text(X509_get_subject_name(x));
  c.issuer = name_text(X509_get_issuer_name(x));
  c.not_before = time_text(X509_get0_notBefore(x), nullptr);
  c.not_after = time_text(X509_get0_notAfter(x), &c.days_left);
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
    if (g->type == GEN_DNS) {
      const auto* s = g->d.dNSName;
      c.names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (g->type == GEN_IPADD) {
      const auto* s = g->d.iPAddress;
      const unsigned char* p = ASN1_STRING_get0_data(s);
      if (ASN1_STRING_length(s) == 4) {
        asio::ip::address_v4::bytes_type b{p[0], p[1], p[2], p[3]};
        c.names.push_back("IP:" + asio::ip::address_v4(b).to_string());
      } else if (ASN1_STRING_length(s) == 16) {
        asio::ip::address_v6::bytes_type b{};
        std::copy(p, p + 16, b.begin());
        c.names.push_back("IP:" + asio::ip::address_v6(b).to_string());
      }
    }
  }
  GENERAL_NAMES_free(sans);
  return c;
}

void read_tls(SSL* ssl, tls_report& t) {
  t.protocol = SSL_get_version(ssl);
  t.cipher = SSL_get_cipher_name(ssl);
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl))
    for (int i = 0; i < sk_X509_num(chain); ++i)
      t.chain.push_back(cert_info(sk_X509_value(chain, i)));
  X509* leaf = SSL_get1_peer_certificate(ssl);
  t.verify_code = leaf ? SSL_get_verify_result(ssl) : X509_V_ERR_UNSPECIFIED;
  t.verify_result = !leaf                        ? "no certificate"
                    : t.verify_code == X509_V_OK ? "ok"
                                                 : X509_verify_cert_error_string(t.verify_code);
  t.verified = leaf && t.verify_code == X509_V_OK;
  X509_free(leaf);
}

std::string test_message(const relay_case& rc, const std::string& helo, const std::string& ip) {
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::string from = rc.mail_from.empty() ? "postmaster@" + helo : rc.mail_from;
  return "From: <" + from + ">\r\nTo: <" + rc.rcpt_to + ">\r\nSubject: mxguard relay test " +
         std::to_string(rc.number) + " via " + ip + "\r\nDate: " + base::rfc5322_date(now) +
         "\r\nMessage-ID: <relay-test-" + std::to_string(now) + "-" + std::to_string(rc.number) +
         "@" + helo + ">\r\n\r\nThis message was relayed by " + ip +
         " in an open-relay test (mxguard probe --relay-tests\r\n--confirm-with-data). Its "
         "arrival means that server relays for anyone.\r\n";
}

asio::awaitable<relay_outcome> run_relay_case(const relay_case& rc, const host_report& h,
                                              const probe_options& o, bool send_data) {
  relay_outcome out{rc, {}, false, false, {}};
  auto ex = co_await asio::this_coro::executor;
  connection c(ex);
  std::error_code bad;
  auto ip = asio::ip::make_address(h.address, bad);
  if (auto r = co_await c.connect({ip, h.port}, o.connect); !r) {
    out.error = r.error().message;
    co_return out;
  }
  talker t{c, out.transcript, o.command};
  auto g = co_await t.greeting();
  if (!g || g->code != 220) {
    out.error = g ? "greeting " + g->one_line() : g.error().message;
    if (g) co_await t.quit();
    co_return out;
  }
  bool esmtp = false;
  auto hi = co_await t.hello(o.helo_name, esmtp);
  if (!hi || hi->code != 250) {
    out.error = hi ? "EHLO/HELO refused" : hi.error().message;
    if (hi) co_await t.quit();
    co_return out;
  }
  auto m = co_await t.cmd("MAIL FROM:<" + rc.mail_from + ">");
  if (!m) {
    out.error = m.error().message;
    co_return out;
  }
  if (m->code / 100 == 2) {
    auto r = co_await t.cmd("RCPT TO:<" + rc.rcpt_to + ">");
    if (!r) {
      out.error = r.error().message;
      co_return out;
    }
    out.accepted = r->code / 100 == 2;  // 250, 251 (RFC 5321 4.2.2, 3.4)
  }
  if (out.accepted && send_data) {
    auto d = co_await t.cmd("DATA");
    if (d && d->code == 354) {
      const std::string body = dot_stuff(test_message(rc, o.helo_name, h.address));
      // (No co_await inside ?: here: g++ 12 miscompiles it.)
      result<reply> fin = std::unexpected(error{errc::io_error, "not sent"});
      auto w = co_await c.write(body, o.command);
      if (w) {
        fin = co_await c.read_reply(o.command);
      } else {
        fin = std::unexpected(w.error());
      }
      out.transcript.push_back({"(message, " + std::to_string(body.size()) + " octets, then .)",
                                fin ? fin->full() : "(error: " + fin.error().message + ")"});
      out.data_sent = fin && fin->code / 100 == 2;
    }
  } else {
    auto rs = co_await t.cmd("RSET");
    if (!rs) co_return out;
  }
  co_await t.quit();
  co_return out;
}

asio::awaitable<void> probe_host(dns::resolver& res, host_report& h, const probe_options& o,
                                 asio::ssl::context& tls_ctx) {
  auto ex = co_await asio::this_coro::executor;
  const auto t0 = std::chrono::steady_clock::now();
  if (auto ip = net::ip_address::parse(h.address))
    h.rdns = co_await dns::forward_confirmed_rdns(res, *ip);
  connection c(ex);
  std::error_code bad;
  auto ip = asio::ip::make_address(h.address, bad);
  const auto tc = std::chrono::steady_clock::now();
  auto conn = co_await c.connect({ip, h.port}, o.connect);
  h.connect_ms = ms_since(tc);
  if (!conn) {
    h.error = "cannot connect: " + conn.error().message;
    h.total_ms = ms_since(t0);
    co_return;
  }
  h.connected = true;
  talker t{c, h.transcript, o.command};
  const auto tb = std::chrono::steady_clock::now();
  auto g = co_await t.greeting();
  h.banner_ms = ms_since(tb);
  if (!g) {
    h.error = "no greeting: " + g.error().message;
    h.total_ms = ms_since(t0);
    co_return;
  }
  h.banner = g->full();
  h.banner_code = g->code;
  h.banner_name = greeting_name(g->lines.empty() ? "" : g->lines.front());
  h.names = judge_names(h.banner_name, h.ehlo_name, h.rdns.confirmed);
  if (g->code == 220) {
    const auto te = std::chrono::steady_clock::now();
    auto hi = co_await t.hello(o.helo_name, h.esmtp);
    h.ehlo_ms = ms_since(te);
    auto take = [&](const reply& r) {
      h.ehlo_name = greeting_name(r.lines.empty() ? "" : r.lines.front());
      h.names = judge_names(h.banner_name, h.ehlo_name, h.rdns.confirmed);
      h.capabilities.assign(r.lines.begin() + (r.lines.empty() ? 0 : 1), r.lines.end());
      h.info = parse_ehlo(h.capabilities);
    };
    if (hi && hi->code == 250) {
      take(*hi);
      h.tls.offered = h.info.starttls;
      if (o.starttls && h.info.starttls) {
        auto st = co_await t.cmd("STARTTLS");
        if (st && st->code == 220) {
          h.tls.attempted = true;
          // The reference identity (RFC 6125 6.2.1): the MX / host name probed, else the
          // name the banner claims, else the address.
          h.tls.checked_name = !h.name.empty() && !net::ip_address::parse(h.name) ? h.name
                               : !h.banner_name.empty() && h.banner_name.front() != '['
                                   ? h.banner_name
                                   : h.address;
          const auto th = std::chrono::steady_clock::now();
          auto hs = co_await c.start_tls(tls_ctx, h.tls.checked_name, {false, true}, o.command);
          h.tls.handshake_ms = ms_since(th);
          if (!hs) {
            h.tls.error = hs.error().message;
            h.transcript.push_back({"(TLS handshake)", "(error: " + h.tls.error + ")"});
            h.total_ms = ms_since(t0);
            co_return;  // the connection is unusable now
          }
          h.tls.ok = true;
          read_tls(c.tls_handle(), h.tls);
          h.transcript.push_back(
              {"(TLS handshake)", c.tls_detail() + ", verify: " + h.tls.verify_result});
          bool esmtp2 = false;
          auto again = co_await t.hello(o.helo_name, esmtp2);  // RFC 3207 4.2
          if (again && again->code == 250) {
            const bool offered = h.tls.offered;
            take(*again);
            h.tls.offered = offered;
          }
        } else {
          h.tls.error = st ? "STARTTLS refused: " + st->one_line() : st.error().message;
        }
      }
    }
  }
  co_await t.quit();
  h.total_ms = ms_since(t0);
}

}  // namespace

asio::awaitable<probe_report> probe(dns::resolver& res, probe_target target, probe_options o) {
  probe_report rep;
  rep.target = target;
  rep.mx_lookup = !target.is_ip;
  next_hop hop{target.host, !target.is_ip, target.port, false};
  auto hosts = co_await resolve_hop(res, hop, o.max_hosts);
  if (hosts.code) {
    rep.dns_error = hosts.reply;
    co_return rep;
  }
  auto tls_ctx = make_client_tls_context(client_options{.tls_verify = false});
  tls_ctx.set_default_verify_paths();  // the system trust store; verify_none: report, not fail
  std::size_t n = 0;
  for (const auto& host : hosts.hosts) {
    rep.mx.push_back(host.name);
    for (const auto& addr : host.addrs) {
      if (n++ >= o.max_hosts) break;
      host_report h;
      h.name = host.name == addr ? "" : host.name;
      h.address = addr;
      h.port = target.port;
      co_await probe_host(res, h, o, tls_ctx);
      if (h.connected && o.relay_tests && h.banner_code == 220) {
        relay_names names;
        auto at = o.foreign_rcpt.rfind('@');
        names.user = o.foreign_rcpt.substr(0, at);
        names.dest = at == std::string::npos ? "" : o.foreign_rcpt.substr(at + 1);
        names.sender_domain = o.from_domain;
        names.ip = addr;
        // nmap: the banner's name, else the EHLO reply's; then what DNS says.
        names.server = !h.banner_name.empty()      ? h.banner_name
                       : !h.ehlo_name.empty()      ? h.ehlo_name
                       : !h.rdns.confirmed.empty() ? h.rdns.confirmed
                                                   : h.name;
        bool data_left = o.confirm_with_data;
        for (const auto& rc : relay_cases(names)) {
          auto out = co_await run_relay_case(rc, h, o, data_left);
          if (out.accepted && data_left) data_left = false;  // one message at most
          h.relay.push_back(std::move(out));
        }
      }
      rep.hosts.push_back(std::move(h));
    }
  }
  co_return rep;
}

}  // namespace mxg::delivery
