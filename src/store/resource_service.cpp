// ResourceService: CRUD flow (validate -> store -> dataset -> snapshot). Reference checks and
// dataset upkeep live in resource_references.cpp.
#include "store/resource_service.hpp"

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"

namespace castellan::store {

using access::Collection;

namespace {

Result<json::object> with_view(Result<json::object> r,
                               const std::function<json::object(const json::object&)>& view) {
  if (!r) return r.error();
  return view(*r);
}

}  // namespace

ResourceService::ResourceService(Store& store, access::SnapshotHolder& snapshots,
                                 access::PassUseLedger& ledger, std::string card_secret)
    : store_(store), snapshots_(snapshots), ledger_(ledger), card_secret_(std::move(card_secret)) {}

Result<void> ResourceService::start() {
  std::lock_guard write(write_mu_);
  {
    std::lock_guard data(data_mu_);
    data_ = access::Dataset{};
    card_prefixes_.clear();
  }
  for (Collection c : access::kAllCollections) {
    if (c == Collection::accounts) continue;
    auto docs = store_.load_all(c);
    if (!docs) return docs.error();
    for (const json::object& doc : *docs) {
      if (auto v = access::validate_document(c, doc); !v) {
        return make_error(Code::ERR_UNAVAILABLE,
                          "stored " + std::string(access::collection_name(c)) + " '" +
                              access::document_key(c, doc) + "' is invalid: " + v.error().message);
      }
      std::lock_guard data(data_mu_);
      apply_to_dataset(c, &doc, access::document_key(c, doc));
    }
  }
  auto uses = store_.load_pass_uses();
  if (!uses) return uses.error();
  ledger_.load(*uses);
  std::uint64_t v = 0;
  {
    std::lock_guard data(data_mu_);
    v = ++version_;
  }
  publish_through(v);
  return {};
}

Result<json::object> ResourceService::create(Collection c, const json::value& body,
                                             std::string_view actor) {
  json::value copy = body;
  std::optional<json::value> groups;
  if (c == Collection::users && copy.is_object()) {
    if (auto* g = copy.get_object().if_contains("groups")) {
      groups = *g;
      copy.get_object().erase("groups");
    }
  }
  access::CodecContext ctx{card_secret_, random_};
  auto doc = access::prepare_create(c, copy, ctx);
  if (!doc) return doc.error();
  std::string key = access::document_key(c, *doc);
  std::uint64_t version = 0;
  {
    std::lock_guard write(write_mu_);
    if (auto r = check_references(c, *doc); !r) return r.error();
    std::vector<Write> writes{Write{Write::Kind::insert, c, key, *doc}};
    if (groups) {
      auto more = membership_writes(key, *groups, /*user_is_new=*/true);
      if (!more) return more.error();
      for (Write& w : *more) writes.push_back(std::move(w));
    }
    if (auto r = commit(writes); !r) return r.error();
    version = current_version();
  }
  spdlog::debug("{} created {} '{}'", actor, access::collection_name(c), key);
  publish_through(version);
  return view(c, *doc);
}

Result<json::object> ResourceService::get(Collection c, std::string_view key) {
  return with_view(store_.get(c, key), [&](const json::object& d) { return view(c, d); });
}

Result<json::object> ResourceService::list(Collection c, std::string_view cursor,
                                           std::size_t limit) {
  auto page = store_.list(c, cursor, std::clamp<std::size_t>(limit, 1, 1000));
  if (!page) return page.error();
  json::array items;
  for (const json::object& d : page->items) items.push_back(view(c, d));
  json::object out;
  out["items"] = std::move(items);
  out["next_cursor"] = page->next_cursor ? json::value(*page->next_cursor) : json::value(nullptr);
  return out;
}

Result<json::object> ResourceService::patch(Collection c, std::string_view key,
                                            const json::value& patch, std::string_view actor) {
  json::value copy = patch;
  std::optional<json::value> groups;
  if (c == Collection::users && copy.is_object()) {
    if (auto* g = copy.get_object().if_contains("groups")) {
      groups = *g;
      copy.get_object().erase("groups");
    }
  }
  json::object updated;
  std::uint64_t version = 0;
  {
    std::lock_guard write(write_mu_);
    auto stored = store_.get(c, key);
    if (!stored) return stored.error();
    auto doc = access::prepare_patch(c, *stored, copy);
    if (!doc) return doc.error();
    if (auto r = check_references(c, *doc); !r) return r.error();
    std::vector<Write> writes{Write{Write::Kind::replace, c, std::string(key), *doc}};
    if (groups) {
      auto more = membership_writes(key, *groups, false);
      if (!more) return more.error();
      for (Write& w : *more) writes.push_back(std::move(w));
    }
    if (auto r = commit(writes); !r) return r.error();
    version = current_version();
    updated = std::move(*doc);
  }
  spdlog::debug("{} updated {} '{}'", actor, access::collection_name(c), key);
  publish_through(version);
  return view(c, updated);
}

Result<void> ResourceService::remove(Collection c, std::string_view key, std::string_view actor) {
  std::uint64_t version = 0;
  {
    std::lock_guard write(write_mu_);
    if (auto r = check_not_referenced(c, key); !r) return r;
    std::vector<Write> writes{Write{Write::Kind::remove, c, std::string(key), {}}};
    if (c == Collection::users) {
      // Leaving groups is part of deleting a user.
      json::array none;
      auto more = membership_writes(key, none, false);
      if (!more) return more.error();
      for (Write& w : *more) writes.push_back(std::move(w));
    }
    if (auto r = commit(writes); !r) return r;
    version = current_version();
  }
  spdlog::debug("{} deleted {} '{}'", actor, access::collection_name(c), key);
  publish_through(version);
  return {};
}

Result<json::object> ResourceService::issue_pass(const json::value& body, std::string_view actor) {
  return create(Collection::passes, body, actor);
}

Result<json::object> ResourceService::set_user_groups(std::string_view user,
                                                      const json::value& groups,
                                                      std::string_view actor) {
  json::object p;
  p["groups"] = groups;
  return patch(Collection::users, user, p, actor);
}

Result<json::object> ResourceService::set_lockdown(std::string_view door, bool on,
                                                   std::string_view actor) {
  json::object p;
  p["lockdown"] = on;
  return patch(Collection::doors, door, p, actor);
}

Result<json::object> ResourceService::set_site_lockdown(std::string_view site, bool on,
                                                        std::string_view actor) {
  json::object p;
  p["lockdown"] = on;
  return patch(Collection::sites, site, p, actor);
}

Result<std::string> ResourceService::door_key(std::string_view door) {
  std::lock_guard data(data_mu_);
  auto it = data_.doors.find(std::string(door));
  if (it == data_.doors.end()) {
    return make_error(Code::ERR_NOT_FOUND, "no door with id '" + std::string(door) + "'");
  }
  return it->second.key_hex;
}

Result<std::string> ResourceService::rotate_door_key(std::string_view door,
                                                     std::string_view actor) {
  std::string key_hex;
  std::uint64_t version = 0;
  {
    std::lock_guard write(write_mu_);
    auto stored = store_.get(Collection::doors, door);
    if (!stored) return stored.error();
    key_hex = to_hex(random_ ? random_(32) : random_bytes(32));
    (*stored)["key"] = key_hex;
    std::vector<Write> writes{
        Write{Write::Kind::replace, Collection::doors, std::string(door), std::move(*stored)}};
    if (auto r = commit(writes); !r) return r.error();
    version = current_version();
  }
  spdlog::info("{} gave door '{}' a new signing key", actor, door);
  publish_through(version);
  return key_hex;
}

Result<bool> ResourceService::flush_pass_uses(TimePoint as_of, bool even_if_none) {
  std::vector<access::PassUse> uses = ledger_.take_dirty();
  if (uses.empty() && !even_if_none) return false;
  if (auto r = store_.save_pass_uses(uses, as_of); !r) {
    ledger_.restore_dirty(uses);
    return r.error();
  }
  return true;
}

void ResourceService::publish_through(std::uint64_t version) {
  std::lock_guard publish(publish_mu_);
  if (published_ >= version) return;  // a rebuild that started later already covered it
  std::shared_ptr<const access::Snapshot> snap;
  std::uint64_t built = 0;
  {
    std::lock_guard data(data_mu_);
    built = version_;
    snap = access::build_snapshot(data_, ledger_, built);
  }
  snapshots_.publish(std::move(snap));
  published_ = built;
}

std::uint64_t ResourceService::current_version() {
  std::lock_guard data(data_mu_);
  return version_;
}

json::object ResourceService::view(Collection c, const json::object& stored) {
  json::object out = access::public_view(c, stored);
  if (c == Collection::passes) {
    auto max = out.if_contains("max_uses");
    std::int64_t max_uses = max != nullptr && max->is_int64() ? max->get_int64() : 0;
    std::int64_t used = ledger_.used(access::document_key(c, stored));
    out["uses_left"] = std::max<std::int64_t>(0, max_uses - used);
  }
  if (c == Collection::users) {
    json::array groups;
    std::string id = access::document_key(c, stored);
    std::lock_guard data(data_mu_);
    std::vector<std::string> names;
    for (const auto& [gid, g] : data_.groups) {
      if (std::find(g.members.begin(), g.members.end(), id) != g.members.end()) {
        names.push_back(gid);
      }
    }
    std::sort(names.begin(), names.end());
    for (auto& n : names) groups.emplace_back(n);
    out["groups"] = std::move(groups);
  }
  return out;
}

}  // namespace castellan::store
