// CRC32C (Castagnoli, polynomial 0x1EDC6F41 reflected 0x82F63B78), as used by iSCSI, ext4 and
// LevelDB: it frames every journal record so a torn or flipped write is caught before parsing.
// Uses the SSE4.2 crc32 instruction when the CPU has it, else a slicing-by-8 table.
#pragma once

#include <cstdint>
#include <string_view>

namespace castellan::journal {

// CRC32C of `data`, continuing from `crc` (the result of a previous call; 0 to start).
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

// The two implementations, exposed for tests and the benchmark.
std::uint32_t crc32c_table(std::string_view data, std::uint32_t crc = 0);
std::uint32_t crc32c_sse42(std::string_view data, std::uint32_t crc = 0);  // only if available
bool crc32c_sse42_available();

}  // namespace castellan::journal
