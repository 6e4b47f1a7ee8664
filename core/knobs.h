// Environment knobs: the one table of every OGAI_* tuning and diagnostic variable ogai reads.
//
// Each knob has a name, a type, a default (as documentation: the text `--help-env` and
// docs/config.md show) and one line of doc. Code reads a knob only through the accessors
// below, which look the name up in the table: a name that is not in it, or read as another
// type, is a bug (OGAI_CHECK). `ogai-worker --help-env` prints the table; a test keeps
// docs/config.md ("Environment knobs") equal to it.
//
// Not here: the rank contract a launcher sets for each rank (RANK, WORLD_SIZE, LOCAL_*,
// MASTER_*, OGAI_RESTART_COUNT, OGAI_STORE_TOKEN, OGAI_RUN_ID, OGAI_HEARTBEAT_*, OMPI_*,
// SLURM_*, PMIX_*, ...: rank/), and the launcher's own bootstrap of its agents.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ogai {

enum class KnobType {
  kString,  // free text
  kInt,     // a decimal integer (non-numbers read as 0, like atoi)
  kSize,    // a byte count: decimal, with an optional k/K (KiB) or m/M (MiB) suffix
  kFlag,    // "0" is off; anything else is on
};

struct Knob {
  const char* name;
  KnobType type;
  const char* default_text;  // what an unset knob means
  const char* doc;
};

// Every knob, in help order.
const std::vector<Knob>& Knobs();

// One line per knob: name, type, default, doc.
std::string KnobHelp();

// The value of a knob when it is set and not empty. KnobText reads any type as text; the
// others check the knob's type.
std::optional<std::string> KnobText(std::string_view name);
std::optional<int64_t> KnobInt(std::string_view name);
std::optional<uint64_t> KnobSize(std::string_view name);
// A flag: on unless set to "0"; unset or empty means `unset`.
bool KnobFlag(std::string_view name, bool unset);

}  // namespace ogai
