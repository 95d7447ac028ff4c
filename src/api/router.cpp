#include "api/router.hpp"

namespace castellan::api {
namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 1;  // paths begin with '/'
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    const auto stop = end == std::string_view::npos ? path.size() : end;
    out.push_back(path.substr(start, stop - start));
    start = stop + 1;
  }
  return out;
}

bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// Number of literal segments matched, or -1 when the pattern does not match.
int score(const std::vector<std::string>& pattern, const std::vector<std::string_view>& segs,
          std::vector<std::string>* params) {
  if (pattern.size() != segs.size()) return -1;
  int literal = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (is_param(pattern[i])) {
      if (segs[i].empty()) return -1;
      if (params) params->emplace_back(segs[i]);
    } else if (pattern[i] == segs[i]) {
      ++literal;
    } else {
      return -1;
    }
  }
  return literal;
}

}  // namespace

void Router::add(Route route) {
  // Split once here, not on every request.
  const auto segs = split(route.pattern);
  segments_.emplace_back(segs.begin(), segs.end());
  routes_.push_back(std::move(route));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  if (path.empty() || path.front() != '/') return m;
  const auto segs = split(path);
  int best = -1;
  std::size_t best_index = 0;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const int s = score(segments_[i], segs, nullptr);
    if (s < 0) continue;
    m.path_exists = true;
    if (routes_[i].method == method && s > best) {
      best = s;
      best_index = i;
      m.route = &routes_[i];
    }
  }
  if (m.route) score(segments_[best_index], segs, &m.params);
  return m;
}

}  // namespace castellan::api
