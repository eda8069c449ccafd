// temp_dir.hpp: a scratch directory for the queue tests, removed at the end, and the
// sample envelope both queue formats' tests store.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "queue/envelope.hpp"

namespace mxg::queue::test {

class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mxg-queue-test-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    if (!p) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Names of the entries of a directory, sorted ("" for a missing directory).
inline std::vector<std::string> entries(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Entries of tmp/ that are not empty spare files (queue_dir keeps a pool of empty
// files there, kSpareFilesDefault): a spare with content is listed, so a test that
// expects nothing unfinished still fails on a half-written message.
inline std::vector<std::string> unfinished(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& n : entries(dir)) {
    std::error_code ec;
    auto size = std::filesystem::file_size(dir / n, ec);
    if (n.starts_with("spare-") && !ec && size == 0) continue;
    out.push_back(n);
  }
  return out;
}

// One held message from drj@drj.test to rcpt, received now from 127.0.0.1.
inline envelope make_env(std::string rcpt = "user@drj.test") {
  envelope e;
  e.created = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  e.sender = "drj@drj.test";
  e.recipients.push_back({std::move(rcpt), rcpt_status::pending, "", std::nullopt});
  e.client_ip = "127.0.0.1";
  e.helo = "localhost";
  e.listener = "test";
  e.mode = delivery_mode::hold;
  return e;
}

}  // namespace mxg::queue::test
