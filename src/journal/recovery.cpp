#include "journal/recovery.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "journal/file_io.hpp"

namespace castellan::journal {
namespace {

std::int64_t read_created_ms(const SegmentFile& segment) {
  auto fd = open_file(segment.path, O_RDONLY);
  if (!fd) return 0;
  auto bytes = pread_exact(fd->get(), 0, kSegmentHeaderBytes, segment.path);
  if (!bytes) return 0;
  auto header = decode_segment_header(*bytes);
  return header ? header->created_unix_ms : 0;
}

// Where the data of a segment ends: after its last non-zero byte (the writer grows a segment
// with zeros ahead of its data; those are not reported as cut), and never before `from`.
std::uint64_t data_end(std::string_view bytes, std::uint64_t from) {
  const auto last = bytes.find_last_not_of('\0');
  return last == std::string_view::npos ? from : std::max<std::uint64_t>(from, last + 1);
}

Result<void> cut_file(const std::string& path, std::uint64_t size) {
  auto fd = open_file(path, O_WRONLY);
  if (!fd) return fd.error();
  if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0) {
    return io_error("cannot truncate", path, errno);
  }
  if (::fdatasync(fd->get()) != 0) return io_error("cannot fdatasync", path, errno);
  return {};
}

}  // namespace

Result<void> note_pending_record(const std::string& dir, const std::string& extra) {
  const std::string path = dir + "/" + kPendingCutsFile;
  auto fd = open_file(path, O_RDWR | O_CREAT | O_APPEND, 0600);
  if (!fd) return fd.error();
  std::string line = extra + "\n";
  // A line torn by an earlier crash must not swallow this one.
  const off_t size = ::lseek(fd->get(), 0, SEEK_END);
  char last = '\n';
  if (size > 0 && ::pread(fd->get(), &last, 1, size - 1) == 1 && last != '\n') {
    line.insert(0, 1, '\n');
  }
  if (::write(fd->get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return io_error("cannot write", path, errno);
  }
  if (::fdatasync(fd->get()) != 0) return io_error("cannot fdatasync", path, errno);
  return fsync_dir(dir);
}

std::string records_missing_extra(std::uint64_t first_seq, std::uint64_t last_seq) {
  return "{\"event\":\"journal_records_missing\",\"first_seq\":" + std::to_string(first_seq) +
         ",\"last_seq\":" + std::to_string(last_seq) +
         ",\"segments_end_at\":" + std::to_string(first_seq - 1) + "}";
}

std::string tail_cut_extra(const RecoveryReport& report) {
  return "{\"event\":\"journal_tail_cut\",\"segment\":\"" + report.segment +
         "\",\"offset\":" + std::to_string(report.cut_offset) +
         ",\"bytes\":" + std::to_string(report.bytes_cut) +
         ",\"first_seq\":" + std::to_string(report.first_cut_seq) +
         ",\"last_seq\":" + std::to_string(report.last_cut_seq) + "}";
}

std::string outage_end_extra(TimePoint since, std::uint64_t failed_records,
                             std::string_view error) {
  return boost::json::serialize(boost::json::object{{"event", "degradation"},
                                                    {"state", "off"},
                                                    {"cause", "journal"},
                                                    {"since", format_utc(since)},
                                                    {"failed_records", failed_records},
                                                    {"error", error}});
}

std::string RecoveryReport::summary() const {
  char buf[512];
  if (!tail_cut) {
    std::snprintf(buf, sizeof buf, "journal intact: %zu segment(s), last seq %llu%s", segments,
                  static_cast<unsigned long long>(last_seq),
                  index_rebuilt ? ", query index rebuilt" : "");
  } else {
    std::snprintf(
        buf, sizeof buf,
        "journal tail cut: %llu byte(s) of unacknowledged record(s) seq %llu-%llu at "
        "offset %llu of %s; last intact seq %llu",
        static_cast<unsigned long long>(bytes_cut), static_cast<unsigned long long>(first_cut_seq),
        static_cast<unsigned long long>(last_cut_seq), static_cast<unsigned long long>(cut_offset),
        segment.c_str(), static_cast<unsigned long long>(last_seq));
  }
  return buf;
}

Result<RecoveredState> recover_journal(const std::string& dir) {
  auto listed = list_segments(dir);
  if (!listed) return listed.error();
  RecoveredState state;
  state.segments = std::move(*listed);
  state.last_hash = genesis_hash();

  // Drop a last segment that died while being created (no durable header, so no records).
  std::string bytes;
  std::optional<SegmentHeader> header;
  while (!state.segments.empty()) {
    const SegmentFile& last = state.segments.back();
    auto read = read_to_end(last.path);
    if (!read) return read.error();
    auto decoded = decode_segment_header(*read);
    if (decoded) {
      bytes = std::move(*read);
      header = std::move(*decoded);
      break;
    }
    if (read->size() > kSegmentHeaderBytes) {
      return make_error(Code::ERR_UNAVAILABLE, "journal segment " + last.path + ": " +
                                                   decoded.error().message +
                                                   "; run `castellan journal verify`");
    }
    if (::unlink(last.path.c_str()) != 0) return io_error("cannot remove", last.path, errno);
    auto synced = fsync_dir(dir);
    if (!synced) return synced.error();
    state.segments.pop_back();
  }
  for (const auto& segment : state.segments) state.created_ms.push_back(read_created_ms(segment));
  state.report.segments = state.segments.size();
  if (state.segments.empty()) return state;

  SegmentFile& last = state.segments.back();
  state.last_seq = header->first_seq - 1;
  state.last_hash = header->anchor;
  state.active_version = header->version;
  std::string_view last_payload;
  std::uint64_t offset = kSegmentHeaderBytes;
  // Version 2 marks the last frame of every write batch, and a batch is acknowledged only once
  // all of it is synced: where the last whole batch ends is as far as acknowledged records go.
  const bool marks_batches = header->version >= 2;
  std::uint64_t batch_end = offset;
  std::uint64_t batch_end_seq = state.last_seq;
  std::string_view batch_end_payload;
  FrameRead frame;
  for (;;) {
    frame = read_frame(bytes, offset);
    if (frame.status != FrameStatus::ok) break;
    state.last_seq = frame.seq;
    last_payload = frame.payload;
    offset = frame.next_offset;
    if (frame.batch_end) {
      batch_end = offset;
      batch_end_seq = frame.seq;
      batch_end_payload = frame.payload;
    }
  }
  const bool damaged = frame.status != FrameStatus::end;
  // Frames after the last batch end with a clean end after them: the rest of their batch
  // never reached the disk (a power cut that lost whole pages reads as zeros or a short file).
  const bool partial_batch = marks_batches && offset != batch_end;
  if (damaged || partial_batch) {
    std::uint64_t last_cut_seq = state.last_seq;  // the last intact frame read
    if (damaged) {
      // Version 2: only damage followed by a complete later batch can be in synced
      // (acknowledged) records. Version 1 cannot tell, so any intact record after it counts.
      const IntactAfter after = scan_intact_after(bytes, offset, state.last_seq);
      const bool synced_after = marks_batches ? after.later_batch : after.last_seq != 0;
      if (synced_after) {
        return make_error(Code::ERR_UNAVAILABLE,
                          "journal segment " + last.path + " is damaged at offset " +
                              std::to_string(offset) + " (" +
                              std::string(frame_status_name(frame.status)) + ", after seq " +
                              std::to_string(state.last_seq) +
                              ") with intact records after it; refusing to cut acknowledged "
                              "records: run `castellan journal verify`");
      }
      // The framed seq of the torn frame, when it is plausible (it is not CRC-checked), and
      // intact records of the torn batch after the damage are cut with it.
      if (frame.seq > state.last_seq && frame.seq < state.last_seq + 1'000'000) {
        last_cut_seq = frame.seq;
      }
      last_cut_seq = std::max(last_cut_seq, after.last_seq);
    }
    if (marks_batches) {
      // The whole torn batch goes, including its intact frames before the damage.
      offset = batch_end;
      state.last_seq = batch_end_seq;
      last_payload = batch_end_payload;
    }
    RecoveryReport& r = state.report;
    r.tail_cut = true;
    r.segment = last.name;
    r.cut_offset = offset;
    r.bytes_cut = data_end(bytes, offset) - offset;
    r.first_cut_seq = state.last_seq + 1;
    r.last_cut_seq = std::max(r.first_cut_seq, last_cut_seq);
    // If even the note cannot be written (disk still full), cut anyway: the cut frees space
    // and the journal must open; the report is then appended directly (and logged).
    auto noted = note_pending_record(dir, tail_cut_extra(r));
    state.cut_noted = noted.ok();
    if (!noted) spdlog::error("journal: cannot note the tail cut: {}", noted.error().message);
    auto cut = cut_file(last.path, offset);
    if (!cut) return cut.error();
  }
  last.size = offset;
  if (!last_payload.empty()) {
    auto record = parse_json_line(last_payload);
    // A CRC-valid but unparsable record was edited by hand; verify will report it. Chain on
    // from its bytes so that the writer can continue.
    state.last_hash = record ? record->hash : to_hex(sha256(last_payload));
  }
  state.active_size = offset;
  state.report.last_seq = state.last_seq;
  return state;
}

}  // namespace castellan::journal
