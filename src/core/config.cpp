#include "core/config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>
#include <variant>

extern char** environ;

namespace castellan {
namespace {

using Target = std::variant<std::string*, int*, std::int64_t*, double*, bool*>;

// What a value must be beyond its type: a number within [min, max], or a string from a list
// (or any non-empty string). A value that parses but would break the service later (a port of
// 70000, a log level spdlog reads as "off", a sample interval of 0 that spins a thread) is a
// start-up error like a wrong type.
struct Rule {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> one_of;
  bool non_empty = false;
};

Rule between(double min, double max) {
  return Rule{.min = min, .max = max};
}
Rule one_of(std::vector<std::string> values) {
  return Rule{.one_of = std::move(values)};
}
const Rule kNonEmpty{.non_empty = true};
const Rule kAny{};

struct Field {
  std::string section;
  std::string key;
  Target target;
  Rule rule;
  std::string env_name() const {
    std::string name = "CASTELLAN_" + section + "_" + key;
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
  }
};

std::vector<Field> fields(Config& c) {
  return {
      {"server", "data_dir", &c.server.data_dir, kNonEmpty},
      {"server", "threads", &c.server.threads, between(1, 256)},
      {"api", "listen", &c.api.listen, kNonEmpty},
      {"api", "tls_cert", &c.api.tls_cert, kAny},
      {"api", "tls_key", &c.api.tls_key, kAny},
      {"api", "max_connections", &c.api.max_connections, between(1, 1e6)},
      {"api", "max_body_bytes", &c.api.max_body_bytes, between(1024, 1LL << 30)},
      {"api", "header_limit_bytes", &c.api.header_limit_bytes, between(1024, 1 << 20)},
      {"api", "request_timeout_ms", &c.api.request_timeout_ms, between(100, 3.6e6)},
      {"api", "idle_timeout_ms", &c.api.idle_timeout_ms, between(100, 8.64e7)},
      {"api", "token_ttl_s", &c.api.token_ttl_s, between(60, 7 * 86400)},
      {"api", "login_attempts_per_minute", &c.api.login_attempts_per_minute, between(1, 1e6)},
      {"api", "account_login_attempts_per_minute", &c.api.account_login_attempts_per_minute,
       between(1, 1e6)},
      {"ops", "listen", &c.ops.listen, kNonEmpty},
      {"mqtt", "host", &c.mqtt.host, kNonEmpty},
      {"mqtt", "port", &c.mqtt.port, between(1, 65535)},
      {"mqtt", "username", &c.mqtt.username, kAny},
      {"mqtt", "password_file", &c.mqtt.password_file, kAny},
      {"mqtt", "client_id", &c.mqtt.client_id, kNonEmpty},
      {"mqtt", "tls_ca", &c.mqtt.tls_ca, kAny},
      {"mqtt", "keepalive_s", &c.mqtt.keepalive_s, between(5, 65535)},
      {"mqtt", "passwd_file", &c.mqtt.passwd_file, kAny},
      {"mqtt", "acl_file", &c.mqtt.acl_file, kAny},
      {"mqtt", "broker_pid_file", &c.mqtt.broker_pid_file, kAny},
      {"store", "path", &c.store.path, kAny},
      {"journal", "dir", &c.journal.dir, kAny},
      {"journal", "segment_bytes", &c.journal.segment_bytes, between(4096, 1LL << 34)},
      {"journal", "batch_max", &c.journal.batch_max, between(1, 65536)},
      {"journal", "linger_us", &c.journal.linger_us, between(0, 1e6)},
      {"journal", "retention_days", &c.journal.retention_days, between(0, 36500)},
      {"journal", "retention_bytes", &c.journal.retention_bytes, between(0, 1e18)},
      {"decision", "timeout_ms", &c.decision.timeout_ms, between(1, 60000)},
      {"decision", "lookup_timeout_ms", &c.decision.lookup_timeout_ms, between(1, 60000)},
      {"decision", "device_timeout_ms", &c.decision.device_timeout_ms, between(1, 60000)},
      {"decision", "dedupe_window_s", &c.decision.dedupe_window_s, between(1, 86400)},
      {"decision", "signature_ttl_s", &c.decision.signature_ttl_s, between(1, 10)},
      {"decision", "max_swipe_age_ms", &c.decision.max_swipe_age_ms, between(0, 8.64e7)},
      {"decision", "door_swipes_per_s", &c.decision.door_swipes_per_s, between(0, 1e6)},
      {"devices", "offline_after_ms", &c.devices.offline_after_ms, between(1000, 8.64e7)},
      {"runtime", "leak_sample_ms", &c.runtime.leak_sample_ms, between(100, 3.6e6)},
      {"runtime", "leak_window_s", &c.runtime.leak_window_s, between(1, 86400)},
      {"runtime", "leak_score_threshold", &c.runtime.leak_score_threshold, between(0.01, 1e9)},
      {"runtime", "leak_score_min_growth", &c.runtime.leak_score_min_growth, between(0, 1e6)},
      {"runtime", "leak_rate_per_hour_threshold", &c.runtime.leak_rate_per_hour_threshold,
       between(0.01, 1e9)},
      {"runtime", "leak_fd_growth_threshold", &c.runtime.leak_fd_growth_threshold, between(1, 1e6)},
      {"runtime", "stuck_task_s", &c.runtime.stuck_task_s, between(1, 86400)},
      {"debug", "fault_injection", &c.debug.fault_injection, kAny},
      {"log", "level", &c.log.level, one_of({"trace", "debug", "info", "warn", "error"})},
      {"log", "format", &c.log.format, one_of({"json", "text", "auto"})},
  };
}

std::string where(const std::string& path, const toml::source_region& src) {
  return path + ":" + std::to_string(src.begin.line);
}

Error config_error(std::string message) {
  return make_error(Code::ERR_BAD_REQUEST, "config: " + std::move(message));
}

// Sets a field from a TOML node; an error message on type mismatch.
std::optional<std::string> set_from_toml(const Field& f, const toml::node& node) {
  return std::visit(
      [&](auto* p) -> std::optional<std::string> {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (auto v = node.value<std::string>(); v && node.is_string()) {
            *p = *v;
            return {};
          }
          return "a string";
        } else if constexpr (std::is_same_v<T, bool>) {
          if (auto v = node.value<bool>(); v && node.is_boolean()) {
            *p = *v;
            return {};
          }
          return "true or false";
        } else if constexpr (std::is_same_v<T, double>) {
          if (auto v = node.value<double>(); v && (node.is_floating_point() || node.is_integer())) {
            *p = *v;
            return {};
          }
          return "a number";
        } else {
          // is_integer() first: toml++ converts a float such as 1e19 to int64 unchecked (UB).
          if (auto* v = node.as_integer()) {
            const std::int64_t n = v->get();
            if constexpr (std::is_same_v<T, int>) {
              if (n < INT32_MIN || n > INT32_MAX) return "an integer in 32-bit range";
            }
            *p = static_cast<T>(n);
            return {};
          }
          return "an integer";
        }
      },
      f.target);
}

std::string number_text(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

// Whether the value now in `f` keeps its rule; what it must be, and what it is, when not.
std::optional<std::string> break_of_rule(const Field& f) {
  const Rule& r = f.rule;
  return std::visit(
      [&](auto* p) -> std::optional<std::string> {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!r.one_of.empty() &&
              std::find(r.one_of.begin(), r.one_of.end(), *p) == r.one_of.end()) {
            return fmt::format("one of {}, got \"{}\"", fmt::join(r.one_of, ", "), *p);
          }
          if (r.non_empty && p->empty()) return std::string("a non-empty string");
          return {};
        } else if constexpr (std::is_same_v<T, bool>) {
          return {};
        } else {
          const auto v = static_cast<double>(*p);
          if (std::isnan(v) || v < r.min || v > r.max) {
            return fmt::format("{} from {} to {}, got {}",
                               std::is_same_v<T, double> ? "a number" : "an integer",
                               number_text(r.min), number_text(r.max), number_text(v));
          }
          return {};
        }
      },
      f.target);
}

// Rules that tie two keys together.
std::optional<std::string> break_of_pairing(const Config& c) {
  if (c.mqtt.passwd_file.empty() != c.mqtt.acl_file.empty()) {
    return "keys 'mqtt.passwd_file' and 'mqtt.acl_file' must be set together (the server "
           "manages device accounts in both) or both left out";
  }
  if (!c.mqtt.broker_pid_file.empty() && c.mqtt.passwd_file.empty()) {
    return "key 'mqtt.broker_pid_file' only tells the server which broker to reload after it "
           "changes 'mqtt.passwd_file'; set that too, or leave both out";
  }
  if (c.journal.retention_bytes != 0 && c.journal.retention_bytes < 2 * c.journal.segment_bytes) {
    return fmt::format(
        "key 'journal.retention_bytes' must be 0 (no size limit) or at least two segments "
        "(2 × journal.segment_bytes = {}), got {}: retention drops whole segments",
        2 * c.journal.segment_bytes, c.journal.retention_bytes);
  }
  return {};
}

// A config path must name a readable regular file: toml++ reads a directory as an empty file,
// which would start the service on defaults without a word.
std::optional<std::string> unreadable(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return fmt::format("cannot read {}: {}", path, ec.message());
  if (!std::filesystem::is_regular_file(status)) return path + " is not a regular file";
  if (::access(path.c_str(), R_OK) != 0) {
    return fmt::format("cannot read {}: {}", path, std::strerror(errno));
  }
  return {};
}

std::optional<std::string> set_from_text(const Field& f, const std::string& text) {
  return std::visit(
      [&](auto* p) -> std::optional<std::string> {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *p = text;
          return {};
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text == "true" || text == "1") {
            *p = true;
            return {};
          }
          if (text == "false" || text == "0") {
            *p = false;
            return {};
          }
          return "true or false";
        } else if constexpr (std::is_same_v<T, double>) {
          std::istringstream in(text);
          double v = 0;
          if (in >> v && in.eof()) {
            *p = v;
            return {};
          }
          return "a number";
        } else {
          T v{};
          auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (ec == std::errc{} && ptr == text.data() + text.size()) {
            *p = v;
            return {};
          }
          return "an integer";
        }
      },
      f.target);
}

}  // namespace

Result<Config> load_config(const std::string& path, const std::map<std::string, std::string>& env) {
  Config config;
  auto table = fields(config);

  if (!path.empty()) {
    if (auto why = unreadable(path)) return config_error(*why);
    toml::table doc;
    try {
      doc = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      return config_error(path + ":" + std::to_string(e.source().begin.line) + ": " +
                          std::string(e.description()));
    }
    for (auto& [section_key, section_node] : doc) {
      const std::string section(section_key.str());
      const auto* section_table = section_node.as_table();
      const bool known_section = std::any_of(table.begin(), table.end(),
                                             [&](const Field& f) { return f.section == section; });
      if (!known_section) {
        return config_error(where(path, section_node.source()) + ": unknown section '" + section +
                            "'");
      }
      if (section_table == nullptr) {  // `[[server]]` or `server = 1`
        return config_error(fmt::format(
            "{}: '{}' must be a table written [{}], not {}", where(path, section_node.source()),
            section, section,
            section_node.is_array() ? "an array of tables [[" + section + "]]" : "a value"));
      }
      for (auto& [key_key, node] : *section_table) {
        const std::string key(key_key.str());
        auto it = std::find_if(table.begin(), table.end(), [&](const Field& f) {
          return f.section == section && f.key == key;
        });
        if (it == table.end()) {
          return config_error(
              fmt::format("{}: unknown key '{}.{}'", where(path, node.source()), section, key));
        }
        auto wrong = set_from_toml(*it, node);
        if (!wrong) wrong = break_of_rule(*it);
        if (wrong) {
          return config_error(fmt::format("{}: key '{}.{}' must be {}", where(path, node.source()),
                                          section, key, *wrong));
        }
      }
    }
  }

  for (const auto& [name, value] : env) {
    if (name.rfind("CASTELLAN_", 0) != 0) continue;
    auto it = std::find_if(table.begin(), table.end(),
                           [&var = name](const Field& f) { return f.env_name() == var; });
    if (it == table.end()) {
      return config_error("environment variable " + name + " matches no configuration key");
    }
    auto wrong = set_from_text(*it, value);
    if (!wrong) wrong = break_of_rule(*it);
    if (wrong) return config_error("environment variable " + name + " must be " + *wrong);
  }
  if (auto wrong = break_of_pairing(config)) return config_error(*wrong);
  return config;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::vector<ConfigKey> config_keys() {
  Config c;
  std::vector<ConfigKey> keys;
  for (const auto& f : fields(c)) {
    std::string value = std::visit(
        [](auto* p) -> std::string {
          using T = std::remove_pointer_t<decltype(p)>;
          if constexpr (std::is_same_v<T, std::string>) {
            return *p;
          } else if constexpr (std::is_same_v<T, bool>) {
            return *p ? "true" : "false";
          } else {
            return fmt::format("{}", *p);
          }
        },
        f.target);
    keys.push_back({f.section + "." + f.key, f.env_name(), std::move(value)});
  }
  return keys;
}

void resolve_default_paths(Config& config) {
  if (config.store.path.empty()) config.store.path = config.server.data_dir + "/castellan.db";
  if (config.journal.dir.empty()) config.journal.dir = config.server.data_dir + "/journal";
}

}  // namespace castellan
