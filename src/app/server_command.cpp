#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "core/config.hpp"

namespace castellan::app {

int run_server(const Config& config);

void register_server_command(CLI::App& app, CommandAction& action) {
  auto* cmd =
      app.add_subcommand("server", "Run the HTTPS API, decision engine, journal and MQTT bridge");
  auto config_path = std::make_shared<std::string>();
  cmd->add_option("--config", *config_path, "TOML configuration file")->required();
  cmd->callback([&action, config_path] {
    action = [config_path] {
      if (config_path->empty()) {  // an unset shell variable: never start on the defaults
        std::fprintf(stderr, "castellan: --config needs a file (an empty path was given)\n");
        return 2;
      }
      auto config = load_config(*config_path, process_environment());
      if (!config) {
        std::fprintf(stderr, "castellan: %s\n", config.error().message.c_str());
        return 2;
      }
      resolve_default_paths(*config);
      return run_server(*config);
    };
  });
}

}  // namespace castellan::app
