// The PEM files a TLS server of ogai-sched is given: a certificate (or chain) and its private
// key, for the dashboard (--http-cert/--http-key) and for the gRPC API (--listen-cert/
// --listen-key). One check of the pair's flags, one read, so both say the same things.
#pragma once

#include <string>

#include "core/status.h"

namespace ogai::sched {

struct TlsPem {
  std::string cert, key;  // the files' contents
};

// Both files or neither (the flags named in the error), each readable by this process.
Status CheckTlsPair(const std::string& cert_flag, const std::string& cert_file, const std::string& key_flag,
                    const std::string& key_file);

// A PEM certificate's contents (`flag` names where it came from in the error), refusing a file
// that cannot be read or holds no certificate: the servers' certificates and ogai's --ca.
Result<std::string> ReadPemCertificate(const std::string& flag, const std::string& file);

// The pair's contents after CheckTlsPair, refusing files that are not PEM.
Result<TlsPem> ReadTlsPair(const std::string& cert_flag, const std::string& cert_file, const std::string& key_flag,
                           const std::string& key_file);

}  // namespace ogai::sched
