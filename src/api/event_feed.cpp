#include "api/event_feed.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace castellan::api {
namespace {

// Every record line starts {"seq":N, (protocol.md); 0 for one that does not.
std::uint64_t seq_of(std::string_view line) {
  constexpr std::string_view kSeq = R"({"seq":)";
  if (!line.starts_with(kSeq)) return 0;
  std::uint64_t seq = 0;
  std::from_chars(line.data() + kSeq.size(), line.data() + line.size(), seq);
  return seq;
}

}  // namespace

void EventFeed::follow(EventsPort& events) {
  auto subscription = events.subscribe([this](std::string line) { push(std::move(line)); });
  std::lock_guard lock(mu_);
  subscription_ = std::move(subscription);
}

void EventFeed::replay(std::vector<std::string> lines, bool then_end) {
  auto unfollowed = then_end ? end() : nullptr;  // destroyed after the lock is let go
  std::lock_guard lock(mu_);
  lines_.insert(lines_.begin(), std::make_move_iterator(lines.begin()),
                std::make_move_iterator(lines.end()));
}

void EventFeed::end_with(std::string why) {
  auto unfollowed = end();
  std::replace(why.begin(), why.end(), '\n', ' ');  // one comment line
  std::lock_guard lock(mu_);
  ended_why_ = std::move(why);
}

std::unique_ptr<EventsPort::Subscription> EventFeed::end() {
  std::lock_guard lock(mu_);
  lines_.clear();
  new_waiting_ = 0;
  state_ = State::ended;
  return std::move(subscription_);
}

void EventFeed::attach(std::function<void()> wake, std::function<void()> drop) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
  drop_ = std::move(drop);
  if (state_ == State::dropped && drop_) drop_();
}

void EventFeed::push(std::string line) {
  std::lock_guard lock(mu_);
  if (state_ != State::open) return;
  if (new_waiting_ >= kMaxQueued) {
    state_ = State::dropped;
    if (drop_) drop_();
    return;
  }
  lines_.push_back(std::move(line));
  ++new_waiting_;
  if (wake_) wake_();
}

std::string EventFeed::take() {
  std::deque<std::string> lines;
  std::string out;
  {
    std::lock_guard lock(mu_);
    lines.swap(lines_);
    new_waiting_ = 0;
    if (!ended_why_.empty()) out.append(": ").append(std::exchange(ended_why_, {})).append("\n\n");
  }
  for (const auto& line : lines) {
    const std::uint64_t seq = seq_of(line);
    if (seq != 0 && seq <= last_taken_seq_) continue;
    if (seq != 0) {
      last_taken_seq_ = seq;
      out.append("id: ").append(std::to_string(seq)).append("\n");
    }
    out.append("data: ").append(line).append("\n\n");
  }
  return out;
}

EventFeed::State EventFeed::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

}  // namespace castellan::api
