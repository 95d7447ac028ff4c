// Racing decisions: pass uses and anti-passback under 8 threads, and snapshot swaps while
// readers decide.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "world.hpp"

namespace castellan::access::testing {
namespace {

constexpr int kThreads = 8;

template <class F>
void race(F&& body) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      body(t);
    });
  }
  go.store(true);
  for (auto& th : threads) th.join();
}

TEST(Concurrency, PassWithNUsesGrantsExactlyNTimes) {
  for (std::uint32_t uses : {1u, 5u, 37u}) {
    World w;
    std::string id = "p" + std::to_string(uses);
    w.pass(id, "deadbeef", {"d1"}, uses);
    w.publish();
    std::atomic<int> grants{0}, exhausted{0};
    race([&](int) {
      for (int i = 0; i < 50; ++i) {
        DecisionResult r = w.swipe("d1", "deadbeef", kWorkday);
        if (r.granted) ++grants;
        if (r.code == Code::ERR_PASS_EXHAUSTED) ++exhausted;
      }
    });
    EXPECT_EQ(grants.load(), static_cast<int>(uses));
    EXPECT_EQ(exhausted.load(), kThreads * 50 - static_cast<int>(uses));
    EXPECT_EQ(w.ledger.used(id), uses);
    auto dirty = w.ledger.take_dirty();
    ASSERT_EQ(dirty.size(), 1u);
    EXPECT_EQ(dirty[0].used, uses);
  }
}

// One uid with many passes, as many uses as swipes: racing swipes pick the same first pass
// that still has a use, and the loser of its last use must go on to another pass, not answer
// 40308 while uses are left. So every swipe is granted.
TEST(Concurrency, RacingSwipesSpreadOverAUidsPassesAndUseThemAll) {
  constexpr int kPerThread = 12;
  constexpr int kPasses = kThreads * kPerThread;
  for (int round = 0; round < 20; ++round) {  // a lost race is likely in a few rounds
    World w;
    for (int i = 0; i < kPasses; ++i) w.pass("p" + std::to_string(i), "deadbeef", {"d1"}, 1);
    w.publish();
    std::atomic<int> grants{0}, exhausted{0};
    race([&](int) {
      for (int i = 0; i < kPerThread; ++i) {
        DecisionResult r = w.swipe("d1", "deadbeef", kWorkday);
        if (r.granted) ++grants;
        if (r.code == Code::ERR_PASS_EXHAUSTED) ++exhausted;
      }
    });
    ASSERT_EQ(exhausted.load(), 0) << "round " << round;
    ASSERT_EQ(grants.load(), kPasses);
    ASSERT_EQ(w.swipe("d1", "deadbeef", kWorkday).code, Code::ERR_PASS_EXHAUSTED);
  }
}

TEST(Concurrency, PassCountSurvivesRebuildsDuringRace) {
  World w;
  w.pass("p", "deadbeef", {"d1"}, 20);
  w.publish();
  std::atomic<int> grants{0};
  std::atomic<bool> done{false};
  std::thread rebuilder([&] {
    while (!done.load()) w.publish();
  });
  race([&](int) {
    for (int i = 0; i < 30; ++i) grants += w.swipe("d1", "deadbeef", kWorkday).granted ? 1 : 0;
  });
  done.store(true);
  rebuilder.join();
  EXPECT_EQ(grants.load(), 20);
}

TEST(Concurrency, AntiPassbackAdmitsOneOfRacingEntries) {
  World w;
  std::atomic<int> grants{0};
  race([&](int t) {
    const char* door = t % 2 ? "apb" : "apb2";
    grants += w.swipe(door, "04a1b2c3", kWorkday).granted ? 1 : 0;
  });
  EXPECT_EQ(grants.load(), 1);
}

TEST(Concurrency, ReadersSeeWholeSnapshotsWhileWriterPublishes) {
  World w;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      // Alternate lockdown; each snapshot is consistent, so the answer is one of two codes.
      w.data.doors["d1"].lockdown = i % 2 == 0;
      w.publish();
    }
    done.store(true);
  });
  std::atomic<int> odd{0};
  race([&](int) {
    while (!done.load()) {
      Code c = w.swipe("d1", "04a1b2c3", kWorkday).code;
      if (c != Code::OK && c != Code::ERR_DOOR_LOCKDOWN) ++odd;
    }
  });
  writer.join();
  EXPECT_EQ(odd.load(), 0);
}

}  // namespace
}  // namespace castellan::access::testing
