// result<T>: the return type of every recoverable failure in mxguard.
// An outcome (an SPF result, a policy decision) is a value, never an error;
// an error is something the caller can report or retry: bad input, I/O, DNS.
// Broken invariants are not errors: they abort (see MXG_ASSERT).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <expected>
#include <string>
#include <utility>

namespace mxg {

enum class errc {
  invalid_argument,  // bad input from a user or peer
  parse_error,       // syntax error in a record, file or command
  not_found,
  io_error,
  timeout,
  temporary,  // try again later
  limit_exceeded,
  no_space,  // the file system is full or over quota (ENOSPC, EDQUOT)
  unsupported,
  internal,
};

const char* to_string(errc e) noexcept;

struct error {
  errc code = errc::internal;
  std::string message;  // complete, human readable: what, where, why

  error() = default;
  error(errc c, std::string m) : code(c), message(std::move(m)) {}
};

template <typename T>
using result = std::expected<T, error>;

inline std::unexpected<error> fail(errc c, std::string message) {
  return std::unexpected<error>(error{c, std::move(message)});
}

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line);

}  // namespace mxg

// Broken invariant: print and abort, in every build type.
#define MXG_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::mxg::assertion_failed(#expr, __FILE__, __LINE__))
