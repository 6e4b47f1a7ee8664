// docs/config.md cannot drift from the code: its key table must say exactly what
// `ogai-worker --help-config` prints, and its "Environment knobs" table exactly what
// `ogai-worker --help-env` prints (every row, same order, same type, default and text).
//
// Each doc row is formatted the way the program formats its lines and the two texts are
// compared whole, so a missing, extra, reordered or stale row fails.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/util/child.h"

namespace {

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);  // set by ctest (tests/CMakeLists.txt)
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string RunWorker(const std::string& flag) {
  const std::string worker = Env("OGAI_BUILD_DIR", OGAI_TEST_BUILD_DIR) + "/bin/ogai-worker";
  ogai::testing::ChildResult r = ogai::testing::RunChild({worker, flag}, 60);
  EXPECT_EQ(r.exit_code, 0) << worker << " " << flag << ":\n" << r.output;
  return r.output;
}

// The cells of a markdown table row "| a | b\|c | d |" (\| is a literal bar), trimmed,
// with backticks around a whole cell removed.
std::vector<std::string> Cells(const std::string& row) {
  std::vector<std::string> cells;
  std::string cur;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '\\' && i + 1 < row.size() && row[i + 1] == '|') {
      cur += '|';
      ++i;
    } else if (row[i] == '|') {
      cells.push_back(cur);
      cur.clear();
    } else {
      cur += row[i];
    }
  }
  for (auto& c : cells) {
    c.erase(0, c.find_first_not_of(' '));
    c.erase(c.find_last_not_of(' ') + 1);
    if (c.size() >= 2 && c.front() == '`' && c.back() == '`') c = c.substr(1, c.size() - 2);
  }
  return cells;
}

struct DocTables {
  std::string config;  // the key table, as --help-config lines
  std::string knobs;   // the knob table, as --help-env lines
};

// Rows whose first cell is code (`key`), formatted like the program's help lines.
DocTables ReadDoc() {
  std::ifstream in(Env("OGAI_SOURCE_DIR", OGAI_TEST_SOURCE_DIR) + "/docs/config.md");
  EXPECT_TRUE(in.good()) << "cannot read docs/config.md";
  DocTables t;
  bool in_knobs = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## Environment knobs", 0) == 0) in_knobs = true;
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> c = Cells(line);
    EXPECT_EQ(c.size(), 4u) << "a table row of docs/config.md has not 4 cells: " << line;
    if (c.size() != 4) continue;
    char buf[1024];
    if (in_knobs) {
      std::snprintf(buf, sizeof(buf), "  %-31s %-7s %-24s %s\n", c[0].c_str(), c[1].c_str(), c[2].c_str(),
                    c[3].c_str());
      t.knobs += buf;
    } else {
      std::snprintf(buf, sizeof(buf), "  %-26s %-18s %-12s %s\n", c[0].c_str(), c[1].c_str(), c[2].c_str(),
                    c[3].c_str());
      t.config += buf;
    }
  }
  return t;
}

TEST(ConfigDoc, KeyTableMatchesHelpConfig) {
  EXPECT_EQ(ReadDoc().config, RunWorker("--help-config"))
      << "docs/config.md's key table differs from `ogai-worker --help-config`: update the table";
}

TEST(ConfigDoc, KnobTableMatchesHelpEnv) {
  EXPECT_EQ(ReadDoc().knobs, RunWorker("--help-env"))
      << "docs/config.md's \"Environment knobs\" table differs from `ogai-worker --help-env`: "
         "update the table (core/knobs.cc is the source)";
}

}  // namespace
