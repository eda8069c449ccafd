// offload.cpp: the process-wide pool for blocking calls (see offload.hpp).
#include "net/offload.hpp"

namespace mxg::net {

// Never destroyed: its idle threads end with the process. Destroying it among the
// static destructors at exit raced with asio's own thread-local recycling caches
// (double free seen in `mxguard queue run`).
asio::thread_pool& blocking_pool() {
  static auto* pool = new asio::thread_pool(kBlockingThreads);
  return *pool;
}

}  // namespace mxg::net
