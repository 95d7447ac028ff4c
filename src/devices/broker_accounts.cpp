#include "devices/broker_accounts.hpp"

#include <spdlog/spdlog.h>

#include <openssl/evp.h>

#include <fstream>
#include <map>
#include <sstream>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/secrets.hpp"

namespace castellan::devices {
namespace {

// mosquitto 2.0's `$7$` password hashes (mosquitto_passwd): PBKDF2-HMAC-SHA512.
constexpr int kIterations = 101;
constexpr std::size_t kSaltBytes = 12;
constexpr std::size_t kHashBytes = 64;
constexpr std::size_t kPasswordBytes = 24;  // random device passwords: 32 base64 characters
// An account added by hand is the operator's: Castellan neither takes it over nor changes it.
constexpr const char* kForeign =
    "a broker account Castellan does not manage (its ACL is not "
    "in Castellan's shape)";

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --len;  // padding
  out.resize(len);
  return out;
}

std::string pbkdf2_sha512(std::string_view password, std::string_view salt, int iterations) {
  std::string out(kHashBytes, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha512(),
                    static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string random_password() {
  std::string p = base64(random_bytes(kPasswordBytes));
  for (char& c : p) {  // keep it shell- and JSON-friendly
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return p;
}

std::string prefix(std::string_view site) {
  return "castellan/v1/" + std::string(site) + "/";
}

Result<std::string> read_file_if_exists(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (::access(path.c_str(), F_OK) != 0) return std::string();
    return make_error(Code::ERR_UNAVAILABLE, "cannot read " + path);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

}  // namespace

std::string mosquitto_password_hash(std::string_view password, std::string_view salt) {
  std::string s = salt.empty() ? random_bytes(kSaltBytes) : std::string(salt);
  return "$7$" + std::to_string(kIterations) + "$" + base64(s) + "$" +
         base64(pbkdf2_sha512(password, s, kIterations));
}

bool mosquitto_password_matches(std::string_view password, std::string_view encoded) {
  // $7$<iterations>$<salt>$<hash>
  if (!starts_with(encoded, "$7$")) return false;
  std::string_view rest = encoded.substr(3);
  auto d1 = rest.find('$');
  if (d1 == std::string_view::npos) return false;
  auto d2 = rest.find('$', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  int iterations = 0;
  for (char c : rest.substr(0, d1)) {
    if (c < '0' || c > '9' || iterations > 10'000'000) return false;
    iterations = iterations * 10 + (c - '0');
  }
  auto salt = unbase64(rest.substr(d1 + 1, d2 - d1 - 1));
  auto hash = unbase64(rest.substr(d2 + 1));
  if (!salt || !hash || iterations < 1 || hash->size() != kHashBytes) return false;
  return constant_time_equal(pbkdf2_sha512(password, *salt, iterations), *hash);
}

BrokerAccounts::BrokerAccounts(std::string password_file, std::string acl_file)
    : password_file_(std::move(password_file)), acl_file_(std::move(acl_file)) {}

BrokerAccounts::BrokerAccounts(BrokerAccounts&& other) noexcept
    : password_file_(std::move(other.password_file_)),
      acl_file_(std::move(other.acl_file_)),
      accounts_(std::move(other.accounts_)) {}

Result<BrokerAccounts> BrokerAccounts::open(std::string password_file, std::string acl_file) {
  if (password_file.empty() || acl_file.empty()) {
    return make_error(Code::ERR_BAD_REQUEST, "broker password file and ACL file must both be set");
  }
  BrokerAccounts accounts(std::move(password_file), std::move(acl_file));
  if (auto r = accounts.load(); !r) return r.error();
  return accounts;
}

namespace {

struct Shape {
  bool service = false;
  std::string site;
  std::vector<std::string> doors;
};

// The account a "user" block of the ACL describes, if it has the shape render_acl() writes.
std::optional<Shape> shape_of(const std::string& name, const std::vector<std::string>& lines) {
  Shape shape;
  bool own_devices_line = false;
  for (const auto& line : lines) {
    std::istringstream words(line);
    std::string kw, access, topic, more;
    words >> kw >> access >> topic >> more;
    if (kw != "topic" || !more.empty()) return std::nullopt;
    if (access == "readwrite" && topic == "castellan/#") {
      if (lines.size() != 1) return std::nullopt;
      shape.service = true;
      return shape;
    }
    // castellan/v1/{site}/devices/{name}/#, then per door .../doors/{door}/{swipe,state} (write)
    // and .../doors/{door}/{decision,command} (read).
    if (!starts_with(topic, "castellan/v1/")) return std::nullopt;
    std::string_view rest = std::string_view(topic).substr(13);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const std::string site(rest.substr(0, slash));
    if (!shape.site.empty() && shape.site != site) return std::nullopt;
    shape.site = site;
    rest = rest.substr(slash + 1);
    if (access == "write" && rest == "devices/" + name + "/#") {
      own_devices_line = true;
      continue;
    }
    if (!starts_with(rest, "doors/")) return std::nullopt;
    rest = rest.substr(6);
    const auto end = rest.rfind('/');
    if (end == std::string_view::npos || end == 0) return std::nullopt;
    const std::string door(rest.substr(0, end));
    const std::string_view what = rest.substr(end + 1);
    const bool ok = access == "write"  ? (what == "swipe" || what == "state")
                    : access == "read" ? (what == "decision" || what == "command")
                                       : false;
    if (!ok) return std::nullopt;
    if (what == "swipe") shape.doors.push_back(door);
  }
  if (!own_devices_line) return std::nullopt;
  return shape;
}

}  // namespace

Result<void> BrokerAccounts::load() {
  auto pw = read_file_if_exists(password_file_);
  if (!pw) return pw.error();
  auto acl = read_file_if_exists(acl_file_);
  if (!acl) return acl.error();

  std::map<std::string, Account, std::less<>> accounts;
  std::istringstream lines(*pw);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      return make_error(Code::ERR_BAD_REQUEST,
                        password_file_ + ":" + std::to_string(n) + ": expected user:$7$...");
    }
    const auto end = line.find_last_not_of(" \t\r");  // a CRLF file, trailing blanks
    accounts[line.substr(0, colon)].encoded_password = line.substr(colon + 1, end - colon);
  }

  // The ACL: "user X" blocks, each with its lines. A block in the shape render_acl() writes is
  // one of ours; any other is kept as read, as are the lines before the first "user".
  std::vector<std::string> preamble;
  // Read as mosquitto reads it: lines trimmed (a CRLF file, trailing blanks), the sections of
  // one user name merged, and `pattern` lines global wherever they stand.
  std::map<std::string, std::vector<std::string>, std::less<>> blocks;
  std::vector<std::string>* block = nullptr;
  std::istringstream acl_lines(*acl);
  while (std::getline(acl_lines, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') {
      continue;  // ours are regenerated; an operator's comments are not kept
    }
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    if (starts_with(line, "user ")) {
      const auto name = line.find_first_not_of(" \t", 5);
      block = &blocks[name == std::string::npos ? std::string() : line.substr(name)];
    } else if (block == nullptr || starts_with(line, "pattern ")) {
      preamble.push_back(line);
    } else {
      block->push_back(line);
    }
  }
  for (auto& [name, block] : blocks) {
    Account& a = accounts[name];
    // A block in Castellan's shape is Castellan's, with or without a password: a stop between
    // save()'s two files leaves a new account's block without its password line, and the next
    // credentials call must give it one, not refuse it as hand-made.
    if (auto shape = shape_of(name, block)) {
      a.service = shape->service;
      a.site = std::move(shape->site);
      a.doors = std::move(shape->doors);
    } else {
      a.foreign_acl = std::move(block);
    }
  }
  // A password without an ACL block: an account that may do nothing, as mosquitto reads it.
  for (auto& [name, a] : accounts) {
    if (!a.service && a.site.empty() && !a.foreign_acl) a.foreign_acl.emplace();
  }
  accounts_ = std::move(accounts);
  acl_preamble_ = std::move(preamble);
  return {};
}

std::string BrokerAccounts::render_password_file() const {
  std::string out;
  for (const auto& [name, a] : accounts_) {
    if (!a.encoded_password.empty()) out += name + ":" + a.encoded_password + "\n";
  }
  return out;
}

std::string BrokerAccounts::render_acl() const {
  std::string out = "# Generated by castellan (BrokerAccounts); rewritten on every change.\n";
  for (const auto& line : acl_preamble_) out += line + "\n";
  for (const auto& [name, a] : accounts_) {
    if (a.foreign_acl) {
      if (a.foreign_acl->empty()) continue;  // no block: no rights, as it was read
      out += "\nuser " + name + "\n";
      for (const auto& line : *a.foreign_acl) out += line + "\n";
      continue;
    }
    out += "\nuser " + name + "\n";
    if (a.service) {
      out += "topic readwrite castellan/#\n";
      continue;
    }
    const std::string root = prefix(a.site);
    out += "topic write " + root + "devices/" + name + "/#\n";
    for (const auto& door : a.doors) {
      for (const char* t : {"swipe", "state"})
        out += "topic write " + root + "doors/" + door + "/" + t + "\n";
      for (const char* t : {"decision", "command"})
        out += "topic read " + root + "doors/" + door + "/" + t + "\n";
    }
  }
  return out;
}

Result<void> BrokerAccounts::save() const {
  // ACL first: a new account without its ACL would be allowed nothing, never too much.
  if (auto r = write_secret_file(acl_file_, render_acl()); !r) return r;
  return write_secret_file(password_file_, render_password_file());
}

Result<void> BrokerAccounts::save_or_restore(const std::string& username,
                                             std::optional<Account> previous) {
  auto saved = save();
  if (saved) return saved;
  if (previous) {
    accounts_[username] = std::move(*previous);
  } else {
    accounts_.erase(username);
  }
  // The ACL may already hold the change (it is written first): write the old state back, as
  // far as the disk lets us, or the broker would apply half a change at its next reload.
  if (auto restored = save(); !restored) {
    spdlog::error(
        "broker accounts: the files could not be restored after a failed change of "
        "'{}': {}",
        username, restored.error().message);
  }
  return saved;
}

Result<MqttCredentials> BrokerAccounts::set_service_account(std::string_view username,
                                                            std::optional<std::string> password) {
  if (!is_valid_id(username)) {
    return make_error(Code::ERR_BAD_REQUEST, "MQTT service user name '" + std::string(username) +
                                                 "' must match [A-Za-z0-9_.-]{1,64}");
  }
  std::lock_guard lock(mutex_);
  if (auto r = load(); !r) return r.error();  // what an operator changed by hand stays
  if (auto it = accounts_.find(username); it != accounts_.end() && !it->second.service) {
    return make_error(Code::ERR_CONFLICT, "'" + std::string(username) + "' is already " +
                                              (it->second.foreign_acl ? kForeign : "a device") +
                                              " account");
  }
  MqttCredentials creds{std::string(username), password ? *password : random_password()};
  Account a;
  a.service = true;
  a.encoded_password = mosquitto_password_hash(creds.password);
  auto previous = accounts_.find(username) == accounts_.end()
                      ? std::nullopt
                      : std::optional<Account>(accounts_.find(username)->second);
  accounts_[creds.username] = std::move(a);
  if (auto r = save_or_restore(creds.username, std::move(previous)); !r) return r.error();
  return creds;
}

Result<MqttCredentials> BrokerAccounts::set_device_credentials(
    std::string_view device_id, std::string_view site, const std::vector<std::string>& doors) {
  if (!is_valid_id(device_id)) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "device id '" + std::string(device_id) + "' must match [A-Za-z0-9_.-]{1,64}");
  }
  if (!is_valid_site_id(site)) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "site id '" + std::string(site) + "' must match [a-z0-9-]{1,32}");
  }
  for (const auto& d : doors) {
    if (!is_valid_id(d)) {
      return make_error(Code::ERR_BAD_REQUEST,
                        "door id '" + d + "' must match [A-Za-z0-9_.-]{1,64}");
    }
  }
  std::lock_guard lock(mutex_);
  if (auto r = load(); !r) return r.error();  // what an operator changed by hand stays
  auto it = accounts_.find(device_id);
  if (it != accounts_.end() && it->second.foreign_acl) {
    return make_error(Code::ERR_CONFLICT,
                      "'" + std::string(device_id) + "' is already " + kForeign + " account");
  }
  if (it != accounts_.end() && it->second.service) {
    return make_error(Code::ERR_CONFLICT,
                      "'" + std::string(device_id) + "' is a service account, not a device");
  }
  std::optional<Account> previous;
  if (it != accounts_.end()) previous = it->second;
  MqttCredentials creds{std::string(device_id), random_password()};
  Account a;
  a.encoded_password = mosquitto_password_hash(creds.password);
  a.site = std::string(site);
  a.doors = doors;
  accounts_[creds.username] = std::move(a);
  if (auto r = save_or_restore(creds.username, std::move(previous)); !r) return r.error();
  return creds;
}

Result<void> BrokerAccounts::remove_account(std::string_view username) {
  std::lock_guard lock(mutex_);
  if (auto r = load(); !r) return r.error();  // what an operator changed by hand stays
  auto it = accounts_.find(username);
  if (it == accounts_.end()) return {};
  Account previous = it->second;
  accounts_.erase(it);
  return save_or_restore(std::string(username), std::move(previous));
}

bool BrokerAccounts::has_account(std::string_view username) const {
  std::lock_guard lock(mutex_);
  auto it = accounts_.find(username);
  return it != accounts_.end() && !it->second.encoded_password.empty();
}

std::vector<std::string> BrokerAccounts::usernames() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, a] : accounts_) {
    if (!a.encoded_password.empty()) out.push_back(name);
  }
  return out;
}

}  // namespace castellan::devices
