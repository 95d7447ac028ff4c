// Signing of castellan → controller messages (contract §3).
//
//   sig = hex(HMAC-SHA256(door_key, "v1|{site}|{door}|{req or id}|{decision or
//   cmd}|{code}|{unlock_ms}|{exp}"))
//
// `door_key` is the door's raw key bytes (32 random bytes; GET /v1/doors/{id}/key shows them as
// hex). `exp` is the exact RFC 3339 text that goes on the wire, so signer and verifier hash the
// same bytes. Commands carry no code on the wire; their canonical string uses code 0
// (docs/protocol.md). Both the bridge (signing) and `castellan sim` (verifying) use this file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace castellan::devices {

// The code signed into every command message.
inline constexpr std::int32_t kCommandSignatureCode = 0;
// Contract §3: `exp` is at most this far ahead of the signing time.
inline constexpr std::chrono::seconds kMaxSignatureTtl{10};

// Everything that goes into one signature.
struct SignedFields {
  std::string site;
  std::string door;
  std::string id;    // the swipe's `req`, or the command's `id`
  std::string verb;  // "grant" | "deny" | "unlock" | "lock" | "lockdown" | "release"
  std::int32_t code = 0;
  std::int64_t unlock_ms = 0;
  std::string exp;  // RFC 3339 UTC, exactly as sent
};

// "v1|site|door|id|verb|code|unlock_ms|exp"
std::string canonical_string(const SignedFields& f);

// Lowercase hex HMAC-SHA256 of canonical_string(f) under `door_key` (raw bytes).
std::string sign(std::string_view door_key, const SignedFields& f);

// True when `sig_hex` (either case) is the signature of `f` under `door_key`. Constant time.
bool signature_matches(std::string_view door_key, const SignedFields& f, std::string_view sig_hex);

// What a controller does with a received message: the signature must match, `exp` must parse,
// must not be in the past at `now`, and must not be more than `max_ttl` (+1 s clock slack)
// ahead of `now`. Error codes: ERR_BAD_REQUEST with a sentence saying which check failed.
Result<void> verify_signed_message(std::string_view door_key, const SignedFields& f,
                                   std::string_view sig_hex, TimePoint now,
                                   std::chrono::seconds max_ttl = kMaxSignatureTtl);

// The door key from its hex form (64 hex digits); nullopt-like error when malformed.
Result<std::string> door_key_from_hex(std::string_view hex);

}  // namespace castellan::devices
