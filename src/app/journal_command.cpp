#include <string>

#include "app/commands.hpp"

namespace castellan::app {

void register_journal_command(CLI::App& app, CommandAction& action) {
  auto* cmd = app.add_subcommand("journal", "Verify or export a journal directory");
  cmd->require_subcommand(1);
  auto dir = std::make_shared<std::string>();
  auto* verify = cmd->add_subcommand("verify", "Check every record's CRC and the hash chain");
  verify->add_option("DIR", *dir)->required();
  verify->callback([&action] { action = [] { return not_built_yet("journal verify"); }; });
  auto* exp = cmd->add_subcommand("export", "Export records as JSON Lines");
  exp->add_option("DIR", *dir)->required();
  exp->callback([&action] { action = [] { return not_built_yet("journal export"); }; });
}

}  // namespace castellan::app
