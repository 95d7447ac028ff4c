// Identifier rules of contract §2.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace castellan {

// site: [a-z0-9-]{1,32}
bool is_valid_site_id(std::string_view id);
// door, device, user, group, schedule, card, holiday: [A-Za-z0-9_.-]{1,64}
bool is_valid_id(std::string_view id);
// Card UID: 8–32 hex digits, any case. Returns the lower-case form, or nullopt.
std::optional<std::string> normalize_card_uid(std::string_view uid);

// A random W3C trace id: 32 lower-case hex digits, never all zeros.
std::string new_trace_id();
// A random UUID v4 (command ids).
std::string new_uuid_v4();

}  // namespace castellan
