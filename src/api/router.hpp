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
  // false: switched off by configuration; every authenticated caller gets 404, whatever the
  // role, as if the route did not exist (the contract's "404 when disabled").
  bool enabled = true;
};

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
