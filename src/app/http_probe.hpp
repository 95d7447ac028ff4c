// A minimal plain-HTTP GET for readiness probes of the ops listener (loopback only). Kept
// tiny on purpose: the supervisor must not pull Beast into its translation units.
#pragma once

#include <chrono>
#include <string>

namespace castellan::app {

// Status code of GET `path` on host:port, or -1 if no HTTP answer arrived within `timeout`.
int http_get_status(const std::string& host, int port, const std::string& path,
                    std::chrono::milliseconds timeout);

}  // namespace castellan::app
