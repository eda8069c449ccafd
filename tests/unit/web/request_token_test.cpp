// The recipient's release-request link (web/request_token.hpp, issue 11): the token is
// HMAC-SHA256 over (quarantine id, recipient) under the installation's key; a token of
// another id, another recipient or another key never verifies; the key file is made
// once, 0600.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <filesystem>
#include <fstream>

#include "web/request_token.hpp"

using namespace mxg::web;

namespace {

const std::string kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string kId = "00661A2B3C4D5A3F9C";

// HMAC-SHA256 computed here from the documented message layout (tag, NUL, id, NUL,
// lower-case recipient), independently of request_token().
std::string reference(const std::string& key, const std::string& msg) {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", mac[i]);
    hex += buf;
  }
  return hex;
}

}  // namespace

TEST(RequestToken, IsTheHmacOfIdAndLowerCaseRecipient) {
  std::string msg =
      std::string("mxguard release request v1") + '\0' + kId + '\0' + "bob@example.com";
  EXPECT_EQ(request_token(kKey, kId, "Bob@Example.COM"), reference(kKey, msg));
  EXPECT_EQ(request_token(kKey, kId, "bob@example.com").size(), kRequestTokenHex);
}

TEST(RequestToken, VerifiesOnlyItsOwnIdRecipientAndKey) {
  const std::string t = request_token(kKey, kId, "bob@example.com");
  EXPECT_TRUE(request_token_ok(kKey, kId, "bob@example.com", t));
  EXPECT_TRUE(request_token_ok(kKey, kId, "BOB@example.com", t));  // recipient case
  std::string upper = t;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(request_token_ok(kKey, kId, "bob@example.com", upper));  // hex case
  EXPECT_FALSE(request_token_ok(kKey, "00661A2B3C4D5A3F9D", "bob@example.com", t));
  EXPECT_FALSE(request_token_ok(kKey, kId, "eve@example.com", t));
  EXPECT_FALSE(request_token_ok(kKey, kId, "bob@example.co", t));
  std::string other = kKey;
  other[0] = '1';
  EXPECT_FALSE(request_token_ok(other, kId, "bob@example.com", t));
  std::string flipped = t;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(request_token_ok(kKey, kId, "bob@example.com", flipped));
  EXPECT_FALSE(request_token_ok(kKey, kId, "bob@example.com", t.substr(0, 63)));
  EXPECT_FALSE(request_token_ok(kKey, kId, "bob@example.com", t + "0"));
  EXPECT_FALSE(request_token_ok(kKey, kId, "bob@example.com", ""));
  EXPECT_FALSE(
      request_token_ok("", kId, "bob@example.com", request_token("", kId, "bob@example.com")));
  EXPECT_FALSE(request_token_ok(kKey, kId, "", request_token(kKey, kId, "")));
  EXPECT_FALSE(request_token_ok(kKey, "../etc", "bob@example.com",
                                request_token(kKey, "../etc", "bob@example.com")));
  std::string g = t;
  g[0] = 'g';
  EXPECT_FALSE(request_token_ok(kKey, kId, "bob@example.com", g));
}

TEST(RequestToken, LinkCarriesTheEncodedRecipientAndToken) {
  std::string link = request_link("https://mx.example:8025", kKey, kId, "Bob+x@Example.com");
  EXPECT_EQ(link, "https://mx.example:8025/request/" + kId + "?rcpt=bob%2Bx%40example.com&t=" +
                      request_token(kKey, kId, "bob+x@example.com"));
  EXPECT_EQ(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
}

TEST(RequestToken, IsRecipientComparesWholeAddressesIgnoringCase) {
  EXPECT_TRUE(is_recipient("a@x.test,Bob@Example.com", "bob@example.com"));
  EXPECT_FALSE(is_recipient("a@x.test,bob@example.com.evil", "bob@example.com"));
  EXPECT_FALSE(is_recipient("xbob@example.com", "bob@example.com"));
  EXPECT_FALSE(is_recipient("", ""));
}

TEST(RequestToken, KeyFileIsMadeOnceWithMode0600) {
  auto dir = std::filesystem::temp_directory_path() / ("mxg-reqkey-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto k1 = load_or_create_request_key(dir.string());
  ASSERT_TRUE(k1) << k1.error().message;
  EXPECT_EQ(k1->size(), 2 * kRequestKeyBytes);
  struct stat st {};
  ASSERT_EQ(::stat((dir / kRequestKeyFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto k2 = load_or_create_request_key(dir.string());
  ASSERT_TRUE(k2);
  EXPECT_EQ(*k1, *k2);  // the same key: links stay valid
  std::ofstream(dir / kRequestKeyFile) << "not a key\n";
  auto bad = load_or_create_request_key(dir.string());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find(kRequestKeyFile), std::string::npos);
  std::filesystem::remove_all(dir);
}
