// ResourceService: referential checks, group membership rewrites and the in-memory Dataset.
#include <algorithm>
#include <cstring>

#include "store/resource_service.hpp"

namespace castellan::store {

using access::Collection;

namespace {

std::uint64_t prefix_of(const access::CardHash& h) {
  std::uint64_t p = 0;
  std::memcpy(&p, h.data(), sizeof p);
  return p;
}

template <class Map>
Result<void> must_exist(const Map& map, const std::string& id, std::string_view field,
                        std::string_view kind) {
  if (map.count(id) != 0) return {};
  return make_error(Code::ERR_NOT_FOUND, "field '" + std::string(field) + "': no " +
                                             std::string(kind) + " with id '" + id + "'");
}

Error still_used(std::string_view what, std::string_view key, std::string_view by,
                 std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  std::string list;
  for (std::size_t i = 0; i < ids.size() && i < 5; ++i) list += (i ? ", " : "") + ids[i];
  if (ids.size() > 5) list += ", ...";
  return make_error(Code::ERR_CONFLICT, std::string(what) + " '" + std::string(key) +
                                            "' is still used by " + std::string(by) + " (" + list +
                                            "); change or delete them first");
}

}  // namespace

Result<void> ResourceService::check_references(Collection c, const json::object& doc) {
  switch (c) {
    case Collection::doors: {
      auto d = access::decode_door(doc);
      if (!d) return d.error();
      return must_exist(data_.sites, d->site, "site", "site");
    }
    case Collection::holidays: {
      auto h = access::decode_holiday(doc);
      if (!h) return h.error();
      return must_exist(data_.sites, h->site, "site", "site");
    }
    case Collection::cards: {
      auto card = access::decode_card(doc);
      if (!card) return card.error();
      if (auto r = must_exist(data_.users, card->user, "user", "user"); !r) return r;
      if (card_prefixes_.count(prefix_of(card->hash)) != 0) {
        for (const auto& [id, other] : data_.cards) {
          if (other.hash == card->hash && id != card->id) {
            return make_error(Code::ERR_CONFLICT,
                              "this card uid is already registered as card '" + id + "'");
          }
        }
      }
      return {};
    }
    case Collection::groups: {
      auto g = access::decode_group(doc);
      if (!g) return g.error();
      for (std::size_t i = 0; i < g->doors.size(); ++i) {
        auto r = must_exist(data_.doors, g->doors[i], "doors[" + std::to_string(i) + "]", "door");
        if (!r) return r;
      }
      if (g->schedule) {
        if (auto r = must_exist(data_.schedules, *g->schedule, "schedule", "schedule"); !r) {
          return r;
        }
      }
      for (std::size_t i = 0; i < g->members.size(); ++i) {
        auto r =
            must_exist(data_.users, g->members[i], "members[" + std::to_string(i) + "]", "user");
        if (!r) return r;
      }
      return {};
    }
    case Collection::passes: {
      auto p = access::decode_pass(doc);
      if (!p) return p.error();
      for (std::size_t i = 0; i < p->doors.size(); ++i) {
        auto r = must_exist(data_.doors, p->doors[i], "doors[" + std::to_string(i) + "]", "door");
        if (!r) return r;
      }
      return {};
    }
    default:
      return {};
  }
}

Result<void> ResourceService::check_not_referenced(Collection c, std::string_view key_view) {
  std::string key(key_view);
  std::vector<std::string> users;
  std::string by;
  auto collect = [&](const auto& map, std::string_view what, auto&& refers) {
    for (const auto& [id, item] : map) {
      if (refers(item)) users.push_back(id);
    }
    if (!users.empty() && by.empty()) by = what;
  };
  switch (c) {
    case Collection::sites:
      collect(data_.doors, "doors", [&](const access::Door& d) { return d.site == key; });
      if (users.empty()) {
        collect(data_.holidays, "holidays",
                [&](const access::Holiday& h) { return h.site == key; });
      }
      break;
    case Collection::users:
      collect(data_.cards, "cards", [&](const access::Card& k) { return k.user == key; });
      break;
    case Collection::doors:
      collect(data_.groups, "groups", [&](const access::Group& g) {
        return std::find(g.doors.begin(), g.doors.end(), key) != g.doors.end();
      });
      if (users.empty()) {
        collect(data_.passes, "passes", [&](const access::Pass& p) {
          return std::find(p.doors.begin(), p.doors.end(), key) != p.doors.end();
        });
      }
      break;
    case Collection::schedules:
      collect(data_.groups, "groups", [&](const access::Group& g) { return g.schedule == key; });
      break;
    default:
      break;
  }
  if (users.empty()) return {};
  std::string what(access::collection_name(c));
  what.pop_back();
  return still_used(what, key, by, std::move(users));
}

Result<std::vector<Write>> ResourceService::membership_writes(std::string_view user_view,
                                                              const json::value& groups,
                                                              bool user_is_new) {
  std::string user(user_view);
  if (!user_is_new && data_.users.count(user) == 0) {
    return make_error(Code::ERR_NOT_FOUND, "no user with id '" + user + "'");
  }
  if (!groups.is_array()) {
    return make_error(Code::ERR_BAD_REQUEST, "field 'groups' must be an array of group ids");
  }
  std::vector<std::string> wanted;
  const json::array& a = groups.get_array();
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::string field = "groups[" + std::to_string(i) + "]";
    if (!a[i].is_string()) {
      return make_error(Code::ERR_BAD_REQUEST, "field '" + field + "' must be a string");
    }
    std::string g(a[i].get_string());
    if (auto r = must_exist(data_.groups, g, field, "group"); !r) return r.error();
    wanted.push_back(std::move(g));
  }
  std::vector<Write> writes;
  for (const auto& [gid, g] : data_.groups) {
    bool want = std::find(wanted.begin(), wanted.end(), gid) != wanted.end();
    bool has = std::find(g.members.begin(), g.members.end(), user) != g.members.end();
    if (want == has) continue;
    auto stored = store_.get(Collection::groups, gid);
    if (!stored) return stored.error();
    json::array members;
    if (auto* m = stored->if_contains("members"); m != nullptr && m->is_array()) {
      for (const json::value& v : m->get_array()) {
        if (!(v.is_string() && v.get_string() == user)) members.push_back(v);
      }
    }
    if (want) members.emplace_back(user);
    (*stored)["members"] = std::move(members);
    writes.push_back(Write{Write::Kind::replace, Collection::groups, gid, std::move(*stored)});
  }
  return writes;
}

Result<void> ResourceService::commit(const std::vector<Write>& writes) {
  if (auto r = store_.apply(writes); !r) return r;
  // One critical section for the whole batch, its pass counters and the version: a snapshot
  // built meanwhile (publish_through of another writer) sees all of it or none of it. A user
  // made active and taken out of a group in one PATCH must never be active and still a member.
  std::lock_guard data(data_mu_);
  bool touches_access = false;
  for (const Write& w : writes) {
    if (w.collection == Collection::accounts) continue;
    touches_access = true;
    apply_to_dataset(w.collection, w.kind == Write::Kind::remove ? nullptr : &w.doc, w.key);
    // A pass created or deleted starts from no uses: a counter left by a deleted pass of the
    // same id (a swipe on an older snapshot can mark it again after the delete) must not
    // count against a new one.
    if (w.collection == Collection::passes && w.kind != Write::Kind::replace) ledger_.erase(w.key);
  }
  if (touches_access) ++version_;
  return {};
}

void ResourceService::apply_to_dataset(Collection c, const json::object* doc,
                                       const std::string& key) {
  auto put = [&](auto& map, auto decoded) {
    if (doc == nullptr) {
      map.erase(key);
    } else if (decoded) {
      map[key] = std::move(*decoded);
    }
  };
  switch (c) {
    case Collection::sites:
      put(data_.sites, doc ? access::decode_site(*doc) : Result<access::Site>(Error{}));
      break;
    case Collection::doors:
      put(data_.doors, doc ? access::decode_door(*doc) : Result<access::Door>(Error{}));
      break;
    case Collection::users:
      put(data_.users, doc ? access::decode_user(*doc) : Result<access::User>(Error{}));
      break;
    case Collection::cards: {
      auto old = data_.cards.find(key);
      if (old != data_.cards.end()) {
        auto p = card_prefixes_.find(prefix_of(old->second.hash));
        if (p != card_prefixes_.end() && --p->second == 0) card_prefixes_.erase(p);
      }
      auto decoded = doc ? access::decode_card(*doc) : Result<access::Card>(Error{});
      if (decoded) ++card_prefixes_[prefix_of(decoded->hash)];
      put(data_.cards, std::move(decoded));
      break;
    }
    case Collection::groups:
      put(data_.groups, doc ? access::decode_group(*doc) : Result<access::Group>(Error{}));
      break;
    case Collection::schedules:
      put(data_.schedules, doc ? access::decode_schedule(*doc) : Result<access::Schedule>(Error{}));
      break;
    case Collection::holidays:
      put(data_.holidays, doc ? access::decode_holiday(*doc) : Result<access::Holiday>(Error{}));
      break;
    case Collection::passes:
      put(data_.passes, doc ? access::decode_pass(*doc) : Result<access::Pass>(Error{}));
      break;
    case Collection::accounts:
      break;
  }
}

}  // namespace castellan::store
