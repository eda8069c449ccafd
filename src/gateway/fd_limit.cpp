// fd_limit.cpp: see fd_limit.hpp.
#include "gateway/fd_limit.hpp"

#include <sys/resource.h>

#include <spdlog/spdlog.h>

namespace mxg::gateway {

fd_limit_report raise_open_file_limit(std::size_t sessions) {
  fd_limit_report rep;
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return rep;
  rep.before = rl.rlim_cur;
  rep.hard = rl.rlim_max;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit up = rl;
    up.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up;
  }
  rep.after = rl.rlim_cur;
  // A session receiving a message holds its socket and the message's queue file.
  const std::uint64_t need = static_cast<std::uint64_t>(sessions) * 2 + kFdReserve;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
    spdlog::warn(
        "open files limit={} (was {}, hard {}) is below what sessions_total={} may need ({}): "
        "at the limit accept() fails for every client; raise the hard limit (LimitNOFILE=, "
        "ulimit -Hn) or lower limits.sessions_total",
        rep.after, rep.before, rep.hard, sessions, need);
  else
    spdlog::info("open files limit={} (was {})", rep.after, rep.before);
  return rep;
}

}  // namespace mxg::gateway
