// password.hpp: console passwords (issue 11 section 2) as libsodium argon2id hashes
// (crypto_pwhash_str: the salt and the cost are inside the "$argon2id$..." string),
// and the random tokens of the console: session ids, CSRF tokens, first-run passwords.
// Security: passwords are never stored or logged; verification runs in libsodium's
// constant time; an unknown user is verified against a dummy hash so that the answer
// takes as long as for a known one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mxg::web {

inline constexpr std::size_t kPasswordMax = 1024;  // longer ones are refused, not cut
inline constexpr std::size_t kTokenBytes = 32;     // 256-bit session ids and CSRF tokens

// "$argon2id$v=19$m=...,t=...,p=1$salt$hash" (libsodium's interactive limits: ~64 MiB).
result<std::string> hash_password(std::string_view password);
// True when `password` matches `hash` (false for a malformed hash, never an error).
bool verify_password(const std::string& hash, std::string_view password);
// Spends the time of one verification without any user (unknown user names).
void verify_dummy(std::string_view password);
// `bytes` random bytes as lower-case hex.
std::string random_token(std::size_t bytes = kTokenBytes);
// A random password for the first-run admin (20 characters, letters and digits).
std::string random_password();
// Constant-time comparison of two tokens.
bool tokens_equal(std::string_view a, std::string_view b);
// Writes `text` to `path` as a secret: created 0600 (also when it existed with another
// mode), never through a symlink, fsynced; errors name the path.
result<void> write_secret_file(const std::string& path, std::string_view text);

}  // namespace mxg::web
