// spawn.hpp: the completion handler for a detached coroutine (asio::co_spawn) that
// logs what escapes it, instead of asio::detached, which drops exceptions silently.
//   asio::co_spawn(ex, task(), mxg::log_escape("control accept loop"));
// Never rethrows: a task's death is logged at error level with its name.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <string>

namespace mxg {

struct log_escape {
  std::string what;
  explicit log_escape(std::string w) : what(std::move(w)) {}
  void operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      spdlog::error("task died: {}: {}", what, x.what());
    } catch (...) {
      spdlog::error("task died: {}: unknown exception", what);
    }
  }
};

}  // namespace mxg
