// Hashing and keyed hashing on OpenSSL 3, plus hex. Card UIDs are only ever kept as
// HMAC-SHA256(card_secret, lower(uid)) (contract §2); door messages are signed the same way.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace castellan {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view data);
Digest hmac_sha256(std::string_view key, std::string_view data);

// Lowercase hex of bytes.
std::string to_hex(std::span<const std::uint8_t> bytes);
inline std::string to_hex(const Digest& d) {
  return to_hex(std::span<const std::uint8_t>(d));
}
inline std::string to_hex(std::string_view bytes) {
  return to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                              bytes.size()));
}
// Bytes of a hex string (either case); nullopt on odd length or a non-hex digit.
std::optional<std::string> from_hex(std::string_view hex);

// Cryptographically secure random bytes (RAND_bytes); throws only if the CSPRNG fails.
std::string random_bytes(std::size_t n);

// Comparison whose time does not depend on where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace castellan
