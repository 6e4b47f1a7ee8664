#include "core/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/check.h"

namespace ogai {

std::string Sha256(std::string_view data) {
  std::string out(kSha256Bytes, '\0');
  unsigned int len = 0;
  const int ok =
      EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha256(), nullptr);
  OGAI_CHECK(ok == 1 && len == kSha256Bytes);
  return out;
}

std::string Sha256Hex(std::string_view data) {
  static const char* kHex = "0123456789abcdef";
  const std::string d = Sha256(data);
  std::string out;
  out.reserve(2 * d.size());
  for (unsigned char c : d) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string out(kSha256Bytes, '\0');
  unsigned int len = 0;
  const unsigned char* r =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), reinterpret_cast<unsigned char*>(out.data()), &len);
  OGAI_CHECK(r != nullptr && len == kSha256Bytes);
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  OGAI_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) == 1);
  return out;
}

std::string RandomHex(size_t n) {
  static const char* hex = "0123456789abcdef";
  const std::string raw = RandomBytes(n);
  std::string out;
  out.reserve(2 * n);
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ogai
