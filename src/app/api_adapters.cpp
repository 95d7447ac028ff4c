#include "app/api_adapters.hpp"

#include <boost/json.hpp>

#include "access/codec.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"

namespace castellan::app {
namespace json = boost::json;
using access::Collection;

namespace {

Result<Collection> collection_named(std::string_view name) {
  auto c = access::collection_from_name(name);
  if (!c || *c == Collection::accounts) {
    return make_error(Code::ERR_NOT_FOUND, "no such collection '" + std::string(name) + "'");
  }
  return *c;
}

std::optional<api::Account> account_from(const json::object& doc) {
  api::Account a;
  if (auto* u = doc.if_contains("username"); u && u->is_string()) a.username = u->as_string();
  if (auto* h = doc.if_contains("password_hash"); h && h->is_string()) a.password_hash = h->as_string();
  auto* role = doc.if_contains("role");
  if (a.username.empty() || role == nullptr || !role->is_string()) return std::nullopt;
  auto parsed = api::parse_role(role->as_string());
  if (!parsed) return std::nullopt;
  a.role = *parsed;
  return a;
}

json::object account_doc(const api::Account& a) {
  return {{"username", a.username}, {"password_hash", a.password_hash},
          {"role", std::string(api::role_name(a.role))}};
}

}  // namespace

// ---- accounts --------------------------------------------------------------------------

std::optional<api::Account> StoreAccountRepository::find(const std::string& username) {
  auto doc = resources_.get_stored(Collection::accounts, username);
  if (!doc) return std::nullopt;
  return account_from(*doc);
}

std::vector<api::Account> StoreAccountRepository::list(const std::string& after, int limit) {
  std::vector<api::Account> out;
  auto page = resources_.list(Collection::accounts, after, static_cast<std::size_t>(std::max(limit, 1)));
  if (!page) return out;
  for (const auto& item : page->at("items").as_array()) {
    if (auto a = account_from(item.as_object())) out.push_back(std::move(*a));
  }
  return out;
}

Result<void> StoreAccountRepository::create(const api::Account& account) {
  auto r = resources_.create(Collection::accounts, account_doc(account), "api");
  if (!r) return r.error();
  return {};
}

Result<void> StoreAccountRepository::update(const api::Account& account) {
  json::object patch{{"password_hash", account.password_hash},
                     {"role", std::string(api::role_name(account.role))}};
  auto r = resources_.patch(Collection::accounts, account.username, patch, "api");
  if (!r) return r.error();
  return {};
}

Result<void> StoreAccountRepository::remove(const std::string& username) {
  return resources_.remove(Collection::accounts, username, "api");
}

// ---- resources -------------------------------------------------------------------------

Result<json::object> ResourceAdapter::create(std::string_view collection, const json::object& body,
                                             std::string_view actor) {
  auto c = collection_named(collection);
  if (!c) return c.error();
  return resources_.create(*c, body, actor);
}

Result<json::object> ResourceAdapter::get(std::string_view collection, std::string_view id) {
  auto c = collection_named(collection);
  if (!c) return c.error();
  return resources_.get(*c, id);
}

Result<api::ResourcePort::Page> ResourceAdapter::list(std::string_view collection, int limit,
                                                      std::string_view cursor) {
  auto c = collection_named(collection);
  if (!c) return c.error();
  auto page = resources_.list(*c, cursor, static_cast<std::size_t>(limit));
  if (!page) return page.error();
  Page out;
  out.items = page->at("items").as_array();
  if (auto* next = page->if_contains("next_cursor"); next && next->is_string()) {
    out.next_cursor = std::string(next->as_string());
  }
  return out;
}

Result<json::object> ResourceAdapter::patch(std::string_view collection, std::string_view id,
                                            const json::object& body, std::string_view actor) {
  auto c = collection_named(collection);
  if (!c) return c.error();
  return resources_.patch(*c, id, body, actor);
}

Result<void> ResourceAdapter::remove(std::string_view collection, std::string_view id,
                                     std::string_view actor) {
  auto c = collection_named(collection);
  if (!c) return c.error();
  return resources_.remove(*c, id, actor);
}

Result<json::object> ResourceAdapter::issue_pass(const json::object& body,
                                                 std::string_view actor) {
  return resources_.issue_pass(body, actor);
}

// ---- verify ----------------------------------------------------------------------------

void VerifyAdapter::verify(const api::VerifyRequest& request,
                           std::function<void(Result<api::VerifyOutcome>)> done) {
  const auto started = clock_.monotonic();
  auto hash = access::card_hash_from_uid(card_secret_, request.card);
  if (!hash) {
    done(make_error(Code::ERR_BAD_REQUEST, "card must be a UID of 8 to 32 hex digits"));
    return;
  }
  access::Direction dir = access::Direction::in;
  if (request.dir == "out") {
    dir = access::Direction::out;
  } else if (!request.dir.empty() && request.dir != "in") {
    done(make_error(Code::ERR_BAD_REQUEST, "dir must be \"in\" or \"out\""));
    return;
  }
  const auto result = engine_.decide(access::DecisionRequest{
      .site = request.site, .door = request.door, .card_hash = *hash, .dir = dir, .now = clock_.now()});
  const auto latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              clock_.monotonic() - started).count();

  journal::JournalRecord record;
  record.kind = journal::RecordKind::decision;
  record.trace_id = request.trace_id;
  record.site = request.site;
  record.door = request.door;
  record.card_hash = to_hex(result.card_hash);
  record.user = result.user;
  record.decision = std::string(access::decision_name(result.granted));
  record.code = static_cast<int>(result.code);
  record.source = "api";
  record.gateway_ip = request.client_address;
  record.latency_us = latency_us;
  const bool fail_safe = result.fail_safe;
  journal_.append(std::move(record), [done = std::move(done), result, latency_us,
                                      fail_safe](Result<journal::JournalRecord> durable) {
    if (!durable) {
      // The decision could not be made durable: contract §4 fail mode for 50301.
      if (fail_safe) {
        done(api::VerifyOutcome{.granted = true, .code = Code::ERR_UNAVAILABLE, .latency_us = latency_us});
      } else {
        done(make_error(Code::ERR_UNAVAILABLE,
                        "the decision could not be journaled: " + durable.error().message));
      }
      return;
    }
    done(api::VerifyOutcome{.granted = result.granted, .code = result.code, .latency_us = latency_us});
  });
}

// ---- events ----------------------------------------------------------------------------

Result<json::object> EventsAdapter::query(const api::EventQuery& q) {
  journal::EventQuery jq;
  jq.door = q.door;
  jq.user = q.user;
  jq.decision = q.decision;
  jq.cursor = q.cursor;
  jq.limit = static_cast<std::size_t>(q.limit);
  if (!q.kind.empty()) {
    jq.kind = journal::parse_kind(q.kind);
    if (!jq.kind) return make_error(Code::ERR_BAD_REQUEST, "unknown event kind '" + q.kind + "'");
  }
  for (auto [text, target] : {std::pair{&q.from, &jq.from}, std::pair{&q.to, &jq.to}}) {
    if (text->empty()) continue;
    auto t = parse_utc(*text);
    if (!t) return t.error();
    *target = *t;
  }
  auto page = journal_.query(jq);
  if (!page) return page.error();
  json::array events;
  for (const auto& r : page->records) events.push_back(json::parse(journal::to_json_line(r)));
  json::object out{{"events", std::move(events)}};
  if (page->next_cursor.empty()) {
    out["next_cursor"] = nullptr;
  } else {
    out["next_cursor"] = page->next_cursor;
  }
  return out;
}

namespace {
class JournalSubscription final : public api::EventsPort::Subscription {
 public:
  explicit JournalSubscription(journal::Journal::Subscription s) : sub_(std::move(s)) {}

 private:
  journal::Journal::Subscription sub_;
};
}  // namespace

std::unique_ptr<api::EventsPort::Subscription> EventsAdapter::subscribe(
    std::function<void(std::string json_line)> on_record) {
  return std::make_unique<JournalSubscription>(journal_.subscribe(
      [cb = std::move(on_record)](const journal::JournalRecord& r) { cb(journal::to_json_line(r)); }));
}

void EventsAdapter::record_admin(std::string_view who, const json::object& what,
                                 std::string_view trace_id) {
  journal::JournalRecord record;
  record.kind = journal::RecordKind::admin;
  record.trace_id = std::string(trace_id);
  record.source = "api";
  // The change sits under "change" so that its member names can never clash with §5 fields.
  record.extra = json::serialize(json::object{{"actor", who}, {"change", what}});
  journal_.append(std::move(record), [](Result<journal::JournalRecord> durable) {
    if (!durable) spdlog::error("admin record not journaled: {}", durable.error().message);
  });
}

}  // namespace castellan::app
