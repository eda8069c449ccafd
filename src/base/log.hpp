// log.hpp: one line per event through spdlog. Text by default, JSON lines
// with --log-json. Every gateway event carries session id and queue id as
// fields ("sid=", "qid=") so `mxguard log trace` can follow one message.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace mxg::log {

enum class format { text, json };

// Configures the process-wide logger: level name ("debug", "info", ...), format,
// and an optional file (empty: stderr).
void init(const std::string& level, format fmt, const std::string& file = "");

}  // namespace mxg::log
