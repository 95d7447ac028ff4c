#include <gtest/gtest.h>

#include <thread>

#include "runtime/circuit_breaker.hpp"
#include "runtime/rate_limiter.hpp"

namespace castellan::runtime {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiterTest, BucketEmptiesThenRefillsWithTime) {
  FakeClock clock;
  auto limiter = RateLimiter::per_minute(clock, 10);  // [api] login_attempts_per_minute
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.try_acquire("alice").allowed) << i;
  auto denied = limiter.try_acquire("alice");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retry_after, 6000ms);            // one token per 6 s
  EXPECT_TRUE(limiter.try_acquire("bob").allowed);  // keys are independent
  clock.advance(5999ms);
  EXPECT_FALSE(limiter.try_acquire("alice").allowed);
  clock.advance(1ms);
  EXPECT_TRUE(limiter.try_acquire("alice").allowed);
  EXPECT_FALSE(limiter.try_acquire("alice").allowed);
  clock.advance(10min);
  EXPECT_DOUBLE_EQ(limiter.available("alice"), 10);  // capped at capacity
  limiter.try_acquire("alice");
  limiter.reset("alice");
  EXPECT_DOUBLE_EQ(limiter.available("alice"), 10);
}

TEST(RateLimiterTest, KeyCountIsBounded) {
  FakeClock clock;
  RateLimiter limiter(clock, 2, 1, 100);
  for (int i = 0; i < 1000; ++i) {
    limiter.try_acquire("user" + std::to_string(i), 2);
    clock.advance(1ms);
  }
  EXPECT_LE(limiter.key_count(), 100u);
  // The most recent keys keep their state.
  EXPECT_FALSE(limiter.try_acquire("user999", 2).allowed);
}

TEST(RateLimiterTest, ConcurrentAcquiresNeverExceedCapacity) {
  FakeClock clock;
  RateLimiter limiter(clock, 1000, 0);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.try_acquire("k").allowed) granted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 1000);
}

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresAndRecoversThroughHalfOpen) {
  FakeClock clock;
  CircuitBreaker b(clock, {.failure_threshold = 3, .open_for = 5s, .half_open_calls = 1});
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  b.record_failure();
  b.record_failure();
  b.record_success();  // resets the streak
  b.record_failure();
  b.record_failure();
  EXPECT_TRUE(b.allow());
  b.record_failure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.allow());
  clock.advance(4999ms);
  EXPECT_FALSE(b.allow());
  clock.advance(1ms);
  EXPECT_EQ(b.state(), CircuitBreaker::State::kHalfOpen);
  EXPECT_TRUE(b.allow());   // the one trial call
  EXPECT_FALSE(b.allow());  // no second one while it runs
  b.record_failure();       // trial failed: open again for a full period
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  clock.advance(5s);
  EXPECT_TRUE(b.allow());
  b.record_success();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.allow());
  EXPECT_EQ(CircuitBreaker::state_name(CircuitBreaker::State::kHalfOpen), "half_open");
}

}  // namespace
}  // namespace castellan::runtime
