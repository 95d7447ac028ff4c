#include "api/store_adapters.hpp"

#include <boost/json.hpp>

#include "store/resource_service.hpp"
#include "store/store.hpp"

namespace castellan::api {
namespace json = boost::json;
using access::Collection;

namespace {

// Accounts have routes of their own; passes are created only through issue_pass().
Result<Collection> collection_of(std::string_view name, bool creating = false) {
  auto c = access::collection_from_name(name);
  if (!c || *c == Collection::accounts || (creating && *c == Collection::passes)) {
    return make_error(Code::ERR_NOT_FOUND, "There is no collection '" + std::string(name) + "'.");
  }
  return *c;
}

std::optional<Account> account_of(const json::object& doc) {
  const auto* u = doc.if_contains("username");
  const auto* h = doc.if_contains("password_hash");
  const auto* r = doc.if_contains("role");
  if (!u || !u->is_string() || !h || !h->is_string() || !r || !r->is_string()) return std::nullopt;
  auto role = parse_role(r->get_string());
  if (!role) return std::nullopt;
  return Account{std::string(u->get_string()), std::string(h->get_string()), *role};
}

json::object doc_of(const Account& a) {
  return json::object{
      {"username", a.username}, {"password_hash", a.password_hash}, {"role", role_name(a.role)}};
}

}  // namespace

Result<json::object> StoreResources::create(std::string_view collection, const json::object& body,
                                            std::string_view actor) {
  auto c = collection_of(collection, true);
  if (!c) return c.error();
  return service_.create(*c, body, actor);
}

Result<json::object> StoreResources::get(std::string_view collection, std::string_view id) {
  auto c = collection_of(collection);
  if (!c) return c.error();
  return service_.get(*c, id);
}

Result<ResourcePort::Page> StoreResources::list(std::string_view collection, int limit,
                                                std::string_view cursor) {
  auto c = collection_of(collection);
  if (!c) return c.error();
  auto listed = service_.list(*c, cursor, static_cast<std::size_t>(limit));
  if (!listed) return listed.error();
  Page page;
  if (const auto* items = listed->if_contains("items"); items && items->is_array()) {
    page.items = items->get_array();
  }
  if (const auto* next = listed->if_contains("next_cursor"); next && next->is_string()) {
    page.next_cursor = std::string(next->get_string());
  }
  return page;
}

Result<json::object> StoreResources::patch(std::string_view collection, std::string_view id,
                                           const json::object& body, std::string_view actor) {
  auto c = collection_of(collection);
  if (!c) return c.error();
  return service_.patch(*c, id, body, actor);
}

Result<void> StoreResources::remove(std::string_view collection, std::string_view id,
                                    std::string_view actor) {
  auto c = collection_of(collection);
  if (!c) return c.error();
  return service_.remove(*c, id, actor);
}

Result<json::object> StoreResources::issue_pass(const json::object& body, std::string_view actor) {
  return service_.issue_pass(body, actor);
}

Result<void> StoreResources::forget_change(std::string_view change_id) {
  return service_.forget_change(change_id);
}

Result<std::optional<Account>> StoreAccounts::find(const std::string& username) {
  auto doc = store_.get(Collection::accounts, username);
  if (!doc && doc.error().code == Code::ERR_NOT_FOUND) return std::optional<Account>{};
  if (!doc) return doc.error();
  return account_of(*doc);
}

Result<std::vector<Account>> StoreAccounts::list(const std::string& after, int limit) {
  std::vector<Account> out;
  auto page = store_.list(Collection::accounts, after, static_cast<std::size_t>(limit));
  if (!page) return page.error();
  for (const auto& doc : page->items) {
    if (auto a = account_of(doc)) out.push_back(std::move(*a));
  }
  return out;
}

Result<void> StoreAccounts::create(const Account& account) {
  auto r = store_.insert(Collection::accounts, doc_of(account));
  if (!r && r.error().code == Code::ERR_CONFLICT) {
    return make_error(Code::ERR_CONFLICT, "An account named '" + account.username + "' exists.");
  }
  return r;
}

Result<void> StoreAccounts::update(const Account& account) {
  auto r = store_.replace(Collection::accounts, doc_of(account));
  if (!r && r.error().code == Code::ERR_NOT_FOUND) {
    return make_error(Code::ERR_NOT_FOUND, "No account named '" + account.username + "'.");
  }
  return r;
}

Result<void> StoreAccounts::remove(const std::string& username) {
  auto r = store_.remove(Collection::accounts, username);
  if (!r && r.error().code == Code::ERR_NOT_FOUND) {
    return make_error(Code::ERR_NOT_FOUND, "No account named '" + username + "'.");
  }
  return r;
}

}  // namespace castellan::api
