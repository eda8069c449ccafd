// log_test.cpp: flush batching of the process logger (base/log.hpp). Without a
// scheduler every info record reaches the file at once; with one, info records wait
// for the one scheduled flush, warnings are written at once. No timing: the test is
// the scheduler and runs the flushes itself.
#include "base/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class LogFlush : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("mxg-log-test-" + std::to_string(::getpid()) + ".log");
    std::filesystem::remove(path_);
    mxg::log::init("info", mxg::log::format::text, path_.string());
  }
  void TearDown() override {
    mxg::log::set_flush_scheduler({});
    mxg::log::init("info", mxg::log::format::text);  // back to stderr
    std::filesystem::remove(path_);
  }
  std::filesystem::path path_;
};

TEST_F(LogFlush, WithoutSchedulerEveryRecordIsWritten) {
  spdlog::info("first line");
  EXPECT_NE(slurp(path_).find("first line"), std::string::npos);
  spdlog::info("second line");
  EXPECT_NE(slurp(path_).find("second line"), std::string::npos);
}

TEST_F(LogFlush, OneScheduledFlushPerBatch) {
  std::vector<std::function<void()>> posted;
  mxg::log::set_flush_scheduler([&](std::function<void()> f) { posted.push_back(std::move(f)); });
  spdlog::info("a1");
  spdlog::info("a2");
  spdlog::info("a3");
  ASSERT_EQ(posted.size(), 1u);  // one flush for the batch
  EXPECT_EQ(slurp(path_).find("a1"), std::string::npos);
  posted[0]();
  std::string text = slurp(path_);
  EXPECT_NE(text.find("a1"), std::string::npos);
  EXPECT_NE(text.find("a3"), std::string::npos);
  spdlog::info("b1");  // a new batch asks again
  EXPECT_EQ(posted.size(), 2u);
  posted[1]();
  EXPECT_NE(slurp(path_).find("b1"), std::string::npos);
}

TEST_F(LogFlush, WarningsAreWrittenAtOnce) {
  std::vector<std::function<void()>> posted;
  mxg::log::set_flush_scheduler([&](std::function<void()> f) { posted.push_back(std::move(f)); });
  spdlog::info("before the warning");
  spdlog::warn("the warning");
  std::string text = slurp(path_);
  EXPECT_NE(text.find("the warning"), std::string::npos);
  EXPECT_NE(text.find("before the warning"), std::string::npos);  // written with it
}

TEST_F(LogFlush, ExplicitFlushAndRemovingTheScheduler) {
  std::vector<std::function<void()>> posted;
  mxg::log::set_flush_scheduler([&](std::function<void()> f) { posted.push_back(std::move(f)); });
  spdlog::info("pending line");
  mxg::log::flush();
  EXPECT_NE(slurp(path_).find("pending line"), std::string::npos);
  spdlog::info("unflushed line");
  // A scheduler that goes away (its event loop stopped, the flush never ran): removing
  // it writes what is pending, and records are written at once again.
  mxg::log::set_flush_scheduler({});
  EXPECT_NE(slurp(path_).find("unflushed line"), std::string::npos);
  spdlog::info("after removal");
  EXPECT_NE(slurp(path_).find("after removal"), std::string::npos);
}

}  // namespace
