#include "devices/adapters/adapters.hpp"

#include "core/crypto.hpp"

namespace castellan::devices {

std::optional<DoorInfo> SnapshotDoorDirectory::find(std::string_view site,
                                                    std::string_view door) const {
  auto info = find_by_id(door);
  if (!info || info->site != site) return std::nullopt;
  return info;
}

std::optional<DoorInfo> SnapshotDoorDirectory::find_by_id(std::string_view door) const {
  auto snapshot = snapshots_.load();
  if (!snapshot) return std::nullopt;
  const access::Door* d = snapshot->find_door(door);
  if (!d) return std::nullopt;
  DoorInfo info;
  info.site = d->site;
  info.id = d->id;
  info.key = from_hex(d->key_hex).value_or(std::string{});
  info.unlock_ms = d->unlock_ms;
  info.held_open_s = d->held_open_s;
  info.fail_safe = d->fail_mode == access::FailMode::safe;
  return info;
}

}  // namespace castellan::devices
