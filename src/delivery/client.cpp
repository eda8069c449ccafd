// client.cpp: outbound SMTP client coroutine (see client.hpp for the RFCs it follows).
// Structure: resolve_hop() turns a next hop into an ordered list of hosts and
// addresses (RFC 5321 5.1); deliver() walks it, one TCP connection at a time, and
// converse() runs one SMTP dialogue as a short linear sequence of commands and replies.
#include "delivery/client.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <map>
#include <random>

#include "base/ascii.hpp"
#include "delivery/connection.hpp"
#include "net/ip_address.hpp"

namespace mxg::delivery {

namespace {

using asio::ip::tcp;
constexpr std::chrono::seconds kQuitTimeout{10};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii::to_upper(c);
  return out;
}

// What to do after one dialogue.
enum class step { done, next_host, retry_plain };

bool has_8bit(std::string_view data) {
  return std::any_of(data.begin(), data.end(), [](unsigned char c) { return c >= 0x80; });
}

struct dialogue {
  connection& s;
  const std::string& host;  // for messages
  const outgoing_message& msg;
  const client_options& o;
  asio::ssl::context* tls;
  attempt_result& out;
  std::string why;  // reply line for every recipient when the step is next_host

  void set_all(int code, const std::string& line) {
    for (auto& r : out.recipients)
      if (r.code == 0) r.code = code, r.reply = line;
  }
  // An I/O failure: the peer did not complete the dialogue.
  void lost(const error& e, const char* during) {
    why = "451 4.4.2 lost connection with " + host + " during " + during + " (" + e.message + ")";
  }

  asio::awaitable<void> quit() {
    // (Named results: g++ 12 miscompiles a discarded co_await result here.)
    auto w = co_await s.write("QUIT\r\n", kQuitTimeout);
    if (!w) co_return;
    auto r = co_await s.read_reply(kQuitTimeout);
    if (!r) co_return;
  }

  asio::awaitable<result<reply>> command(const std::string& line, std::chrono::seconds d) {
    if (auto w = co_await s.write(line, d); !w) co_return std::unexpected(w.error());
    co_return co_await s.read_reply(d);
  }

  asio::awaitable<result<ehlo_info>> hello() {
    auto r = co_await command("EHLO " + o.helo_name + "\r\n", o.mail);
    if (!r) co_return std::unexpected(r.error());
    if (r->code == 250) {
      std::vector<std::string> kw(r->lines.begin() + 1, r->lines.end());
      co_return parse_ehlo(kw);
    }
    if (r->code >= 500) {  // RFC 5321 4.1.1.1 / 3.2: an old server; fall back to HELO
      auto h = co_await command("HELO " + o.helo_name + "\r\n", o.mail);
      if (!h) co_return std::unexpected(h.error());
      if (h->code == 250) co_return ehlo_info{};
      why = h->one_line();
      co_return fail(errc::invalid_argument, why);
    }
    why = r->one_line();
    co_return fail(errc::invalid_argument, why);
  }

  asio::awaitable<step> run() {
    auto greet = co_await s.read_reply(o.greeting);
    if (!greet) {
      lost(greet.error(), "the greeting");
      co_return step::next_host;
    }
    if (greet->code != 220) {  // RFC 5321 3.1 / 5.1: try the next host
      why = greet->one_line();
      co_return step::next_host;
    }
    auto info = co_await hello();
    if (!info) {
      if (why.empty()) lost(info.error(), "EHLO");
      co_return step::next_host;
    }
    if (tls && o.starttls && info->starttls) {
      auto st = co_await command("STARTTLS\r\n", o.mail);
      if (!st) {
        lost(st.error(), "STARTTLS");
        co_return step::next_host;
      }
      if (st->code == 220) {
        if (auto hs = co_await s.start_tls(*tls, host, tls_handshake_options{o.tls_verify, false},
                                           o.mail);
            !hs) {
          why = "451 4.7.5 TLS handshake with " + host + " failed (" + hs.error().message + ")";
          co_return o.tls_verify ? step::next_host : step::retry_plain;
        }
        out.tls = true;
        out.tls_detail = s.tls_detail();
        info = co_await hello();  // RFC 3207 4.2: forget what was learned before TLS
        if (!info) {
          if (why.empty()) lost(info.error(), "EHLO after STARTTLS");
          co_return step::next_host;
        }
      }
    }
    // RFC 1870 6: do not send what the server already said it will refuse.
    if (info->size && info->size_max && msg.data.size() > info->size_max) {
      set_all(552, "552 5.3.4 message size " + std::to_string(msg.data.size()) +
                       " exceeds the limit " + std::to_string(info->size_max) + " of " + host);
      co_await quit();
      co_return step::done;
    }
    if (msg.smtputf8 && !info->smtputf8) {  // RFC 6531 3.2 (no downgrade)
      set_all(553, "553 5.6.7 " + host + " does not support SMTPUTF8");
      co_await quit();
      co_return step::done;
    }

    std::string mail = "MAIL FROM:<" + msg.sender + ">";
    if (info->size) mail += " SIZE=" + std::to_string(msg.data.size());
    if (info->eightbitmime && has_8bit(msg.data)) mail += " BODY=8BITMIME";
    if (msg.smtputf8) mail += " SMTPUTF8";
    mail += "\r\n";
    std::vector<std::string> rcpts;
    for (const auto& r : msg.recipients) rcpts.push_back("RCPT TO:<" + r + ">\r\n");

    std::optional<reply> mail_reply;
    std::vector<std::optional<reply>> rcpt_replies(rcpts.size());
    if (info->pipelining) {
      // RFC 2920 3.1: MAIL and the RCPTs as one group, then read every reply in order.
      std::string group = mail;
      for (const auto& r : rcpts) group += r;
      if (auto w = co_await s.write(group, o.mail); !w) {
        lost(w.error(), "MAIL FROM");
        co_return step::next_host;
      }
      auto m = co_await s.read_reply(o.mail);
      if (!m) {
        lost(m.error(), "MAIL FROM");
        co_return step::next_host;
      }
      mail_reply = *m;
      for (std::size_t i = 0; i < rcpts.size(); ++i) {
        auto r = co_await s.read_reply(o.rcpt);
        if (!r) {
          lost(r.error(), "RCPT TO");
          co_return step::next_host;
        }
        rcpt_replies[i] = *r;
      }
    } else {
      auto m = co_await command(mail, o.mail);
      if (!m) {
        lost(m.error(), "MAIL FROM");
        co_return step::next_host;
      }
      mail_reply = *m;
      if (m->code / 100 == 2) {
        for (std::size_t i = 0; i < rcpts.size(); ++i) {
          auto r = co_await command(rcpts[i], o.rcpt);
          if (!r) {
            lost(r.error(), "RCPT TO");
            co_return step::next_host;
          }
          rcpt_replies[i] = *r;
        }
      }
    }
    if (mail_reply->code / 100 != 2) {  // the whole transaction is refused
      set_all(mail_reply->code, mail_reply->one_line());
      co_await quit();
      co_return step::done;
    }
    std::vector<std::size_t> accepted;
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
      const auto& r = *rcpt_replies[i];
      if (r.code / 100 == 2) {
        accepted.push_back(i);
      } else {
        out.recipients[i].code = r.code;
        out.recipients[i].reply = r.one_line();
      }
    }
    if (accepted.empty()) {
      co_await quit();
      co_return step::done;
    }
    auto set_accepted = [&](int code, const std::string& line) {
      for (auto i : accepted) out.recipients[i].code = code, out.recipients[i].reply = line;
    };
    auto d = co_await command("DATA\r\n", o.data_init);
    if (!d) {
      lost(d.error(), "DATA");
      co_return step::next_host;
    }
    if (d->code != 354) {
      set_accepted(d->code, d->one_line());
      co_await quit();
      co_return step::done;
    }
    const std::string body = dot_stuff(msg.data);
    for (std::size_t pos = 0; pos < body.size(); pos += kDataChunk) {
      auto chunk = std::string_view(body).substr(pos, kDataChunk);
      if (auto w = co_await s.write(chunk, o.data_block); !w) {
        lost(w.error(), "the message text");
        co_return step::next_host;
      }
    }
    auto fin = co_await s.read_reply(o.data_term);
    if (!fin) {
      // RFC 5321 6.1: the message may have been delivered; resending risks a duplicate,
      // which is the lesser evil.
      set_accepted(451, "451 4.4.2 lost connection with " + host + " after the end of data (" +
                            fin.error().message + ")");
      co_return step::done;
    }
    set_accepted(fin->code, fin->one_line());
    co_await quit();
    co_return step::done;
  }
};

std::string endpoint_text(const std::string& name, const std::string& ip, std::uint16_t port) {
  std::string out = name == ip ? "" : name;
  return out + "[" + ip + "]:" + std::to_string(port);
}

asio::awaitable<void> addresses_of(dns::resolver& res, resolved_hop::host& h, dns::status& worst) {
  if (auto ip = net::ip_address::parse(h.name)) {
    h.addrs.push_back(ip->to_string());
    co_return;
  }
  for (auto type : {dns::rrtype::a, dns::rrtype::aaaa}) {
    auto a = co_await res.query(h.name, type);
    if (a.ok()) {
      for (const auto& rr : a.records) h.addrs.push_back(rr.addr.to_string());
    } else if (a.st == dns::status::timeout || a.st == dns::status::servfail) {
      worst = a.st;
    }
  }
}

}  // namespace

asio::awaitable<resolved_hop> resolve_hop(dns::resolver& res, const next_hop& hop,
                                          std::size_t max) {
  resolved_hop out;
  std::vector<std::string> names;
  if (!hop.mx_lookup || net::ip_address::parse(hop.host)) {
    names.push_back(hop.host);
  } else {
    auto mx = co_await res.query(hop.host, dns::rrtype::mx);
    if (mx.st == dns::status::ok) {
      // RFC 7505 3: a single MX with the root as exchange: the domain takes no mail.
      if (mx.records.size() == 1 && (mx.records[0].target.empty() || mx.records[0].target == ".")) {
        out.code = 556;
        out.reply = "556 5.1.10 " + hop.host + " does not accept mail (null MX, RFC 7505)";
        co_return out;
      }
      auto recs = mx.records;
      std::erase_if(recs, [](const dns::record& r) { return r.target.empty() || r.target == "."; });
      // Sort by preference, random order among equal preferences (RFC 5321 5.1).
      static thread_local std::mt19937 rng{std::random_device{}()};
      std::shuffle(recs.begin(), recs.end(), rng);
      std::stable_sort(recs.begin(), recs.end(),
                       [](const auto& a, const auto& b) { return a.preference < b.preference; });
      for (const auto& r : recs) names.push_back(r.target);
    } else if (mx.st == dns::status::nodata) {
      names.push_back(hop.host);  // RFC 5321 5.1: the domain itself as implicit MX
    } else if (mx.st == dns::status::nxdomain) {
      out.code = hop.relay ? 451 : 550;
      out.reply = std::string(hop.relay ? "451 4.4.3 " : "550 5.1.2 ") + "domain " + hop.host +
                  " not found (NXDOMAIN)";
      co_return out;
    } else {
      out.code = 451;
      out.reply = "451 4.4.3 MX lookup of " + hop.host + " failed (" + dns::to_string(mx.st) + ")";
      co_return out;
    }
  }
  if (names.size() > max) names.resize(max);
  dns::status worst = dns::status::ok;
  for (auto& n : names) {
    resolved_hop::host h{n, {}};
    co_await addresses_of(res, h, worst);
    if (!h.addrs.empty()) out.hosts.push_back(std::move(h));
  }
  if (out.hosts.empty()) {
    bool temp = hop.relay || worst != dns::status::ok;
    out.code = temp ? 451 : 550;
    out.reply = std::string(temp ? "451 4.4.3 " : "550 5.1.2 ") + "no address found for " +
                (names.size() == 1 ? names[0] : "the MX hosts of " + hop.host);
  }
  co_return out;
}

std::string next_hop::to_string() const {
  if (!mx_lookup) return "[" + host + "]" + (port == kSmtpPort ? "" : ":" + std::to_string(port));
  return host + (port == kSmtpPort ? "" : ":" + std::to_string(port));
}

std::optional<next_hop> hop_for(const route_action& action, std::string_view recipient) {
  switch (action.k) {
    case route_action::kind::hold:
      return std::nullopt;
    case route_action::kind::relay:
      return next_hop{action.host, !action.no_mx, action.port, true};
    case route_action::kind::mx:
      break;
  }
  auto at = recipient.rfind('@');
  std::string_view dom =
      at == std::string_view::npos ? std::string_view{} : recipient.substr(at + 1);
  if (dom.size() > 2 && dom.front() == '[' && dom.back() == ']') {  // RFC 5321 4.1.3
    auto lit = dom.substr(1, dom.size() - 2);
    if (lit.size() > 5 && upper(lit.substr(0, 5)) == "IPV6:") lit.remove_prefix(5);
    return next_hop{std::string(lit), false, kSmtpPort, false};
  }
  return next_hop{domain_of(recipient), true, kSmtpPort, false};
}

ehlo_info parse_ehlo(const std::vector<std::string>& lines) {
  ehlo_info i;
  for (const auto& l : lines) {
    auto sp = l.find(' ');
    std::string kw = upper(l.substr(0, sp));
    if (kw == "PIPELINING")
      i.pipelining = true;
    else if (kw == "STARTTLS")
      i.starttls = true;
    else if (kw == "8BITMIME")
      i.eightbitmime = true;
    else if (kw == "SMTPUTF8")
      i.smtputf8 = true;
    else if (kw == "SIZE") {
      i.size = true;
      if (sp != std::string::npos) {
        std::uint64_t v = 0;
        auto p = l.substr(sp + 1);
        bool ok = !p.empty() && p.size() < 20 &&
                  std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isdigit(c); });
        if (ok) v = std::stoull(p);
        i.size_max = v;
      }
    }
  }
  return i;
}

std::string dot_stuff(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / 64 + 5);
  bool line_start = true;
  for (std::size_t i = 0; i < data.size(); ++i) {
    char c = data[i];
    if (line_start && c == '.') out += '.';  // RFC 5321 4.5.2
    if (c == '\n') {
      if (out.empty() || out.back() != '\r') out += '\r';
      out += '\n';
      line_start = true;
      continue;
    }
    if (c == '\r' && (i + 1 >= data.size() || data[i + 1] != '\n')) {
      out += "\r\n";  // a bare CR ends a line too (never sent bare, RFC 5321 2.3.8)
      line_start = true;
      continue;
    }
    out += c;
    line_start = false;
  }
  if (!out.empty() && !(out.size() >= 2 && out.ends_with("\r\n"))) out += "\r\n";
  out += ".\r\n";
  return out;
}

asio::ssl::context make_client_tls_context(const client_options& opts) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  if (opts.tls_verify) {
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(asio::ssl::verify_peer);
  } else {
    ctx.set_verify_mode(asio::ssl::verify_none);  // opportunistic (RFC 7435)
  }
  return ctx;
}

asio::awaitable<attempt_result> deliver(dns::resolver& resolver, const next_hop& hop,
                                        const outgoing_message& msg, const client_options& opts,
                                        asio::ssl::context* tls) {
  attempt_result out;
  for (const auto& r : msg.recipients) out.recipients.push_back({r, 0, ""});
  auto fill = [&](int code, const std::string& line) {
    for (auto& r : out.recipients)
      if (r.code == 0) r.code = code, r.reply = line;
  };
  auto hosts = co_await resolve_hop(resolver, hop, opts.max_hosts);
  if (hosts.code) {
    fill(hosts.code, hosts.reply);
    co_return out;
  }
  auto ex = co_await asio::this_coro::executor;
  std::string last = "451 4.4.1 no host of " + hop.to_string() + " answered";
  std::size_t tried = 0;
  for (const auto& h : hosts.hosts) {
    for (const auto& addr : h.addrs) {
      if (tried++ >= opts.max_hosts) break;
      for (bool use_tls : {true, false}) {
        connection s(ex);
        const std::string where = endpoint_text(h.name, addr, hop.port);
        std::error_code bad;
        auto ip = asio::ip::make_address(addr, bad);
        if (bad) continue;
        out.remote = where;  // the host tried last, also when it could not be reached
        if (auto c = co_await s.connect(tcp::endpoint(ip, hop.port), opts.connect); !c) {
          last = "451 4.4.1 cannot connect to " + where + " (" + c.error().message + ")";
          break;
        }
        out.remote = where;
        out.remote_name = h.name;
        out.tls = false;
        out.tls_detail.clear();
        // The recipients' results of a failed dialogue are dropped (tried again).
        for (auto& r : out.recipients) r.code = 0, r.reply.clear();
        dialogue d{s, h.name, msg, opts, use_tls ? tls : nullptr, out, {}};
        step st = co_await d.run();
        if (st == step::done) {
          fill(451, "451 4.4.2 no reply from " + where);  // never expected: every path sets them
          co_return out;
        }
        last = d.why.empty() ? "451 4.4.2 dialogue with " + where + " failed" : d.why;
        if (st == step::next_host) break;
        // retry_plain: the same address again without STARTTLS
      }
    }
  }
  for (auto& r : out.recipients) r.code = 0, r.reply.clear();
  int code = reply_code(last);
  fill(code ? code : 451, last);
  co_return out;
}

}  // namespace mxg::delivery
