// The change an audited API request is making on this thread. The store keeps a note of every
// write batch made under it, in the batch's own transaction, until the change's admin record is
// durable (store.hpp, "Unrecorded changes"): a crash between the commit and the record then
// cannot leave a change that the journal never hears of. Set by ApiService around the routes
// that change things; like TraceScope, it is thread-local because the handlers run on the
// thread that makes the writes.
#pragma once

#include <string>

#include "core/time.hpp"

namespace castellan {

struct ChangeAuthor {
  std::string change_id;  // unique per request (a trace id can span many requests)
  std::string trace_id;
  std::string actor;  // the API user
  std::string route;  // "POST /v1/doors"
  TimePoint at{};
  // Set by the store when it noted a write batch under this scope: only then is there a note
  // to drop once the record is durable (an unlock writes nothing, and must not wait on a store).
  mutable bool noted = false;
};

class ChangeScope {
 public:
  explicit ChangeScope(ChangeAuthor author) : author_(std::move(author)), previous_(slot()) {
    slot() = &author_;
  }
  ~ChangeScope() { slot() = previous_; }
  ChangeScope(const ChangeScope&) = delete;
  ChangeScope& operator=(const ChangeScope&) = delete;

  // The innermost scope of this thread; null outside every scope.
  static const ChangeAuthor* current() { return slot(); }

 private:
  static const ChangeAuthor*& slot() {
    thread_local const ChangeAuthor* current = nullptr;
    return current;
  }

  ChangeAuthor author_;
  const ChangeAuthor* previous_;
};

}  // namespace castellan
