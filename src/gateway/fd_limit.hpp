// fd_limit.hpp: the open-file limit of `mxguard serve` (issue 16 item 2). Every SMTP
// session holds a socket (and a queue file while it receives), so the soft limit
// RLIMIT_NOFILE, often 1024, not the session limits, would decide when clients are
// locked out: at EMFILE accept() fails for everyone, normal clients included. At start
// the soft limit is raised to the hard limit (as nginx's worker_rlimit_nofile or
// Postfix's master do), and a warning says when the sessions the listeners allow
// cannot all have a descriptor.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mxg::gateway {

// Descriptors kept for everything that is not a session: logs, queue directories and
// their spare files, the history database, DNS, the control socket.
inline constexpr std::size_t kFdReserve = 256;

struct fd_limit_report {
  std::uint64_t before = 0;  // soft limit found
  std::uint64_t after = 0;   // soft limit now
  std::uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit; logs one line, and a warning when
// `sessions` (the sum of the listeners' sessions_total) plus kFdReserve and one queue
// file per session do not fit.
fd_limit_report raise_open_file_limit(std::size_t sessions);

}  // namespace mxg::gateway
