#include "runtime/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace castellan::runtime {
namespace {

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2 };
const char* type_name(int t) {
  return t == kCounter ? "counter" : t == kGauge ? "gauge" : "histogram";
}

bool valid_metric_name(const std::string& n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool valid_label_name(const std::string& n) {
  if (n.empty() || n.rfind("__", 0) == 0) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void fail(const std::string& what) {
  throw std::invalid_argument("metrics: " + what);
}

Labels canonical(const Labels& labels) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (!valid_label_name(sorted[i].first)) fail("invalid label name '" + sorted[i].first + "'");
    if (sorted[i].first == "le") fail("label name 'le' is reserved for histogram buckets");
    if (i > 0 && sorted[i].first == sorted[i - 1].first)
      fail("duplicate label '" + sorted[i].first + "'");
  }
  return sorted;
}

std::vector<std::string> names_of(const Labels& l) {
  std::vector<std::string> out;
  for (const auto& [k, v] : l) out.push_back(k);
  return out;
}
std::vector<std::string> values_of(const Labels& l) {
  std::vector<std::string> out;
  for (const auto& [k, v] : l) out.push_back(v);
  return out;
}

}  // namespace

struct MetricSeries {
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
};

struct MetricFamily {
  std::string name;
  std::string help;
  int type = kGauge;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  std::map<std::vector<std::string>, MetricSeries> series;
  std::map<std::uint64_t, std::pair<std::vector<std::string>, std::function<double()>>> callbacks;
};

struct MetricsRegistry::Core {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<MetricFamily>> families;
  std::uint64_t next_callback_id = 1;
  MetricFamily& family(const std::string& name, const std::string& help, int type,
                       const Labels& labels);
};

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i])) fail("histogram bounds must be finite");
    if (i > 0 && !(bounds_[i] > bounds_[i - 1])) fail("histogram bounds must increase");
  }
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);  // first bound >= v (le)
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> latency_buckets_seconds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

MetricsRegistry::MetricsRegistry() : core_(std::make_shared<Core>()) {}
MetricsRegistry::~MetricsRegistry() = default;

MetricFamily& MetricsRegistry::Core::family(const std::string& name, const std::string& help,
                                            int type, const Labels& labels) {
  if (!valid_metric_name(name)) fail("invalid metric name '" + name + "'");
  if (type == kCounter && !ends_with(name, "_total"))
    fail("counter '" + name + "' must end in _total");
  if (type != kCounter && ends_with(name, "_total"))
    fail("only counters may end in _total: '" + name + "'");
  for (auto suffix : {"_bucket", "_sum", "_count"}) {
    if (ends_with(name, suffix)) fail("metric name '" + name + "' uses a reserved suffix");
  }
  auto& slot = families[name];
  if (!slot) {
    slot = std::make_unique<MetricFamily>();
    slot->name = name;
    slot->help = help;
    slot->type = type;
    slot->label_names = names_of(labels);
    return *slot;
  }
  if (slot->type != type) fail("metric '" + name + "' registered as " + type_name(slot->type));
  if (slot->help != help) fail("metric '" + name + "' registered with another help text");
  if (slot->label_names != names_of(labels))
    fail("metric '" + name + "' registered with other label names");
  return *slot;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const Labels& labels) {
  Labels l = canonical(labels);
  std::lock_guard lock(core_->mu);
  MetricSeries& s = core_->family(name, help, kCounter, l).series[values_of(l)];
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                              const Labels& labels) {
  Labels l = canonical(labels);
  std::lock_guard lock(core_->mu);
  MetricSeries& s = core_->family(name, help, kGauge, l).series[values_of(l)];
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& bounds, const Labels& labels) {
  Labels l = canonical(labels);
  std::lock_guard lock(core_->mu);
  MetricFamily& f = core_->family(name, help, kHistogram, l);
  if (f.series.empty() && f.bounds.empty()) f.bounds = bounds;
  if (f.bounds != bounds) fail("histogram '" + name + "' registered with other buckets");
  MetricSeries& s = f.series[values_of(l)];
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(bounds);
  return *s.histogram;
}

MetricsRegistry::CallbackHandle MetricsRegistry::callback_gauge(const std::string& name,
                                                                const std::string& help,
                                                                const Labels& labels,
                                                                std::function<double()> read) {
  Labels l = canonical(labels);
  std::lock_guard lock(core_->mu);
  MetricFamily& f = core_->family(name, help, kGauge, l);
  const std::uint64_t id = core_->next_callback_id++;
  f.callbacks.emplace(id, std::make_pair(values_of(l), std::move(read)));
  return CallbackHandle(core_, id);
}

void MetricsRegistry::CallbackHandle::release() {
  if (auto core = core_.lock()) {
    std::lock_guard lock(core->mu);
    for (auto& [name, f] : core->families) f->callbacks.erase(id_);
  }
  core_.reset();
}

MetricsRegistry::CallbackHandle& MetricsRegistry::CallbackHandle::operator=(
    CallbackHandle&& other) noexcept {
  if (this != &other) {
    release();
    core_ = std::move(other.core_);
    id_ = other.id_;
  }
  return *this;
}

MetricsRegistry::CallbackHandle::~CallbackHandle() {
  release();
}

namespace {

void write_labels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const std::string* le = nullptr) {
  if (names.empty() && !le) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i] + "=\"" + escape_label_value(values[i]) + '"';
  }
  if (le) {
    if (!first) out += ',';
    out += "le=\"" + *le + '"';
  }
  out += '}';
}

void write_sample(std::string& out, const std::string& name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, double v,
                  const std::string* le = nullptr) {
  out += name;
  write_labels(out, names, values, le);
  out += ' ';
  out += format_metric_value(v);
  out += '\n';
}

}  // namespace

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(core_->mu);
  for (const auto& [name, f] : core_->families) {
    if (f->series.empty() && f->callbacks.empty()) continue;
    out += "# HELP " + name + ' ' + escape_help(f->help) + '\n';
    out += "# TYPE " + name + ' ' + type_name(f->type) + '\n';
    // Callback gauges sharing label values with a plain gauge would duplicate a series;
    // the plain one wins.
    for (const auto& [values, s] : f->series) {
      if (s.counter) write_sample(out, name, f->label_names, values, s.counter->value());
      if (s.gauge) write_sample(out, name, f->label_names, values, s.gauge->value());
      if (s.histogram) {
        auto counts = s.histogram->cumulative_counts();
        const auto& bounds = s.histogram->bounds();
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
          std::string le = i < bounds.size() ? format_metric_value(bounds[i]) : "+Inf";
          write_sample(out, name + "_bucket", f->label_names, values,
                       static_cast<double>(counts[i]), &le);
        }
        write_sample(out, name + "_sum", f->label_names, values, s.histogram->sum());
        write_sample(out, name + "_count", f->label_names, values,
                     static_cast<double>(s.histogram->count()));
      }
    }
    std::map<std::vector<std::string>, double> seen;
    for (const auto& [id, cb] : f->callbacks) {
      if (f->series.count(cb.first) || seen.count(cb.first)) continue;
      seen.emplace(cb.first, cb.second());
    }
    for (const auto& [values, v] : seen) write_sample(out, name, f->label_names, values, v);
  }
  return out;
}

}  // namespace castellan::runtime
