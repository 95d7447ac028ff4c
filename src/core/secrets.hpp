// Secrets kept as files with mode 0600 in the data directory (card_secret, JWT key, door
// keys, admin password): created once with random content, then read back on every start.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/result.hpp"

namespace castellan {

// Returns the file's content; if the file does not exist, writes `make_content()` to it
// atomically with mode 0600 first. Fails if the file exists with a mode other than 0600
// (group/other may not read a secret) or cannot be written.
Result<std::string> load_or_create_secret_file(const std::string& path,
                                               const std::string& new_content);

// A 32-byte key kept as 64 hex digits (card_secret, JWT key): created random if missing. On
// read, whitespace around it (the newline an editor adds) is ignored; anything else than 64
// hex digits is refused, naming the file.
Result<std::string> load_or_create_key_file(const std::string& path);

// Returns the content of an existing secret file (one the operator provides, e.g. the MQTT
// password). Fails if it cannot be read or group/other may read it.
Result<std::string> read_secret_file(const std::string& path);

// Writes `content` to `path` so that a power cut leaves the old file or the new one, whole:
// a temp file with `mode` (exactly, whatever the umask), fsync, rename over `path`, fsync of
// the directory (else the rename itself may not survive).
Result<void> write_file_durably(const std::string& path, const std::string& content, mode_t mode);

// write_file_durably() with mode 0600.
Result<void> write_secret_file(const std::string& path, const std::string& content);

// Creates the directory (and missing parents) with mode 0700. An existing directory keeps its
// mode, but one that group or others may write to is refused.
Result<void> ensure_private_dir(const std::string& path);

}  // namespace castellan
