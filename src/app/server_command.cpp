#include <string>

#include "app/commands.hpp"

namespace castellan::app {

void register_server_command(CLI::App& app, CommandAction& action) {
  auto* cmd = app.add_subcommand("server", "Run the HTTPS API, decision engine, journal and MQTT bridge");
  auto config = std::make_shared<std::string>();
  cmd->add_option("--config", *config, "TOML configuration file")->required();
  cmd->callback([&action, config] { action = [] { return not_built_yet("server"); }; });
}

}  // namespace castellan::app
