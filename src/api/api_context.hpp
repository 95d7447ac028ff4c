// Everything the API handlers use, passed by reference. The lead builds one in src/app from
// the real store, decision engine, journal, devices and runtime (through ports.hpp adapters).
#pragma once

#include <string_view>

#include "api/accounts.hpp"
#include "api/auth.hpp"
#include "api/http_types.hpp"
#include "api/ports.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"

namespace castellan::api {

struct ApiContext {
  const Config& config;
  const Clock& clock;
  AccountRepository& accounts;
  const PasswordHasher& hasher;
  const TokenSigner& tokens;
  ResourcePort& resources;
  VerifyPort& verify;
  EventsPort& events;
  DevicesPort& devices;
  RuntimePort& runtime;
  ReadinessCheck readiness;
};

// Journals a change made through the API: kind "admin", who = the caller, what = action + details.
void audit(ApiContext& ctx, const Request& request, std::string_view action,
           boost::json::object details);

}  // namespace castellan::api
