// queue_reply_test.cpp: what the client is told when its message cannot be queued
// (issue 16 item 7): a full file system or exhausted quota is RFC 3463 3.4 X.3.1
// "Mail system full", 452 (RFC 5321 4.2.2 "Requested action not taken: insufficient
// system storage"); any other local failure stays 451 4.3.0.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "gateway/session.hpp"
#include "queue/queue_dir.hpp"

namespace mxg::gateway {
namespace {

TEST(QueueFailureReply, FullDiskIs452_4_3_1) {
  smtp::reply r = queue_failure_reply(error(errc::no_space, "queue q: write failed: No space"));
  EXPECT_EQ(r.format(), "452 4.3.1 Insufficient system storage\r\n");
  for (errc e : {errc::io_error, errc::internal, errc::temporary}) {
    smtp::reply o = queue_failure_reply(error(e, "x"));
    EXPECT_EQ(o.code, 451);
    EXPECT_EQ(o.status, smtp::status::k_4_3_0);
  }
}

// End to end through the queue: a write that fails with ENOSPC reaches the reply.
TEST(QueueFailureReply, EnospcFromTheQueueWriterGives452) {
  auto dir = std::filesystem::temp_directory_path() /
             ("mxg-qreply-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
  queue::options o;
  o.dir = dir;
  o.fsync = false;
  o.spare_files = 0;
  o.ops = queue::file_ops::system();
  o.ops.write = [](int, const void*, std::size_t) -> long {
    errno = ENOSPC;
    return -1;
  };
  auto q = queue::queue_dir::open(o);
  ASSERT_TRUE(q) << q.error().message;
  queue::envelope env;
  env.created = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  env.sender = "a@b.test";
  queue::recipient rc;
  rc.address = "c@d.test";
  env.recipients.push_back(rc);
  auto r = (*q)->store(env, "Subject: x\r\n\r\nbody\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(queue_failure_reply(r.error()).format(), "452 4.3.1 Insufficient system storage\r\n");
  q->reset();
  std::filesystem::remove_all(dir);
}

TEST(FreeSpace, AnswersForAnExistingDirectoryOnly) {
  auto f = free_space(std::filesystem::temp_directory_path().string());
  ASSERT_TRUE(f.has_value());
  EXPECT_FALSE(free_space("/nonexistent/mxguard/queue").has_value());
}

}  // namespace
}  // namespace mxg::gateway
