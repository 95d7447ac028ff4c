// Snapshot: an immutable, decision-ready view of all access data, built from a Dataset by
// build_snapshot() and published through SnapshotHolder. Readers take a shared_ptr with one
// atomic load and never wait for a rebuild; a rebuild builds a whole new Snapshot aside and
// swaps it in. Also the door directory other modules query (devices: doors of a controller
// for the MQTT ACL, signing keys, unlock_ms; api: door lookups).
#pragma once

#include <date/tz.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "access/card_table.hpp"
#include "access/dataset.hpp"
#include "access/model.hpp"
#include "access/pass_ledger.hpp"

namespace castellan::access {

// Transparent string hashing so lookups by string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct SiteEntry {
  Site site;
  const date::time_zone* zone = nullptr;
  std::vector<date::local_days> holidays;  // sorted
};

struct DoorEntry {
  Door door;
  std::uint32_t site_index = 0;
};

struct UserEntry {
  std::string id;
  bool suspended = false;
  std::uint32_t groups_begin = 0;  // into Snapshot::user_groups
  std::uint32_t groups_count = 0;
};

struct GroupEntry {
  std::string id;
  std::int32_t schedule = -1;        // index into schedules, -1 = at any time
  std::vector<std::uint32_t> doors;  // sorted door indices
};

struct PassEntry {
  Pass pass;
  std::vector<std::uint32_t> doors;  // sorted door indices
  std::shared_ptr<PassCounter> counter;
};

class Snapshot {
 public:
  // Monotonic version of the data this snapshot was built from (ResourceService's write count).
  std::uint64_t version = 0;

  std::vector<SiteEntry> sites;
  StringMap<std::uint32_t> site_index;
  std::vector<DoorEntry> doors;
  StringMap<std::uint32_t> door_index;
  StringMap<std::vector<std::uint32_t>> doors_by_controller;
  std::vector<UserEntry> users;
  std::vector<std::uint32_t> user_groups;  // CSR: group indices per user
  std::vector<GroupEntry> groups;
  std::vector<Schedule> schedules;
  CardTable cards;
  std::vector<PassEntry> passes;
  std::unordered_multimap<std::uint64_t, std::uint32_t> passes_by_hash;  // hash prefix -> pass

  // --- door directory ---
  const Door* find_door(std::string_view door_id) const;
  const Site* find_site(std::string_view site_id) const;
  // Door lockdown or its site's lockdown.
  bool in_lockdown(const Door& door) const;
  // Ids of the doors whose `controller` is `device_id` (for the MQTT ACL).
  std::vector<std::string> doors_of_controller(std::string_view device_id) const;
  // The site's IANA zone name; empty for an unknown site.
  std::string site_tz(std::string_view site_id) const;
  // Pass ids issued for a card hash.
  std::vector<std::uint32_t> passes_for(const CardHash& hash) const;

  // Approximate heap bytes of the card index (records + slots) and of the whole snapshot.
  std::size_t card_index_bytes() const { return cards.memory_bytes(); }
  std::size_t approx_bytes() const;
};

// Builds a snapshot. Pass counters come from `ledger` so counts survive rebuilds. Dangling
// references (e.g. a group naming a deleted door) are skipped: the service prevents them,
// the builder still never trusts them.
std::shared_ptr<const Snapshot> build_snapshot(const Dataset& data, PassUseLedger& ledger,
                                               std::uint64_t version);

// The published snapshot. load() is one atomic load plus a refcount increment: readers never
// block and never wait for a rebuild.
class SnapshotHolder {
 public:
  SnapshotHolder();
#if defined(__SANITIZE_THREAD__)
  // libstdc++ 12 guards atomic<shared_ptr> with a lock bit inside the pointer that ThreadSanitizer
  // cannot see, so TSan reports its own internals. Under TSan only, a mutex stands in, so that
  // the race checker still checks everything around the holder.
  std::shared_ptr<const Snapshot> load() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  void publish(std::shared_ptr<const Snapshot> snapshot) {
    std::lock_guard lock(mu_);
    current_.swap(snapshot);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_;
#else
  std::shared_ptr<const Snapshot> load() const {
    return current_.load(std::memory_order_acquire);
  }
  void publish(std::shared_ptr<const Snapshot> snapshot) {
    current_.store(std::move(snapshot), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const Snapshot>> current_;
#endif
};

}  // namespace castellan::access
