// EventFeed alone, over the fake journal: the order and the bounds of what a stream sends.
#include "api/event_feed.hpp"

#include <gtest/gtest.h>

#include "fakes.hpp"

namespace castellan::api::testing {
namespace {

std::string line(std::size_t seq) {
  return "{\"seq\":" + std::to_string(seq) + "}";
}

std::string event(std::size_t seq) {
  return "id: " + std::to_string(seq) + "\ndata: " + line(seq) + "\n\n";
}

TEST(EventFeed, SendsTheReplayBeforeNewRecordsAndEachRecordOnce) {
  FakeEvents journal;
  EventFeed feed;
  feed.follow(journal);
  journal.publish(line(3));  // made while the missed records were read: in both
  journal.publish(line(4));
  feed.replay({line(2), line(3)}, false);
  int wakes = 0;
  feed.attach([&] { ++wakes; }, [] {});
  EXPECT_EQ(feed.take(), event(2) + event(3) + event(4));
  journal.publish(line(4));
  journal.publish(line(5));
  EXPECT_EQ(wakes, 2);
  EXPECT_EQ(feed.take(), event(5));
  EXPECT_EQ(feed.take(), "");
  EXPECT_EQ(feed.state(), EventFeed::State::open);
}

TEST(EventFeed, AReplayThatIsNotAllTheClientMissedEndsTheStreamAndFollowsNothing) {
  FakeEvents journal;
  EventFeed feed;
  feed.follow(journal);
  journal.publish(line(9000));
  feed.replay({line(2), line(3)}, true);
  EXPECT_EQ(journal.subscribers(), 0u);
  EXPECT_EQ(feed.state(), EventFeed::State::ended);
  EXPECT_EQ(feed.take(), event(2) + event(3));
}

TEST(EventFeed, AClientThatFallsTooFarBehindIsDroppedOnce) {
  FakeEvents journal;
  EventFeed feed;
  feed.follow(journal);
  int drops = 0;
  feed.attach([] {}, [&] { ++drops; });
  for (std::size_t i = 1; i <= EventFeed::kMaxQueued; ++i) journal.publish(line(i));
  EXPECT_EQ(feed.state(), EventFeed::State::open);
  journal.publish(line(EventFeed::kMaxQueued + 1));
  journal.publish(line(EventFeed::kMaxQueued + 2));
  EXPECT_EQ(feed.state(), EventFeed::State::dropped);
  EXPECT_EQ(drops, 1);
  // What came before the drop is still given (the writer may be mid-way); nothing after it.
  const std::string taken = feed.take();
  EXPECT_NE(taken.find(event(EventFeed::kMaxQueued)), std::string::npos);
  EXPECT_EQ(taken.find("id: " + std::to_string(EventFeed::kMaxQueued + 1)), std::string::npos);
}

TEST(EventFeed, TakingMakesRoomAgain) {
  FakeEvents journal;
  EventFeed feed;
  feed.follow(journal);
  for (std::size_t round = 0; round < 3; ++round) {
    for (std::size_t i = 1; i <= EventFeed::kMaxQueued; ++i) {
      journal.publish(line(round * EventFeed::kMaxQueued + i));
    }
    EXPECT_FALSE(feed.take().empty());
  }
  EXPECT_EQ(feed.state(), EventFeed::State::open);
}

}  // namespace
}  // namespace castellan::api::testing
