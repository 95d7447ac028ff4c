// ResourceService: the one entry point for every resource change and read of the HTTP API.
// It validates bodies and references (door->site, card->user, group->doors/schedule/members,
// holiday->site, pass->doors), writes the store, updates its in-memory Dataset and publishes a
// new snapshot before returning, so the next decision after a write sees it. Concurrent writes
// are serialized; rebuilds are coalesced (one rebuild covers every write committed before it).
// Blocking (store I/O, snapshot rebuild): call from a worker thread, not an io thread.
// Journaling of admin changes is the API's job.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "access/codec.hpp"
#include "access/dataset.hpp"
#include "access/pass_ledger.hpp"
#include "access/snapshot.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace castellan::store {

class ResourceService {
 public:
  // `card_secret` is the installation's card secret (raw bytes as read from its file).
  ResourceService(Store& store, access::SnapshotHolder& snapshots, access::PassUseLedger& ledger,
                  std::string card_secret);

  // Loads every collection and the pass use counts and publishes the first snapshot.
  Result<void> start();

  // Create: 201 body (public view). 40001 bad body, 40402 unknown reference, 40901 id exists.
  Result<json::object> create(Collection c, const json::value& body, std::string_view actor);
  Result<json::object> get(Collection c, std::string_view key);
  // {"items":[...public views...],"next_cursor":"..."|null}
  Result<json::object> list(Collection c, std::string_view cursor, std::size_t limit);
  // Users: a "groups" array in the patch sets the membership (see set_user_groups).
  Result<json::object> patch(Collection c, std::string_view key, const json::value& patch,
                             std::string_view actor);
  // 40901 if something still refers to it (e.g. a site with doors, a user with cards).
  Result<void> remove(Collection c, std::string_view key, std::string_view actor);

  // POST /v1/passes -> {"id","card_hash","last4","uses_left",...}
  Result<json::object> issue_pass(const json::value& body, std::string_view actor);
  // Makes `user` a member of exactly `groups` (array of group ids); returns the user's view.
  Result<json::object> set_user_groups(std::string_view user, const json::value& groups,
                                       std::string_view actor);
  // Door (or whole site) lockdown on/off; returns the public view.
  Result<json::object> set_lockdown(std::string_view door, bool on, std::string_view actor);
  Result<json::object> set_site_lockdown(std::string_view site, bool on, std::string_view actor);
  // The door's signing key (hex) for GET /v1/doors/{id}/key.
  Result<std::string> door_key(std::string_view door);
  // Gives the door a new random signing key and returns it (hex); the next decision for the
  // door is signed with it (POST /v1/doors/{id}/key).
  Result<std::string> rotate_door_key(std::string_view door, std::string_view actor);

  // Drops the store's note of a change whose admin record is durable (store.hpp).
  Result<void> forget_change(std::string_view change_id) { return store_.forget_change(change_id); }

  // Writes pending pass use counts to the store with `as_of` (read before they are taken) as
  // their saved-at time (PassUseFlusher calls this). With none pending, it writes only if
  // `even_if_none` (to move the saved-at time on). Returns whether it wrote.
  Result<bool> flush_pass_uses(TimePoint as_of, bool even_if_none);
  // When pass use counts were last saved (nullopt: never); see Store::pass_uses_saved_at.
  Result<std::optional<TimePoint>> pass_uses_saved_at() { return store_.pass_uses_saved_at(); }

  std::shared_ptr<const access::Snapshot> snapshot() const { return snapshots_.load(); }
  const std::string& card_secret() const { return card_secret_; }

 private:
  // Store write + dataset update (+ version bump). Caller holds write_mu_.
  Result<void> commit(const std::vector<Write>& writes);
  // 40402 when a referenced resource does not exist; 40901 for a duplicate card uid.
  Result<void> check_references(Collection c, const json::object& doc);
  // 40901 when something still refers to the resource.
  Result<void> check_not_referenced(Collection c, std::string_view key);
  // Group document rewrites that make `user` a member of exactly `groups`.
  Result<std::vector<Write>> membership_writes(std::string_view user, const json::value& groups,
                                               bool user_is_new);
  // Caller holds data_mu_.
  void apply_to_dataset(Collection c, const json::object* doc, const std::string& key);
  void publish_through(std::uint64_t version);
  std::uint64_t current_version();
  json::object view(Collection c, const json::object& stored);

  Store& store_;
  access::SnapshotHolder& snapshots_;
  access::PassUseLedger& ledger_;
  std::string card_secret_;
  std::function<std::string(std::size_t)> random_;  // empty = core CSPRNG

  std::mutex write_mu_;    // serializes writes (store + dataset)
  std::mutex data_mu_;     // guards data_ and version_
  std::mutex publish_mu_;  // one rebuild at a time
  access::Dataset data_;
  std::uint64_t version_ = 0;
  std::uint64_t published_ = 0;
  // Card-hash prefixes -> count, to find a duplicate uid without indexing whole hashes twice.
  std::unordered_map<std::uint64_t, std::uint32_t> card_prefixes_;
};

}  // namespace castellan::store
