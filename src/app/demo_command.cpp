#include <memory>
#include <string>

#include "app/commands.hpp"

namespace castellan::app {

int run_demo(const std::string& data_dir, bool no_sim);

void register_demo_command(CLI::App& app, CommandAction& action) {
  auto* cmd = app.add_subcommand(
      "demo", "Everything on embedded defaults: broker, server, seed data, simulator");
  auto data_dir = std::make_shared<std::string>("./castellan-demo");
  auto no_sim = std::make_shared<bool>(false);
  cmd->add_option("--data-dir", *data_dir, "Directory for the demo's data")->capture_default_str();
  cmd->add_flag("--no-sim", *no_sim, "Do not start the simulator");
  cmd->callback([&action, data_dir, no_sim] {
    action = [data_dir, no_sim] { return run_demo(*data_dir, *no_sim); };
  });
}

}  // namespace castellan::app
