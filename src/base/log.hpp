// log.hpp: one line per event through spdlog. Text by default, JSON lines
// with --log-json. Every gateway event carries session id and queue id as
// fields ("sid=", "qid=") so `mxguard log trace` can follow one message.
#pragma once

#include <spdlog/spdlog.h>

#include <functional>
#include <string>

namespace mxg::log {

enum class format { text, json };

// Configures the process-wide logger: level name ("debug", "info", ...), format,
// and an optional file (empty: stderr).
void init(const std::string& level, format fmt, const std::string& file = "");

// Flush batching. Without a scheduler every record at info and above is written out
// (flushed) at once. With one (the server installs its event loop's post), the first
// record after a flush asks the scheduler to run one flush later (after the current
// event loop turn), so the records of one turn leave in one write(2); the file's
// stdio buffer also writes out whenever it fills (a size threshold). Warnings and
// errors are still flushed at once. Log lines are never part of what makes a message
// durable: the queue's fsyncs are (queue/queue_dir.hpp). A SIGKILL can lose the
// records of the last turn at most. `scheduler` may be called from any thread.
using flush_scheduler = std::function<void(std::function<void()>)>;
void set_flush_scheduler(flush_scheduler scheduler);  // empty: flush per record again
// Flushes now (e.g. before the scheduler's event loop goes away).
void flush();

}  // namespace mxg::log
