// Seeds the demo's store (before the server starts) and exports what the simulator needs.
#pragma once

#include <string>

#include "app/demo_seed.hpp"
#include "core/result.hpp"

namespace castellan::app {

// Opens the store at `db_path` and creates the seed documents that are missing, until one
// seeding has completed (marked by `demo-seeded` next to the store); after that the data is
// the operator's, and what an admin deleted through the API stays deleted. Then writes
// `keys_file` (door -> hex signing key, mode 0600) for the seed doors that exist, and drops
// from `seed` the doors (with their controllers) and cards that no longer exist, so that the
// simulator is not told to use them.
Result<void> seed_demo_store(const std::string& db_path, const std::string& card_secret,
                             DemoSeed& seed, const std::string& keys_file);

}  // namespace castellan::app
