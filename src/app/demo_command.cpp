#include <string>

#include "app/commands.hpp"

namespace castellan::app {

void register_demo_command(CLI::App& app, CommandAction& action) {
  auto* cmd = app.add_subcommand("demo", "Everything on embedded defaults: broker, server, seed data, simulator");
  auto data_dir = std::make_shared<std::string>();
  auto no_sim = std::make_shared<bool>(false);
  cmd->add_option("--data-dir", *data_dir, "Directory for the demo's data");
  cmd->add_flag("--no-sim", *no_sim, "Do not start the simulator");
  cmd->callback([&action] { action = [] { return not_built_yet("demo"); }; });
}

}  // namespace castellan::app
