// Child process for the journal's crash and disk-full tests (tests/journal/crash_test.cpp).
//
//   journal_test_child crash DIR ITERATION THREADS SEGMENT_BYTES
//     Appends from THREADS threads forever; after each acknowledgement writes a 16-byte
//     AckMessage to stdout (a pipe; writes this small are atomic). The parent SIGKILLs it.
//   journal_test_child diskfull DIR LIMIT_BYTES
//     Runs under RLIMIT_FSIZE = LIMIT_BYTES until appends fail, checks the failure, raises the
//     limit again and checks that the journal recovers and lost nothing. Exit 0 = all good.
//   journal_test_child diskfull-idle DIR LIMIT_BYTES
//     The same, but once the limit is raised nothing is appended: the journal's own retry must
//     find out, and record the outage once.
//   journal_test_child diskfull-behind DIR
//     Checks that records sealed behind a batch whose write fails fail with it.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "journal/export.hpp"
#include "journal/journal.hpp"
#include "journal/verify.hpp"

using namespace castellan;
using namespace castellan::journal;

namespace {

// prefix + decimal n, without g++ 12's -O3 -Wrestrict false positive on "x" + std::string.
std::string numbered(const char* prefix, long long n) {
  return std::string(prefix).append(std::to_string(n));
}

struct AckMessage {
  std::uint64_t seq;
  std::uint32_t thread;
  std::uint32_t index;
};
static_assert(sizeof(AckMessage) == 16);

JournalRecord sample(const std::string& user, int n) {
  JournalRecord r;
  r.kind = RecordKind::decision;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.site = "hq";
  r.door = numbered("d", n % 8);
  r.req = numbered("r-", n);
  r.card_hash = std::string(64, 'c');
  r.user = user;
  r.decision = n % 7 == 0 ? "deny" : "grant";
  r.code = n % 7 == 0 ? 40305 : 0;
  r.source = "mqtt";
  r.gateway_ip = "127.0.0.1";
  r.latency_us = 150 + n % 50;
  return r;
}

int fail(const std::string& why) {
  std::fprintf(stderr, "journal_test_child: %s\n", why.c_str());
  return 1;
}

int run_crash(const std::string& dir, int iteration, int threads, std::uint64_t segment_bytes) {
  ::signal(SIGPIPE, SIG_IGN);
  JournalOptions options;
  options.dir = dir;
  options.segment_bytes = segment_bytes;
  options.batch_max = 32;
  auto journal = Journal::open(options, SystemClock::instance());
  if (!journal) return fail(journal.error().message);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (std::uint32_t i = 0;; ++i) {
        const std::string user = numbered("it", iteration) + numbered("-t", t) + numbered("-", i);
        auto r = (*journal)->append_and_wait(sample(user, static_cast<int>(i)));
        if (!r) continue;
        AckMessage ack{r->seq, static_cast<std::uint32_t>(t), i};
        if (::write(STDOUT_FILENO, &ack, sizeof ack) != sizeof ack) ::_exit(0);
      }
    });
  }
  for (auto& w : workers) w.join();
  return 0;
}

// Lowers RLIMIT_FSIZE to `limit` and keeps the old limit to raise it again.
bool lower_size_limit(rlim_t limit, rlimit& old) {
  ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit must fail with EFBIG, not kill us
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit low = old;
  low.rlim_cur = limit;
  return ::setrlimit(RLIMIT_FSIZE, &low) == 0;
}

JournalOptions one_segment(const std::string& dir) {
  JournalOptions options;
  options.dir = dir;
  options.segment_bytes = 64ULL << 20;  // one segment: it hits the limit
  // No retry of its own while the checks below append: each of their records is the next seq.
  options.outage_retry = std::chrono::hours(1);
  return options;
}

std::string check_failure(const Error& error) {
  if (error.code != Code::ERR_UNAVAILABLE) return "wrong code: " + error.message;
  if (error.message.find("File too large") == std::string::npos) {
    return "unclear message: " + error.message;
  }
  return {};
}

// After appends failed at the size limit: raises it again and checks that the journal
// resumes on the durable chain, that every acknowledged record survives a reopen and
// `verify`, and that no failed record (users in `failed_users`) is on disk.
int check_recovery(std::unique_ptr<Journal> journal, const JournalOptions& options,
                   std::vector<JournalRecord> acked, const std::vector<std::string>& failed_users,
                   const rlimit& old) {
  if (journal->healthy()) return fail("healthy() is still true after a failed write");
  if (journal->last_error().empty()) return fail("last_error() is empty");
  std::printf("acked %zu records, %zu failed: %s\n", acked.size(), failed_users.size(),
              journal->last_error().c_str());
  std::sort(acked.begin(), acked.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });

  if (::setrlimit(RLIMIT_FSIZE, &old) != 0) return fail("cannot raise the limit again");
  auto resumed = journal->append_and_wait(sample("after", 1));
  if (!resumed) return fail("no recovery after space returned: " + resumed.error().message);
  if (!journal->healthy()) return fail("healthy() false after a successful write");
  if (resumed->seq != acked.back().seq + 1) return fail("failed appends consumed seqs");
  if (resumed->prev != acked.back().hash) return fail("chain broken across the failure");
  acked.push_back(*resumed);
  const auto stats = journal->stats();
  if (stats.failed_batches < 1 || stats.failed_records < failed_users.size()) {
    return fail("failed batches not counted");
  }
  journal.reset();

  auto reopened = Journal::open(options, SystemClock::instance());
  if (!reopened) return fail("reopen: " + reopened.error().message);
  if ((*reopened)->last_recovery().tail_cut) return fail("a failed batch was left on disk");
  reopened->reset();
  const auto report = verify(options.dir);
  if (!report.ok) return fail("verify: " + report.message);
  std::ostringstream out;
  if (!export_jsonl(options.dir, {}, out)) return fail("export failed");
  const std::string text = out.str();
  for (const auto& r : acked) {
    if (text.find(to_json_line(r)) == std::string::npos) {
      return fail(numbered("acknowledged record ", r.seq) + " is missing");
    }
  }
  for (const auto& user : failed_users) {
    if (text.find("\"" + user + "\"") != std::string::npos) {
      return fail("failed record of " + user + " is on disk");
    }
  }
  // The outage itself is on record, once it could be written: when it began and what it refused.
  const auto outage =
      text.find(R"("event":"degradation","state":"off","cause":"journal","since":")");
  if (outage == std::string::npos) return fail("the journal's outage is not on record");
  const auto refused = text.find("\"failed_records\":", outage);
  if (refused == std::string::npos ||
      std::stoull(text.substr(refused + 17)) < failed_users.size()) {
    return fail("the outage's record does not count the refused records");
  }
  std::printf("ok: %zu acknowledged records intact\n", acked.size());
  return 0;
}

// An outage that ends while nobody appends: the journal's own retry finds out, and its record is
// the outage's one record, right after the last acknowledged one.
int check_idle_recovery(std::unique_ptr<Journal> journal, const JournalOptions& options,
                        const std::vector<JournalRecord>& acked,
                        const std::vector<std::string>& failed_users, const rlimit& old) {
  std::this_thread::sleep_for(options.outage_retry * 4);  // retries that fail: not counted
  if (journal->healthy()) return fail("healthy() while the disk is still full");
  if (::setrlimit(RLIMIT_FSIZE, &old) != 0) return fail("cannot raise the limit again");
  for (int i = 0; i < 1000 && !journal->healthy(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!journal->healthy()) return fail("an idle journal never found out that space returned");
  journal.reset();
  std::ostringstream out;
  if (!export_jsonl(options.dir, {}, out)) return fail("export failed");
  const std::string text = out.str();
  const std::string outage = R"("event":"degradation","state":"off","cause":"journal")";
  const auto at = text.find(outage);
  if (at == std::string::npos) return fail("the outage is not on record");
  if (text.find(outage, at + 1) != std::string::npos) return fail("the outage is on record twice");
  const auto line = text.rfind('\n', at) + 1;
  if (text.compare(line, 7, R"({"seq":)") != 0 ||
      std::stoull(text.substr(line + 7)) != acked.back().seq + 1) {
    return fail("the outage's record is not the next seq after the last acknowledged one");
  }
  // The refused records: the first failed append and the three that followed it.
  const auto refused = text.find("\"failed_records\":", at);
  if (refused == std::string::npos) return fail("the outage's record has no failed_records");
  if (const auto n = std::stoull(text.substr(refused + 17)); n != failed_users.size() + 3) {
    return fail(
        numbered("the outage's record counts its own retries, or misses a refused "
                 "record: failed_records ",
                 static_cast<long long>(n)));
  }
  std::printf("ok: the idle journal recovered, outage on record once\n");
  return 0;
}

int run_disk_full(const std::string& dir, rlim_t limit, bool idle) {
  rlimit old{};
  if (!lower_size_limit(limit, old)) return fail("setrlimit failed");
  JournalOptions options = one_segment(dir);
  if (idle) options.outage_retry = std::chrono::milliseconds(50);
  auto opened = Journal::open(options, SystemClock::instance());
  if (!opened) return fail(opened.error().message);
  auto& journal = *opened;

  std::vector<JournalRecord> acked;
  std::vector<std::string> failed_users;
  for (int i = 0; i < 100000 && failed_users.empty(); ++i) {
    auto r = journal->append_and_wait(sample(numbered("u", i), i));
    if (r) {
      acked.push_back(*r);
      continue;
    }
    failed_users.push_back(numbered("u", i));
    if (auto why = check_failure(r.error()); !why.empty()) return fail(why);
  }
  if (failed_users.empty()) return fail("the size limit never made an append fail");
  for (int i = 0; i < 3; ++i) {
    if (journal->append_and_wait(sample("again", i))) return fail("append succeeded while full");
  }
  if (journal->stats().failed_batches < 4) return fail("failed batches not counted");
  if (idle) return check_idle_recovery(std::move(journal), options, acked, failed_users, old);
  return check_recovery(std::move(journal), options, std::move(acked), failed_users, old);
}

// Records sealed behind a batch whose write fails chain onto it: they must fail with it even
// where their own write would fit, and the chain must resume at the durable end. While the
// writer stalls, four large records and then eight small ones are sealed in batches of four;
// the size limit leaves room for the small batches but not for the large one before them.
int run_disk_full_behind(const std::string& dir) {
  JournalOptions options = one_segment(dir);
  options.batch_max = 4;
  auto opened = Journal::open(options, SystemClock::instance());
  if (!opened) return fail(opened.error().message);
  auto& journal = *opened;
  std::vector<JournalRecord> acked;
  for (int i = 0; i < 3; ++i) acked.push_back(*journal->append_and_wait(sample("before", i)));
  // The limit counts from where the data ends (the segment header and the frames written);
  // a write past it fails even inside the zeros the file is grown by.
  const auto data_end = static_cast<rlim_t>(journal->stats().bytes);
  rlimit old{};
  if (!lower_size_limit(data_end + 8 * 1024, old)) return fail("setrlimit failed");

  journal->stall_for(std::chrono::milliseconds(300));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> failed_users;
  std::string wrong;
  int answered = 0;
  for (int i = 0; i < 12; ++i) {
    JournalRecord r = sample(numbered("behind-", i), i);
    if (i < 4) r.extra = "{\"pad\":\"" + std::string(4000, 'x') + "\"}";
    journal->append(std::move(r), [&, i](Result<JournalRecord> result) {
      std::lock_guard lock(mu);
      ++answered;
      if (result) {
        wrong = numbered("record ", i) + " was acknowledged behind a failed write";
      } else {
        failed_users.push_back(numbered("behind-", i));
        if (auto why = check_failure(result.error()); !why.empty()) wrong = why;
      }
      cv.notify_one();
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return answered == 12; });
  }
  if (!wrong.empty()) return fail(wrong);
  return check_recovery(std::move(journal), options, std::move(acked), failed_users, old);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 5 && args[0] == "crash") {
    return run_crash(args[1], std::stoi(args[2]), std::stoi(args[3]), std::stoull(args[4]));
  }
  if (args.size() == 3 && (args[0] == "diskfull" || args[0] == "diskfull-idle")) {
    return run_disk_full(args[1], static_cast<rlim_t>(std::stoull(args[2])),
                         args[0] == "diskfull-idle");
  }
  if (args.size() == 2 && args[0] == "diskfull-behind") return run_disk_full_behind(args[1]);
  std::fprintf(stderr,
               "usage: journal_test_child crash DIR ITERATION THREADS SEGMENT_BYTES\n"
               "       journal_test_child diskfull|diskfull-idle DIR LIMIT_BYTES\n"
               "       journal_test_child diskfull-behind DIR\n");
  return 2;
}
