// Logging: spdlog, JSON lines on stderr ({"ts","level","msg","trace_id"?}), or a readable
// text line when stderr is a terminal. The trace id of the request being served is kept per
// thread by TraceScope so every log line of that request carries it.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace castellan {

enum class LogFormat { kJson, kText, kAuto };

// Installs the default logger. `level`: trace|debug|info|warn|error; `format`: json|text|auto.
void init_logging(std::string_view level, std::string_view format);

// Renders one record as a JSON line (exposed for tests).
std::string format_json_log(std::string_view ts, std::string_view level, std::string_view msg,
                            std::string_view trace_id);

// Escapes a string for inclusion inside JSON quotes.
std::string json_escape(std::string_view s);
// The same, appended to `out` (no temporary string).
void append_json_escaped(std::string& out, std::string_view s);

// Sets the current thread's trace id for log lines until destroyed.
class TraceScope {
 public:
  explicit TraceScope(std::string trace_id);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;
  static const std::string& current();

 private:
  std::string previous_;
};

}  // namespace castellan
