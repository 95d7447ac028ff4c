// Sample data for `castellan demo`: site `hq`, 10 doors, 60 users with cards, groups,
// schedules and a holiday — enough that every decision code can be seen in the demo.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace castellan::app {

struct SeedDocument {
  std::string collection;  // "sites", "doors", ...
  boost::json::object body;
};

struct DemoSeed {
  std::vector<SeedDocument> documents;  // in creation order (references resolve)
  std::vector<std::string> valid_uids;  // cards that are granted somewhere
  std::vector<std::string> expired_uids;
  std::vector<std::string> door_ids;
  std::vector<std::string> controller_ids;  // door controller device ids, parallel to door_ids
};

// Validity windows are placed around `now`.
DemoSeed make_demo_seed(TimePoint now);

}  // namespace castellan::app
