// Deadlines (contract §7): every await that can block runs under one.
//
//   Result<Reply> r = co_await with_deadline(client.request(...), deadlines.device, "mqtt reply");
//   if (!r) ... r.error().code == Code::ERR_TIMEOUT (50401)
//
// Implemented with Asio's awaitable `||`: the operation and a steady_timer race inside a
// parallel_group; the loser is cancelled and awaited before with_deadline returns, so a timed
// out operation leaves no task behind. The operation must honour cancellation (every Asio
// operation does); an exception from it propagates unchanged.
//
// The timer is the real steady clock, not the injected Clock: deadlines bound real waiting.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string_view>

#include "core/config.hpp"
#include "core/result.hpp"

namespace castellan::runtime {

// The defaults of contract §7, overridable in [decision].
struct Deadlines {
  std::chrono::milliseconds device{50};     // one device I/O (MQTT publish / reply)
  std::chrono::milliseconds lookup{200};    // a permission lookup
  std::chrono::milliseconds decision{300};  // a whole decision, swipe to published answer

  static Deadlines from_config(const Config& config);
};

// The ERR_TIMEOUT error: "timed out after 50 ms waiting on <what>".
Error timeout_error(std::string_view what, std::chrono::milliseconds limit);

namespace detail {

// The outcome of an operation, exceptions included. Asio's `||` waits for one *success*: an
// operation that throws would let the timer run to its end and read as a timeout, so the
// operation's exception is caught here, carried as a value and rethrown by with_deadline.
template <class T>
struct Captured {
  std::optional<T> value;
  std::exception_ptr error;
};

template <class T>
boost::asio::awaitable<Captured<T>> capture(boost::asio::awaitable<T> op) {
  Captured<T> out;
  try {
    out.value.emplace(co_await std::move(op));
  } catch (...) {
    out.error = std::current_exception();
  }
  co_return out;
}

inline boost::asio::awaitable<std::exception_ptr> capture(boost::asio::awaitable<void> op) {
  std::exception_ptr error;
  try {
    co_await std::move(op);
  } catch (...) {
    error = std::current_exception();
  }
  co_return error;
}

template <class T>
struct IsResult : std::false_type {};
template <class T>
struct IsResult<Result<T>> : std::true_type {};

}  // namespace detail

// Runs `op` with a deadline. Result<T> for awaitable<T>; an awaitable that already yields a
// Result<U> is flattened to Result<U>.
template <class T>
auto with_deadline(boost::asio::awaitable<T> op, std::chrono::milliseconds limit,
                   std::string_view what)
    -> boost::asio::awaitable<std::conditional_t<detail::IsResult<T>::value, T, Result<T>>> {
  using namespace boost::asio::experimental::awaitable_operators;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, limit);
  auto outcome = co_await (detail::capture(std::move(op)) ||
                           timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable)));
  if (outcome.index() == 0) {
    auto& captured = std::get<0>(outcome);
    if (captured.error) std::rethrow_exception(captured.error);
    co_return std::move(*captured.value);
  }
  co_return timeout_error(what, limit);
}

inline boost::asio::awaitable<Result<void>> with_deadline(boost::asio::awaitable<void> op,
                                                          std::chrono::milliseconds limit,
                                                          std::string_view what) {
  using namespace boost::asio::experimental::awaitable_operators;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, limit);
  auto outcome = co_await (detail::capture(std::move(op)) ||
                           timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable)));
  if (outcome.index() == 0) {
    if (auto error = std::get<0>(outcome)) std::rethrow_exception(error);
    co_return Result<void>{};
  }
  co_return timeout_error(what, limit);
}

}  // namespace castellan::runtime
