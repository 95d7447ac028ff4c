// BlockingPool: threads for blocking work (SQLite, fsync, file I/O), which must never run on
// an io thread. A coroutine hands a function over and awaits its result with a deadline:
//
//   Result<Row> row = co_await blocking.offload([&] { return store.get(id); },
//                                               deadlines.lookup, "store get");
//
// On expiry the coroutine resumes at once with ERR_TIMEOUT; the function itself cannot be
// interrupted: it finishes on its pool thread and its result is dropped. So the function must
// not capture references that die with the awaiting coroutine when it may time out — capture
// by value (or shared_ptr) what it needs. An exception thrown by the function is rethrown in
// the awaiting coroutine.
//
// The hand-back is an Asio concurrent_channel of capacity 1: the pool thread try_send()s the
// outcome, the coroutine async_receive()s it; the receive honours cancellation, which is what
// lets `||` with a timer abandon it.
#pragma once

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>

#include "runtime/deadline.hpp"

namespace castellan::runtime {

class BlockingPool {
 public:
  explicit BlockingPool(int threads);
  // Waits for the running functions to finish (queued ones still run).
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs fn() on a pool thread; the awaiting coroutine resumes on its own executor.
  // Result<R> for a function returning R (Result<U> is flattened to Result<U>).
  template <class F>
  auto offload(F fn, std::chrono::milliseconds limit, std::string_view what)
      -> boost::asio::awaitable<
          std::conditional_t<detail::IsResult<std::invoke_result_t<F&>>::value,
                             std::invoke_result_t<F&>, Result<std::invoke_result_t<F&>>>>;

  void join();

 private:
  boost::asio::thread_pool pool_;
};

namespace detail {

template <class R>
struct Outcome {
  std::optional<R> value;
  std::exception_ptr error;
};
struct Done {};

}  // namespace detail

template <class F>
auto BlockingPool::offload(F fn, std::chrono::milliseconds limit, std::string_view what)
    -> boost::asio::awaitable<
        std::conditional_t<detail::IsResult<std::invoke_result_t<F&>>::value,
                           std::invoke_result_t<F&>, Result<std::invoke_result_t<F&>>>> {
  using Raw = std::invoke_result_t<F&>;
  using Value = std::conditional_t<std::is_void_v<Raw>, detail::Done, Raw>;
  using Out = std::shared_ptr<detail::Outcome<Value>>;
  using Channel =
      boost::asio::experimental::concurrent_channel<void(boost::system::error_code, Out)>;

  auto executor = co_await boost::asio::this_coro::executor;
  auto channel = std::make_shared<Channel>(executor, 1);
  boost::asio::post(pool_, [channel, fn = std::move(fn)]() mutable {
    auto out = std::make_shared<detail::Outcome<Value>>();
    try {
      if constexpr (std::is_void_v<Raw>) {
        fn();
        out->value.emplace();
      } else {
        out->value.emplace(fn());
      }
    } catch (...) {
      out->error = std::current_exception();
    }
    channel->try_send(boost::system::error_code{}, std::move(out));
  });

  auto received =
      co_await with_deadline(channel->async_receive(boost::asio::use_awaitable), limit, what);
  if (!received) co_return received.error();
  Out out = std::move(received.value());
  if (out->error) std::rethrow_exception(out->error);
  if constexpr (std::is_void_v<Raw>) {
    co_return Result<void>{};
  } else {
    co_return std::move(*out->value);
  }
}

}  // namespace castellan::runtime
