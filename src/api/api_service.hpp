// The HTTP API without the transport: trace id, route match, bearer-token check, role check,
// handler dispatch (blocking handlers on a small pool), error boundary and request metrics.
// The HTTPS server turns wire requests into Request and writes the Reply back.
#pragma once

#include <memory>
#include <string>

#include "api/api_context.hpp"
#include "api/auth.hpp"
#include "api/request_metrics.hpp"
#include "api/router.hpp"

namespace castellan::api {

class ApiService {
 public:
  explicit ApiService(ApiContext ctx);
  ~ApiService();
  ApiService(const ApiService&) = delete;
  ApiService& operator=(const ApiService&) = delete;

  // Answers `request` by calling `done` exactly once (possibly on another thread).
  void handle(Request request, ReplyFn done);
  // Waits until the requests already handed to the blocking threads have finished, their
  // changes and admin records included. Call once the transport takes no more requests and
  // before the journal closes (a change committed then would lose its record).
  void finish_blocking_jobs();

  const Router& router() const { return router_; }
  RequestMetrics& metrics() { return metrics_; }
  ApiContext& context() { return ctx_; }
  // Runtime metrics followed by the API's own.
  std::string render_metrics();

 private:
  void run(const Route& route, Request request, ReplyFn done);

  ApiContext ctx_;
  LoginLimiter login_limiter_;
  AccountTags account_tags_;
  Router router_;
  RequestMetrics metrics_;
  struct BlockingPool;
  std::unique_ptr<BlockingPool> pool_;
};

// Route registration, one function per area (routes_*.cpp).
void add_auth_routes(Router& router, ApiContext& ctx, LoginLimiter& limiter, AccountTags& tags);
void add_resource_routes(Router& router, ApiContext& ctx);
void add_event_routes(Router& router, ApiContext& ctx, AccountTags& tags);
void add_door_routes(Router& router, ApiContext& ctx);
void add_system_routes(Router& router, ApiContext& ctx);

}  // namespace castellan::api
