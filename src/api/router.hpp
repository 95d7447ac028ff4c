// The route table: (method, path pattern, access, handler). Patterns are literal segments and
// `{name}` parameters ("/v1/doors/{id}/assist"); the most literal match wins. The table is
// also the source the OpenAPI document is checked against.
#pragma once

#include <string>
#include <vector>

#include "api/auth.hpp"
#include "api/http_types.hpp"

namespace castellan::api {

struct Route {
  std::string method;
  std::string pattern;
  Access access = Access::kAdmin;
  Handler handler;
  // The handler may block (SQLite, Argon2id): run it on the blocking pool, not an io thread.
  bool blocking = false;
  // Set: the handler blocks only for the requests this says yes to, which alone take the pool
  // (the event stream reads the journal only for a client that reconnects).
  std::function<bool(const Request&)> blocking_for;
  // false: switched off by configuration; every authenticated caller gets 404, whatever the
  // role, as if the route did not exist (the contract's "404 when disabled").
  bool enabled = true;
  // A change that must be on record as an `admin` record: refused (503, 50301) while the
  // journal cannot take records, so that no change is made unrecorded. Door commands are not
  // audited routes: a door must answer its operator in an emergency, full disk or not.
  bool audited = false;
  // A door command (blocking too): run on threads of its own, so that requests held up by the
  // store (a stalled disk, a locked database file) never keep an operator's unlock waiting.
  bool door_command = false;
  // An audited change whose 2xx body is a secret given only once (a new door key, new broker
  // credentials): kept, marked "recorded": false, when its admin record fails.
  bool one_time_secret = false;
};

// `route`, marked as an audited change.
inline Route audited(Route route) {
  route.audited = true;
  return route;
}

// `route`, marked as a door command (blocking, on the door commands' threads).
inline Route door_command(Route route) {
  route.blocking = true;
  route.door_command = true;
  return route;
}

class Router {
 public:
  void add(Route route);
  struct Match {
    const Route* route = nullptr;  // null: no route for this method and path
    bool path_exists = false;      // some method is routed at this path
    std::vector<std::string> params;
  };
  Match match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;  // each route's pattern, split at '/'
};

}  // namespace castellan::api
