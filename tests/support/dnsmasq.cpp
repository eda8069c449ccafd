// dnsmasq.cpp: see dnsmasq.hpp.
#include "support/dnsmasq.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

namespace mxg::test {

namespace {

unsigned short free_udp_port() {
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  unsigned short port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

bool tcp_listening(unsigned short port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

}  // namespace

bool dnsmasq::available() {
  return ::access(kDnsmasqPath, X_OK) == 0;
}

result<std::unique_ptr<dnsmasq>> dnsmasq::start(const std::vector<std::string>& records) {
  if (!available()) return fail(errc::not_found, std::string(kDnsmasqPath) + " not installed");
  for (int attempt = 0; attempt < 5; ++attempt) {
    unsigned short port = free_udp_port();
    if (port < 1024) continue;
    std::vector<std::string> args = {kDnsmasqPath,
                                     "--keep-in-foreground",
                                     "--port=" + std::to_string(port),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--no-poll",
                                     "--conf-file=/dev/null",
                                     "--pid-file=",
                                     "--log-facility=/dev/null"};
    args.insert(args.end(), records.begin(), records.end());
    pid_t pid = ::fork();
    if (pid < 0) return fail(errc::io_error, "fork failed");
    if (pid == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kDnsmasqPath, argv.data());
      ::_exit(127);
    }
    std::unique_ptr<dnsmasq> d(new dnsmasq());
    d->pid_ = pid;
    d->port_ = port;
    for (int i = 0; i < 100; ++i) {  // up to 5 s
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        d->pid_ = -1;
        break;  // exited: port taken or bad option; try another port
      }
      if (tcp_listening(port)) return d;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return fail(errc::io_error, "dnsmasq did not start (bad option or no free port)");
}

dnsmasq::~dnsmasq() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

}  // namespace mxg::test
