#include "registry/materialize.h"

#include <unistd.h>

#include <filesystem>

#include "ckpt/format.h"
#include "ckpt/writer.h"

namespace ogai::registry {

namespace fs = std::filesystem;

Result<std::string> Materialize(Registry& reg, const VersionInfo& v, const std::string& out) {
  const std::string final_dir = out + "/" + v.ref();
  if (ckpt::ReadLatest(final_dir).ok()) return final_dir;
  OGAI_RETURN_IF_ERROR(ckpt::MakeDirs(out));
  const std::string tmp = out + "/.tmp." + v.ref() + "." + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  std::vector<std::vector<float>> data;
  std::vector<ckpt::ConstSlice> slices;
  data.reserve(v.tensors.size());
  for (const auto& t : v.tensors) {
    OGAI_ASSIGN_OR_RETURN(std::vector<float> d, reg.ReadTensor(t));
    data.push_back(std::move(d));
    slices.push_back({t.name, t.shape, ckpt::Region::Whole(t.shape), data.back().data()});
  }
  Status st = [&]() -> Status {
    ckpt::WriterOptions wo;
    wo.dir = tmp;
    wo.async = false;
    wo.keep_last = 1;
    OGAI_ASSIGN_OR_RETURN(auto w, ckpt::CheckpointWriter::Create(wo));
    ckpt::SaveMeta meta;
    meta.step = v.lineage.step;
    meta.layout.set_world_size(1);
    meta.layout.set_dp(1);
    meta.layout.set_tp(1);
    meta.layout.set_pp(1);
    meta.layout.add_pp_layers(v.config.layers);
    meta.config_yaml = v.lineage.config_yaml;
    OGAI_RETURN_IF_ERROR(w->Save(slices, meta));
    return w->Wait();
  }();
  if (!st.ok()) {
    fs::remove_all(tmp, ec);
    return st.WithContext("materializing " + v.ref());
  }
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    const int e = errno;
    fs::remove_all(tmp, ec);
    // Someone else finished the same version first: theirs is as good as ours.
    if (ckpt::ReadLatest(final_dir).ok()) return final_dir;
    return ErrnoError("cannot rename " + tmp + " to " + final_dir, e);
  }
  OGAI_RETURN_IF_ERROR(ckpt::FsyncPath(out));
  return final_dir;
}

}  // namespace ogai::registry
