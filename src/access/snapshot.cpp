#include "access/snapshot.hpp"

#include <cstring>

namespace castellan::access {

SnapshotHolder::SnapshotHolder() : current_(std::make_shared<const Snapshot>()) {}

const Door* Snapshot::find_door(std::string_view door_id) const {
  auto it = door_index.find(door_id);
  return it == door_index.end() ? nullptr : &doors[it->second].door;
}

const Site* Snapshot::find_site(std::string_view site_id) const {
  auto it = site_index.find(site_id);
  return it == site_index.end() ? nullptr : &sites[it->second].site;
}

bool Snapshot::in_lockdown(const Door& door) const {
  if (door.lockdown) return true;
  const Site* s = find_site(door.site);
  return s != nullptr && s->lockdown;
}

std::vector<std::string> Snapshot::doors_of_controller(std::string_view device_id) const {
  std::vector<std::string> out;
  auto it = doors_by_controller.find(device_id);
  if (it == doors_by_controller.end()) return out;
  for (std::uint32_t d : it->second) out.push_back(doors[d].door.id);
  return out;
}

std::string Snapshot::site_tz(std::string_view site_id) const {
  const Site* s = find_site(site_id);
  return s == nullptr ? std::string() : s->tz;
}

std::vector<std::uint32_t> Snapshot::passes_for(const CardHash& hash) const {
  std::vector<std::uint32_t> out;
  std::uint64_t prefix = 0;
  std::memcpy(&prefix, hash.data(), sizeof prefix);
  auto [b, e] = passes_by_hash.equal_range(prefix);
  for (auto it = b; it != e; ++it) {
    if (passes[it->second].pass.hash == hash) out.push_back(it->second);
  }
  return out;
}

std::size_t Snapshot::approx_bytes() const {
  std::size_t n = sizeof(*this) + cards.memory_bytes();
  n += users.capacity() * sizeof(UserEntry) + user_groups.capacity() * sizeof(std::uint32_t);
  for (const UserEntry& u : users) {
    if (u.id.size() > 15) n += u.id.capacity() + 1;  // beyond the small-string buffer
  }
  n += doors.capacity() * (sizeof(DoorEntry) + 64) + door_index.size() * 64;
  for (const GroupEntry& g : groups) n += sizeof(g) + g.doors.capacity() * sizeof(std::uint32_t);
  n += sites.capacity() * sizeof(SiteEntry) + schedules.capacity() * sizeof(Schedule);
  n += passes.capacity() * sizeof(PassEntry);
  return n;
}

}  // namespace castellan::access
