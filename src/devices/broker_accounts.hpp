// BrokerAccounts: the mosquitto password file and ACL that Castellan maintains.
//
// Two kinds of accounts:
// - service accounts (the server's own bridge, `castellan demo`'s mqtt_admin, tools):
//   `topic readwrite castellan/#`;
// - device accounts (username = device id): may write `castellan/v1/{site}/devices/{id}/#`
//   and `castellan/v1/{site}/doors/{door}/{swipe,state}` of the doors the device controls,
//   and read `castellan/v1/{site}/doors/{door}/{decision,command}` of those doors.
//
// The two files are the only state: open() parses them back, and every change reads them
// again first, so accounts an operator added by hand (mosquitto_passwd, an edited ACL) survive.
// An ACL block not in the shape this class writes (another user's rights, `pattern` lines, lines
// before the first `user`) is kept as it was, line for line. Every change rewrites both files
// atomically (temp file, fsync, rename) with mode 0600; then the caller reloads the broker
// (BrokerProcess::reload(), or SIGHUP to a system mosquitto, see docs/operations.md).
// Passwords use mosquitto's own `$7$` format: PBKDF2-HMAC-SHA512, 101 iterations, 12-byte
// salt, 64-byte hash, both base64: `user:$7$101$<salt>$<hash>`. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace castellan::devices {

struct MqttCredentials {
  std::string username;
  std::string password;
};

class BrokerAccounts {
 public:
  // Loads both files when they exist (missing files = no accounts yet).
  static Result<BrokerAccounts> open(std::string password_file, std::string acl_file);

  BrokerAccounts(BrokerAccounts&& other) noexcept;
  BrokerAccounts& operator=(BrokerAccounts&&) = delete;

  // Creates or rotates a service account (readwrite castellan/#). No password: a random one.
  // A name held by a device account, or by an account added by hand: ERR_CONFLICT.
  Result<MqttCredentials> set_service_account(std::string_view username,
                                              std::optional<std::string> password = std::nullopt);
  // Creates or rotates a device's credentials with a new random password; `doors` (the doors
  // the device controls, may be empty for a sensor) replaces the previous list. A name held by
  // a service account, or by an account added by hand: ERR_CONFLICT.
  Result<MqttCredentials> set_device_credentials(std::string_view device_id, std::string_view site,
                                                 const std::vector<std::string>& doors);
  // Removes the account (device or service). Removing an unknown name is not an error.
  Result<void> remove_account(std::string_view username);

  bool has_account(std::string_view username) const;
  std::vector<std::string> usernames() const;

 private:
  struct Account {
    bool service = false;
    std::string encoded_password;  // "$7$101$..."; empty: an ACL block without a password
    std::string site;              // devices only
    std::vector<std::string> doors;
    // Not one of ours (neither shape above): its ACL lines, kept as read.
    std::optional<std::vector<std::string>> foreign_acl;
  };
  BrokerAccounts(std::string password_file, std::string acl_file);
  // Reads both files into accounts_ and acl_preamble_ (replacing what was there).
  Result<void> load();
  Result<void> save() const;
  // save(); when it fails, `username` goes back to `previous` (none: removed), in memory and
  // in the files. Called with mutex_ held.
  Result<void> save_or_restore(const std::string& username, std::optional<Account> previous);
  std::string render_password_file() const;
  std::string render_acl() const;

  std::string password_file_;
  std::string acl_file_;
  mutable std::mutex mutex_;
  std::map<std::string, Account, std::less<>> accounts_;
  std::vector<std::string> acl_preamble_;  // lines before the first `user`, kept as read
};

// mosquitto `$7$` encoding of `password` with the given salt (12 random bytes when empty).
std::string mosquitto_password_hash(std::string_view password, std::string_view salt = {});
// True when `password` matches an encoded `$7$` (PBKDF2-SHA512) entry.
bool mosquitto_password_matches(std::string_view password, std::string_view encoded);

}  // namespace castellan::devices
