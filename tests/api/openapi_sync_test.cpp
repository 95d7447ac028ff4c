// docs/openapi.yaml describes exactly the router's table: same (method, path) pairs, and the
// same least role (x-castellan-access) for each.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
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

struct Document {
  std::set<std::string> operations;                       // "METHOD path access"
  std::map<std::string, std::set<std::string>> statuses;  // "METHOD path" -> {"200", "503", …}
};

// The document's operations and their response statuses, read line by line from its fixed
// layout: paths at two spaces of indent, methods at four, x-castellan-access and responses at
// six, statuses at eight.
Document read_document() {
  std::ifstream in(std::string(CASTELLAN_SOURCE_DIR) + "/docs/openapi.yaml");
  EXPECT_TRUE(in.good());
  Document out;
  std::string line, path, method;
  bool in_paths = false, in_responses = false;
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
    if (at <= 6) in_responses = false;
    if (at == 2 && text.size() > 2 && text[0] == '/' && text.back() == ':') {
      path = text.substr(0, text.size() - 1);
    } else if (at == 4 && (text == "get:" || text == "post:" || text == "put:" ||
                           text == "patch:" || text == "delete:")) {
      method = text.substr(0, text.size() - 1);
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (at == 6 && text.rfind(access_key, 0) == 0) {
      std::string value = text.substr(access_key.size());
      value.erase(0, value.find_first_not_of(' '));
      out.operations.insert(method + " " + path + " " + value);
    } else if (at == 6 && text == "responses:") {
      in_responses = true;
    } else if (in_responses && at == 8 && text.size() == 6 && text[0] == '\'') {
      out.statuses[method + " " + path].insert(text.substr(1, 3));
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
  const auto documented = read_document().operations;
  for (const auto& op : routed)
    EXPECT_TRUE(documented.count(op)) << "not in docs/openapi.yaml: " << op;
  for (const auto& op : documented)
    EXPECT_TRUE(routed.count(op)) << "documented but not routed: " << op;
  EXPECT_EQ(routed.size(), documented.size());
}

// A route that runs on the blocking pool can be refused as busy (503) and time out in the queue
// (504): its documentation must say so.
TEST(OpenApi, EveryQueuedRouteDocuments503And504) {
  ApiHarness h;
  const auto document = read_document();
  std::size_t queued = 0;
  for (const auto& r : h.api.router().routes()) {
    if (!r.blocking && !r.blocking_for) continue;
    ++queued;
    const std::string op = r.method + " " + r.pattern;
    const auto it = document.statuses.find(op);
    ASSERT_NE(it, document.statuses.end()) << "no responses documented for " << op;
    EXPECT_TRUE(it->second.count("503")) << op;
    EXPECT_TRUE(it->second.count("504")) << op;
  }
  EXPECT_GT(queued, 40u);
}

// Tools must be able to read it: the whole document is YAML that parses (Debian's python3-yaml).
TEST(OpenApi, DocumentIsValidYaml) {
  const std::string file = std::string(CASTELLAN_SOURCE_DIR) + "/docs/openapi.yaml";
  const std::string check =
      "/usr/bin/python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); "
      "assert d[\"openapi\"].startswith(\"3.\") and d[\"paths\"]' " +
      file + " 2>&1";
  EXPECT_EQ(std::system(check.c_str()), 0) << "docs/openapi.yaml does not parse as YAML";
}

}  // namespace
}  // namespace castellan::api::testing
