// castellan: one binary, sub-commands server | demo | sim | journal | version (contract §1).
#include <cstdio>

#include "app/commands.hpp"

#ifndef CASTELLAN_VERSION
#define CASTELLAN_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  using namespace castellan::app;
  CLI::App app{"Castellan — access control and IoT edge platform"};
  app.require_subcommand(1);
  CommandAction action;

  register_server_command(app, action);
  register_demo_command(app, action);
  register_sim_command(app, action);
  register_journal_command(app, action);
  app.add_subcommand("version", "Print the version")->callback([&action] {
    action = [] {
      std::printf("castellan %s\n", CASTELLAN_VERSION);
      return 0;
    };
  });

  CLI11_PARSE(app, argc, argv);
  return action ? action() : 2;
}
