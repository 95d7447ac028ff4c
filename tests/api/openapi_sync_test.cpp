// docs/openapi.yaml describes exactly the router's table: same (method, path) pairs, and the
// same least role (x-castellan-access) for each.
#include <gtest/gtest.h>

#include <fstream>
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
  std::set<std::string> out;
  std::string line, path, method;
  bool in_paths = false;
  const auto indent = [](const std::string& l) { return l.find_first_not_of(' '); };
  const std::string access_key = "x-castellan-access:";
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!line.empty() && line[0] != ' ') in_paths = false;
    if (!in_paths || line.empty()) continue;
    const auto at = indent(line);
    std::string text = line.substr(at);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    if (at == 2 && text.size() > 2 && text[0] == '/' && text.back() == ':') {
      path = text.substr(0, text.size() - 1);
    } else if (at == 4 && (text == "get:" || text == "post:" || text == "put:" ||
                           text == "patch:" || text == "delete:")) {
      method = text.substr(0, text.size() - 1);
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (at == 6 && text.rfind(access_key, 0) == 0) {
      std::string value = text.substr(access_key.size());
      value.erase(0, value.find_first_not_of(' '));
      out.insert(method + " " + path + " " + value);
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
  for (const auto& op : routed)
    EXPECT_TRUE(documented.count(op)) << "not in docs/openapi.yaml: " << op;
  for (const auto& op : documented)
    EXPECT_TRUE(routed.count(op)) << "documented but not routed: " << op;
  EXPECT_EQ(routed.size(), documented.size());
}

}  // namespace
}  // namespace castellan::api::testing
