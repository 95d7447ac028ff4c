// `castellan demo --no-sim` on a data dir of its own, for the tests that drive the whole service
// as a user would (demo_test, server_kill_test). It runs with a 10 s decision deadline: a loaded
// CI machine can hold a journal write past the 300 ms default, and the tests' swipes must get
// their real codes, not 50401. The demo is stopped and its dir removed with the test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "app/child_process.hpp"
#include "castellan_binary.hpp"

namespace castellan::app::testing {

class DemoFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("castellan-demo-test-" + std::to_string(::getpid()));
    log_ = dir_.string() + ".log";
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    demo_.stop();
    std::filesystem::remove_all(dir_);
    std::filesystem::remove(log_);
  }

  // Starts the demo with `extra` arguments; its demo.json once ready ({} and a failure if the
  // demo exits or a minute passes first).
  boost::json::object start_demo(const std::vector<std::string>& extra = {}) {
    const auto info = dir_ / "demo.json";
    std::filesystem::remove(info);  // a previous run's
    std::vector<std::string> args{kBinary,
                                  "demo",
                                  "--data-dir",
                                  dir_.string(),
                                  "--no-sim",
                                  "--set",
                                  "decision.timeout_ms=10000"};
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_TRUE(demo_.start(args, log_).ok());
    for (int i = 0; i < 600 && demo_.running(); ++i) {
      boost::system::error_code ec;
      const auto parsed = boost::json::parse(read_file(info), ec);
      if (!ec && parsed.is_object()) return parsed.as_object();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "demo.json never appeared; demo output:\n" << read_file(log_);
    return {};
  }

  // Polls until the demo has exited or `limit` passed; true if it exited.
  bool demo_exits_within(std::chrono::milliseconds limit) {
    using std::chrono::milliseconds;
    for (auto waited = milliseconds(0); demo_.running() && waited < limit;
         waited += milliseconds(50)) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    return !demo_.running();
  }

  std::filesystem::path dir_;
  std::string log_;  // the demo's console output (removed with dir_)
  ChildProcess demo_;
};

}  // namespace castellan::app::testing
