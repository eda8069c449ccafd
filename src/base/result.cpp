// result.cpp: names of error codes and the abort path for broken invariants.
#include "base/result.hpp"

namespace mxg {

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::invalid_argument:
      return "invalid argument";
    case errc::parse_error:
      return "parse error";
    case errc::not_found:
      return "not found";
    case errc::io_error:
      return "I/O error";
    case errc::timeout:
      return "timeout";
    case errc::temporary:
      return "temporary failure";
    case errc::limit_exceeded:
      return "limit exceeded";
    case errc::no_space:
      return "no space left";
    case errc::unsupported:
      return "unsupported";
    case errc::internal:
      return "internal error";
  }
  return "unknown error";
}

void assertion_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "mxguard: internal invariant broken: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace mxg
