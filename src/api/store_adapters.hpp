// Ports over the real store: resources through store::ResourceService, and API accounts as
// documents {"username","password_hash","role"} in the store's accounts collection.
#pragma once

#include "api/accounts.hpp"
#include "api/ports.hpp"

namespace castellan::store {
class ResourceService;
class Store;
}  // namespace castellan::store

namespace castellan::api {

class StoreResources final : public ResourcePort {
 public:
  explicit StoreResources(store::ResourceService& service) : service_(service) {}
  Result<boost::json::object> create(std::string_view collection, const boost::json::object& body,
                                     std::string_view actor) override;
  Result<boost::json::object> get(std::string_view collection, std::string_view id) override;
  Result<Page> list(std::string_view collection, int limit, std::string_view cursor) override;
  Result<boost::json::object> patch(std::string_view collection, std::string_view id,
                                    const boost::json::object& body,
                                    std::string_view actor) override;
  Result<void> remove(std::string_view collection, std::string_view id,
                      std::string_view actor) override;
  Result<boost::json::object> issue_pass(const boost::json::object& body,
                                         std::string_view actor) override;
  Result<void> forget_change(std::string_view change_id) override;

 private:
  store::ResourceService& service_;
};

class StoreAccounts final : public AccountRepository {
 public:
  explicit StoreAccounts(store::Store& store) : store_(store) {}
  Result<std::optional<Account>> find(const std::string& username) override;
  Result<std::vector<Account>> list(const std::string& after, int limit) override;
  Result<void> create(const Account& account) override;
  Result<void> update(const Account& account) override;
  Result<void> remove(const std::string& username) override;

 private:
  store::Store& store_;
};

}  // namespace castellan::api
