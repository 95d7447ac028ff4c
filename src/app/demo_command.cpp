#include <memory>
#include <string>
#include <vector>

#include "app/commands.hpp"

namespace castellan::app {

int run_demo(const std::string& data_dir, bool no_sim, const std::vector<std::string>& settings);

void register_demo_command(CLI::App& app, CommandAction& action) {
  auto* cmd = app.add_subcommand(
      "demo", "Everything on embedded defaults: broker, server, seed data, simulator");
  auto data_dir = std::make_shared<std::string>("./castellan-demo");
  auto no_sim = std::make_shared<bool>(false);
  cmd->add_option("--data-dir", *data_dir, "Directory for the demo's data")->capture_default_str();
  cmd->add_flag("--no-sim", *no_sim, "Do not start the simulator");
  // The caller's CASTELLAN_* variables never reach the demo's server (an exported production
  // data dir would); a setting meant for it is given here, by name.
  auto settings = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--set", *settings,
                  "KEY=VALUE for the demo's server (KEY: section.key), e.g. "
                  "decision.door_swipes_per_s=0; repeatable");
  cmd->callback([&action, data_dir, no_sim, settings] {
    action = [data_dir, no_sim, settings] { return run_demo(*data_dir, *no_sim, *settings); };
  });
}

}  // namespace castellan::app
