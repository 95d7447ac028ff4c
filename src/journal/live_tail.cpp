#include "journal/live_tail.hpp"

#include <algorithm>
#include <thread>

#include "journal/file_io.hpp"

namespace castellan::journal {

// A batch is written in microseconds: look again soon, then less and less often.
constexpr std::chrono::milliseconds kFirstPause{1};
constexpr std::chrono::milliseconds kMaxPause{50};

LiveTail::LiveTail(const Clock& clock, std::chrono::milliseconds settle)
    : clock_(clock), until_(clock.monotonic() + settle), pause_(kFirstPause) {}

bool LiveTail::reread(const std::string& path, std::uint64_t offset, std::string& bytes) {
  if (clock_.monotonic() >= until_) return false;
  std::this_thread::sleep_for(pause_);
  pause_ = std::min(pause_ * 2, kMaxPause);
  auto tail = read_to_end(path, offset);
  if (!tail) return false;
  bytes.resize(static_cast<std::size_t>(std::min<std::uint64_t>(offset, bytes.size())));
  bytes += *tail;
  return true;
}

}  // namespace castellan::journal
