#include "core/log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <chrono>

#include "core/time.hpp"

namespace castellan {
namespace {

thread_local std::string t_trace_id;

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto ts = format_utc(std::chrono::time_point_cast<std::chrono::microseconds>(msg.time));
    const auto level = spdlog::level::to_string_view(msg.level);
    const auto line =
        format_json_log(ts, std::string_view(level.data(), level.size()),
                        std::string_view(msg.payload.data(), msg.payload.size()), t_trace_id);
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

void append_json_escaped(std::string& out, std::string_view s) {
  std::size_t run = 0;  // start of the current run of characters that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s, run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
      }
    }
  }
  out.append(s, run, s.size() - run);
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  append_json_escaped(out, s);
  return out;
}

std::string format_json_log(std::string_view ts, std::string_view level, std::string_view msg,
                            std::string_view trace_id) {
  std::string line = "{\"ts\":\"";
  line += ts;
  line += "\",\"level\":\"";
  line += level;
  line += "\",\"msg\":\"";
  line += json_escape(msg);
  line += '"';
  if (!trace_id.empty()) {
    line += ",\"trace_id\":\"";
    line += json_escape(trace_id);
    line += '"';
  }
  line += "}\n";
  return line;
}

void init_logging(std::string_view level, std::string_view format) {
  auto logger = spdlog::stderr_color_mt("castellan");
  const bool json = format == "json" || (format != "text" && !isatty(STDERR_FILENO));
  if (json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

TraceScope::TraceScope(std::string trace_id) : previous_(std::move(t_trace_id)) {
  t_trace_id = std::move(trace_id);
}

TraceScope::~TraceScope() {
  t_trace_id = std::move(previous_);
}

const std::string& TraceScope::current() {
  return t_trace_id;
}

}  // namespace castellan
