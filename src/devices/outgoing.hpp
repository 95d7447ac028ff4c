// Outgoing messages (castellan → controller, contract §3) and their parsers. The parsers are
// what a controller does with them: `castellan sim` and the tests use them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "devices/signing.hpp"

namespace castellan::devices {

// {"req","decision","code","unlock_ms","exp","sig"}
struct DecisionMessage {
  std::string req;
  std::string decision;  // "grant" | "deny"
  std::int32_t code = 0;
  std::int64_t unlock_ms = 0;
  std::string exp;
  std::string sig;
};

// {"id","cmd","unlock_ms","exp","sig"}
struct CommandMessage {
  std::string id;
  std::string cmd;  // "unlock" | "lock" | "lockdown" | "release"
  std::int64_t unlock_ms = 0;
  std::string exp;
  std::string sig;
};

std::string serialize(const DecisionMessage& m);
std::string serialize(const CommandMessage& m);
Result<DecisionMessage> parse_decision_message(std::string_view payload);
Result<CommandMessage> parse_command_message(std::string_view payload);

// The signed fields of a message addressed to (site, door).
SignedFields signed_fields(std::string_view site, std::string_view door, const DecisionMessage& m);
SignedFields signed_fields(std::string_view site, std::string_view door, const CommandMessage& m);

// Builds and signs a decision / command. `exp` is formatted from the given time.
DecisionMessage make_decision_message(std::string_view site, std::string_view door,
                                      std::string_view door_key, std::string req, bool grant,
                                      std::int32_t code, std::int64_t unlock_ms, TimePoint exp);
CommandMessage make_command_message(std::string_view site, std::string_view door,
                                    std::string_view door_key, std::string id, std::string cmd,
                                    std::int64_t unlock_ms, TimePoint exp);

}  // namespace castellan::devices
