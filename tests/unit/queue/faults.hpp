// faults.hpp: failures injected into queue_dir's file_ops for the queue tests of both
// formats. Each returns what the system call returns on failure (-1) with errno set
// as it would, so queue_dir sees exactly what a full disk or a failing device gives.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <memory>

#include "queue/queue_dir.hpp"

namespace mxg::queue::test {

inline int fail_with(int e) {
  errno = e;
  return -1;
}

// Every write fails with e.
inline void write_fails(file_ops& o, int e) {
  o.write = [e](int, const void*, std::size_t) -> long { return fail_with(e); };
}

// Writes of at most 7 bytes (short writes the writer must continue), then, from write
// number after + 1 on, e.
inline void short_writes_then(file_ops& o, int after, int e) {
  auto n = std::make_shared<int>(0);
  o.write = [n, after, e](int fd, const void* b, std::size_t len) -> long {
    return ++*n > after ? fail_with(e) : ::write(fd, b, std::min<std::size_t>(len, 7));
  };
}

// Every fsync (files and directories) fails with e.
inline void fsync_fails(file_ops& o, int e) {
  o.fsync = [e](int) { return fail_with(e); };
}

// Only the fsync of a directory fails with e; files are really fsynced.
inline void dir_fsync_fails(file_ops& o, int e) {
  o.fsync = [e](int fd) {
    struct stat st {};
    ::fstat(fd, &st);
    return S_ISDIR(st.st_mode) ? fail_with(e) : ::fsync(fd);
  };
}

// Every rename fails with e.
inline void rename_fails(file_ops& o, int e) {
  o.rename = [e](const char*, const char*, bool) { return fail_with(e); };
}

}  // namespace mxg::queue::test
