// request_token.cpp: see request_token.hpp.
#include "web/request_token.hpp"

#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/ascii.hpp"
#include "queue/queue_id.hpp"
#include "web/password.hpp"

namespace mxg::web {

namespace {

// Domain separation: this key signs nothing else, and a later format gets a new tag.
constexpr std::string_view kTag = "mxguard release request v1";

result<std::string> read_key(const std::string& path) {
  std::ifstream in(path);
  std::string hex;
  if (!in || !std::getline(in, hex))
    return fail(errc::io_error, path + ": cannot read the request key");
  if (hex.size() != kRequestKeyBytes * 2 ||
      hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    return fail(errc::io_error,
                path + ": not a request key (64 hex digits); delete it to make one");
  return hex;
}

}  // namespace

result<std::string> load_or_create_request_key(const std::string& state_dir) {
  const std::string path = state_dir + "/" + kRequestKeyFile;
  if (::access(path.c_str(), F_OK) == 0) return read_key(path);
  unsigned char raw[kRequestKeyBytes];
  if (RAND_bytes(raw, sizeof raw) != 1) return fail(errc::internal, "no random bytes for the key");
  std::string text = ascii::hex_lower({reinterpret_cast<const char*>(raw), sizeof raw}) + "\n";
  // Written whole under a temporary name, then linked: a reader never sees half a key,
  // and of two processes making one at once the first link wins.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  if (auto w = write_secret_file(tmp, text); !w) {
    ::unlink(tmp.c_str());
    return std::unexpected(w.error());
  }
  int linked = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0 && link_errno != EEXIST)
    return fail(errc::io_error, path + ": " + std::strerror(link_errno));
  return read_key(path);
}

std::string request_token(std::string_view key, std::string_view queue_id,
                          std::string_view recipient) {
  std::string msg(kTag);
  msg += '\0';
  msg += queue_id;
  msg += '\0';
  msg += ascii::lower(recipient);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  return ascii::hex_lower({reinterpret_cast<const char*>(mac), len});
}

bool request_token_ok(std::string_view key, std::string_view queue_id, std::string_view recipient,
                      std::string_view token) {
  if (key.empty() || !queue::queue_id::valid(std::string(queue_id))) return false;
  if (recipient.empty() || recipient.size() > kRecipientMax) return false;
  if (token.size() != kRequestTokenHex) return false;
  std::string t = ascii::lower(token);
  if (t.find_first_not_of("0123456789abcdef") != std::string::npos) return false;
  const std::string want = request_token(key, queue_id, recipient);
  return CRYPTO_memcmp(want.data(), t.data(), want.size()) == 0;
}

std::string url_encode(std::string_view s) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::string request_link(std::string_view base, std::string_view key, std::string_view queue_id,
                         std::string_view recipient) {
  std::string out(base);
  out += "/request/";
  out += queue_id;
  out += "?rcpt=" + url_encode(ascii::lower(recipient));
  out += "&t=" + request_token(key, queue_id, recipient);
  return out;
}

bool is_recipient(std::string_view recipients, std::string_view recipient) {
  if (recipient.empty()) return false;
  const std::string want = ascii::lower(recipient);
  std::size_t start = 0;
  while (start <= recipients.size()) {
    auto comma = recipients.find(',', start);
    if (comma == std::string_view::npos) comma = recipients.size();
    if (ascii::lower(recipients.substr(start, comma - start)) == want) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace mxg::web
