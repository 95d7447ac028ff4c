#include <string>

#include "app/commands.hpp"

namespace castellan::app {

void register_sim_command(CLI::App& app, CommandAction& action) {
  auto* cmd = app.add_subcommand("sim", "Device simulator: door controllers and sensors over MQTT");
  auto broker = std::make_shared<std::string>();
  cmd->add_option("--broker", *broker, "HOST:PORT")->required();
  cmd->callback([&action] { action = [] { return not_built_yet("sim"); }; });
}

}  // namespace castellan::app
