// log.cpp: process-wide spdlog set-up (stderr or a file, text or JSON lines).
// JSON lines: the message is peer-influenced text (HELO, addresses), so it is escaped
// as a JSON string (RFC 8259 7) by a custom pattern flag, never pasted in raw.
#include "base/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <memory>
#include <mutex>

namespace mxg::log {

namespace {

// %* in the pattern: the message as the inside of a JSON string.
class json_escaped_message final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char ch : msg.payload) {
      auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            dest.append(u, u + 6);
          } else {
            dest.push_back(ch);  // UTF-8 passes through; invalid bytes are the peer's
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_escaped_message>();
  }
};

std::mutex g_sched_mu;
flush_scheduler g_scheduler;  // guarded by g_sched_mu
std::atomic<bool> g_has_scheduler{false};
std::atomic<bool> g_flush_due{false};  // a scheduled flush has not run yet

// The last sink of the logger: after the real sink took a record, it arranges the
// flush (at once without a scheduler, else one scheduled flush per batch).
class flush_trigger final : public spdlog::sinks::sink {
 public:
  void log(const spdlog::details::log_msg& msg) override {
    if (msg.level < spdlog::level::info) return;  // as flush_on(info) did
    if (msg.level >= spdlog::level::warn || !g_has_scheduler.load(std::memory_order_acquire))
      return flush_logger();
    if (g_flush_due.exchange(true, std::memory_order_acq_rel)) return;  // one is on its way
    flush_scheduler sched;
    {
      std::lock_guard lk(g_sched_mu);
      sched = g_scheduler;
    }
    if (!sched) {
      g_flush_due.store(false, std::memory_order_release);
      return flush_logger();
    }
    sched([w = logger_] {
      g_flush_due.store(false, std::memory_order_release);
      if (auto l = w.lock()) l->flush();  // the logger of a later init() flushes itself
    });
  }
  void flush() override {}
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}
  void attach(std::shared_ptr<spdlog::logger> l) { logger_ = l; }

 private:
  void flush_logger() {
    if (auto l = logger_.lock()) l->flush();
  }
  std::weak_ptr<spdlog::logger> logger_;
};

}  // namespace

void set_flush_scheduler(flush_scheduler scheduler) {
  {
    std::lock_guard lk(g_sched_mu);
    g_scheduler = std::move(scheduler);
    g_has_scheduler.store(static_cast<bool>(g_scheduler), std::memory_order_release);
    g_flush_due.store(false, std::memory_order_release);  // an old one may never run
  }
  flush();
}

void flush() {
  if (auto l = spdlog::get("mxguard")) l->flush();
}

void init(const std::string& level, format fmt, const std::string& file) {
  std::shared_ptr<spdlog::logger> logger;
  spdlog::drop("mxguard");
  if (file.empty()) {
    logger = spdlog::stderr_logger_mt("mxguard");
  } else {
    logger = spdlog::basic_logger_mt("mxguard", file);
  }
  if (fmt == format::json) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<json_escaped_message>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%*"})");
    logger->set_formatter(std::move(f));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  // Flushing is the trigger sink's (see set_flush_scheduler), after the real sink.
  logger->flush_on(spdlog::level::off);
  auto trigger = std::make_shared<flush_trigger>();
  trigger->attach(logger);
  logger->sinks().push_back(trigger);
  spdlog::set_default_logger(logger);
}

}  // namespace mxg::log
