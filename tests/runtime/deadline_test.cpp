#include "runtime/deadline.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "runtime/blocking_pool.hpp"
#include "runtime/task_group.hpp"
#include "test_support.hpp"

namespace castellan::runtime {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::run_sync;

asio::awaitable<int> never_answers(std::atomic<int>* cancelled) {
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(1));
  try {
    co_await timer.async_wait(asio::use_awaitable);
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) cancelled->fetch_add(1);
    throw;
  }
  co_return 1;
}

asio::awaitable<int> answers(int v) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  co_return v;
}

asio::awaitable<Result<int>> fails() {
  co_return make_error(Code::ERR_CARD_UNKNOWN, "no such card");
}

asio::awaitable<int> throws() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  throw std::logic_error("bug");
}

struct DeadlineTest : ::testing::Test {
  FakeClock clock;
  TaskRegistry registry{clock};
  IoPool pool{2};
};

TEST_F(DeadlineTest, ExpiryGivesErrTimeoutCancelsTheOperationAndLeavesNoTask) {
  TaskGroup group(registry, "decisions");
  std::atomic<int> cancelled{0};
  std::optional<Result<int>> outcome;
  std::atomic<bool> finished{false};
  group.spawn(pool.executor(), "decide", [&](TaskRef) -> asio::awaitable<void> {
    outcome.emplace(co_await with_deadline(never_answers(&cancelled), 20ms, "device reply"));
    finished = true;
  });
  ASSERT_TRUE(eventually([&] { return finished.load() && group.size() == 0; }));
  ASSERT_FALSE(outcome->ok());
  EXPECT_EQ(outcome->error().code, Code::ERR_TIMEOUT);
  EXPECT_EQ(static_cast<int>(outcome->error().code), 50401);
  EXPECT_EQ(outcome->error().message, "timed out after 20 ms waiting on device reply");
  EXPECT_EQ(cancelled.load(), 1);  // the inner await was cancelled, not abandoned
  EXPECT_EQ(registry.active_count(), 0u);
}

TEST_F(DeadlineTest, ValueInTimeIsReturned) {
  auto r = run_sync(pool, with_deadline(answers(42), 10s, "x"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
}

TEST_F(DeadlineTest, ResultIsFlattenedAndErrorsPassThrough) {
  Result<int> r = run_sync(pool, with_deadline(fails(), 10s, "lookup"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::ERR_CARD_UNKNOWN);
}

TEST_F(DeadlineTest, VoidOperations) {
  auto ok = run_sync(pool, [](asio::any_io_executor ex) -> asio::awaitable<Result<void>> {
    asio::steady_timer t(ex, 1ms);
    co_return co_await with_deadline(t.async_wait(asio::use_awaitable), 10s, "tick");
  }(pool.executor()));
  EXPECT_TRUE(ok.ok());
  auto late = run_sync(pool, [](asio::any_io_executor ex) -> asio::awaitable<Result<void>> {
    asio::steady_timer t(ex, std::chrono::hours(1));
    co_return co_await with_deadline(t.async_wait(asio::use_awaitable), 5ms, "tick");
  }(pool.executor()));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Code::ERR_TIMEOUT);
}

TEST_F(DeadlineTest, ExceptionsPropagate) {
  EXPECT_THROW(run_sync(pool, with_deadline(throws(), 10s, "x")), std::logic_error);
}

TEST_F(DeadlineTest, ContractDefaultsAndConfig) {
  Deadlines d;
  EXPECT_EQ(d.device, 50ms);
  EXPECT_EQ(d.lookup, 200ms);
  EXPECT_EQ(d.decision, 300ms);
  Config c;
  c.decision.device_timeout_ms = 70;
  c.decision.lookup_timeout_ms = 150;
  c.decision.timeout_ms = 400;
  d = Deadlines::from_config(c);
  EXPECT_EQ(d.device, 70ms);
  EXPECT_EQ(d.lookup, 150ms);
  EXPECT_EQ(d.decision, 400ms);
}

TEST_F(DeadlineTest, OffloadRunsOffTheIoThreads) {
  BlockingPool blocking(2);
  std::atomic<bool> on_io_thread{true};
  auto r = run_sync(pool, blocking.offload(
                              [&] {
                                on_io_thread = pool.in_worker_thread();
                                return std::string("row");
                              },
                              10s, "store get"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "row");
  EXPECT_FALSE(on_io_thread.load());
  auto v = run_sync(pool, blocking.offload([] {}, 10s, "fsync"));
  EXPECT_TRUE(v.ok());
  auto flat = run_sync(
      pool, blocking.offload([] { return Result<int>(make_error(Code::ERR_NOT_FOUND, "gone")); },
                             10s, "store get"));
  ASSERT_FALSE(flat.ok());
  EXPECT_EQ(flat.error().code, Code::ERR_NOT_FOUND);
}

TEST_F(DeadlineTest, OffloadTimesOutWithoutWaitingForTheBlockingCall) {
  BlockingPool blocking(1);
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto r = run_sync(pool, blocking.offload(
                              [release] {
                                while (!release->load()) std::this_thread::yield();
                                return 1;
                              },
                              10ms, "slow fsync"));
  ASSERT_FALSE(r.ok());  // came back while the call is still blocked
  EXPECT_EQ(r.error().code, Code::ERR_TIMEOUT);
  release->store(true);
  blocking.join();
}

TEST_F(DeadlineTest, OffloadRethrowsExceptions) {
  BlockingPool blocking(1);
  EXPECT_THROW(
      run_sync(pool, blocking.offload([]() -> int { throw std::out_of_range("bad"); }, 10s, "x")),
      std::out_of_range);
}

}  // namespace
}  // namespace castellan::runtime
