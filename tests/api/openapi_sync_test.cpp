// docs/openapi.yaml describes exactly the router's table: same (method, path) pairs, and the
// same least role (x-castellan-access) for each.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "harness.hpp"

namespace castellan::api::testing {
namespace {

std::string access_name(Access a) {
  switch (a) {
    case Access::kPublic:
      return "public";
    case Access::kRead:
      return "read";
    case Access::kOperate:
      return "operate";
    case Access::kAdmin:
      return "admin";
  }
  return "?";
}

// (METHOD path access) triples of the document, read line by line from its fixed layout:
// paths at two spaces of indent, methods at four, x-castellan-access at six.
std::set<std::string> document_operations() {
  std::ifstream in(std::string(CASTELLAN_SOURCE_DIR) + "/docs/openapi.yaml");
  EXPECT_TRUE(in.good());
  const std::regex path_re(R"(^  (/\S+):\s*$)");
  const std::regex method_re(R"(^    (get|post|put|patch|delete):\s*$)");
  const std::regex access_re(R"(^      x-castellan-access:\s*(\w+)\s*$)");
  std::set<std::string> out;
  std::string line, path, method;
  bool in_paths = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!line.empty() && line[0] != ' ') in_paths = false;
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_re)) {
      path = m[1];
    } else if (std::regex_match(line, m, method_re)) {
      method = m[1];
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (std::regex_match(line, m, access_re)) {
      out.insert(method + " " + path + " " + std::string(m[1]));
    }
  }
  return out;
}

TEST(OpenApi, DocumentMatchesTheRouterTable) {
  ApiHarness h;
  std::set<std::string> routed;
  for (const auto& r : h.api.router().routes()) {
    routed.insert(r.method + " " + r.pattern + " " + access_name(r.access));
  }
  const auto documented = document_operations();
  for (const auto& op : routed) EXPECT_TRUE(documented.count(op)) << "not in docs/openapi.yaml: " << op;
  for (const auto& op : documented) EXPECT_TRUE(routed.count(op)) << "documented but not routed: " << op;
  EXPECT_EQ(routed.size(), documented.size());
}

}  // namespace
}  // namespace castellan::api::testing
