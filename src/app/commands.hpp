// Sub-commands of the `castellan` binary. Each register_* adds its CLI11 sub-command and,
// when the user picks it, stores the function to run in `action` (its return is the exit code).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace castellan::app {

using CommandAction = std::function<int()>;

void register_server_command(CLI::App& app, CommandAction& action);
void register_demo_command(CLI::App& app, CommandAction& action);
void register_sim_command(CLI::App& app, CommandAction& action);
void register_journal_command(CLI::App& app, CommandAction& action);

}  // namespace castellan::app
