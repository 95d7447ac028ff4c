// What one event stream (GET /v1/events/stream) sends, in order: first the records its
// client missed (it reconnected with Last-Event-ID), oldest first, then every record the
// journal makes durable from the stream's start. The journal's thread fills it; the
// connection's writer drains it. No Beast here: the route makes it, the transport sends it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/ports.hpp"

namespace castellan::api {

class EventFeed {
 public:
  // A client that falls this many new records behind (it stopped reading, or its link is
  // slower than the journal) is disconnected rather than buffered without bound. It is also
  // the most one stream replays.
  static constexpr std::size_t kMaxQueued = 4096;

  enum class State {
    open,     // more may come
    dropped,  // the client fell kMaxQueued records behind
    ended,    // the replay is all this stream sends (the client missed more than it holds)
  };

  // Subscribes to the journal's new records; they wait here until taken.
  void follow(EventsPort& events);
  // The records the client missed, oldest first, sent before every new one. `then_end`: the
  // client missed more than these, so the stream ends after them and no new record is sent;
  // the client reconnects with the last id it got, and is given the next part.
  void replay(std::vector<std::string> lines, bool then_end);
  // Ends the stream at once with the SSE comment `: <why>`, sending no record: what the client
  // missed cannot be read. It reconnects and tries again.
  void end_with(std::string why);
  // `wake` runs after each new record, `drop` when the client falls behind: on the journal's
  // thread (`drop` also here, if the client fell behind before) with the feed locked, so they
  // must only post. Records that came before are kept.
  void attach(std::function<void()> wake, std::function<void()> drop);

  // Everything waiting, as Server-Sent Events (`id: <seq>`, `data: <line>`), without a
  // record already taken (one the replay gave may also have come as new). One caller: the
  // stream's writer.
  std::string take();
  State state() const;

 private:
  void push(std::string line);
  // Stops taking new records and forgets those waiting; returns the subscription, to be
  // destroyed without the lock (it waits for a push() that is running).
  std::unique_ptr<EventsPort::Subscription> end();

  mutable std::mutex mu_;
  std::deque<std::string> lines_;
  std::string ended_why_;        // sent as a comment by the next take()
  std::size_t new_waiting_ = 0;  // lines_ that came as new records (not the replay)
  std::uint64_t last_taken_seq_ = 0;
  State state_ = State::open;
  std::function<void()> wake_, drop_;
  // Last, so that it is destroyed first: after that push() is never called again.
  std::unique_ptr<EventsPort::Subscription> subscription_;
};

}  // namespace castellan::api
