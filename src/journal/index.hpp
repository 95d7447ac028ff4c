// EventIndex: the query index behind GET /v1/events.
//
// One fixed-size entry per record (seq, ts, where the frame is, and 64-bit hashes of door,
// user and decision plus the kind) kept in memory and mirrored to DIR/index.dat. The file is
// a cache derived from the segments: it is appended after each durable batch but never
// fsynced, and on open it is checked against the segments (contiguous seqs, first seq = the
// first retained record, nothing past the last intact record, the last entry pointing at an
// intact frame with its seq). What is missing is scanned from the segments; anything
// inconsistent makes it rebuild from scratch.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "journal/file_io.hpp"
#include "journal/record.hpp"
#include "journal/segment.hpp"

namespace castellan::journal {

struct IndexEntry {
  std::uint64_t seq = 0;
  std::int64_t ts_us = 0;
  std::uint64_t segment = 0;  // first seq of the segment holding the frame
  std::uint64_t offset = 0;   // frame offset in that segment
  std::uint64_t door_h = 0;
  std::uint64_t user_h = 0;
  std::uint64_t decision_h = 0;
  std::uint64_t kind = 0;
};
static_assert(sizeof(IndexEntry) == 64);

// FNV-1a, 64-bit: cheap prefilter; matches are confirmed on the record itself.
std::uint64_t filter_hash(std::string_view text);

IndexEntry make_index_entry(const JournalRecord& record, std::uint64_t segment,
                            std::uint64_t offset);

// The highest seq DIR/index.dat lists (0: none, no file, or not a run of consecutive seqs).
// An entry is written only once its record's batch is fdatasync'ed, so a seq listed here was
// acknowledged: segments that end before it have lost acknowledged records (the newest
// segments deleted, a file cut short).
std::uint64_t highest_indexed_seq(const std::string& dir);

class EventIndex {
 public:
  // Loads DIR/index.dat and reconciles it with `segments` (whose last intact seq is
  // `last_seq`). Sets `rebuilt` when the file was missing or stale. If the file lists seqs past
  // `last_seq` (see highest_indexed_seq), calls `on_lost` with the highest before it changes
  // the file.
  static Result<EventIndex> load(const std::string& dir, const std::vector<SegmentFile>& segments,
                                 std::uint64_t last_seq, bool& rebuilt,
                                 const std::function<void(std::uint64_t)>& on_lost = {});

  // Adds entries of a durable batch to memory; append_to_file() then writes them (a best
  // effort). Two steps, so that the write, which a stalled disk can hold up, is made without
  // the lock that readers of the entries take.
  void append(std::span<const IndexEntry> entries);
  void append_to_file(std::span<const IndexEntry> entries);
  // Retention removed every segment before `first_seq`: forgets their entries in memory.
  void drop_before(std::uint64_t first_seq);
  // Frees the file's dropped prefix by punching it out as a hole (no copy; a file system
  // without holes gets a rewrite once dropped entries outnumber live ones). A file with a
  // dropped prefix is still valid: load() skips the hole and entries before the first segment.
  void compact_file();

  // A deque: retention drops from the front without moving what stays.
  const std::deque<IndexEntry>& entries() const { return entries_; }
  const std::string& dir() const { return dir_; }

 private:
  void rewrite_file();

  std::string dir_;
  std::string path_;
  std::deque<IndexEntry> entries_;
  std::size_t file_dropped_ = 0;  // entries at the start of the file no longer in memory
  Fd file_;
};

}  // namespace castellan::journal
