#include "api/auth.hpp"

#include <sodium.h>

#include <boost/json.hpp>

#include "core/crypto.hpp"
#include "core/secrets.hpp"

namespace castellan::api {
namespace json = boost::json;

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kOperator:
      return "operator";
    case Role::kAuditor:
      return "auditor";
  }
  return "auditor";
}

std::optional<Role> parse_role(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "operator") return Role::kOperator;
  if (name == "auditor") return Role::kAuditor;
  return std::nullopt;
}

bool role_allows(Role role, Access access) {
  switch (access) {
    case Access::kPublic:
    case Access::kRead:
      return true;
    case Access::kOperate:
      return role == Role::kOperator || role == Role::kAdmin;
    case Access::kAdmin:
      return role == Role::kAdmin;
  }
  return false;
}

namespace {
bool sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

constexpr std::string_view kJwtHeader = R"({"alg":"HS256","typ":"JWT"})";
Error expired_token() {
  return make_error(Code::ERR_UNAUTHENTICATED, "The bearer token has expired; log in again.");
}

}  // namespace

PasswordHasher PasswordHasher::interactive() {
  return PasswordHasher(crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

PasswordHasher PasswordHasher::fast_for_tests() {
  return PasswordHasher(crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
}

Result<std::string> PasswordHasher::hash(std::string_view password) const {
  if (!sodium_ready()) return make_error(Code::ERR_INTERNAL, "libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops_, mem_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(Code::ERR_INTERNAL, "password hashing ran out of memory");
  }
  return std::string(out);
}

bool PasswordHasher::verify(std::string_view hash, std::string_view password) const {
  if (!sodium_ready()) return false;
  const std::string h(hash);  // must be NUL-terminated
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

TokenSigner::TokenSigner(std::string key, const Clock& clock, std::chrono::seconds ttl)
    : key_(std::move(key)), clock_(clock), ttl_(ttl) {}

Result<std::string> TokenSigner::load_key(const std::string& data_dir) {
  if (auto dir = ensure_private_dir(data_dir); !dir) return dir.error();
  return load_or_create_key_file(data_dir + "/jwt-secret");
}

TokenSigner::Issued TokenSigner::issue(std::string_view username, Role role,
                                       std::string_view account_tag) const {
  const TimePoint expires = std::chrono::floor<std::chrono::seconds>(clock_.now()) + ttl_;
  return Issued{sign(username, role, expires, account_tag), expires};
}

std::string TokenSigner::sign(std::string_view username, Role role, TimePoint expires_at,
                              std::string_view account_tag) const {
  const auto secs = [](TimePoint t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  json::object claims{{"sub", username},
                      {"role", role_name(role)},
                      {"iat", secs(clock_.now())},
                      {"exp", secs(expires_at)},
                      {"acct", account_tag}};
  std::string signing_input = base64url(kJwtHeader) + "." + base64url(json::serialize(claims));
  const Digest mac = hmac_sha256(key_, signing_input);
  return signing_input + "." +
         base64url(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

Result<TokenClaims> TokenSigner::check(std::string_view token) const {
  {
    std::lock_guard lock(checked_mu_);
    if (auto it = checked_.find(token); it != checked_.end()) {
      if (clock_.now() < it->second.expires_at) return it->second;
      checked_.erase(it);
      return expired_token();
    }
  }
  auto claims = check_signed(token);
  if (claims) {
    std::lock_guard lock(checked_mu_);
    if (checked_.size() >= kCheckedMax) checked_.clear();
    checked_.emplace(std::string(token), *claims);
  }
  return claims;
}

Result<TokenClaims> TokenSigner::check_signed(std::string_view token) const {
  const auto bad = [](std::string_view why) {
    return make_error(Code::ERR_UNAUTHENTICATED, std::string(why));
  };
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return bad("The bearer token is not a JWT.");
  const std::string_view signing_input = token.substr(0, dot2);
  const auto header = base64url_decode(token.substr(0, dot1));
  const auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!header || !payload || !sig) return bad("The bearer token is not a JWT.");
  if (*header != kJwtHeader) return bad("The bearer token uses an unsupported algorithm.");
  const Digest mac = hmac_sha256(key_, signing_input);
  if (!constant_time_equal(
          *sig, std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()))) {
    return bad("The bearer token's signature is not valid.");
  }
  boost::system::error_code ec;
  json::value claims = json::parse(*payload, ec);
  if (ec || !claims.is_object()) return bad("The bearer token's claims are not valid.");
  const auto& o = claims.get_object();
  const auto* sub = o.if_contains("sub");
  const auto* role = o.if_contains("role");
  const auto* exp = o.if_contains("exp");
  if (!sub || !sub->is_string() || !role || !role->is_string() || !exp || !exp->is_int64()) {
    return bad("The bearer token's claims are not valid.");
  }
  const auto parsed_role = parse_role(role->get_string());
  if (!parsed_role) return bad("The bearer token names an unknown role.");
  const TimePoint expires{std::chrono::seconds{exp->get_int64()}};
  if (clock_.now() >= expires) return expired_token();
  const auto* acct = o.if_contains("acct");
  std::string account_tag = acct && acct->is_string() ? std::string(acct->get_string()) : "";
  return TokenClaims{std::string(sub->get_string()), *parsed_role, expires, std::move(account_tag)};
}

LoginLimiter::LoginLimiter(const Clock& clock, int per_address_per_minute,
                           int per_account_per_minute)
    : clock_(clock), per_address_(per_address_per_minute), per_account_(per_account_per_minute) {}

void LoginLimiter::prune(Failures& q, Clock::Monotonic now) const {
  while (!q.empty() && now - q.front() >= std::chrono::minutes(1)) q.pop_front();
}

bool LoginLimiter::reached(std::string_view key, int limit, Clock::Monotonic now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  prune(it->second, now);
  if (it->second.empty()) {
    failures_.erase(it);
    return false;
  }
  return static_cast<int>(it->second.size()) >= limit;
}

bool LoginLimiter::refused(std::string_view username, std::string_view address) {
  const auto now = clock_.monotonic();
  std::lock_guard lock(mu_);
  // Both are looked at (no short cut), so both forget their old failures.
  const bool by_address = reached(std::string("addr:").append(address), per_address_, now);
  const bool by_account = reached(std::string("user:").append(username), per_account_, now);
  return by_address || by_account;
}

void LoginLimiter::add(std::string key, Clock::Monotonic now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) it = failures_.emplace(std::move(key), Failures{}).first;
  prune(it->second, now);
  it->second.push_back(now);
}

void LoginLimiter::record_failure(std::string_view username, std::string_view address) {
  const auto now = clock_.monotonic();
  std::lock_guard lock(mu_);
  if (failures_.size() >= kMaxKeys) {
    // Many distinct names or addresses: forget those whose failures are all over a minute old.
    for (auto i = failures_.begin(); i != failures_.end();) {
      prune(i->second, now);
      i = i->second.empty() ? failures_.erase(i) : std::next(i);
    }
  }
  add(std::string("addr:").append(address), now);
  add(std::string("user:").append(username), now);
}

}  // namespace castellan::api
