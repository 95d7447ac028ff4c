// build_snapshot(): turns the typed Dataset into the index structures of a Snapshot.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

#include "access/snapshot.hpp"

namespace castellan::access {

namespace {

// User id -> index into Snapshot::users, built once per snapshot and used for every card and
// group member (3.5M lookups at 1M cards). Open addressing over one flat array with the high
// hash bits kept as a tag: a lookup costs one cache miss for the slot and one for the user
// entry it names, about half of what std::unordered_map's bucket + node chase costs.
class UserIndex {
 public:
  explicit UserIndex(const std::vector<UserEntry>& users) : users_(users) {
    std::size_t size = 16;
    while (size < 2 * users.size()) size *= 2;
    mask_ = size - 1;
    slots_.assign(size, Slot{0, kEmpty});
    for (std::uint32_t i = 0; i < users.size(); ++i) {
      const std::size_t h = hash(users[i].id);
      std::size_t at = h & mask_;
      while (slots_[at].index != kEmpty) at = (at + 1) & mask_;
      slots_[at] = Slot{tag(h), i};
    }
  }

  std::optional<std::uint32_t> find(std::string_view id) const {
    const std::size_t h = hash(id);
    for (std::size_t at = h & mask_;; at = (at + 1) & mask_) {
      const Slot& slot = slots_[at];
      if (slot.index == kEmpty) return std::nullopt;
      if (slot.tag == tag(h) && users_[slot.index].id == id) return slot.index;
    }
  }

 private:
  struct Slot {
    std::uint32_t tag;
    std::uint32_t index;
  };
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFF;
  static std::size_t hash(std::string_view id) { return std::hash<std::string_view>{}(id); }
  static std::uint32_t tag(std::size_t h) { return static_cast<std::uint32_t>(h >> 32); }

  const std::vector<UserEntry>& users_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

std::vector<std::uint32_t> door_indices(const Snapshot& s, const std::vector<std::string>& ids) {
  std::vector<std::uint32_t> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    auto it = s.door_index.find(id);
    if (it != s.door_index.end()) out.push_back(it->second);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void add_sites_and_doors(const Dataset& data, Snapshot& s) {
  s.sites.reserve(data.sites.size());
  for (const auto& [id, site] : data.sites) {
    SiteEntry e{site, nullptr, {}};
    try {
      e.zone = date::locate_zone(site.tz);
    } catch (const std::exception&) {
      e.zone = date::locate_zone("UTC");  // validated on write; a vanished zone falls back
    }
    s.site_index.emplace(id, static_cast<std::uint32_t>(s.sites.size()));
    s.sites.push_back(std::move(e));
  }
  for (const auto& [id, h] : data.holidays) {
    auto it = s.site_index.find(h.site);
    if (it != s.site_index.end()) s.sites[it->second].holidays.push_back(date::local_days{h.date});
  }
  for (SiteEntry& e : s.sites) std::sort(e.holidays.begin(), e.holidays.end());

  s.doors.reserve(data.doors.size());
  for (const auto& [id, door] : data.doors) {
    auto site = s.site_index.find(door.site);
    if (site == s.site_index.end()) continue;
    auto index = static_cast<std::uint32_t>(s.doors.size());
    s.door_index.emplace(id, index);
    s.doors_by_controller[door.controller].push_back(index);
    s.doors.push_back(DoorEntry{door, site->second});
  }
}

void add_groups_and_users(const Dataset& data, Snapshot& s, std::optional<UserIndex>& user_index) {
  StringMap<std::int32_t> schedule_index;
  for (const auto& [id, sched] : data.schedules) {
    schedule_index.emplace(id, static_cast<std::int32_t>(s.schedules.size()));
    s.schedules.push_back(sched);
  }
  s.users.reserve(data.users.size());
  for (const auto& [id, user] : data.users) {
    s.users.push_back(UserEntry{id, user.status == UserStatus::suspended, 0, 0});
  }
  user_index.emplace(s.users);
  // Memberships: (user, group) pairs, then laid out per user (CSR).
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
  for (const auto& [id, group] : data.groups) {
    GroupEntry g;
    g.id = id;
    if (group.schedule) {
      auto it = schedule_index.find(*group.schedule);
      // A group whose schedule vanished grants never rather than always.
      g.schedule = it == schedule_index.end() ? -2 : it->second;
    }
    g.doors = door_indices(s, group.doors);
    auto gi = static_cast<std::uint32_t>(s.groups.size());
    for (const std::string& m : group.members) {
      if (auto u = user_index->find(m)) pairs.emplace_back(*u, gi);
    }
    s.groups.push_back(std::move(g));
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  s.user_groups.reserve(pairs.size());
  for (const auto& [u, g] : pairs) {
    if (s.users[u].groups_count == 0) s.users[u].groups_begin = s.user_groups.size();
    ++s.users[u].groups_count;
    s.user_groups.push_back(g);
  }
}

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(const Dataset& data, PassUseLedger& ledger,
                                               std::uint64_t version) {
  auto s = std::make_shared<Snapshot>();
  s->version = version;
  add_sites_and_doors(data, *s);
  std::optional<UserIndex> user_index;
  add_groups_and_users(data, *s, user_index);

  s->cards.reserve(data.cards.size());
  for (const auto& [id, card] : data.cards) {
    auto u = user_index->find(card.user);
    if (!u) continue;
    CardRecord r;
    r.hash = card.hash;
    r.user = *u;
    r.status = card.status;
    if (card.valid_from) r.valid_from_us = to_unix_us(*card.valid_from);
    if (card.valid_until) r.valid_until_us = to_unix_us(*card.valid_until);
    s->cards.insert(r);
  }

  for (const auto& [id, pass] : data.passes) {
    PassEntry e{pass, door_indices(*s, pass.doors), ledger.counter(id)};
    std::uint64_t prefix = 0;
    std::memcpy(&prefix, pass.hash.data(), sizeof prefix);
    s->passes_by_hash.emplace(prefix, static_cast<std::uint32_t>(s->passes.size()));
    s->passes.push_back(std::move(e));
  }
  return s;
}

}  // namespace castellan::access
