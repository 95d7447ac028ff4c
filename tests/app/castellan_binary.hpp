// The `castellan` binary of this build, and reading a file whole: for the tests that run the
// binary as a user would (cli_test, demo_test, demo_data_dir_test).
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace castellan::app::testing {

inline const std::string kBinary = std::string(CASTELLAN_BINARY_DIR) + "/src/app/castellan";

// The file's content; "" when it cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace castellan::app::testing
