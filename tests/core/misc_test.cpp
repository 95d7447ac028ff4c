#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/result.hpp"

namespace castellan {
namespace {

TEST(Ids, SiteAndEntityIds) {
  EXPECT_TRUE(is_valid_site_id("hq"));
  EXPECT_TRUE(is_valid_site_id("site-2"));
  EXPECT_FALSE(is_valid_site_id("HQ"));
  EXPECT_FALSE(is_valid_site_id(""));
  EXPECT_FALSE(is_valid_site_id(std::string(33, 'a')));
  EXPECT_TRUE(is_valid_id("Door_1.main-east"));
  EXPECT_FALSE(is_valid_id("door/1"));
  EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
}

TEST(Ids, CardUidNormalisation) {
  EXPECT_EQ(*normalize_card_uid("04A1B2C3"), "04a1b2c3");
  EXPECT_FALSE(normalize_card_uid("04A1B2C").has_value()) << "7 digits";
  EXPECT_FALSE(normalize_card_uid(std::string(33, 'a')).has_value());
  EXPECT_FALSE(normalize_card_uid("04A1B2CG").has_value());
}

TEST(Ids, RandomTraceIdsAndUuids) {
  const auto lower_hex = [](std::string_view s) {
    return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  };
  const std::string a = new_trace_id();
  const std::string b = new_trace_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_TRUE(lower_hex(a)) << a;
  EXPECT_NE(a, b);
  const std::string u = new_uuid_v4();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[8], '-');
  EXPECT_EQ(u[13], '-');
  EXPECT_EQ(u[14], '4');                                                         // version
  EXPECT_NE(std::string_view("89ab").find(u[19]), std::string_view::npos) << u;  // variant
  EXPECT_NE(u, new_uuid_v4());
}

TEST(Log, JsonLineShape) {
  EXPECT_EQ(format_json_log("2026-11-22T03:04:05.123Z", "info", "door \"d1\"\nopen", "abc"),
            "{\"ts\":\"2026-11-22T03:04:05.123Z\",\"level\":\"info\",\"msg\":\"door "
            "\\\"d1\\\"\\nopen\",\"trace_id\":\"abc\"}\n");
  EXPECT_EQ(format_json_log("t", "warn", "x", ""),
            "{\"ts\":\"t\",\"level\":\"warn\",\"msg\":\"x\"}\n");
}

TEST(Log, JsonEscapeKeepsTextAndEscapesWhatJsonRequires) {
  EXPECT_EQ(json_escape("plain ASCII, no escapes"), "plain ASCII, no escapes");
  EXPECT_EQ(json_escape("Tür ✓"), "Tür ✓");  // UTF-8 passes through
  EXPECT_EQ(json_escape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_escape("\n\r\t"), "\\n\\r\\t");
  EXPECT_EQ(json_escape(std::string_view("\x01\x1f\0", 3)), "\\u0001\\u001f\\u0000");
  std::string out = "x";
  append_json_escaped(out, "\"q\"");
  EXPECT_EQ(out, "x\\\"q\\\"");
}

TEST(Log, TraceScopeNests) {
  EXPECT_EQ(TraceScope::current(), "");
  {
    TraceScope a("aaaa");
    EXPECT_EQ(TraceScope::current(), "aaaa");
    {
      TraceScope b("bbbb");
      EXPECT_EQ(TraceScope::current(), "bbbb");
    }
    EXPECT_EQ(TraceScope::current(), "aaaa");
  }
  EXPECT_EQ(TraceScope::current(), "");
}

TEST(Result, ValueAndError) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  Result<int> bad = make_error(Code::ERR_NOT_FOUND, "no such door");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Code::ERR_NOT_FOUND);
  Result<void> v;
  EXPECT_TRUE(v.ok());
  Result<void> e = make_error(Code::ERR_UNAVAILABLE, "disk full");
  EXPECT_FALSE(e.ok());
}

}  // namespace
}  // namespace castellan
