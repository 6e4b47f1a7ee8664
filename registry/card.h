// The readable card `ogai-model show` prints for a version, and `ls` tables.
#pragma once

#include <string>
#include <vector>

#include "registry/registry.h"

namespace ogai::registry {

std::string FormatCard(const VersionInfo& v, bool with_config);
std::string FormatModelList(const std::vector<ModelSummary>& models);
std::string FormatVersionList(const std::vector<VersionInfo>& versions);

}  // namespace ogai::registry
