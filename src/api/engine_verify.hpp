// VerifyPort over the real decision engine and journal: POST /v1/verify hashes the card,
// decides against the current snapshot, journals the decision (source "api", the request's
// trace id, the client address as gateway_ip) and answers once the record is durable.
#pragma once

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

class EngineVerify final : public VerifyPort {
 public:
  EngineVerify(access::DecisionEngine& engine, journal::Journal& journal, const Clock& clock,
               std::string card_secret);
  void verify(const VerifyRequest& request,
              std::function<void(Result<VerifyOutcome>)> done) override;

 private:
  access::DecisionEngine& engine_;
  journal::Journal& journal_;
  const Clock& clock_;
  std::string card_secret_;
};

}  // namespace castellan::api
