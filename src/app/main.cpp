// castellan: one binary, sub-commands server | demo | sim | journal | version (contract §1).
// Exit 2 for a command line it cannot parse, 1 for a command that fails.
#include <cstdio>
#include <exception>

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every bad option or value exits 2 (CLI11's own codes
    // differ per kind of mistake), as a bad config does.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!action) return 2;
  try {
    return action();
  } catch (const std::exception& e) {
    // What a command cannot recover from at start (a thread that cannot be created) ends it
    // with its reason and exit 1, not with std::terminate's abort.
    std::fprintf(stderr, "castellan: %s\n", e.what());
    return 1;
  }
}
