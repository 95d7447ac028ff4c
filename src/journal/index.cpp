#include "journal/index.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace castellan::journal {
namespace {

constexpr std::string_view kIndexMagic = "CSTLIDX1";
constexpr std::size_t kIndexHeaderBytes = 16;
// The first block (the header and the oldest entries) is never punched out, so the header
// stays; a dropped prefix becomes a hole from here on.
constexpr std::uint64_t kIndexHoleFrom = 4096;

// Adds entries for every intact record with seq > after_seq. What cannot be read or parsed is
// logged: queries and start-up replays would not see it.
void scan_segments(const std::vector<SegmentFile>& segments, std::uint64_t after_seq,
                   std::deque<IndexEntry>& out) {
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i + 1 < segments.size() && segments[i + 1].first_seq <= after_seq + 1) continue;
    auto bytes = read_to_end(segments[i].path);
    if (!bytes) {
      spdlog::error(
          "journal index: {}; its records and those after it are left out of queries until a "
          "restart",
          bytes.error().message);
      return;
    }
    std::uint64_t offset = kSegmentHeaderBytes;
    for (;;) {
      auto frame = read_frame(*bytes, offset);
      if (frame.status != FrameStatus::ok) break;
      if (frame.seq > after_seq) {
        auto record = parse_json_line(frame.payload);
        if (record) {
          out.push_back(make_index_entry(*record, segments[i].first_seq, offset));
        } else {
          spdlog::error("journal index: record {} in {} does not parse and is left out of queries",
                        frame.seq, segments[i].path);
        }
      }
      offset = frame.next_offset;
    }
  }
}

// Whether `entry` points at an intact frame carrying its seq.
bool points_at_frame(const std::string& dir, const IndexEntry& entry) {
  const std::string path = dir + "/" + segment_file_name(entry.segment);
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return false;
  auto bytes = pread_frame(fd->get(), entry.offset, path);
  if (!bytes) return false;
  auto frame = read_frame(*bytes, 0);
  return frame.status == FrameStatus::ok && frame.seq == entry.seq;
}

// The entries of DIR/index.dat and how many entries of the file come before the first one
// returned: a dropped prefix is a hole in the file (EventIndex::compact_file), skipped.
std::deque<IndexEntry> read_index_file(const std::string& path, std::size_t& skipped) {
  std::deque<IndexEntry> entries;
  skipped = 0;
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return entries;
  auto header = pread_exact(fd->get(), 0, kIndexHeaderBytes, path);
  if (!header || std::string_view(*header).substr(0, kIndexMagic.size()) != kIndexMagic) {
    return entries;
  }
  const off_t size = ::lseek(fd->get(), 0, SEEK_END);
  if (size <= static_cast<off_t>(kIndexHeaderBytes)) return entries;
  // Holes start at the second block; data found after one begins past the dropped prefix.
  // (Without SEEK_DATA a hole reads as zeros: entries with seq 0, skipped like any dropped one.)
  std::uint64_t start = kIndexHeaderBytes;
  if (size > static_cast<off_t>(kIndexHoleFrom)) {
    const off_t data = ::lseek(fd->get(), static_cast<off_t>(kIndexHoleFrom), SEEK_DATA);
    if (data > static_cast<off_t>(kIndexHoleFrom) || (data < 0 && errno == ENXIO)) {
      const auto from = static_cast<std::uint64_t>(data < 0 ? size : data);
      skipped = (from - kIndexHeaderBytes + sizeof(IndexEntry) - 1) / sizeof(IndexEntry);
      start = kIndexHeaderBytes + skipped * sizeof(IndexEntry);
    }
  }
  if (static_cast<std::uint64_t>(size) <= start) return entries;
  auto bytes = pread_exact(fd->get(), start, static_cast<std::uint64_t>(size) - start, path);
  if (!bytes) return entries;
  const std::size_t n = bytes->size() / sizeof(IndexEntry);
  for (std::size_t i = 0; i < n; ++i) {
    IndexEntry e;
    std::memcpy(&e, bytes->data() + i * sizeof(IndexEntry), sizeof e);
    entries.push_back(e);
  }
  return entries;
}

}  // namespace

std::uint64_t filter_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The highest seq of `entries` if they are a run of consecutive seqs, as the writer leaves them
// (a hole reads as seq 0 entries first); 0 otherwise: a damaged file proves nothing.
std::uint64_t highest_consecutive_seq(const std::deque<IndexEntry>& entries) {
  std::size_t i = 0;
  while (i < entries.size() && entries[i].seq == 0) ++i;
  for (std::size_t k = i + 1; k < entries.size(); ++k) {
    if (entries[k].seq != entries[k - 1].seq + 1) return 0;
  }
  return i < entries.size() ? entries.back().seq : 0;
}

std::uint64_t highest_indexed_seq(const std::string& dir) {
  std::size_t skipped = 0;
  return highest_consecutive_seq(read_index_file(dir + "/index.dat", skipped));
}

IndexEntry make_index_entry(const JournalRecord& record, std::uint64_t segment,
                            std::uint64_t offset) {
  IndexEntry e;
  e.seq = record.seq;
  e.ts_us = to_unix_us(record.ts);
  e.segment = segment;
  e.offset = offset;
  e.door_h = filter_hash(record.door);
  e.user_h = filter_hash(record.user);
  e.decision_h = filter_hash(record.decision);
  e.kind = static_cast<std::uint64_t>(record.kind);
  return e;
}

Result<EventIndex> EventIndex::load(const std::string& dir,
                                    const std::vector<SegmentFile>& segments,
                                    std::uint64_t last_seq, bool& rebuilt,
                                    const std::function<void(std::uint64_t)>& on_lost) {
  EventIndex index;
  index.dir_ = dir;
  index.path_ = dir + "/index.dat";
  std::size_t skipped = 0;
  auto entries = read_index_file(index.path_, skipped);
  // Before anything of the file is dropped or rewritten: it is the only proof of the loss.
  if (const std::uint64_t listed = on_lost ? highest_consecutive_seq(entries) : 0;
      listed > last_seq) {
    on_lost(listed);
  }
  const std::size_t loaded = entries.size();
  const std::uint64_t first_seq = segments.empty() ? 1 : segments.front().first_seq;

  // Keep only a contiguous run starting at the first retained seq and ending at last_seq.
  std::size_t begin = 0;
  while (begin < entries.size() && entries[begin].seq < first_seq) ++begin;
  entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(begin));
  std::size_t keep = 0;
  while (keep < entries.size() && entries[keep].seq == first_seq + keep &&
         entries[keep].seq <= last_seq) {
    ++keep;
  }
  entries.resize(keep);
  if (!entries.empty() && !points_at_frame(dir, entries.back())) entries.clear();
  // Entries of segments retention dropped may lead the file (it is compacted lazily): they
  // are skipped, not a reason to rebuild.
  const bool reused_all = loaded - begin == entries.size();

  const std::uint64_t after = entries.empty() ? first_seq - 1 : entries.back().seq;
  const std::size_t before_scan = entries.size();
  scan_segments(segments, after, entries);
  rebuilt = !reused_all || entries.size() != before_scan;
  index.entries_ = std::move(entries);
  index.file_dropped_ = skipped + begin;
  if (rebuilt || loaded == 0) {
    index.rewrite_file();
  } else {
    auto file = open_file(index.path_, O_WRONLY | O_APPEND);
    if (file) index.file_ = std::move(*file);
    index.compact_file();
  }
  return index;
}

void EventIndex::rewrite_file() {
  file_dropped_ = 0;
  const std::string tmp = path_ + ".tmp";
  std::string bytes(kIndexMagic);
  bytes.resize(kIndexHeaderBytes, '\0');
  bytes.reserve(kIndexHeaderBytes + entries_.size() * sizeof(IndexEntry));
  for (const IndexEntry& e : entries_) {
    bytes.append(reinterpret_cast<const char*>(&e), sizeof e);
  }
  file_.reset();
  auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd || !pwrite_all(fd->get(), bytes, 0, tmp) ||
      std::rename(tmp.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    ::unlink(path_.c_str());  // a missing index is rebuilt; a wrong one must not stay
    return;
  }
  auto file = open_file(path_, O_WRONLY | O_APPEND);
  if (file) file_ = std::move(*file);
}

void EventIndex::append(std::span<const IndexEntry> entries) {
  entries_.insert(entries_.end(), entries.begin(), entries.end());
}

void EventIndex::append_to_file(std::span<const IndexEntry> entries) {
  if (!file_.valid()) return;
  const std::string_view bytes(reinterpret_cast<const char*>(entries.data()),
                               entries.size() * sizeof(IndexEntry));
  const ssize_t n = ::write(file_.get(), bytes.data(), bytes.size());
  // A failed or short write leaves the file behind memory: stop writing it; the next open
  // sees the gap (or partial entry) and scans the rest from the segments.
  if (n != static_cast<ssize_t>(bytes.size())) file_.reset();
}

void EventIndex::drop_before(std::uint64_t first_seq) {
  while (!entries_.empty() && entries_.front().seq < first_seq) {
    entries_.pop_front();
    ++file_dropped_;
  }
}

void EventIndex::compact_file() {
  if (file_dropped_ == 0 || !file_.valid()) return;
  // Whole blocks of the dropped prefix, from the second block on, become a hole: the disk
  // space is freed at once and nothing is copied (a rewrite would copy every live entry).
  const std::uint64_t dropped_end = kIndexHeaderBytes + file_dropped_ * sizeof(IndexEntry);
  const std::uint64_t end = dropped_end / kIndexHoleFrom * kIndexHoleFrom;
  if (end <= kIndexHoleFrom) return;
  if (::fallocate(file_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(kIndexHoleFrom),
                  static_cast<off_t>(end - kIndexHoleFrom)) == 0) {
    return;
  }
  // A file system without holes: rewrite once the dropped entries outnumber the live ones,
  // so that the copying stays in proportion to what was appended.
  if (file_dropped_ >= entries_.size()) rewrite_file();
}

}  // namespace castellan::journal
