#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/result.hpp"
#include "core/thread_name.hpp"
#include "core/writer_first_mutex.hpp"

namespace castellan {
namespace {

// Two readers that always overlap (each takes the lock before the other lets go) must not keep
// a writer out: it gets in while they are still running. (A reader-first lock, such as a
// default std::shared_mutex on glibc, lets the writer in only after they stop.)
TEST(WriterFirstMutex, AWriterGetsInBetweenReadersThatAlwaysOverlap) {
  WriterFirstMutex mu;
  std::atomic<bool> stop{false};
  std::atomic<bool> writer_in{false};
  std::atomic<int> holding{0};
  auto reader = [&] {
    while (!stop) {
      std::shared_lock lock(mu);
      holding.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      // Let go only once the other reader holds too, so the lock is never free of readers.
      // Bounded: once a writer waits, a writer-first lock keeps the other reader out.
      for (int i = 0; i < 500 && holding.load() < 2 && !stop; ++i) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      holding.fetch_sub(1);
    }
  };
  std::thread r1(reader), r2(reader);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::thread writer([&] {
    std::unique_lock lock(mu);
    writer_in = true;
  });
  // Generous: a writer-first lock lets it in within one reader's hold.
  for (int i = 0; i < 500 && !writer_in; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool in_while_readers_ran = writer_in;
  stop = true;
  writer.join();
  r1.join();
  r2.join();
  EXPECT_TRUE(in_while_readers_ran);
}

TEST(Ids, SiteAndEntityIds) {
  EXPECT_TRUE(is_valid_site_id("hq"));
  EXPECT_TRUE(is_valid_site_id("site-2"));
  EXPECT_FALSE(is_valid_site_id("HQ"));
  EXPECT_FALSE(is_valid_site_id(""));
  EXPECT_FALSE(is_valid_site_id(std::string(33, 'a')));
  EXPECT_TRUE(is_valid_id("Door_1.main-east"));
  EXPECT_FALSE(is_valid_id("door/1"));
  EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
}

TEST(Ids, CardUidNormalisation) {
  EXPECT_EQ(*normalize_card_uid("04A1B2C3"), "04a1b2c3");
  EXPECT_FALSE(normalize_card_uid("04A1B2C").has_value()) << "7 digits";
  EXPECT_FALSE(normalize_card_uid(std::string(33, 'a')).has_value());
  EXPECT_FALSE(normalize_card_uid("04A1B2CG").has_value());
}

TEST(Ids, RandomTraceIdsAndUuids) {
  const auto lower_hex = [](std::string_view s) {
    return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  };
  const std::string a = new_trace_id();
  const std::string b = new_trace_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_TRUE(lower_hex(a)) << a;
  EXPECT_NE(a, b);
  const std::string u = new_uuid_v4();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[8], '-');
  EXPECT_EQ(u[13], '-');
  EXPECT_EQ(u[14], '4');                                                         // version
  EXPECT_NE(std::string_view("89ab").find(u[19]), std::string_view::npos) << u;  // variant
  EXPECT_NE(u, new_uuid_v4());
}

// Ids come from a per-thread buffer of CSPRNG bytes: no id repeats across refills or threads,
// and a forked child does not hand out the ids its parent hands out next.
TEST(Ids, NoIdRepeatsAcrossRefillsThreadsOrAFork) {
  std::set<std::string> seen;
  std::mutex mu;
  auto draw = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto id = new_trace_id();
      std::lock_guard lock(mu);
      EXPECT_TRUE(seen.insert(std::move(id)).second);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(draw, 1000);  // ~4 refills per thread
  draw(1000);
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 5000u);

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = new_trace_id();
    const auto written = write(pipe_fds[1], id.data(), id.size());
    _exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  close(pipe_fds[1]);
  const std::string parent_id = new_trace_id();
  std::string child_id(32, '\0');
  EXPECT_EQ(read(pipe_fds[0], child_id.data(), child_id.size()), 32);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_NE(child_id, parent_id);
  EXPECT_FALSE(seen.count(child_id));
}

TEST(ThreadName, NamesTheCallingThreadCutTo15Characters) {
  std::string short_name, long_name;
  std::thread([&] {
    name_this_thread("io-1");
    short_name = this_thread_name();
    name_this_thread("a-name-longer-than-fifteen");
    long_name = this_thread_name();
  }).join();
  EXPECT_EQ(short_name, "io-1");
  EXPECT_EQ(long_name, "a-name-longer-t");
}

TEST(Log, JsonLineShape) {
  EXPECT_EQ(format_json_log("2026-11-22T03:04:05.123Z", "info", "door \"d1\"\nopen", "abc"),
            "{\"ts\":\"2026-11-22T03:04:05.123Z\",\"level\":\"info\",\"msg\":\"door "
            "\\\"d1\\\"\\nopen\",\"trace_id\":\"abc\"}\n");
  EXPECT_EQ(format_json_log("t", "warn", "x", ""),
            "{\"ts\":\"t\",\"level\":\"warn\",\"msg\":\"x\"}\n");
}

TEST(Log, JsonEscapeKeepsTextAndEscapesWhatJsonRequires) {
  EXPECT_EQ(json_escape("plain ASCII, no escapes"), "plain ASCII, no escapes");
  EXPECT_EQ(json_escape("Tür ✓"), "Tür ✓");  // UTF-8 passes through
  EXPECT_EQ(json_escape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_escape("\n\r\t"), "\\n\\r\\t");
  EXPECT_EQ(json_escape(std::string_view("\x01\x1f\0", 3)), "\\u0001\\u001f\\u0000");
  std::string out = "x";
  append_json_escaped(out, "\"q\"");
  EXPECT_EQ(out, "x\\\"q\\\"");
}

TEST(Log, TraceScopeNests) {
  EXPECT_EQ(TraceScope::current(), "");
  {
    TraceScope a("aaaa");
    EXPECT_EQ(TraceScope::current(), "aaaa");
    {
      TraceScope b("bbbb");
      EXPECT_EQ(TraceScope::current(), "bbbb");
    }
    EXPECT_EQ(TraceScope::current(), "aaaa");
  }
  EXPECT_EQ(TraceScope::current(), "");
}

TEST(Result, ValueAndError) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  Result<int> bad = make_error(Code::ERR_NOT_FOUND, "no such door");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Code::ERR_NOT_FOUND);
  Result<void> v;
  EXPECT_TRUE(v.ok());
  Result<void> e = make_error(Code::ERR_UNAVAILABLE, "disk full");
  EXPECT_FALSE(e.ok());
}

}  // namespace
}  // namespace castellan
