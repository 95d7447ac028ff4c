// Authentication pieces: roles, Argon2id password hashes (libsodium), HS256 JWTs signed with
// a 0600 secret file, and the failed-login limiter (per user and per client address).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace castellan::api {

// admin: everything; operator: read + passes, verify, unlock, lockdown; auditor: read only.
enum class Role { kAuditor, kOperator, kAdmin };
std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);

// What a route needs. kPublic: no token (only POST /v1/auth/token).
enum class Access { kPublic, kRead, kOperate, kAdmin };
bool role_allows(Role role, Access access);

// Argon2id via crypto_pwhash_str. Production uses libsodium's "interactive" limits; tests
// may pass the minimum limits to stay fast (the hash string records its own parameters, so
// verification works with either).
class PasswordHasher {
 public:
  static PasswordHasher interactive();
  static PasswordHasher fast_for_tests();
  Result<std::string> hash(std::string_view password) const;
  bool verify(std::string_view hash, std::string_view password) const;

 private:
  PasswordHasher(unsigned long long ops, std::size_t mem) : ops_(ops), mem_(mem) {}
  unsigned long long ops_;
  std::size_t mem_;
};

struct TokenClaims {
  std::string username;
  Role role = Role::kAuditor;
  TimePoint expires_at;
  std::string account_tag;  // "acct": the account's state when the token was issued
};

// HS256 JSON Web Tokens: header {"alg":"HS256","typ":"JWT"}, claims {"sub","role","iat","exp",
// "acct"}. `acct` is account_tag() of the account at log-in (accounts.hpp): the API refuses a
// token whose account has since changed its password or role, or was deleted.
class TokenSigner {
 public:
  TokenSigner(std::string key, const Clock& clock, std::chrono::seconds ttl);
  // Loads (or creates on first start) the 0600 key file DATA_DIR/jwt-secret.
  static Result<std::string> load_key(const std::string& data_dir);
  struct Issued {
    std::string token;
    TimePoint expires_at;
  };
  Issued issue(std::string_view username, Role role, std::string_view account_tag = "") const;
  // Same, with an explicit expiry (tests mint expired tokens this way).
  std::string sign(std::string_view username, Role role, TimePoint expires_at,
                   std::string_view account_tag = "") const;
  // 40101 when malformed, badly signed, or expired.
  Result<TokenClaims> check(std::string_view token) const;

 private:
  Result<TokenClaims> check_signed(std::string_view token) const;

  std::string key_;
  const Clock& clock_;
  std::chrono::seconds ttl_;
  // Tokens that passed the check, with their claims: a client sends the same token with
  // every request, and checking it costs an HMAC and a JSON parse. Expiry is still checked on
  // every use. Bounded: emptied when full.
  static constexpr std::size_t kCheckedMax = 4096;
  mutable std::mutex checked_mu_;
  struct TokenHash {
    using is_transparent = void;  // looked up by string_view: no copy of the token per request
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::unordered_map<std::string, TokenClaims, TokenHash, std::equal_to<>> checked_;
};

// Failed log-ins in a sliding one-minute window, counted per client address (any username)
// and per username (any address). The per-username limit is the higher one: wrong passwords
// sent from one address block that address, not the account's owner elsewhere, so locking an
// account out takes failures from several addresses; it still bounds guessing spread over many.
class LoginLimiter {
 public:
  LoginLimiter(const Clock& clock, int per_address_per_minute, int per_account_per_minute);
  // True when either the address or the username reached its limit within the last minute.
  bool refused(std::string_view username, std::string_view address);
  void record_failure(std::string_view username, std::string_view address);

 private:
  using Failures = std::deque<Clock::Monotonic>;
  static constexpr std::size_t kMaxKeys = 100000;
  bool reached(std::string_view key, int limit, Clock::Monotonic now);
  void add(std::string key, Clock::Monotonic now);
  void prune(Failures& q, Clock::Monotonic now) const;
  const Clock& clock_;
  int per_address_;
  int per_account_;
  std::mutex mu_;
  std::map<std::string, Failures, std::less<>> failures_;  // "addr:IP" and "user:NAME"
};

}  // namespace castellan::api
