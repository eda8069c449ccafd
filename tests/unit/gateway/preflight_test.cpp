// preflight_test.cpp: `serve --check`, start and reload refuse what start-up would
// fail on (issue 16 items 1 and 6), each problem as CONFIG:LINE. Certificates and keys
// are made here with OpenSSL (two independent EC keys for the mismatch case); the
// expectations come from the issue and RFC-free facts (a key belongs to one cert).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/config.hpp"
#include "gateway/preflight.hpp"

namespace mxg::gateway {
namespace {

namespace fs = std::filesystem;

class temp_dir {
 public:
  temp_dir()
      : dir_(fs::temp_directory_path() /
             ("mxg-pf-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~temp_dir() { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return path(name);
  }

 private:
  fs::path dir_;
};

// A self-signed certificate and its key, as PEM files <stem>.crt / <stem>.key.
void make_cert(const temp_dir& t, const std::string& stem) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("mx.test"), -1, -1, 0);
  X509_set_issuer_name(x, n);
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* f = std::fopen(t.path(stem + ".crt").c_str(), "wb");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(t.path(stem + ".key").c_str(), "wb");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

// A config with one listener on line 4 and `extra` lines after it (line 7 on).
config parse(const temp_dir& t, const std::string& listener_extra, const std::string& top = "") {
  std::string text = "state_dir = \"" + t.path("var") + "\"\n" +  // 1
                     "[log]\nlevel = \"info\"\n" +                // 2, 3
                     "[listener.a]\n" +                           // 4
                     "address = \"127.0.0.1:2525\"\n" +           // 5
                     "delivery_mode = \"hold\"\n" +               // 6
                     listener_extra + top;
  auto c = parse_config(text, "t.toml");
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : config{};
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

TEST(Preflight, AGoodConfigPasses) {
  temp_dir t;
  auto c = parse(t, "");
  EXPECT_EQ(joined(preflight(c)), "");
}

TEST(Preflight, MissingRoutingTableIsAnErrorAtItsConfigLine) {
  temp_dir t;
  auto c = parse(t, "[routing]\ntable = \"" + t.path("nope.txt") + "\"\n");
  auto p = preflight(c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_EQ(p[0].rfind("t.toml:8: routing.table: ", 0), 0u) << p[0];
  EXPECT_NE(p[0].find("nope.txt: cannot open"), std::string::npos) << p[0];
  auto r = load_routing_table(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, p[0]);
}

TEST(Preflight, BrokenRoutingTableNamesBothFiles) {
  temp_dir t;
  auto table = t.write("routes.txt", "# routes\n@a.test relay:[127.0.0.1]:25\n@b.test bogus:x\n");
  auto c = parse(t, "[routing]\ntable = \"" + table + "\"\n");
  auto p = preflight(c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_EQ(p[0].rfind("t.toml:8: routing.table: " + table + ":3: unknown action", 0), 0u) << p[0];
}

TEST(Preflight, GoodRoutingTableLoads) {
  temp_dir t;
  auto table = t.write("routes.txt", "@a.test relay:[127.0.0.1]:25\n* mx\n");
  auto c = parse(t, "[routing]\ntable = \"" + table + "\"\n");
  EXPECT_EQ(joined(preflight(c)), "");
  auto r = load_routing_table(c);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)->rules().size(), 2u);
}

TEST(Preflight, NoRoutingTableIsAnEmptyTable) {
  temp_dir t;
  auto r = load_routing_table(parse(t, ""));
  ASSERT_TRUE(r);
  EXPECT_TRUE((*r)->rules().empty());
}

TEST(Preflight, MatchingCertificateAndKeyPass) {
  temp_dir t;
  make_cert(t, "one");
  auto c = parse(
      t, "tls_cert = \"" + t.path("one.crt") + "\"\ntls_key = \"" + t.path("one.key") + "\"\n");
  EXPECT_EQ(joined(preflight(c)), "");
  auto ctx = make_tls_context(c, c.listeners[0]);
  ASSERT_TRUE(ctx) << ctx.error().message;
  EXPECT_NE(*ctx, nullptr);
}

TEST(Preflight, MissingCertificateNamesTheTlsCertLine) {
  temp_dir t;
  make_cert(t, "one");
  auto c = parse(
      t, "tls_cert = \"" + t.path("gone.crt") + "\"\ntls_key = \"" + t.path("one.key") + "\"\n");
  auto p = preflight(c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_EQ(p[0].rfind("t.toml:7: tls_cert " + t.path("gone.crt") + ": No such file", 0), 0u)
      << p[0];
}

TEST(Preflight, NonPemCertificateAndKeyAreRefused) {
  temp_dir t;
  make_cert(t, "one");
  auto junk = t.write("junk.pem", "this is not PEM\n");
  auto c = parse(t, "tls_cert = \"" + junk + "\"\ntls_key = \"" + t.path("one.key") + "\"\n");
  auto p = preflight(c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_NE(p[0].find("t.toml:7: tls_cert " + junk + ": not a PEM certificate"), std::string::npos)
      << p[0];
  c = parse(t, "tls_cert = \"" + t.path("one.crt") + "\"\ntls_key = \"" + junk + "\"\n");
  p = preflight(c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_NE(p[0].find("t.toml:8: tls_key " + junk + ": not an unencrypted PEM private key"),
            std::string::npos)
      << p[0];
}

TEST(Preflight, KeyOfAnotherCertificateIsRefused) {
  temp_dir t;
  make_cert(t, "one");
  make_cert(t, "two");
  auto c = parse(
      t, "tls_cert = \"" + t.path("one.crt") + "\"\ntls_key = \"" + t.path("two.key") + "\"\n");
  auto p = preflight(c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_EQ(
      p[0].rfind("t.toml:8: tls_key " + t.path("two.key") + " does not belong to tls_cert", 0), 0u)
      << p[0];
  EXPECT_FALSE(make_tls_context(c, c.listeners[0]));
}

TEST(Preflight, DefaultTlsSectionIsNamedOnceForEveryListener) {
  temp_dir t;
  make_cert(t, "one");
  std::string text = "state_dir = \"" + t.path("var") + "\"\n" +  // 1
                     "[tls]\n" +                                  // 2
                     "cert = \"" + t.path("gone.crt") + "\"\n" +  // 3
                     "key = \"" + t.path("one.key") + "\"\n" +    // 4
                     "[listener.a]\naddress = \"127.0.0.1:2525\"\n" +
                     "[listener.b]\naddress = \"127.0.0.1:2526\"\n";
  auto c = parse_config(text, "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  auto p = preflight(*c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_EQ(p[0].rfind("t.toml:3: tls_cert ", 0), 0u) << p[0];
}

TEST(Preflight, StateDirThatCannotBeCreated) {
  temp_dir t;
  auto file = t.write("plain-file", "x");
  auto c = parse_config(
      "state_dir = \"" + file + "/var\"\n[listener.a]\naddress = \"127.0.0.1:2525\"\n", "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  auto p = preflight(*c);
  // state_dir itself, and what lives under it: the queue, the control socket, the history
  ASSERT_GE(p.size(), 1u);
  EXPECT_NE(joined(p).find("t.toml:1: state_dir: " + file + "/var cannot be created"),
            std::string::npos)
      << joined(p);
  EXPECT_NE(joined(p).find("t.toml:2: queue_dir: "), std::string::npos) << joined(p);
}

TEST(Preflight, QueueDirThatIsAFile) {
  temp_dir t;
  auto file = t.write("q", "x");
  auto c = parse(t, "queue_dir = \"" + file + "\"\n");
  auto p = preflight(c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_EQ(p[0], "t.toml:7: queue_dir: " + file + " is not a directory");
}

TEST(Preflight, ExistingWritableDirectoriesPass) {
  temp_dir t;
  fs::create_directories(t.path("var/queue/a"));
  EXPECT_EQ(joined(preflight(parse(t, ""))), "");
}

TEST(Preflight, ControlSocketPathTooLongForSunPath) {
  temp_dir t;
  auto c = parse(t, "", "");
  c.control_socket = t.path(std::string(120, 's'));
  c.origin["control_socket"] = "t.toml:9";
  auto p = preflight(c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_EQ(p[0].rfind("t.toml:9: control_socket ", 0), 0u) << p[0];
}

TEST(Preflight, LogFileUnderAFileIsRefused) {
  temp_dir t;
  auto file = t.write("f", "x");
  auto c = parse(t, "", "");
  c.log_file = file + "/mxguard.log";
  c.origin["log.file"] = "t.toml:3";
  auto p = preflight(c);
  ASSERT_EQ(p.size(), 1u) << joined(p);
  EXPECT_EQ(p[0].rfind("t.toml:3: log.file: ", 0), 0u) << p[0];
}

// Listener addresses that cannot all be bound (item 6): a wildcard beside a specific
// address on the same port. parse_config reports them; the table gives each case.
struct clash_case {
  const char* a;
  const char* b;
  bool clash;
};

TEST(ListenerConflicts, WildcardBesideASpecificAddress) {
  const clash_case cases[] = {
      {"0.0.0.0:25", "127.0.0.1:25", true},   // the case
      {"127.0.0.1:25", "0.0.0.0:25", true},   // either order
      {"[::]:25", "[::1]:25", true},          // IPv6 wildcard
      {"0.0.0.0:25", "127.0.0.1:26", false},  // other port
      {"[::]:25", "127.0.0.1:25", false},     // [::] is IPv6-only (IPV6_V6ONLY)
      {"0.0.0.0:25", "[::]:25", false},
      {"127.0.0.1:25", "127.0.0.2:25", false},  // two specific addresses
      {"0.0.0.0:0", "127.0.0.1:0", false},      // port 0: the kernel picks free ports
  };
  for (const auto& k : cases) {
    std::string text = std::string("[listener.one]\naddress = \"") + k.a +
                       "\"\n[listener.two]\naddress = \"" + k.b + "\"\n";
    auto c = parse_config(text, "t.toml");
    if (!k.clash) {
      EXPECT_TRUE(c) << k.a << " + " << k.b << ": " << c.error().message;
      continue;
    }
    ASSERT_FALSE(c) << k.a << " + " << k.b;
    EXPECT_EQ(c.error().message.rfind("t.toml:4: listener two on ", 0), 0u) << c.error().message;
    EXPECT_NE(c.error().message.find("(t.toml:2)"), std::string::npos) << c.error().message;
  }
}

TEST(ListenerConflicts, PolicyServiceOnAListenerPort) {
  auto c = parse_config(
      "[policy_service]\nlisten = \"127.0.0.1:2525\"\n[listener.a]\naddress = \"0.0.0.0:2525\"\n",
      "t.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message.rfind("t.toml:2: policy_service.listen", 0), 0u) << c.error().message;
}

}  // namespace
}  // namespace mxg::gateway
