// Fuzzes parse_json_line() (record.hpp): a journal line comes back from disk, from an export
// an operator hands in, or from a segment edited by hand, and verify, recovery and queries parse
// it. Invariants:
// - what parses can be re-encoded (queries and the event stream do) into a line that parses;
// - what the writer would seal from the parsed record (after validate_and_normalize) reads back
//   as the same record (ts kept to the millisecond, as it is written) and the same bytes: verify
//   re-encodes every record it reads and compares, and the hash chain covers those bytes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "journal/record.hpp"

using namespace castellan::journal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_json_line(line);
  if (!parsed) return 0;
  FUZZ_CHECK(parse_json_line(to_json_line(*parsed)).ok(), "a parsed record re-encodes readably");

  JournalRecord record = *parsed;
  if (!validate_and_normalize(record)) return 0;
  record.hash = compute_hash(record);
  const std::string sealed = to_json_line(record);
  auto back = parse_json_line(sealed);
  FUZZ_CHECK(back.ok(), "a sealed line parses");
  JournalRecord expected = record;
  expected.ts = std::chrono::floor<std::chrono::milliseconds>(expected.ts);
  FUZZ_CHECK(*back == expected, "a sealed record reads back as the same record");
  FUZZ_CHECK(to_json_line(*back) == sealed, "a sealed line reads back as the same bytes");
  FUZZ_CHECK(compute_hash(*back) == back->hash, "a sealed record's hash checks out");
  return 0;
}
