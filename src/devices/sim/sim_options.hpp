// Options of the device simulator (`castellan sim`, tests, benchmarks).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "devices/broker_accounts.hpp"

namespace castellan::devices::sim {

// Relative weights of the swipe kinds (need not sum to 1).
struct SwipeMix {
  double valid = 0.7;      // a card from valid_cards: expect grant
  double unknown = 0.1;    // a random card nobody has: expect 40304
  double expired = 0.1;    // a card from expired_cards: expect 40301
  double malformed = 0.1;  // broken payloads, see swipe_payloads.hpp
};

struct SimOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  // One account for every device (e.g. demo.json's mqtt_admin) ...
  std::string username;
  std::string password;
  // ... or per-device credentials (device id -> credentials), which take precedence.
  std::map<std::string, MqttCredentials> device_credentials;

  std::string site = "hq";
  int doors = 8;    // door i (1-based) is door_prefix+i, controlled by controller_prefix+i
  int sensors = 4;  // sensor_prefix+i
  std::vector<std::string> door_ids;        // explicit door ids instead of door_prefix+i
  std::vector<std::string> controller_ids;  // explicit, same order as door_ids
  std::vector<std::string> sensor_ids;      // explicit sensor ids instead of sensor_prefix+i
  std::string door_prefix = "d";
  std::string controller_prefix = "ctl-";
  std::string sensor_prefix = "sensor-";

  double rate = 10;                       // swipes per second over all doors
  std::chrono::milliseconds duration{0};  // 0: until stopped
  SwipeMix mix;
  std::vector<std::string> valid_cards;          // card UIDs (hex)
  std::vector<std::string> expired_cards;        // card UIDs (hex)
  std::map<std::string, std::string> door_keys;  // door id -> raw key bytes

  std::chrono::milliseconds heartbeat_interval{3000};
  std::chrono::milliseconds telemetry_interval{5000};
  std::chrono::milliseconds answer_timeout{5000};  // later than this = unanswered
  double forced_open_per_door_per_min = 0.2;       // contact opens while locked
  double held_open_ratio = 0.02;                   // share of grants where the door stays open
  std::chrono::milliseconds held_open_for{35000};  // longer than a door's held_open_s (30 s)
  int max_clients = 200;  // more devices than this share max_clients connections
  std::string fw = "1.4.2";
};

// Door id -> raw key from a JSON object {"d1":"<hex key>",...}.
Result<std::map<std::string, std::string>> load_door_keys(const std::string& path);
// Card UIDs from a file: a JSON array of strings, or one UID per line ('#' comments).
Result<std::vector<std::string>> load_card_list(const std::string& path);
// Device credentials from {"ctl-1":{"username":"…","password":"…"},…}.
Result<std::map<std::string, MqttCredentials>> load_device_credentials(const std::string& path);
// "valid=70,unknown=10,expired=10,malformed=10" (any subset; others become 0).
Result<SwipeMix> parse_swipe_mix(std::string_view text);

}  // namespace castellan::devices::sim
