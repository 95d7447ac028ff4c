#include "journal/index.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace castellan::journal {
namespace {

constexpr std::string_view kIndexMagic = "CSTLIDX1";
constexpr std::size_t kIndexHeaderBytes = 16;

// Adds entries for every intact record with seq > after_seq.
void scan_segments(const std::vector<SegmentFile>& segments, std::uint64_t after_seq,
                   std::vector<IndexEntry>& out) {
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i + 1 < segments.size() && segments[i + 1].first_seq <= after_seq + 1) continue;
    auto bytes = read_whole_file(segments[i].path);
    if (!bytes) return;
    std::uint64_t offset = kSegmentHeaderBytes;
    for (;;) {
      auto frame = read_frame(*bytes, offset);
      if (frame.status != FrameStatus::ok) break;
      if (frame.seq > after_seq) {
        auto record = parse_json_line(frame.payload);
        if (record) out.push_back(make_index_entry(*record, segments[i].first_seq, offset));
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

std::vector<IndexEntry> read_index_file(const std::string& path) {
  std::vector<IndexEntry> entries;
  auto bytes = read_whole_file(path);
  if (!bytes || bytes->size() < kIndexHeaderBytes ||
      std::string_view(*bytes).substr(0, kIndexMagic.size()) != kIndexMagic) {
    return entries;
  }
  const std::size_t n = (bytes->size() - kIndexHeaderBytes) / sizeof(IndexEntry);
  if (n == 0) return entries;  // memcpy must not get the null data() of an empty vector
  entries.resize(n);
  std::memcpy(entries.data(), bytes->data() + kIndexHeaderBytes, n * sizeof(IndexEntry));
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
                                    std::uint64_t last_seq, bool& rebuilt) {
  EventIndex index;
  index.dir_ = dir;
  index.path_ = dir + "/index.dat";
  auto entries = read_index_file(index.path_);
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
  index.file_dropped_ = begin;
  if (rebuilt || loaded == 0) {
    index.rewrite_file();
  } else {
    index.compact_file();
  }
  auto file = open_file(index.path_, O_WRONLY | O_APPEND);
  if (file) index.file_ = std::move(*file);
  return index;
}

void EventIndex::rewrite_file() {
  file_dropped_ = 0;
  const std::string tmp = path_ + ".tmp";
  std::string bytes(kIndexMagic);
  bytes.resize(kIndexHeaderBytes, '\0');
  bytes.append(reinterpret_cast<const char*>(entries_.data()),
               entries_.size() * sizeof(IndexEntry));
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
  if (!file_.valid()) return;
  const std::string_view bytes(reinterpret_cast<const char*>(entries.data()),
                               entries.size() * sizeof(IndexEntry));
  const ssize_t n = ::write(file_.get(), bytes.data(), bytes.size());
  // A failed or short write leaves the file behind memory: stop writing it; the next open
  // sees the gap (or partial entry) and scans the rest from the segments.
  if (n != static_cast<ssize_t>(bytes.size())) file_.reset();
}

void EventIndex::drop_before(std::uint64_t first_seq) {
  std::size_t n = 0;
  while (n < entries_.size() && entries_[n].seq < first_seq) ++n;
  if (n == 0) return;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n));
  file_dropped_ += n;
}

void EventIndex::compact_file() {
  if (file_dropped_ == 0 || file_dropped_ < entries_.size()) return;
  rewrite_file();
}

}  // namespace castellan::journal
