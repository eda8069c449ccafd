// log.cpp: process-wide spdlog set-up (stderr or a file, text or JSON lines).
// JSON lines: the message is peer-influenced text (HELO, addresses), so it is escaped
// as a JSON string (RFC 8259 7) by a custom pattern flag, never pasted in raw.
#include "base/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

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

}  // namespace

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
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace mxg::log
