// Dataset: the decoded content of the store (every access resource, typed), from which a
// snapshot is built. ResourceService keeps one in memory and updates it on each committed
// write, so a rebuild never re-reads or re-parses the store.
#pragma once

#include <string>
#include <unordered_map>

#include "access/model.hpp"

namespace castellan::access {

struct Dataset {
  std::unordered_map<std::string, Site> sites;
  std::unordered_map<std::string, Door> doors;
  std::unordered_map<std::string, User> users;
  std::unordered_map<std::string, Card> cards;
  std::unordered_map<std::string, Group> groups;
  std::unordered_map<std::string, Schedule> schedules;
  std::unordered_map<std::string, Holiday> holidays;
  std::unordered_map<std::string, Pass> passes;
};

}  // namespace castellan::access
