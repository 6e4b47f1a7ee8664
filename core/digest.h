// Cryptographic digests and randomness, from OpenSSL's libcrypto (a well-kept implementation;
// ogai writes none of its own): SHA-256, HMAC-SHA-256, random bytes from the OS generator,
// and a comparison whose time does not depend on where two strings differ.
//
// Used by the store's handshake and per-message MAC (store/auth.h) and by the launcher to
// pin the job spec its agents run.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ogai {

inline constexpr size_t kSha256Bytes = 32;

// The 32-byte SHA-256 of `data`.
std::string Sha256(std::string_view data);
// The same as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);
// The 32-byte HMAC-SHA-256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);
// `n` bytes from a cryptographically secure generator (aborts through OGAI_CHECK if the OS
// has none: nothing can run safely without it).
std::string RandomBytes(size_t n);
// `n` such bytes as 2n lowercase hex digits (job tokens, run ids).
std::string RandomHex(size_t n);
// a == b, in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ogai
