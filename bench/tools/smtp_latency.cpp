// smtp_latency.cpp: an SMTP load generator that measures, on the client side, the time
// from the end of DATA (the "." line sent) to the 250 reply, which is what a sending
// MTA waits for while the server makes the message durable (issue 13 section 1).
// Like postfix's smtp-source: SESSIONS concurrent clients, one message per connection
// (connect, EHLO, MAIL, RCPT, DATA, the message, QUIT), until MSGS messages are sent.
// Prints one line of key=value pairs: messages, failures, wall seconds, messages per
// second, and p50/p90/p99/max of the end-of-DATA -> 250 latency in milliseconds.
// With RATE > 0 the load is offered at RATE messages per second instead of as fast as
// the server answers: message k is started at start + k/RATE by the next free client
// (at most SESSIONS at once), so two servers can be compared at the same load; `late`
// counts messages started more than 1 ms after their time (the server, or the
// clients, could not keep up: the offered rate was not held).
//
// Usage: smtp_latency HOST PORT SESSIONS MSGS SIZE [RATE]
// No dependency beyond POSIX sockets and threads, so it can be pinned to its own cores
// (taskset) apart from the server it measures.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct conn {
  int fd = -1;
  std::string in;

  ~conn() {
    if (fd >= 0) ::close(fd);
  }
  bool send_all(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads one whole reply (the last line has a space after the code); its code or -1.
  int reply() {
    for (;;) {
      std::size_t start = 0;
      for (;;) {
        auto nl = in.find("\r\n", start);
        if (nl == std::string::npos) break;
        if (nl - start >= 4 && in[start + 3] == ' ') {
          int code = std::atoi(in.substr(start, 3).c_str());
          in.erase(0, nl + 2);
          return code;
        }
        if (nl - start < 4) {  // malformed
          in.erase(0, nl + 2);
          return -1;
        }
        start = nl + 2;
      }
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return -1;
      in.append(buf, static_cast<std::size_t>(n));
    }
  }
};

struct shared_state {
  sockaddr_in addr{};
  std::string message;  // the DATA content with the final "."
  std::atomic<long> left{0};
  double rate = 0;  // offered messages per second; 0: closed loop
  clock_type::time_point start;
  std::atomic<long> next{0}, late{0};
  std::atomic<long> done{0}, failed{0};
  std::mutex mu;
  std::vector<double> lat_ms;  // end of DATA -> 250
};

bool one_message(shared_state& st, double& lat_ms) {
  conn c;
  c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (c.fd < 0) return false;
  int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&st.addr), sizeof st.addr) != 0)
    return false;
  if (c.reply() != 220) return false;
  if (!c.send_all("EHLO client.bench.test\r\n") || c.reply() != 250) return false;
  if (!c.send_all("MAIL FROM:<src@bench.test>\r\n") || c.reply() != 250) return false;
  if (!c.send_all("RCPT TO:<dst@bench.test>\r\n") || c.reply() != 250) return false;
  if (!c.send_all("DATA\r\n") || c.reply() != 354) return false;
  auto t0 = clock_type::now();
  if (!c.send_all(st.message)) return false;
  int code = c.reply();
  auto t1 = clock_type::now();
  if (code != 250) return false;
  lat_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  if (c.send_all("QUIT\r\n")) (void)c.reply();
  return true;
}

void worker(shared_state& st) {
  std::vector<double> mine;
  while (st.left.fetch_sub(1) > 0) {
    if (st.rate > 0) {
      long k = st.next.fetch_add(1);
      auto due = st.start + std::chrono::duration_cast<clock_type::duration>(
                                std::chrono::duration<double>(static_cast<double>(k) / st.rate));
      auto now = clock_type::now();
      if (now < due)
        std::this_thread::sleep_until(due);
      else if (now - due > std::chrono::milliseconds(1))
        ++st.late;
    }
    double ms = 0;
    if (one_message(st, ms)) {
      mine.push_back(ms);
      ++st.done;
    } else {
      ++st.failed;
    }
  }
  std::lock_guard lk(st.mu);
  st.lat_ms.insert(st.lat_ms.end(), mine.begin(), mine.end());
}

double pct(const std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: %s HOST PORT SESSIONS MSGS SIZE [RATE]\n", argv[0]);
    return 2;
  }
  shared_state st;
  st.addr.sin_family = AF_INET;
  st.addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[2])));
  if (::inet_pton(AF_INET, argv[1], &st.addr.sin_addr) != 1) {
    std::fprintf(stderr, "bad IPv4 address %s\n", argv[1]);
    return 2;
  }
  int sessions = std::max(1, std::atoi(argv[3]));
  long msgs = std::max(1L, std::atol(argv[4]));
  std::size_t size = static_cast<std::size_t>(std::max(0L, std::atol(argv[5])));
  // Header, then lines of 78 characters up to SIZE bytes, then the final dot.
  std::string m = "From: <src@bench.test>\r\nTo: <dst@bench.test>\r\nSubject: latency\r\n\r\n";
  while (m.size() < size) m += std::string(78, 'x') + "\r\n";
  m += ".\r\n";
  st.message = std::move(m);
  st.left = msgs;
  if (argc == 7) st.rate = std::max(0.0, std::atof(argv[6]));
  auto t0 = clock_type::now();
  st.start = t0;
  std::vector<std::thread> ts;
  for (int i = 0; i < sessions; ++i) ts.emplace_back([&st] { worker(st); });
  for (auto& t : ts) t.join();
  double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::sort(st.lat_ms.begin(), st.lat_ms.end());
  std::printf(
      "messages=%ld failed=%ld wall_s=%.3f rate=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
      "max_ms=%.2f offered=%.0f late=%ld\n",
      st.done.load(), st.failed.load(), wall, static_cast<double>(st.done.load()) / wall,
      pct(st.lat_ms, 50), pct(st.lat_ms, 90), pct(st.lat_ms, 99),
      st.lat_ms.empty() ? 0.0 : st.lat_ms.back(), st.rate, st.late.load());
  return st.failed.load() == 0 ? 0 : 1;
}
