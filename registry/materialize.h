// A registered version as a one-rank checkpoint (weights only, no optimizer moments), so
// that the trainer's resharding reader can load it at any layout (train.init_from). The
// checkpoint goes to OUT/NAME@VERSION (a checkpoint root with `latest`); versions are
// immutable, so an existing one is reused. Written to a temp folder and renamed, so two
// ranks materializing the same version at once both end with the same complete folder.
#pragma once

#include <string>

#include "core/status.h"
#include "registry/registry.h"

namespace ogai::registry {

Result<std::string> Materialize(Registry& reg, const VersionInfo& v, const std::string& out);

}  // namespace ogai::registry
