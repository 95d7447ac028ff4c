#include "devices/signing.hpp"

#include <fmt/format.h>

#include "core/crypto.hpp"

namespace castellan::devices {

std::string canonical_string(const SignedFields& f) {
  return fmt::format("v1|{}|{}|{}|{}|{}|{}|{}", f.site, f.door, f.id, f.verb, f.code, f.unlock_ms,
                     f.exp);
}

std::string sign(std::string_view door_key, const SignedFields& f) {
  return to_hex(hmac_sha256(door_key, canonical_string(f)));
}

bool signature_matches(std::string_view door_key, const SignedFields& f, std::string_view sig_hex) {
  std::string lowered(sig_hex);
  for (char& c : lowered) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return constant_time_equal(sign(door_key, f), lowered);
}

Result<void> verify_signed_message(std::string_view door_key, const SignedFields& f,
                                   std::string_view sig_hex, TimePoint now,
                                   std::chrono::seconds max_ttl) {
  if (!signature_matches(door_key, f, sig_hex)) {
    return make_error(Code::ERR_BAD_REQUEST, "signature does not match");
  }
  auto exp = parse_utc(f.exp);
  if (!exp) return make_error(Code::ERR_BAD_REQUEST, "exp is not an RFC 3339 time");
  if (*exp < now) return make_error(Code::ERR_BAD_REQUEST, "message expired at " + f.exp);
  // One second of slack for clock skew between castellan and the controller.
  if (*exp > now + max_ttl + std::chrono::seconds{1}) {
    return make_error(Code::ERR_BAD_REQUEST, "exp is further ahead than the allowed ttl");
  }
  return {};
}

Result<std::string> door_key_from_hex(std::string_view hex) {
  auto bytes = from_hex(hex);
  if (!bytes || bytes->size() < 16) {
    return make_error(Code::ERR_BAD_REQUEST, "door key must be at least 32 hex digits");
  }
  // Swapped into place: a plain `return std::move(*bytes)` trips a GCC 12 -Warray-bounds
  // false positive inside std::variant.
  Result<std::string> key{std::string()};
  key.value().swap(*bytes);
  return key;
}

}  // namespace castellan::devices
