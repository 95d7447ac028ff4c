#include "core/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <charconv>
#include <functional>
#include <sstream>
#include <variant>

extern char** environ;

namespace castellan {
namespace {

using Target = std::variant<std::string*, int*, std::int64_t*, double*, bool*>;

struct Field {
  std::string section;
  std::string key;
  Target target;
  std::string env_name() const {
    std::string name = "CASTELLAN_" + section + "_" + key;
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
  }
};

std::vector<Field> fields(Config& c) {
  return {
      {"server", "data_dir", &c.server.data_dir},
      {"server", "threads", &c.server.threads},
      {"api", "listen", &c.api.listen},
      {"api", "tls_cert", &c.api.tls_cert},
      {"api", "tls_key", &c.api.tls_key},
      {"api", "max_connections", &c.api.max_connections},
      {"api", "max_body_bytes", &c.api.max_body_bytes},
      {"api", "header_limit_bytes", &c.api.header_limit_bytes},
      {"api", "request_timeout_ms", &c.api.request_timeout_ms},
      {"api", "idle_timeout_ms", &c.api.idle_timeout_ms},
      {"api", "token_ttl_s", &c.api.token_ttl_s},
      {"api", "login_attempts_per_minute", &c.api.login_attempts_per_minute},
      {"api", "account_login_attempts_per_minute", &c.api.account_login_attempts_per_minute},
      {"ops", "listen", &c.ops.listen},
      {"mqtt", "host", &c.mqtt.host},
      {"mqtt", "port", &c.mqtt.port},
      {"mqtt", "username", &c.mqtt.username},
      {"mqtt", "password_file", &c.mqtt.password_file},
      {"mqtt", "client_id", &c.mqtt.client_id},
      {"mqtt", "tls_ca", &c.mqtt.tls_ca},
      {"mqtt", "keepalive_s", &c.mqtt.keepalive_s},
      {"mqtt", "passwd_file", &c.mqtt.passwd_file},
      {"mqtt", "acl_file", &c.mqtt.acl_file},
      {"mqtt", "broker_pid_file", &c.mqtt.broker_pid_file},
      {"store", "path", &c.store.path},
      {"journal", "dir", &c.journal.dir},
      {"journal", "segment_bytes", &c.journal.segment_bytes},
      {"journal", "batch_max", &c.journal.batch_max},
      {"journal", "linger_us", &c.journal.linger_us},
      {"journal", "retention_days", &c.journal.retention_days},
      {"journal", "retention_bytes", &c.journal.retention_bytes},
      {"decision", "timeout_ms", &c.decision.timeout_ms},
      {"decision", "lookup_timeout_ms", &c.decision.lookup_timeout_ms},
      {"decision", "device_timeout_ms", &c.decision.device_timeout_ms},
      {"decision", "dedupe_window_s", &c.decision.dedupe_window_s},
      {"decision", "signature_ttl_s", &c.decision.signature_ttl_s},
      {"decision", "max_swipe_age_ms", &c.decision.max_swipe_age_ms},
      {"decision", "door_swipes_per_s", &c.decision.door_swipes_per_s},
      {"devices", "offline_after_ms", &c.devices.offline_after_ms},
      {"runtime", "leak_sample_ms", &c.runtime.leak_sample_ms},
      {"runtime", "leak_window_s", &c.runtime.leak_window_s},
      {"runtime", "leak_score_threshold", &c.runtime.leak_score_threshold},
      {"runtime", "leak_rate_per_hour_threshold", &c.runtime.leak_rate_per_hour_threshold},
      {"runtime", "leak_fd_growth_threshold", &c.runtime.leak_fd_growth_threshold},
      {"runtime", "stuck_task_s", &c.runtime.stuck_task_s},
      {"debug", "fault_injection", &c.debug.fault_injection},
      {"log", "level", &c.log.level},
      {"log", "format", &c.log.format},
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
          if (auto v = node.value<std::int64_t>(); v && node.is_integer()) {
            if constexpr (std::is_same_v<T, int>) {
              if (*v < INT32_MIN || *v > INT32_MAX) return "an integer in 32-bit range";
            }
            *p = static_cast<T>(*v);
            return {};
          }
          return "an integer";
        }
      },
      f.target);
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
      if (!known_section || section_table == nullptr) {
        return config_error(where(path, section_node.source()) + ": unknown section '" + section +
                            "'");
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
        if (auto wrong = set_from_toml(*it, node)) {
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
    if (auto wrong = set_from_text(*it, value)) {
      return config_error("environment variable " + name + " must be " + *wrong);
    }
  }
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

std::vector<std::pair<std::string, std::string>> config_keys() {
  Config c;
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& f : fields(c)) keys.emplace_back(f.section + "." + f.key, f.env_name());
  return keys;
}

void resolve_default_paths(Config& config) {
  if (config.store.path.empty()) config.store.path = config.server.data_dir + "/castellan.db";
  if (config.journal.dir.empty()) config.journal.dir = config.server.data_dir + "/journal";
}

}  // namespace castellan
