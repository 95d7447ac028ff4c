// POST /v1/auth/token and the accounts collection (admin only).
#include <boost/json.hpp>

#include <mutex>

#include "api/api_service.hpp"
#include "api/replies.hpp"
#include "core/log.hpp"
#include "core/time.hpp"

namespace castellan::api {
namespace json = boost::json;
namespace {

json::object account_json(const Account& a) {
  return json::object{{"username", a.username}, {"role", role_name(a.role)}};
}

Result<std::string> valid_password(const json::object& body) {
  auto password = required_string(body, "password");
  if (!password) return password;
  if (password->size() < 8 || password->size() > 1024) {
    return make_error(Code::ERR_BAD_REQUEST, "Field 'password' must be 8 to 1024 characters long.");
  }
  return password;
}

Result<Role> valid_role(const json::object& body) {
  auto name = required_string(body, "role");
  if (!name) return name.error();
  auto role = parse_role(*name);
  if (!role) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "Field 'role' must be one of 'admin', 'operator', 'auditor'.");
  }
  return *role;
}

void login(ApiContext& ctx, LoginLimiter& limiter, Request& req, const ReplyFn& done) {
  auto body = parse_object(req.body);
  if (!body) return done(error_reply(body.error(), req.trace_id));
  auto username = required_string(*body, "username");
  if (!username) return done(error_reply(username.error(), req.trace_id));
  auto password = required_string(*body, "password");
  if (!password) return done(error_reply(password.error(), req.trace_id));
  if (!is_valid_username(*username)) {
    // No account can have this name: refuse it without a rate-limiter entry or a log line
    // carrying it (it may be a megabyte long or hold line breaks).
    return done(
        error_reply(Code::ERR_UNAUTHENTICATED, "The username or password is wrong.", req.trace_id));
  }
  if (limiter.refused(*username, req.client_address)) {
    spdlog::warn("login refused by rate limit for user {} from {}", *username, req.client_address);
    return done(error_reply(Code::ERR_RATE_LIMITED,
                            "Too many failed log-ins for this user or address; wait a minute.",
                            req.trace_id));
  }
  const auto found = ctx.accounts.find(*username);
  // The store could not say: 503, and not a failed log-in (it would count against the user).
  if (!found) return done(error_reply(found.error(), req.trace_id));
  const std::optional<Account>& account = *found;
  if (!account) {
    // Spend the same Argon2id time as for a real account so timing does not reveal names.
    static const std::string dummy = ctx.hasher.hash("castellan-dummy-password").value();
    (void)ctx.hasher.verify(dummy, *password);
  }
  if (!account || !ctx.hasher.verify(account->password_hash, *password)) {
    limiter.record_failure(*username, req.client_address);
    spdlog::info("failed login for user {} from {}", *username, req.client_address);
    return done(
        error_reply(Code::ERR_UNAUTHENTICATED, "The username or password is wrong.", req.trace_id));
  }
  const auto issued = ctx.tokens.issue(account->username, account->role, account_tag(*account));
  done(json_reply(
      200, json::object{{"token", issued.token}, {"expires_at", format_utc(issued.expires_at)}}));
}

void list_accounts(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto limit = parse_limit(req, 100);
  if (!limit) return done(error_reply(limit.error(), req.trace_id));
  const auto listed = ctx.accounts.list(query_param(req, "cursor"), *limit + 1);
  if (!listed) return done(error_reply(listed.error(), req.trace_id));
  const std::vector<Account>& accounts = *listed;
  json::array items;
  for (int i = 0; i < static_cast<int>(accounts.size()) && i < *limit; ++i) {
    items.push_back(account_json(accounts[i]));
  }
  json::value next = nullptr;
  if (static_cast<int>(accounts.size()) > *limit) next = accounts[*limit - 1].username;
  done(json_reply(200, json::object{{"items", std::move(items)}, {"next_cursor", next}}));
}

// Each account write and the tag it leaves, as one step: two changes of one name at once
// (a delete and a re-create, a patch and a delete) must leave the tag the store has.
std::mutex account_writes_mu;

void create_account(ApiContext& ctx, AccountTags& tags, Request& req, const ReplyFn& done) {
  auto body = parse_object(req.body);
  if (!body) return done(error_reply(body.error(), req.trace_id));
  auto username = required_string(*body, "username");
  if (!username) return done(error_reply(username.error(), req.trace_id));
  if (!is_valid_username(*username)) {
    return done(error_reply(Code::ERR_BAD_REQUEST,
                            "Field 'username' must be 1 to 64 of A-Z a-z 0-9 _ . @ -.",
                            req.trace_id));
  }
  auto password = valid_password(*body);
  if (!password) return done(error_reply(password.error(), req.trace_id));
  auto role = valid_role(*body);
  if (!role) return done(error_reply(role.error(), req.trace_id));
  auto hash = ctx.hasher.hash(*password);
  if (!hash) return done(error_reply(hash.error(), req.trace_id));
  const Account account{*username, *hash, *role};
  {
    std::lock_guard lock(account_writes_mu);
    if (auto r = ctx.accounts.create(account); !r) {
      return done(error_reply(r.error(), req.trace_id));
    }
    tags.set(account.username, account_tag(account));  // "no such account" may be remembered
  }
  audit(ctx, req, "create_account", account_json(account));
  done(json_reply(201, account_json(account)));
}

void patch_account(ApiContext& ctx, AccountTags& tags, Request& req, const ReplyFn& done) {
  auto body = parse_object(req.body);
  if (!body) return done(error_reply(body.error(), req.trace_id));
  // Validate and hash first (Argon2id is slow), then read, change and write under one lock, so
  // that two patches of one account both take effect (a role and a password change at once).
  std::optional<Role> role;
  std::optional<std::string> hash;
  if (body->contains("role")) {
    auto r = valid_role(*body);
    if (!r) return done(error_reply(r.error(), req.trace_id));
    role = *r;
  }
  if (body->contains("password")) {
    auto password = valid_password(*body);
    if (!password) return done(error_reply(password.error(), req.trace_id));
    auto h = ctx.hasher.hash(*password);
    if (!h) return done(error_reply(h.error(), req.trace_id));
    hash = std::move(*h);
  }
  if (!role && !hash) {
    return done(error_reply(Code::ERR_BAD_REQUEST, "Give 'password' and/or 'role' to change.",
                            req.trace_id));
  }
  std::unique_lock lock(account_writes_mu);
  auto found = ctx.accounts.find(req.params[0]);
  if (!found) return done(error_reply(found.error(), req.trace_id));
  if (!*found) {
    return done(error_reply(Code::ERR_NOT_FOUND, "No account named '" + req.params[0] + "'.",
                            req.trace_id));
  }
  Account account = std::move(**found);
  json::object changed;
  if (role) {
    account.role = *role;
    changed["role"] = role_name(*role);
  }
  if (hash) {
    account.password_hash = std::move(*hash);
    changed["password"] = "changed";
  }
  if (auto r = ctx.accounts.update(account); !r) return done(error_reply(r.error(), req.trace_id));
  tags.set(account.username, account_tag(account));  // earlier tokens are refused from now on
  lock.unlock();
  changed["username"] = account.username;
  audit(ctx, req, "update_account", changed);
  done(json_reply(200, account_json(account)));
}

void delete_account(ApiContext& ctx, AccountTags& tags, Request& req, const ReplyFn& done) {
  if (req.params[0] == req.username) {
    return done(error_reply(Code::ERR_CONFLICT, "An admin may not delete their own account.",
                            req.trace_id));
  }
  {
    std::lock_guard lock(account_writes_mu);
    if (auto r = ctx.accounts.remove(req.params[0]); !r) {
      return done(error_reply(r.error(), req.trace_id));
    }
    tags.set(req.params[0], std::nullopt);
  }
  audit(ctx, req, "delete_account", json::object{{"username", req.params[0]}});
  done(Reply{204, ""});
}

}  // namespace

void add_auth_routes(Router& router, ApiContext& ctx, LoginLimiter& limiter, AccountTags& tags) {
  ApiContext* c = &ctx;
  AccountTags* t = &tags;
  router.add({"POST", "/v1/auth/token", Access::kPublic,
              [c, &limiter](Request& r, ReplyFn d) { login(*c, limiter, r, d); }, true});
  router.add({"GET", "/v1/accounts", Access::kAdmin,
              [c](Request& r, ReplyFn d) { list_accounts(*c, r, d); }, true});
  router.add(audited({"POST", "/v1/accounts", Access::kAdmin,
                      [c, t](Request& r, ReplyFn d) { create_account(*c, *t, r, d); }, true}));
  router.add(audited({"PATCH", "/v1/accounts/{username}", Access::kAdmin,
                      [c, t](Request& r, ReplyFn d) { patch_account(*c, *t, r, d); }, true}));
  router.add(audited({"DELETE", "/v1/accounts/{username}", Access::kAdmin,
                      [c, t](Request& r, ReplyFn d) { delete_account(*c, *t, r, d); }, true}));
}

}  // namespace castellan::api
