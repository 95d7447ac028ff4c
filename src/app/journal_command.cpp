// `castellan journal verify DIR` and `castellan journal export DIR [--from T] [--to T]`
// (contract §1, §5). Both read the directory only; they are safe next to a running server.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>

#include "app/commands.hpp"
#include "core/time.hpp"
#include "journal/export.hpp"
#include "journal/verify.hpp"

namespace castellan::app {
namespace {

struct JournalArgs {
  std::string dir;
  std::string from;
  std::string to;
};

// A journal directory holds its LOCK, index.dat and segments from its first open on. One with
// none of them is not a journal: verifying DATA_DIR instead of DATA_DIR/journal must not say
// "intact".
bool check_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::fprintf(stderr, "castellan journal: %s is not a directory\n", dir.c_str());
    return false;
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "LOCK" || name == "index.dat" || name.starts_with("seg-")) return true;
  }
  const std::string hint = fs::is_directory(fs::path(dir) / "journal", ec)
                               ? " (did you mean " + (fs::path(dir) / "journal").string() + "?)"
                               : "";
  std::fprintf(stderr,
               "castellan journal: %s is not a journal directory: no segment files, no "
               "index.dat%s\n",
               dir.c_str(), hint.c_str());
  return false;
}

int run_verify(const JournalArgs& args) {
  if (!check_dir(args.dir)) return 2;
  const auto report = journal::verify(args.dir);
  if (report.ok) {
    std::printf("ok: %s\n", report.message.c_str());
    return 0;
  }
  std::printf("damaged: first bad seq %llu\n%s\n",
              static_cast<unsigned long long>(report.first_bad_seq), report.message.c_str());
  return 1;
}

int run_export(const JournalArgs& args) {
  if (!check_dir(args.dir)) return 2;
  journal::ExportOptions options;
  for (auto [text, slot, name] : {std::tuple{&args.from, &options.from, "--from"},
                                  std::tuple{&args.to, &options.to, "--to"}}) {
    if (text->empty()) continue;
    auto t = parse_utc(*text);
    if (!t) {
      std::fprintf(stderr, "castellan journal export: %s '%s' is not an RFC 3339 time\n", name,
                   text->c_str());
      return 2;
    }
    *slot = *t;
  }
  if (options.from && options.to && *options.from > *options.to) {
    std::fprintf(stderr, "castellan journal export: --from %s is after --to %s\n",
                 args.from.c_str(), args.to.c_str());
    return 2;
  }
  std::ios::sync_with_stdio(false);
  auto lines = journal::export_jsonl(args.dir, options, std::cout);
  std::cout.flush();
  if (!std::cout) {
    std::fprintf(stderr, "castellan journal export: writing the output failed (%s)\n",
                 std::strerror(errno));
    return 1;
  }
  if (!lines) {
    std::fprintf(stderr, "castellan journal export: %s\n", lines.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void register_journal_command(CLI::App& app, CommandAction& action) {
  auto* cmd = app.add_subcommand("journal", "Verify or export a journal directory");
  cmd->require_subcommand(1);
  auto args = std::make_shared<JournalArgs>();
  auto* verify = cmd->add_subcommand(
      "verify", "Check every record's CRC and the hash chain (exit 0 intact, 1 damaged)");
  verify->add_option("DIR", args->dir, "journal directory")->required();
  verify->callback([&action, args] { action = [args] { return run_verify(*args); }; });
  auto* exp = cmd->add_subcommand("export", "Export records as JSON Lines (contract §5)");
  exp->add_option("DIR", args->dir, "journal directory")->required();
  exp->add_option("--from", args->from, "first timestamp (RFC 3339, inclusive)");
  exp->add_option("--to", args->to, "last timestamp (RFC 3339, inclusive)");
  exp->callback([&action, args] { action = [args] { return run_export(*args); }; });
}

}  // namespace castellan::app
