// offload.hpp: runs a blocking call (file I/O with fsync, a synchronous queue store)
// on a small process-wide thread pool and resumes the awaiting coroutine on its own
// executor, so the SMTP event loop never waits for a disk.
// Must never: run the function on the caller's thread, or resume the caller on a pool
// thread (the caller's state is single-threaded).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <type_traits>
#include <utility>

namespace mxg::net {

inline constexpr std::size_t kBlockingThreads = 2;  // concurrent blocking calls

// The pool: created at first use, never destroyed (offload.cpp says why).
asio::thread_pool& blocking_pool();

// auto op = [&] { return q.remove(id); };  auto r = co_await offload(op);
// op runs on blocking_pool(); its result comes back on the awaiting coroutine's
// executor. op must return a value and stay alive until the co_await returns (it
// does: the caller is suspended). Taken by reference on purpose: g++ 12 destroys a
// temporary with a destructor (a lambda passed by value) in a co_await's argument
// list twice (GCC PR 100611), so callers pass a named lambda.
template <typename F>
asio::awaitable<std::invoke_result_t<F&>> offload(F& op) {
  using R = std::invoke_result_t<F&>;
  static_assert(!std::is_void_v<R>, "offload: return a value (e.g. result<void>)");
  asio::any_io_executor home = co_await asio::this_coro::executor;
  F* fn = &op;
  auto initiate = [home, fn](auto handler) {
    asio::post(blocking_pool(), [home, fn, h = std::move(handler)]() mutable {
      R r = (*fn)();
      asio::post(home,
                 [h = std::move(h), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
    });
  };
  R out = co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      initiate, asio::use_awaitable);
  co_return out;
}

}  // namespace mxg::net
