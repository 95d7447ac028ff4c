#include "api/accounts.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/secrets.hpp"

namespace castellan::api {

Result<std::optional<Account>> MemoryAccountRepository::find(const std::string& username) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(username);
  if (it == accounts_.end()) return std::optional<Account>{};
  return std::optional<Account>{it->second};
}

Result<std::vector<Account>> MemoryAccountRepository::list(const std::string& after, int limit) {
  std::lock_guard lock(mu_);
  std::vector<Account> out;
  for (auto it = accounts_.upper_bound(after);
       it != accounts_.end() && static_cast<int>(out.size()) < limit; ++it) {
    out.push_back(it->second);
  }
  return out;
}

Result<void> MemoryAccountRepository::create(const Account& account) {
  std::lock_guard lock(mu_);
  if (!accounts_.emplace(account.username, account).second) {
    return make_error(Code::ERR_CONFLICT, "An account named '" + account.username + "' exists.");
  }
  return {};
}

Result<void> MemoryAccountRepository::update(const Account& account) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account.username);
  if (it == accounts_.end()) {
    return make_error(Code::ERR_NOT_FOUND, "No account named '" + account.username + "'.");
  }
  it->second = account;
  return {};
}

Result<void> MemoryAccountRepository::remove(const std::string& username) {
  std::lock_guard lock(mu_);
  if (accounts_.erase(username) == 0) {
    return make_error(Code::ERR_NOT_FOUND, "No account named '" + username + "'.");
  }
  return {};
}

std::string account_tag(const Account& account) {
  const Digest d = sha256("castellan-account-tag-v1|" + account.password_hash + "|" +
                          std::string(role_name(account.role)));
  return to_hex(std::span<const std::uint8_t>(d.data(), 8));
}

Result<std::optional<std::string>> AccountTags::current(const std::string& username) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = tags_.find(username); it != tags_.end()) return it->second;
    generation = generation_;
  }
  auto found = accounts_.find(username);
  if (!found) return found.error();
  std::optional<std::string> tag;
  if (*found) tag = account_tag(**found);
  std::lock_guard lock(mu_);
  // A change meanwhile may have made what was read stale: answer it, but do not remember it.
  if (generation_ != generation) return tag;
  if (tags_.size() >= kMax) tags_.clear();
  tags_[username] = tag;
  return tag;
}

Result<void> AccountTags::preload() {
  std::map<std::string, std::optional<std::string>, std::less<>> tags;
  for (std::string after;;) {
    auto page = accounts_.list(after, 500);
    if (!page) return page.error();
    for (const auto& a : *page) tags[a.username] = account_tag(a);
    if (page->size() < 500 || tags.size() >= kMax) break;
    after = page->back().username;
  }
  std::lock_guard lock(mu_);
  tags_ = std::move(tags);
  ++generation_;
  return {};
}

void AccountTags::set(const std::string& username, std::optional<std::string> tag) {
  std::lock_guard lock(mu_);
  if (tags_.size() >= kMax && !tags_.contains(username)) tags_.clear();
  tags_[username] = std::move(tag);
  ++generation_;
}

bool is_valid_username(std::string_view username) {
  if (username.empty() || username.size() > 64) return false;
  for (char c : username) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<AdminBootstrap> ensure_admin_account(AccountRepository& accounts,
                                            const PasswordHasher& hasher,
                                            const std::string& data_dir) {
  AdminBootstrap out;
  out.password_file = data_dir + "/admin-password";
  // The first password stays a secret while the file is there: checked at every start.
  if (std::error_code ec; std::filesystem::exists(out.password_file, ec)) {
    if (auto r = read_secret_file(out.password_file); !r) return r.error();
  }
  // Only while nobody can administer: an `admin` that an administrator deleted stays deleted.
  std::string after;
  for (;;) {
    const auto page = accounts.list(after, 500);
    if (!page) return page.error();
    for (const auto& a : *page) {
      if (a.role == Role::kAdmin) return out;
    }
    if (page->size() < 500) break;
    after = page->back().username;
  }
  auto existing = accounts.find("admin");
  if (!existing) return existing.error();
  if (*existing) {
    spdlog::warn(
        "no account has the admin role and 'admin' exists with another role: "
        "not changing it (see docs/operations.md, 'First admin')");
    return out;
  }
  if (auto dir = ensure_private_dir(data_dir); !dir) return dir.error();
  // 12 random bytes as 24 hex digits: 96 bits, easy to copy from a terminal.
  const std::string password = to_hex(random_bytes(12));
  auto hash = hasher.hash(password);
  if (!hash) return hash.error();
  // Write the file first: an account whose password nobody knows would lock the admin out.
  if (auto w = write_secret_file(out.password_file, password + "\n"); !w) return w.error();
  if (auto c = accounts.create(Account{"admin", *hash, Role::kAdmin}); !c) return c.error();
  out.created = true;
  out.password = password;
  return out;
}

}  // namespace castellan::api
