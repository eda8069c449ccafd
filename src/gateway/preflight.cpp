// preflight.cpp: see preflight.hpp. Reads files (certificates, keys, the routing
// table) and looks at directories; never creates, binds or locks anything.
// Security: a private key is read with a password callback that refuses, so an
// encrypted key fails here (and at start) instead of prompting on a terminal.
#include "gateway/preflight.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <asio/io_context.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "dns/cares_resolver.hpp"

namespace mxg::gateway {

namespace {

namespace fs = std::filesystem;

std::string ssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no details";
  const char* r = ERR_reason_error_string(e);
  return r ? r : fmt::format("OpenSSL error {:#x}", e);
}

int refuse_password(char*, int, int, void*) {
  return 0;  // an encrypted key is an error, never a prompt
}

struct file_closer {
  void operator()(FILE* f) const { std::fclose(f); }
};
using file_ptr = std::unique_ptr<FILE, file_closer>;

// Why directory `p` can neither be used nor created, or nullopt when it can: it exists
// and is a writable directory, or its nearest existing ancestor is one.
std::optional<std::string> dir_problem(const std::string& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec).lexically_normal();
  if (ec) return fmt::format("{}: {}", p, ec.message());
  fs::path cur = abs;
  for (;;) {
    struct stat st {};
    if (::stat(cur.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        return cur == abs
                   ? fmt::format("{} is not a directory", p)
                   : fmt::format("{} cannot be created: {} is not a directory", p, cur.string());
      if (::access(cur.c_str(), W_OK | X_OK) != 0)
        return cur == abs ? fmt::format("{} is not writable ({})", p, std::strerror(errno))
                          : fmt::format("{} cannot be created: {} is not writable ({})", p,
                                        cur.string(), std::strerror(errno));
      return std::nullopt;
    }
    if (errno == ENOTDIR)
      return fmt::format("{} cannot be created: a part of the path is a file", p);
    if (errno != ENOENT) return fmt::format("{}: {}", cur.string(), std::strerror(errno));
    if (!cur.has_parent_path() || cur.parent_path() == cur)
      return fmt::format("{} cannot be created", p);
    cur = cur.parent_path();
  }
}

// A file the server will create or append to (the log file).
std::optional<std::string> writable_file_problem(const std::string& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return fmt::format("{} is a directory", p);
    if (::access(p.c_str(), W_OK) != 0)
      return fmt::format("{} is not writable ({})", p, std::strerror(errno));
    return std::nullopt;
  }
  auto parent = fs::path(p).parent_path();
  return dir_problem(parent.empty() ? "." : parent.string());
}

std::string parent_of(const std::string& p) {
  auto parent = fs::path(p).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

result<std::shared_ptr<const delivery::routing_table>> load_routing_table(const config& c) {
  if (c.routing_table.empty()) return std::make_shared<const delivery::routing_table>();
  auto t = delivery::routing_table::load(c.routing_table);
  if (!t)
    return fail(t.error().code, c.where("routing.table") + ": routing.table: " + t.error().message);
  return std::make_shared<const delivery::routing_table>(std::move(*t));
}

result<std::shared_ptr<asio::ssl::context>> make_tls_context(const config& c,
                                                             const listener_config& l) {
  if (l.tls_cert.empty()) return std::shared_ptr<asio::ssl::context>{};
  const std::string at = "listener." + l.name;
  const std::string wc = c.where(at + ".tls_cert", at), wk = c.where(at + ".tls_key", at);
  // Read both as PEM first, for messages that say which file is wrong and how.
  file_ptr cf(std::fopen(l.tls_cert.c_str(), "rb"));
  if (!cf)
    return fail(errc::io_error,
                fmt::format("{}: tls_cert {}: {}", wc, l.tls_cert, std::strerror(errno)));
  X509* cert = PEM_read_X509(cf.get(), nullptr, refuse_password, nullptr);
  if (!cert)
    return fail(errc::io_error, fmt::format("{}: tls_cert {}: not a PEM certificate ({})", wc,
                                            l.tls_cert, ssl_error()));
  std::unique_ptr<X509, decltype(&X509_free)> cert_owner(cert, X509_free);
  file_ptr kf(std::fopen(l.tls_key.c_str(), "rb"));
  if (!kf)
    return fail(errc::io_error,
                fmt::format("{}: tls_key {}: {}", wk, l.tls_key, std::strerror(errno)));
  EVP_PKEY* key = PEM_read_PrivateKey(kf.get(), nullptr, refuse_password, nullptr);
  if (!key)
    return fail(errc::io_error,
                fmt::format("{}: tls_key {}: not an unencrypted PEM private key ({})", wk,
                            l.tls_key, ssl_error()));
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_owner(key, EVP_PKEY_free);
  if (X509_check_private_key(cert, key) != 1)
    return fail(errc::io_error,
                fmt::format("{}: tls_key {} does not belong to tls_cert {} ({}) ({})", wk,
                            l.tls_key, l.tls_cert, wc, ssl_error()));
  // The context the listener uses, built from the same files.
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  asio::error_code ec;
  // RFC 8996: no SSLv3, TLS 1.0 or 1.1.
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                   ec);
  ctx->set_password_callback(
      [](std::size_t, asio::ssl::context::password_purpose) { return std::string(); });
  ctx->use_certificate_chain_file(l.tls_cert, ec);
  if (ec)
    return fail(errc::io_error, fmt::format("{}: tls_cert {}: {}", wc, l.tls_cert, ec.message()));
  ctx->use_private_key_file(l.tls_key, asio::ssl::context::pem, ec);
  if (ec)
    return fail(errc::io_error, fmt::format("{}: tls_key {}: {}", wk, l.tls_key, ec.message()));
  return ctx;
}

std::vector<std::string> preflight(const config& c) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](std::string e) {
    if (seen.insert(e).second) out.push_back(std::move(e));
  };
  // 1. routing table (issue 16 item 1: a bad table never silently turns delivery off)
  if (auto t = load_routing_table(c); !t) add(t.error().message);
  // 2. listeners: TLS material, queue directories, addresses
  for (const auto& l : c.listeners) {
    const std::string at = "listener." + l.name;
    if (auto t = make_tls_context(c, l); !t) add(t.error().message);
    if (auto p = dir_problem(l.queue_dir))
      add(fmt::format("{}: queue_dir: {}", c.where(at + ".queue_dir", at), *p));
  }
  for (auto& e : listener_conflicts(c)) add(std::move(e));
  // 3. state: directories and files the start creates
  if (auto p = dir_problem(c.state_dir))
    add(fmt::format("{}: state_dir: {}", c.where("state_dir"), *p));
  // sockaddr_un::sun_path holds the path with its terminating NUL.
  if (c.control_socket.size() >= sizeof(sockaddr_un{}.sun_path))
    add(fmt::format("{}: control_socket {}: longer than {} bytes (a unix socket address)",
                    c.where("control_socket", "state_dir"), c.control_socket,
                    sizeof(sockaddr_un{}.sun_path) - 1));
  if (auto p = dir_problem(parent_of(c.control_socket)))
    add(fmt::format("{}: control_socket: {}", c.where("control_socket", "state_dir"), *p));
  if (c.history.enabled)
    if (auto p = dir_problem(parent_of(c.history.path)))
      add(fmt::format("{}: history.path: {}", c.where("history.path", "state_dir"), *p));
  if (!c.log_file.empty())
    if (auto p = writable_file_problem(c.log_file))
      add(fmt::format("{}: log.file: {}", c.where("log.file"), *p));
  // 3b. the web console's TLS material ([console], served by src/web/): checked as a
  // listener's, named "[console]" (config.cpp notes its lines under that name).
  if (c.console.enabled() && !c.console.tls_cert.empty()) {
    listener_config l;
    l.name = "[console]";
    l.tls_cert = c.console.tls_cert;
    l.tls_key = c.console.tls_key;
    if (auto t = make_tls_context(c, l); !t) add(t.error().message);
  }
  // 4. the resolver, when something needs it to start or to deliver
  bool needs_dns = c.spf.enabled || c.dnsbl.enabled || !c.policy_service.listen.empty();
  for (const auto& l : c.listeners)
    needs_dns = needs_dns || l.mode == delivery_mode::deliver || l.spf_enabled.value_or(false);
  if (needs_dns) {
    asio::io_context io(1);
    dns::cares_options o;
    o.servers = c.dns.servers;
    o.timeout = c.dns.timeout;
    o.tries = c.dns.tries;
    if (auto r = dns::cares_resolver::create(io.get_executor(), o); !r)
      add(
          fmt::format("{}: [dns]: the resolver cannot be set up ({}); delivery, SPF and the "
                      "policy service need it",
                      c.source, r.error().message));
  }
  return out;
}

}  // namespace mxg::gateway
