// VerifyPort over the real decision engine and journal: POST /v1/verify hashes the card,
// decides against the current snapshot, journals the decision (source "api", the request's
// trace id, the client address as gateway_ip) and answers once the record is durable, or at the
// decision deadline.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <string>

#include "api/ports.hpp"
#include "core/clock.hpp"

namespace castellan::access {
class DecisionEngine;
}
namespace castellan::journal {
class Journal;
}

namespace castellan::api {

// The decision deadline (contract §7: a whole decision 300 ms, `decision.timeout_ms`): a
// verify whose record is not durable by then is answered 50401 (a grant at a fail-safe door,
// else 504), as a door is. Its timers run on `executor`; without one there is no deadline
// but the transport's request timeout.
struct VerifyDeadline {
  boost::asio::any_io_executor executor;
  std::chrono::milliseconds timeout{300};
};

class EngineVerify final : public VerifyPort {
 public:
  EngineVerify(access::DecisionEngine& engine, journal::Journal& journal, const Clock& clock,
               std::string card_secret, VerifyDeadline deadline = {});
  void verify(const VerifyRequest& request,
              std::function<void(Result<VerifyOutcome>)> done) override;

 private:
  access::DecisionEngine& engine_;
  journal::Journal& journal_;
  const Clock& clock_;
  std::string card_secret_;
  VerifyDeadline deadline_;
};

}  // namespace castellan::api
