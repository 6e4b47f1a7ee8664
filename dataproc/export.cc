#include "dataproc/export.h"

#include <cstring>
#include <filesystem>
#include <vector>

#include "dataproc/atomic_file.h"
#include "dataproc/shard.h"

namespace ogai::data {

Result<ExportResult> ExportDataset(const DatasetInfo& ds, const std::string& split, const std::string& format,
                                   const std::string& prefix) {
  if (split != "train" && split != "val") return InvalidArgument("--split must be train or val, not '" + split + "'");
  if (format != "megatron" && format != "llmc") {
    return InvalidArgument("--format must be megatron or llmc, not '" + format + "'");
  }
  const auto& shards = split == "train" ? ds.train : ds.val;
  const bool u16 = ds.vocab <= 65536;
  if (format == "llmc" && !u16) {
    return InvalidArgument("llm.c's version-1 token file holds uint16 tokens; this dataset's vocabulary is " +
                           std::to_string(ds.vocab));
  }
  ExportResult res;
  // The prefix's folder is made, as prepare makes output.dir.
  const std::filesystem::path folder = std::filesystem::path(prefix).parent_path();
  std::error_code ec;
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec)
    return IoError("cannot create the folder '" + folder.string() + "' of --out " + prefix + " (" + ec.message() + ")");
  OGAI_ASSIGN_OR_RETURN(auto bin, AtomicFile::Create(prefix + ".bin"));
  if (format == "llmc") {
    int64_t total = 0;
    for (const auto& path : shards) {
      OGAI_ASSIGN_OR_RETURN(auto shard, TokenShard::Open(path, static_cast<uint32_t>(ds.vocab)));
      total += shard->size();
    }
    if (total >= (int64_t{1} << 31))
      return InvalidArgument("llm.c's header counts tokens in an int32; too many tokens");
    int32_t header[256] = {};
    header[0] = 20240520;  // magic
    header[1] = 1;         // version: uint16 tokens
    header[2] = static_cast<int32_t>(total);
    OGAI_RETURN_IF_ERROR(bin->Write(header, sizeof header));
  }
  std::vector<int32_t> lengths;
  int64_t cur = 0;
  std::vector<int32_t> buf;
  std::vector<uint16_t> b16;
  for (const auto& path : shards) {
    OGAI_ASSIGN_OR_RETURN(auto shard, TokenShard::Open(path, static_cast<uint32_t>(ds.vocab)));
    for (int64_t at = 0; at < shard->size(); at += 1 << 20) {
      const int64_t n = std::min<int64_t>(1 << 20, shard->size() - at);
      buf.resize(n);
      shard->Read(at, n, buf.data());
      for (int32_t t : buf) {
        ++cur;
        if (t == ds.eot) {
          lengths.push_back(static_cast<int32_t>(cur));
          cur = 0;
        }
      }
      if (u16) {
        b16.assign(buf.begin(), buf.end());
        OGAI_RETURN_IF_ERROR(bin->Write(b16.data(), b16.size() * 2));
      } else {
        OGAI_RETURN_IF_ERROR(bin->Write(buf.data(), buf.size() * 4));
      }
      res.tokens += n;
    }
  }
  if (cur > 0) lengths.push_back(static_cast<int32_t>(cur));  // a last document without end-of-text
  res.docs = static_cast<int64_t>(lengths.size());
  OGAI_RETURN_IF_ERROR(bin->Commit());
  res.files.push_back(prefix + ".bin");
  if (format == "llmc") return res;
  OGAI_ASSIGN_OR_RETURN(auto idx, AtomicFile::Create(prefix + ".idx"));
  const uint64_t version = 1, seqs = lengths.size(), docs = lengths.size() + 1;
  const uint8_t code = u16 ? 8 : 4;
  OGAI_RETURN_IF_ERROR(idx->Write("MMIDIDX\0\0", 9));
  OGAI_RETURN_IF_ERROR(idx->Write(&version, 8));
  OGAI_RETURN_IF_ERROR(idx->Write(&code, 1));
  OGAI_RETURN_IF_ERROR(idx->Write(&seqs, 8));
  OGAI_RETURN_IF_ERROR(idx->Write(&docs, 8));
  OGAI_RETURN_IF_ERROR(idx->Write(lengths.data(), lengths.size() * 4));
  std::vector<int64_t> v(lengths.size());
  int64_t off = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    v[i] = off;
    off += static_cast<int64_t>(lengths[i]) * (u16 ? 2 : 4);
  }
  OGAI_RETURN_IF_ERROR(idx->Write(v.data(), v.size() * 8));
  v.resize(docs);
  for (size_t i = 0; i < docs; ++i) v[i] = static_cast<int64_t>(i);
  OGAI_RETURN_IF_ERROR(idx->Write(v.data(), v.size() * 8));
  OGAI_RETURN_IF_ERROR(idx->Commit());
  res.files.push_back(prefix + ".idx");
  return res;
}

}  // namespace ogai::data
