#include "journal/segment.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/crypto.hpp"
#include "journal/crc32c.hpp"
#include "journal/file_io.hpp"

namespace castellan::journal {
namespace {

constexpr std::string_view kMagic = "CSTLJNL1";
constexpr std::uint32_t kVersion = 2;

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
std::uint32_t get_u32(std::string_view b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}
std::uint64_t get_u64(std::string_view b, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

}  // namespace

std::string hex_to_raw32(std::string_view hex) {
  auto raw = from_hex(hex);
  if (!raw || raw->size() != 32) return std::string(32, '\0');
  return *raw;
}

std::string encode_segment_header(const SegmentHeader& h) {
  std::string out;
  out.reserve(kSegmentHeaderBytes);
  out += kMagic;
  put_u32(out, h.version);
  put_u64(out, h.first_seq);
  out += hex_to_raw32(h.anchor);
  put_u64(out, static_cast<std::uint64_t>(h.created_unix_ms));
  put_u32(out, crc32c(out));
  return out;
}

Result<SegmentHeader> decode_segment_header(std::string_view b) {
  auto bad = [](const char* why) {
    return make_error(Code::ERR_BAD_REQUEST, std::string("segment header ") + why);
  };
  if (b.size() < kSegmentHeaderBytes) return bad("is truncated");
  if (b.substr(0, kMagic.size()) != kMagic) return bad("has the wrong magic");
  if (crc32c(b.substr(0, 60)) != get_u32(b, 60)) return bad("fails its CRC");
  const std::uint32_t version = get_u32(b, 8);
  if (version < 1 || version > kVersion) return bad("has an unknown version");
  SegmentHeader h;
  h.version = version;
  h.first_seq = get_u64(b, 12);
  h.anchor = to_hex(b.substr(20, 32));
  h.created_unix_ms = static_cast<std::int64_t>(get_u64(b, 52));
  return h;
}

std::string segment_file_name(std::uint64_t first_seq) {
  std::string digits = std::to_string(first_seq);
  return "seg-" + std::string(20 - std::min<std::size_t>(20, digits.size()), '0') + digits + ".cjl";
}

std::optional<std::uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != 28 || name.substr(0, 4) != "seg-" || name.substr(24) != ".cjl") {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (char c : name.substr(4, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

Result<std::string> pread_frame(int fd, std::uint64_t offset, const std::string& path) {
  auto head = pread_exact(fd, offset, kFrameHeaderBytes, path);
  if (!head) return head.error();
  std::uint32_t len = 0;
  std::memcpy(&len, head->data(), 4);
  len = payload_length(len);
  if (len == 0 || len > kMaxPayloadBytes) return std::string();
  auto body = pread_exact(fd, offset + kFrameHeaderBytes, len, path);
  if (!body) return body.error();
  return *head + *body;
}

Result<std::vector<SegmentFile>> list_segments(const std::string& dir) {
  std::vector<SegmentFile> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    auto first = parse_segment_file_name(name);
    if (!first || !entry.is_regular_file()) continue;
    std::error_code size_ec;
    const auto size = entry.file_size(size_ec);
    out.push_back({entry.path().string(), name, *first, size_ec ? 0 : size});
  }
  if (ec) {
    return make_error(Code::ERR_UNAVAILABLE,
                      "cannot read journal directory " + dir + ": " + ec.message());
  }
  std::sort(out.begin(), out.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first_seq < b.first_seq; });
  return out;
}

void append_frame(std::string& out, std::uint64_t seq, std::string_view payload, bool batch_end) {
  const std::size_t start = out.size();
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, 0);  // CRC, filled below
  put_u64(out, seq);
  out += payload;
  const std::uint32_t crc = crc32c(std::string_view(out).substr(start + 8));
  for (int i = 0; i < 4; ++i) out[start + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  if (batch_end) mark_batch_end(out, start);
}

void mark_batch_end(std::string& frames, std::size_t frame_offset) {
  // The length field is little-endian: the flag's bits are in its last byte.
  char& last = frames[frame_offset + 3];
  last = static_cast<char>(static_cast<unsigned char>(last) | (kBatchEndFlag >> 24));
}

FrameRead read_frame(std::string_view segment, std::uint64_t offset) {
  FrameRead r;
  r.offset = offset;
  if (offset >= segment.size()) return r;  // end
  // Only zeros from here on: the space the writer grows the file by, ahead of the data.
  auto zeros_to_end = [&] {
    return segment.find_first_not_of('\0', offset) == std::string_view::npos;
  };
  const std::uint64_t left = segment.size() - offset;
  if (left < kFrameHeaderBytes) {
    r.status = zeros_to_end() ? FrameStatus::end : FrameStatus::torn;
    return r;
  }
  const std::uint32_t field = get_u32(segment, offset);
  const std::uint32_t len = payload_length(field);
  const std::uint32_t crc = get_u32(segment, offset + 4);
  r.seq = get_u64(segment, offset + 8);
  if (len == 0 && zeros_to_end()) return r;  // end
  if (len == 0 || len > kMaxPayloadBytes) {
    r.status = FrameStatus::bad_length;
    return r;
  }
  if (left < kFrameHeaderBytes + len) {
    r.status = FrameStatus::torn;
    return r;
  }
  if (crc32c(segment.substr(offset + 8, 8 + len)) != crc) {
    r.status = FrameStatus::bad_crc;
    return r;
  }
  r.status = FrameStatus::ok;
  r.batch_end = (field & kBatchEndFlag) != 0;
  r.payload = segment.substr(offset + kFrameHeaderBytes, len);
  r.next_offset = offset + kFrameHeaderBytes + len;
  return r;
}

IntactAfter scan_intact_after(std::string_view segment, std::uint64_t offset,
                              std::uint64_t after_seq) {
  IntactAfter out;
  bool batch_ended = false;
  for (std::uint64_t at = offset + 1; at + kFrameHeaderBytes <= segment.size();) {
    const std::uint32_t len = payload_length(get_u32(segment, at));
    if (len == 0 || len > kMaxPayloadBytes || at + kFrameHeaderBytes + len > segment.size()) {
      ++at;
      continue;
    }
    // Before the CRC, which covers up to 1 MiB: seqs run on by one from the damage at `offset`
    // and each frame takes more than a header, so a real frame here has a seq in this range.
    // Without the check, bytes that look like lengths at every offset cost a CRC of up to
    // 1 MiB each (a crafted 4 MiB tail took minutes to scan).
    const std::uint64_t seq = get_u64(segment, at + 8);
    if (seq <= after_seq || seq > after_seq + 1 + (at - offset) / kFrameHeaderBytes) {
      ++at;
      continue;
    }
    auto f = read_frame(segment, at);
    if (f.status != FrameStatus::ok || f.seq <= after_seq) {
      ++at;
      continue;
    }
    out.last_seq = std::max(out.last_seq, f.seq);
    out.later_batch = out.later_batch || batch_ended;  // an intact frame after a whole batch
    batch_ended = f.batch_end;
    at = f.next_offset;
  }
  return out;
}

std::string_view frame_status_name(FrameStatus status) {
  switch (status) {
    case FrameStatus::ok:
      return "ok";
    case FrameStatus::end:
      return "end";
    case FrameStatus::torn:
      return "torn (runs past the end of the file)";
    case FrameStatus::bad_length:
      return "bad length";
    case FrameStatus::bad_crc:
      return "CRC mismatch";
  }
  return "unknown";
}

}  // namespace castellan::journal
