// Crash harness: a child appends from many threads and reports every acknowledged seq through
// a pipe; we SIGKILL it at random moments, reopen (recovery), verify the chain and check that
// every acknowledged record is there with the content the child wrote.
// Half of the kills also simulate a power cut: the page cache loses a random part of what was
// written after the last acknowledged record (torn, unacknowledged frames), which recovery
// must cut and report.
// CASTELLAN_JOURNAL_CRASH_ITERATIONS=N runs longer (default 50); CASTELLAN_JOURNAL_CRASH_SEED
// replays a run.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <sstream>

#include "core/clock.hpp"
#include "journal/export.hpp"
#include "journal/journal.hpp"
#include "journal/verify.hpp"
#include "segment_bytes.hpp"
#include "test_support.hpp"

namespace castellan::journal {
namespace {

using testing::numbered;
using testing::TempDir;

struct AckMessage {
  std::uint64_t seq;
  std::uint32_t thread;
  std::uint32_t index;
};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

// Runs the child with its stdout on a pipe; returns {pid, read end}.
std::pair<pid_t, int> spawn(const std::vector<std::string>& args, bool capture_stdout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {-1, -1};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], capture_stdout ? STDOUT_FILENO : STDERR_FILENO);
    if (!capture_stdout) ::dup2(fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(JOURNAL_TEST_CHILD));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(JOURNAL_TEST_CHILD, argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Simulates a power cut: the unacknowledged frames after the last acknowledged batch are
// lost from a random point on, either cut off (file shorter) or zeroed (pages of a file that
// was grown ahead of its data never reached the disk), or a hole is zeroed inside the last
// write batch with its later frames intact (its pages reached the disk out of order).
void tear_unacknowledged_tail(const std::string& dir,
                              const std::map<std::uint64_t, std::string>& acked,
                              std::mt19937& rng) {
  auto segments = list_segments(dir);
  if (!segments || segments->empty()) return;
  const auto& last = segments->back();
  const std::string bytes = testing::slurp(last.path);
  if (bytes.size() < kSegmentHeaderBytes) return;
  const std::uint64_t max_acked = acked.empty() ? 0 : acked.rbegin()->first;
  std::size_t keep = kSegmentHeaderBytes;
  std::size_t data_end = kSegmentHeaderBytes;
  // Ends of the last two frames that ended a write batch.
  std::size_t end_before = kSegmentHeaderBytes, last_end = kSegmentHeaderBytes;
  bool in_acked_batch = false;
  for (const auto& f : testing::frames_of(bytes)) {
    const bool batch_end = read_frame(bytes, f.offset).batch_end;
    // The whole batch of an acknowledged record was synced before it was acknowledged (the
    // child may have died before it reported the rest of the batch): none of it can be lost.
    if (f.seq <= max_acked || in_acked_batch) {
      keep = f.offset + f.size;
      in_acked_batch = !batch_end;
    }
    data_end = f.offset + f.size;
    if (batch_end) {
      end_before = last_end;
      last_end = data_end;
    }
  }
  // Where the last write batch starts: only its pages can reach the disk out of order.
  const std::size_t last_batch = last_end == data_end ? end_before : last_end;
  if (keep >= data_end) return;
  const std::size_t cut = keep + rng() % (data_end - keep);
  const int mode = static_cast<int>(rng() % 3);
  if (mode == 2 && std::max(keep, last_batch) < data_end) {
    const std::size_t from = std::max(keep, last_batch);
    const std::size_t hole = from + rng() % (data_end - from);
    const std::size_t hole_end = hole + 1 + rng() % (data_end - hole);
    std::string torn = bytes;
    std::fill(torn.begin() + static_cast<std::ptrdiff_t>(hole),
              torn.begin() + static_cast<std::ptrdiff_t>(hole_end), '\0');
    testing::spit(last.path, torn);
  } else if (mode == 0) {
    ::truncate(last.path.c_str(), static_cast<off_t>(cut));
  } else {
    std::string torn = bytes;
    std::fill(torn.begin() + static_cast<std::ptrdiff_t>(cut),
              torn.begin() + static_cast<std::ptrdiff_t>(data_end), '\0');
    testing::spit(last.path, torn);
  }
}

TEST(CrashHarness, EveryAcknowledgedRecordSurvivesSigkill) {
  const int iterations = env_int("CASTELLAN_JOURNAL_CRASH_ITERATIONS", 50);
  const unsigned seed = static_cast<unsigned>(env_int("CASTELLAN_JOURNAL_CRASH_SEED", 20261122));
  std::mt19937 rng(seed);
  SCOPED_TRACE(numbered("seed ", seed));
  TempDir dir;
  // seq -> the user name the child wrote for it
  std::map<std::uint64_t, std::string> acked;
  int cuts = 0;

  for (int it = 0; it < iterations; ++it) {
    SCOPED_TRACE(numbered("iteration ", it));
    auto [pid, fd] = spawn({"crash", dir.path(), std::to_string(it), "8", "16384"}, true);
    ASSERT_GT(pid, 0);
    // Mostly kill while appends are in full flow; sometimes while the child is still opening.
    const bool early = rng() % 5 == 0;
    std::string bytes;
    if (!early) {
      AckMessage first{};
      ASSERT_EQ(::read(fd, &first, sizeof first), static_cast<ssize_t>(sizeof first))
          << "child died before its first acknowledgement";
      bytes.append(reinterpret_cast<const char*>(&first), sizeof first);
    }
    ::usleep(rng() % (early ? 3000 : 15000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    bytes += read_all(fd);
    ::close(fd);
    ASSERT_TRUE(WIFSIGNALED(status) || WEXITSTATUS(status) == 0) << "child failed";
    ASSERT_EQ(bytes.size() % sizeof(AckMessage), 0u);
    for (std::size_t at = 0; at < bytes.size(); at += sizeof(AckMessage)) {
      AckMessage ack{};
      std::memcpy(&ack, bytes.data() + at, sizeof ack);
      const std::string user =
          numbered("it", it) + numbered("-t", ack.thread) + "-" + std::to_string(ack.index);
      auto [pos, inserted] = acked.emplace(ack.seq, user);
      ASSERT_TRUE(inserted) << "seq " << ack.seq << " acknowledged twice: " << pos->second
                            << " and " << user;
    }

    if (rng() % 2 == 0) tear_unacknowledged_tail(dir.path(), acked, rng);

    {  // Reopen: recovery must succeed (and record any cut).
      JournalOptions options;
      options.dir = dir.path();
      options.segment_bytes = 16384;
      auto journal = Journal::open(options, SystemClock::instance());
      ASSERT_TRUE(journal) << journal.error().message;
      if ((*journal)->last_recovery().tail_cut) ++cuts;
    }
    const auto report = verify(dir.path());
    ASSERT_TRUE(report.ok) << report.message;

    std::ostringstream out;
    ASSERT_TRUE(export_jsonl(dir.path(), {}, out));
    std::map<std::uint64_t, std::string> present;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) {
      auto record = parse_json_line(line);
      ASSERT_TRUE(record) << line;
      present.emplace(record->seq, record->user);
    }
    for (const auto& [seq, user] : acked) {
      auto found = present.find(seq);
      ASSERT_NE(found, present.end()) << "acknowledged seq " << seq << " is missing";
      ASSERT_EQ(found->second, user) << "seq " << seq << " holds another record";
    }
  }
  EXPECT_GT(acked.size(), static_cast<std::size_t>(iterations));
  std::printf("crash harness: %d kills, %zu acknowledged records, %d tail cuts\n", iterations,
              acked.size(), cuts);
}

// Runs journal_test_child with `args`; expects exit 0 and its "ok: " line.
void expect_child_ok(const std::vector<std::string>& args) {
  auto [pid, fd] = spawn(args, false);
  ASSERT_GT(pid, 0);
  const std::string output = read_all(fd);
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(output.find("ok: "), std::string::npos) << output;
}

TEST(DiskFull, AppendsFailClearlyAndRecoverWhenSpaceReturns) {
  TempDir dir;
  expect_child_ok({"diskfull", dir.path(), "65536"});
}

TEST(DiskFull, AnIdleJournalFindsOutThatSpaceReturnedAndRecordsTheOutageOnce) {
  TempDir dir;
  expect_child_ok({"diskfull-idle", dir.path(), "65536"});
}

TEST(DiskFull, RecordsSealedBehindAFailedWriteFailWithItAndTheChainResumes) {
  TempDir dir;
  expect_child_ok({"diskfull-behind", dir.path()});
}

}  // namespace
}  // namespace castellan::journal
