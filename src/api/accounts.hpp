// API log-in accounts ({"username","password","role"}; only an Argon2id hash is kept) and the
// first-start `admin` account.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/auth.hpp"
#include "core/result.hpp"

namespace castellan::api {

struct Account {
  std::string username;
  std::string password_hash;
  Role role = Role::kAuditor;
};

// Where accounts live (the store's accounts collection in production). May block.
class AccountRepository {
 public:
  virtual ~AccountRepository() = default;
  // nullopt when there is no such account; an error (50301) when the store cannot say.
  virtual Result<std::optional<Account>> find(const std::string& username) = 0;
  // Sorted by username; at most `limit` after `after` (exclusive, "" = from the start).
  virtual Result<std::vector<Account>> list(const std::string& after, int limit) = 0;
  // 40901 when the username exists.
  virtual Result<void> create(const Account& account) = 0;
  // 40402 when missing.
  virtual Result<void> update(const Account& account) = 0;
  virtual Result<void> remove(const std::string& username) = 0;
};

// Process-local accounts (benchmarks and tests; `castellan server` uses the store).
class MemoryAccountRepository final : public AccountRepository {
 public:
  Result<std::optional<Account>> find(const std::string& username) override;
  Result<std::vector<Account>> list(const std::string& after, int limit) override;
  Result<void> create(const Account& account) override;
  Result<void> update(const Account& account) override;
  Result<void> remove(const std::string& username) override;

 private:
  std::mutex mu_;
  std::map<std::string, Account> accounts_;
};

// What a token remembers of its account (the "acct" claim): 16 hex digits of a SHA-256 over
// the password hash and the role. A new password (a new salt, even for the same password) or
// role gives a new tag, so every token issued before is refused; it survives restarts, as it
// is computed from the stored account.
std::string account_tag(const Account& account);

// The current tag of each account, for the check of every request, which runs on an io thread:
// every account's tag is read at start (preload) and set again when the API creates, changes
// or deletes one, so that a request never waits for the store (a disk that stalls a commit
// would stall the io thread and every connection on it). Only a name that is not remembered
// (more than kMax accounts) is looked up in the store. Thread-safe.
class AccountTags {
 public:
  explicit AccountTags(AccountRepository& accounts) : accounts_(accounts) {}
  // Reads every account's tag (at start, before requests are served).
  Result<void> preload();
  // The account's tag; nullopt when there is no such account; an error when the store cannot say.
  Result<std::optional<std::string>> current(const std::string& username);
  // The account's tag after the API changed it (nullopt: deleted).
  void set(const std::string& username, std::optional<std::string> tag);

 private:
  static constexpr std::size_t kMax = 100000;  // emptied when full, like the token cache
  AccountRepository& accounts_;
  std::mutex mu_;
  std::map<std::string, std::optional<std::string>, std::less<>> tags_;
  std::uint64_t generation_ = 0;  // counts set()s
};

// Usernames: 1–64 of [A-Za-z0-9_.@-]. Passwords: 8–1024 bytes.
bool is_valid_username(std::string_view username);

struct AdminBootstrap {
  bool created = false;
  std::string password;  // only when created: print it once
  std::string password_file;
};

// First start (and recovery): when no account has the admin role, creates `admin` (role admin)
// with a random password, writes the password to DATA_DIR/admin-password (0600) and returns it
// so the caller prints it once. While any administrator exists it changes nothing, so an `admin`
// that an administrator deleted is not brought back by a restart.
Result<AdminBootstrap> ensure_admin_account(AccountRepository& accounts,
                                            const PasswordHasher& hasher,
                                            const std::string& data_dir);

}  // namespace castellan::api
