// docs/data.md cannot drift from the code: its data.yaml key table must hold exactly the
// rows `ogai-data prepare --help-config` prints (key, type, default, help), in the same order.
#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/util/child.h"
#include "tests/util/job.h"

namespace {

TEST(DataDoc, KeyTableMatchesHelpConfig) {
  auto r = ogai::testing::RunChild({ogai::testing::BuildDir() + "/bin/ogai-data", "prepare", "--help-config"}, 60);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> want;
  std::istringstream help(r.output);
  std::string line;
  const std::regex row(R"(^\s+(\S+)\s+(list of strings|\S+)\s+("[^"]*"|\[\]|\S+)\s+(.*)$)");
  while (std::getline(help, line)) {
    std::smatch m;
    if (line.find_first_not_of(' ') == std::string::npos) continue;
    ASSERT_TRUE(std::regex_match(line, m, row)) << "unexpected --help-config line: " << line;
    std::string type = m[2];
    for (size_t i = 0; (i = type.find('|', i)) != std::string::npos; i += 2) type.insert(i, "\\");
    want.push_back("| `" + m[1].str() + "` | " + type + " | `" + m[3].str() + "` | " + m[4].str() + " |");
  }
  ASSERT_GT(want.size(), 40u);
  std::ifstream doc(std::string(OGAI_TEST_SOURCE_DIR) + "/docs/data.md");
  ASSERT_TRUE(doc.good());
  std::vector<std::string> have;
  while (std::getline(doc, line))
    if (line.rfind("| `", 0) == 0 && line.find('.') != std::string::npos && line.find("` | ") != std::string::npos &&
        line.find("`.") == std::string::npos && std::count(line.begin(), line.end(), '|') >= 5)
      have.push_back(line);
  EXPECT_EQ(have, want) << "docs/data.md's key table differs from `ogai-data prepare --help-config`";
}

}  // namespace
