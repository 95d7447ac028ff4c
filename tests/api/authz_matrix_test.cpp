// Every route of the router's table × {no token, expired token, wrong role, right role}.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace castellan::api::testing {
namespace {

// "/v1/doors/{id}/assist" -> "/v1/doors/d1/assist".
std::string concrete(const std::string& pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      i = pattern.find('}', i);
      out += "d1";
    } else {
      out += pattern[i];
    }
  }
  return out;
}

std::int64_t error_code(const HttpResult& r) {
  return boost::json::parse(r.body).at("error").at("code").as_int64();
}

Role least_role(Access a) {
  switch (a) {
    case Access::kAdmin:
      return Role::kAdmin;
    case Access::kOperate:
      return Role::kOperator;
    default:
      return Role::kAuditor;
  }
}

TEST(AuthorizationMatrix, EveryRouteChecksTokenExpiryAndRole) {
  // Every route switched on (a switched-off route is 404 for every role).
  ApiHarness h([](Config& c) { c.debug.fault_injection = true; });
  auto c = h.client();
  int checked = 0;
  for (const auto& route : h.api.router().routes()) {
    const std::string path = concrete(route.pattern);
    const std::string what = route.method + " " + route.pattern;
    const std::string body = "{}";
    if (route.access == Access::kPublic) {
      auto r = c->request(route.method, path, body);
      EXPECT_NE(r.status, 401) << what;
      EXPECT_NE(r.status, 403) << what;
      continue;
    }
    auto none = c->request(route.method, path, body);
    EXPECT_EQ(none.status, 401) << what;
    EXPECT_EQ(error_code(none), 40101) << what;
    auto expired =
        c->request(route.method, path, body, {{"Authorization", h.expired_token(Role::kAdmin)}});
    EXPECT_EQ(expired.status, 401) << what;
    EXPECT_NE(expired.body.find("has expired"), std::string::npos) << what << " " << expired.body;
    auto garbage = c->request(route.method, path, body, {{"Authorization", "Bearer abc.def.ghi"}});
    EXPECT_EQ(garbage.status, 401) << what;
    std::vector<Role> wrong;
    if (route.access == Access::kAdmin) wrong = {Role::kOperator, Role::kAuditor};
    if (route.access == Access::kOperate) wrong = {Role::kAuditor};
    for (Role role : wrong) {
      auto r = c->request(route.method, path, body, {{"Authorization", h.token(role)}});
      EXPECT_EQ(r.status, 403) << what << " as " << role_name(role);
      EXPECT_EQ(error_code(r), 40311) << what;
    }
    const Role right = least_role(route.access);
    if (route.pattern == "/v1/events/stream") {
      // The stream never ends by itself: look at the response head only.
      auto s = h.client();
      s->write_raw("GET " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + h.token(right) +
                   "\r\n\r\n");
      EXPECT_NE(s->read_until("\r\n\r\n").find("HTTP/1.1 200"), std::string::npos) << what;
    } else {
      auto r = c->request(route.method, path, body, {{"Authorization", h.token(right)}});
      EXPECT_NE(r.status, 401) << what << " " << r.body;
      EXPECT_NE(r.status, 403) << what << " " << r.body;
      EXPECT_LT(r.status, 500) << what << " " << r.body;
    }
    ++checked;
  }
  EXPECT_GE(checked, 50);
}

}  // namespace
}  // namespace castellan::api::testing
