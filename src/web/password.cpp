// password.cpp: see password.hpp.
#include "web/password.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/ascii.hpp"

namespace mxg::web {

namespace {

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Broken invariant: without a random source there is no safe console.
    if (sodium_init() < 0) std::abort();
  });
}

}  // namespace

result<std::string> hash_password(std::string_view password) {
  init();
  if (password.empty()) return fail(errc::invalid_argument, "empty password");
  if (password.size() > kPasswordMax)
    return fail(errc::invalid_argument, "password longer than 1024 bytes");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return fail(errc::io_error, "argon2id: out of memory");
  return std::string(out);
}

bool verify_password(const std::string& hash, std::string_view password) {
  init();
  if (password.size() > kPasswordMax || hash.size() >= crypto_pwhash_STRBYTES) return false;
  if (hash.rfind("$argon2id$", 0) != 0) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

void verify_dummy(std::string_view password) {
  static const std::string dummy = [] {
    auto h = hash_password("mxguard dummy password");
    return h ? *h : std::string();
  }();
  (void)verify_password(dummy, password.substr(0, kPasswordMax));
}

std::string random_token(std::size_t bytes) {
  init();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return ascii::hex_lower(raw);
}

std::string random_password() {
  init();
  static const char* alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const auto n = static_cast<std::uint32_t>(std::char_traits<char>::length(alphabet));
  std::string out;
  for (int i = 0; i < 20; ++i) out += alphabet[randombytes_uniform(n)];
  return out;
}

bool tokens_equal(std::string_view a, std::string_view b) {
  init();
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

result<void> write_secret_file(const std::string& path, std::string_view text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(errc::io_error, path + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return fail(errc::io_error, path + ": write failed");
  return {};
}

}  // namespace mxg::web
