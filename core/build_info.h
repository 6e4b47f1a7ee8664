// What build this binary is: the git commit of the source tree it was built from, baked in
// at build time (cmake/git_commit.cmake, run at every build; "abc123def456-dirty" when the
// tree had uncommitted changes, "unknown" outside a git checkout). Target ogai_build_info.
#pragma once

namespace ogai {

const char* GitCommit();

}  // namespace ogai
