// EventsPort over the real journal: GET /v1/events queries, SSE subscriptions (one §5 JSON
// line per record) and the kind "admin" records of API changes.
#pragma once

#include <chrono>

#include "api/ports.hpp"

namespace castellan::journal {
class Journal;
}

namespace castellan::api {

class JournalEvents final : public EventsPort {
 public:
  explicit JournalEvents(journal::Journal& journal) : journal_(journal) {}
  Result<EventLines> query(const EventQuery& query) override;
  Result<EventLines> after(std::uint64_t seq, std::size_t max) override;
  std::unique_ptr<Subscription> subscribe(
      std::function<void(std::string json_line)> on_record) override;
  // How long record_admin waits for durability (as long as a door command's record).
  static constexpr std::chrono::milliseconds kAdminRecordWait{2000};

  // extra = {"actor": who, "what": {...}} (nested so no member collides with a §5 name).
  bool can_record() const override;
  Result<void> record_admin(std::string_view who, const boost::json::object& what,
                            std::string_view trace_id) override;

 private:
  journal::Journal& journal_;
};

}  // namespace castellan::api
