// Transport-neutral request and reply: the HTTPS layer fills a Request from the wire, the
// router and handlers answer with a Reply. No Beast here, so handlers compile fast.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/auth.hpp"

namespace castellan::api {

class EventFeed;

// Who has the last word on a request answered later than its handler returned: the handler (it
// answered in time) or the transport (it gave up and answered 504). A handler whose work takes
// effect once answered — verify: a grant takes a pass use and moves the card's anti-passback
// position — claims the answer when it is ready, and undoes that work when the claim fails.
class ReplyClaim {
 public:
  // The handler: true when its reply is the one the client gets.
  bool answer() { return settle(kAnswered); }
  // The transport, at the deadline: true when no handler answered, so its 504 stands.
  bool give_up() { return settle(kGivenUp); }

 private:
  enum State { kOpen, kAnswered, kGivenUp };
  bool settle(State want) {
    int seen = kOpen;
    return state_.compare_exchange_strong(seen, want) || seen == want;
  }
  std::atomic<int> state_{kOpen};
};

struct Request {
  std::string method;          // "GET", "POST", …
  std::string path;            // decoded, without the query string
  std::string target_error;    // why the request target is not a valid URL; empty if it is
  std::string repeated_param;  // a query parameter given more than once (only the first is kept)
  std::map<std::string, std::string, std::less<>> query;
  std::string body;
  std::string authorization;  // the Authorization header as received
  std::string traceparent;    // W3C trace context header, if any
  std::string last_event_id;  // Last-Event-ID: the event stream's client reconnects
  std::string client_address;
  // Filled by ApiService before the handler runs.
  std::string trace_id;
  std::string username;
  Role role = Role::kAuditor;
  TimePoint token_expires_at{};     // of the bearer token (routes that need one)
  std::string account_tag;          // the token's `acct` claim (routes that need one)
  std::vector<std::string> params;  // path parameters in pattern order
  // Set by the HTTPS transport, which answers 504 at api.request_timeout_ms; null elsewhere
  // (then every answer counts).
  std::shared_ptr<ReplyClaim> claim;
  // Made by ApiService for audited routes (null elsewhere) and filled by audit() when the
  // change's admin record was not confirmed durable; ApiService then answers with this error
  // instead of the 2xx (the change stays made).
  std::shared_ptr<std::optional<Error>> unrecorded;
};

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Set by GET /v1/events/stream: the transport switches to Server-Sent Events, sends what
  // the feed has, and ends the stream at `stream_until` (the token's expiry: a stream is not a
  // way around it).
  std::shared_ptr<EventFeed> event_feed;
  TimePoint stream_until{};
  // Asked before each write to the stream: false ends it (the token's account changed its
  // password or role, or is gone). Null: nothing to ask.
  std::function<bool()> stream_allowed;
};

// A handler answers by calling this exactly once, from any thread.
using ReplyFn = std::function<void(Reply)>;
using Handler = std::function<void(Request& request, ReplyFn done)>;

}  // namespace castellan::api
