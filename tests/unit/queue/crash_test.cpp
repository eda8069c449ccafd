// crash_test.cpp: kill -9 at random moments while messages are being committed.
// A child process stores messages from several threads (both the in-memory and the
// streaming writer) and reports each id on a pipe only AFTER the writer said it is
// committed (the moment the server would answer 250). The parent SIGKILLs it at a
// random moment, then runs recovery and checks that every reported message is there
// intact, that nothing was quarantined, and that no partial file is left visible.
// Bounded: kRounds kills, each after at most kRoundDeadline.
// (SIGKILL keeps the page cache, so this proves the rename protocol, not fsync; the
// fsync ordering is checked by QueueDir.CallbackOnlyAfterDirectoryFsync.)
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "queue/queue_dir.hpp"
#include "temp_dir.hpp"

namespace mxg::queue {
namespace {

namespace fs = std::filesystem;

constexpr int kRounds = 6;
constexpr int kChildThreads = 6;
constexpr auto kRoundDeadline = std::chrono::seconds(10);

// The message with sequence number seq: its size varies, its bytes depend on seq.
std::string make_data(std::uint64_t seq) {
  std::string s =
      "Received: from crash.test\r\nSubject: crash test " + std::to_string(seq) + "\r\n\r\n";
  std::size_t body = 100 + (seq % 7) * 9000;
  for (std::size_t i = 0; i < body; ++i) s += static_cast<char>('a' + (seq + i) % 26);
  s += "\r\n";
  return s;
}

[[noreturn]] void child_main(const fs::path& dir, queue_format format, int wfd) {
  options o;
  o.dir = dir;
  o.format = format;
  auto q = queue_dir::open(o);
  if (!q || !(*q)->lock()) _exit(2);
  std::atomic<std::uint64_t> seq{static_cast<std::uint64_t>(::getpid()) * 1000000};
  std::vector<std::thread> ts;
  for (int t = 0; t < kChildThreads; ++t)
    ts.emplace_back([&, t] {
      for (;;) {
        std::uint64_t n = seq++;
        envelope e;
        e.created = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        e.sender = "crash@test";
        e.recipients.push_back({"r" + std::to_string(n) + "@test", rcpt_status::pending, "", {}});
        e.mode = delivery_mode::hold;
        e.set_extra("seq", std::to_string(n));
        std::string data = make_data(n);
        result<queue_id> r;
        if (t % 2 == 0) {
          r = (*q)->store(e, data);
        } else {
          auto w = (*q)->begin();
          if (!w) _exit(3);
          for (std::size_t off = 0; off < data.size(); off += 4096)
            if (!w->append(std::string_view(data).substr(off, 4096))) _exit(3);
          r = (*q)->store(std::move(*w), e);
        }
        if (!r) _exit(4);
        std::string line = r->str() + " " + std::to_string(n) + "\n";
        if (::write(wfd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
      }
    });
  for (auto& th : ts) th.join();
  _exit(0);
}

// Both queue formats (issue 13 section 2): split (A, .data + .ctl) and single (B, .msg).
class QueueCrash : public ::testing::TestWithParam<queue_format> {};

TEST_P(QueueCrash, KillNineNeverLosesACommittedMessage) {
  const queue_format format = GetParam();
  test::temp_dir t;
  const fs::path dir = t.path() / "q";
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::map<queue_id, std::uint64_t> reported;  // over all rounds
  std::size_t total_seen = 0;

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_main(dir, format, fds[1]);
    }
    ::close(fds[1]);
    // Wait for a random number of commits (0..40), then a random extra delay, then kill.
    const std::size_t want = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
    std::string buf;
    std::size_t lines = 0;
    auto deadline = std::chrono::steady_clock::now() + kRoundDeadline;
    while (lines < want && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char chunk[4096];
      ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
      lines = static_cast<std::size_t>(std::count(buf.begin(), buf.end(), '\n'));
    }
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(rng)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with status " << WEXITSTATUS(status);
    for (;;) {  // what the child reported before it died
      char chunk[4096];
      ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    std::istringstream in(buf);
    std::string id_text;
    std::uint64_t seq = 0;
    while (in >> id_text >> seq) {
      auto id = queue_id::parse(id_text);
      ASSERT_TRUE(id);
      reported[*id] = seq;
    }

    // Restart: recovery must find every reported message whole, and nothing else odd.
    options o;
    o.dir = dir;
    o.format = format;
    auto q = queue_dir::open(o);
    ASSERT_TRUE(q);
    ASSERT_TRUE((*q)->lock());
    auto rep = (*q)->recover();
    ASSERT_TRUE(rep) << rep.error().message;
    EXPECT_TRUE(rep->corrupt.empty()) << rep->corrupt.front();
    std::map<queue_id, const envelope*> found;
    for (const auto& e : rep->messages) found[e.id] = &e;
    for (const auto& [id, n] : reported) {
      auto it = found.find(id);
      ASSERT_NE(it, found.end()) << "committed message " << id.str() << " lost";
      ASSERT_NE(it->second->find_extra("seq"), nullptr);
      EXPECT_EQ(*it->second->find_extra("seq"), std::to_string(n));
    }
    for (const auto& e : rep->messages) {  // reported or not: every visible one is whole
      auto data = (*q)->read_data(e.id);
      ASSERT_TRUE(data);
      ASSERT_NE(e.find_extra("seq"), nullptr);
      EXPECT_EQ(*data, make_data(std::stoull(*e.find_extra("seq")))) << e.id.str();
    }
    EXPECT_TRUE(test::entries(dir / "tmp").empty());
    // A: a .data and a .ctl per message; B: one .msg (no .st: nothing was updated).
    EXPECT_EQ(test::entries(dir / "messages").size(),
              (format == queue_format::split ? 2 : 1) * rep->messages.size());
    total_seen = rep->messages.size();
  }
  EXPECT_GE(total_seen, reported.size());
  RecordProperty("reported_committed", static_cast<int>(reported.size()));
  RecordProperty("in_queue", static_cast<int>(total_seen));
}

INSTANTIATE_TEST_SUITE_P(Formats, QueueCrash,
                         ::testing::Values(queue_format::split, queue_format::single),
                         [](const auto& info) { return std::string(to_string(info.param)); });

}  // namespace
}  // namespace mxg::queue
