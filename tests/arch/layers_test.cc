// Folders are layers (cmake/layers.txt, docs/architecture.md): every #include of the
// project's own sources must point at its own folder or a folder on a lower level.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/arch/layer_check.h"
#include "tests/util/job.h"

namespace ogai::arch {
namespace {

void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string SourceDir() {
  const char* s = std::getenv("OGAI_SOURCE_DIR");
  return s != nullptr ? s : OGAI_TEST_SOURCE_DIR;
}

TEST(Layers, EveryIncludeOfTheProjectPointsDown) {
  const std::string root = SourceDir();
  auto table = ParseLayers(testing::ReadText(root + "/cmake/layers.txt"), "cmake/layers.txt");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto v = CheckLayers(root, *table);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  std::string all;
  for (const Violation& x : *v) all += x.ToString() + "\n";
  EXPECT_TRUE(v->empty()) << v->size() << " include(s) break the layer rule of cmake/layers.txt:\n" << all;
  // The walk saw the tree: the core and the launcher are in it.
  EXPECT_EQ(table->at("core"), 0);
  EXPECT_GT(table->at("launcher"), table->at("train"));
}

// The checker can fail: a small tree with one upward include and one unknown folder.
TEST(Layers, AnUpwardIncludeIsReportedWithFileAndLine) {
  testing::TempDir dir("ogai_layers");
  const std::filesystem::path root = dir.path();
  auto table = ParseLayers("0: core\n1: comm\n2: train  # top\n", "layers.txt");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  WriteFile(root / "core/a.h", "#pragma once\n");
  WriteFile(root / "comm/b.cc", "#include \"comm/b.h\"\n#include \"core/a.h\"\n\n#include \"train/t.h\"\n");
  WriteFile(root / "comm/b.h", "#include \"core/a.h\"\n");
  WriteFile(root / "comm/ucx/c.cc", "#include \"algorithms.h\"\n#include \"comm/b.h\"\n");
  WriteFile(root / "comm/ucx/algorithms.h", "\n");
  WriteFile(root / "train/t.h", "#include \"comm/b.h\"\n");
  WriteFile(root / "sched/s.cc", "#include \"train/t.h\"\n");
  WriteFile(root / "build/gen.cc", "#include \"train/t.h\"\n");  // build trees are skipped
  auto v = CheckLayers(root.string(), *table);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[0].ToString(),
            "comm/b.cc:4: comm (level 1) includes train/t.h (level 2): a folder may include only folders below it");
  EXPECT_EQ((*v)[1].file, "sched/s.cc");
  EXPECT_NE((*v)[1].message.find("not in the layer table"), std::string::npos);
}

TEST(Layers, SameLevelSiblingsMayNotIncludeEachOther) {
  testing::TempDir dir("ogai_layers");
  const std::filesystem::path root = dir.path();
  auto table = ParseLayers("0: core\n2: comm model\n", "layers.txt");
  ASSERT_TRUE(table.ok());
  WriteFile(root / "model/m.cc", "#include \"comm/x.h\"\n");
  WriteFile(root / "comm/x.h", "\n");
  auto v = CheckLayers(root.string(), *table);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 1u);
  EXPECT_EQ((*v)[0].line, 1);
}

TEST(Layers, ABrokenTableIsAnError) {
  EXPECT_FALSE(ParseLayers("core store\n", "l.txt").ok());
  EXPECT_FALSE(ParseLayers("0: core\n1: core\n", "l.txt").ok());
  EXPECT_FALSE(ParseLayers("# nothing\n", "l.txt").ok());
}

}  // namespace
}  // namespace ogai::arch
