#include "runtime/deadline.hpp"

#include <string>

namespace castellan::runtime {

Deadlines Deadlines::from_config(const Config& config) {
  Deadlines d;
  d.device = std::chrono::milliseconds{config.decision.device_timeout_ms};
  d.lookup = std::chrono::milliseconds{config.decision.lookup_timeout_ms};
  d.decision = std::chrono::milliseconds{config.decision.timeout_ms};
  return d;
}

Error timeout_error(std::string_view what, std::chrono::milliseconds limit) {
  return make_error(Code::ERR_TIMEOUT, "timed out after " + std::to_string(limit.count()) +
                                           " ms waiting on " + std::string(what));
}

}  // namespace castellan::runtime
