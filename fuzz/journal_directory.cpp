// Fuzzes what reads a journal directory at start and on `castellan journal verify`: the input
// becomes the only segment file of a scratch directory (segment_input.hpp), which verify() and
// then recover_journal() read. Recovery may cut the segment's tail, as it would at a start.
//
// Invariants: what verify finds intact, recovery keeps whole; and recovery is idempotent (a
// second start after it finds nothing to cut and the same last record).
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "fuzz_check.hpp"
#include "journal/recovery.hpp"
#include "journal/segment.hpp"
#include "journal/verify.hpp"
#include "segment_input.hpp"

namespace {

namespace fs = std::filesystem;
using namespace castellan::journal;

// A directory of our own for the run, removed at exit. Under /dev/shm when there is one:
// recovery syncs what it cuts and notes, which costs nothing on tmpfs and a disk wait elsewhere.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    std::error_code ec;
    const fs::path base =
        access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm") : fs::temp_directory_path(ec);
    path = (base / "castellan-fuzz-journal-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(path.data()) != nullptr, "a scratch directory can be made");
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ScratchDir scratch;
  const std::string& dir = scratch.path;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directory(dir, ec);
  const std::string path = dir + "/" + segment_file_name(1);
  {
    const std::string segment = castellan::fuzz::segment_from_input(data, size);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(segment.data(), static_cast<std::streamsize>(segment.size()));
    FUZZ_CHECK(out.good(), "the segment file is written");
  }

  // No writer runs: nothing at the end of the segment can still be a batch being written.
  const VerifyReport verified = verify(dir, VerifyOptions{.settle = std::chrono::milliseconds(0)});

  auto first = recover_journal(dir);
  if (verified.ok) {
    FUZZ_CHECK(first.ok(), "a journal that verifies intact can be recovered");
    FUZZ_CHECK(!first->report.tail_cut, "recovery cuts nothing from a journal that verifies");
    FUZZ_CHECK(first->last_seq == verified.last_seq, "recovery continues after the verified end");
  }
  if (!first) return 0;
  FUZZ_CHECK(first->report.last_seq == first->last_seq, "the report names the last seq kept");
  FUZZ_CHECK(fs::file_size(path, ec) >= first->active_size && !ec,
             "the segment holds at least what recovery says it keeps");
  if (first->report.tail_cut) {
    FUZZ_CHECK(fs::file_size(path, ec) == first->active_size, "a cut segment ends at the cut");
  }

  auto second = recover_journal(dir);
  FUZZ_CHECK(second.ok(), "a recovered journal can be recovered again");
  FUZZ_CHECK(!second->report.tail_cut, "a second recovery cuts nothing");
  FUZZ_CHECK(second->last_seq == first->last_seq && second->last_hash == first->last_hash &&
                 second->active_size == first->active_size,
             "a second recovery ends where the first did");
  return 0;
}
