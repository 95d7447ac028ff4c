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
int score(std::string_view pattern, const std::vector<std::string_view>& segs,
          std::vector<std::string>* params) {
  const auto pat = split(pattern);
  if (pat.size() != segs.size()) return -1;
  int literal = 0;
  for (std::size_t i = 0; i < pat.size(); ++i) {
    if (is_param(pat[i])) {
      if (segs[i].empty()) return -1;
      if (params) params->emplace_back(segs[i]);
    } else if (pat[i] == segs[i]) {
      ++literal;
    } else {
      return -1;
    }
  }
  return literal;
}

}  // namespace

void Router::add(Route route) {
  routes_.push_back(std::move(route));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  if (path.empty() || path.front() != '/') return m;
  const auto segs = split(path);
  int best = -1;
  for (const auto& r : routes_) {
    const int s = score(r.pattern, segs, nullptr);
    if (s < 0) continue;
    m.path_exists = true;
    if (r.method == method && s > best) {
      best = s;
      m.route = &r;
    }
  }
  if (m.route) score(m.route->pattern, segs, &m.params);
  return m;
}

}  // namespace castellan::api
