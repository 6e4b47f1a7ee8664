// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum of every
// framed record in ogai (token shard headers, checkpoint chunks and manifests).
//
// Crc32c(data, n) is the standard CRC-32C (check value of "123456789" is 0xE3069283).
// Pass a previous result as `crc` to continue over more bytes:
//   Crc32c(b, nb, Crc32c(a, na)) == Crc32c(a ++ b).
// Uses the SSE4.2 crc32 instruction when the build targets a CPU that has it (three streams
// at once over 12 KiB groups, recombined by linearity; crc32c.cc says how), else a table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ogai {

uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);

// The same checksum one byte at a time from a table: the reference the tests hold Crc32c to.
uint32_t Crc32cPortable(const void* data, size_t n, uint32_t crc = 0);

}  // namespace ogai
