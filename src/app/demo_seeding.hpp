// Seeds the demo's store (before the server starts) and exports what the simulator needs.
#pragma once

#include <string>

#include "app/demo_seed.hpp"
#include "core/result.hpp"

namespace castellan::app {

// Opens the store at `db_path`, creates the seed resources unless site `hq` already exists,
// and writes `keys_file` (door -> hex signing key, mode 0600).
Result<void> seed_demo_store(const std::string& db_path, const std::string& card_secret,
                             const DemoSeed& seed, const std::string& keys_file);

}  // namespace castellan::app
