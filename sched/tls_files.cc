#include "sched/tls_files.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/file_io.h"

namespace ogai::sched {

Status CheckTlsPair(const std::string& cert_flag, const std::string& cert_file, const std::string& key_flag,
                    const std::string& key_file) {
  if (cert_file.empty() != key_file.empty()) {
    return InvalidArgument((cert_file.empty() ? key_flag : cert_flag) + " without the other: TLS needs both " +
                           cert_flag + " CERT.pem and " + key_flag + " KEY.pem");
  }
  for (const auto& [flag, file] : {std::pair<const std::string&, const std::string&>{cert_flag, cert_file},
                                   std::pair<const std::string&, const std::string&>{key_flag, key_file}}) {
    if (::access(file.c_str(), R_OK) != 0) {
      return InvalidArgument(flag + " " + file + ": cannot read it (" + std::strerror(errno) + ")");
    }
  }
  return Status::Ok();
}

Result<std::string> ReadPemCertificate(const std::string& flag, const std::string& file) {
  auto pem = ReadFile(file);
  if (!pem.ok()) return InvalidArgument(flag + " " + file + ": " + pem.status().message());
  if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return InvalidArgument(flag + " " + file + ": not a PEM certificate (no BEGIN CERTIFICATE line)");
  }
  return pem;
}

Result<TlsPem> ReadTlsPair(const std::string& cert_flag, const std::string& cert_file, const std::string& key_flag,
                           const std::string& key_file) {
  OGAI_RETURN_IF_ERROR(CheckTlsPair(cert_flag, cert_file, key_flag, key_file));
  TlsPem pem;
  OGAI_ASSIGN_OR_RETURN(pem.cert, ReadPemCertificate(cert_flag, cert_file));
  OGAI_ASSIGN_OR_RETURN(pem.key, ReadFile(key_file));
  if (pem.key.find("PRIVATE KEY-----") == std::string::npos) {
    return InvalidArgument(key_flag + " " + key_file + ": not a PEM private key (no BEGIN ... PRIVATE KEY line)");
  }
  return pem;
}

}  // namespace ogai::sched
