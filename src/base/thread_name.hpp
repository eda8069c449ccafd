// thread_name.hpp: names the calling thread (at most 15 bytes; what `top -H`, `ps -L`
// and /proc/<pid>/task/<tid>/comm show), so an administrator can tell the event loop
// from the queue writers, the directory syncer, the spare-file maker and the history
// writer when one of them burns CPU or hangs in the kernel.
#pragma once

#include <pthread.h>

namespace mxg::base {

inline void name_this_thread(const char* name) noexcept {
  (void)::pthread_setname_np(::pthread_self(), name);
}

}  // namespace mxg::base
