// Ranks on different nodes of the namespace cluster (scripts/testenv/netns.sh: network
// namespaces of one kernel, so shared memory and cross-memory attach would work between
// them) must talk over the network: ogai-run starts netns_probe on two nodes x two ranks and
// every pair's transport is checked against the nodes the ranks report themselves (their
// host names), not against ogai's own idea of a node. And the reductions give the same bits
// whichever nodes the ranks run on. Without the cluster the tests skip.
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/launcher/run_util.h"

namespace ogai::launch::testing {
namespace {

// Names UCX gives its shared-memory and single-kernel transports.
bool SharesMemory(const std::string& transport) {
  for (const char* tl : {"posix", "sysv", "cma", "xpmem", "knem", "shared memory"})
    if (transport.find(tl) != std::string::npos) return true;
  return false;
}

TEST(CommNetns, RanksOnDifferentNodesUseTheNetworkOnly) {
  NetnsCluster c = TestNetns();
  if (c.nodes.size() < 2) GTEST_SKIP() << (c.why.empty() ? "the namespace cluster has fewer than 2 nodes" : c.why);
  const std::string hosts = c.nodes[0].addr + ":2," + c.nodes[1].addr + ":2";
  auto r = RunCommand({BinDir() + "/ogai-run", "-H", hosts, "--", BinDir() + "/netns_probe"}, {c.ssh_env}, 240);
  ASSERT_EQ(r.code, 0) << r.out << r.err;

  std::map<int, std::string> node_of;  // rank -> host name it reported
  for (const std::string& l : LinesWith(r.out, "host rank=")) {
    std::istringstream in(l.substr(l.find("host rank=")));
    std::string tag, rank, name;
    in >> tag >> rank >> name;
    node_of[std::stoi(rank.substr(5))] = name.substr(5);
  }
  ASSERT_EQ(node_of.size(), 4u) << r.out;
  EXPECT_EQ(node_of[0], node_of[1]) << r.out;
  EXPECT_NE(node_of[1], node_of[2]) << r.out;
  EXPECT_EQ(node_of[2], node_of[3]) << r.out;

  int cross = 0, same = 0;
  for (const std::string& l : LinesWith(r.out, "pair ")) {
    std::istringstream in(l.substr(l.find("pair ")));
    std::string tag, transport;
    int a = -1, b = -1;
    in >> tag >> a >> b;
    std::getline(in, transport);
    ASSERT_TRUE(node_of.count(a) && node_of.count(b)) << l;
    if (node_of[a] != node_of[b]) {
      ++cross;
      EXPECT_FALSE(SharesMemory(transport)) << "ranks " << a << " and " << b << " are on different nodes: " << l;
      EXPECT_NE(transport.find("tcp"), std::string::npos) << l;
      EXPECT_NE(transport.find("other node"), std::string::npos) << l;
    } else {
      ++same;
      EXPECT_NE(transport.find("same node"), std::string::npos) << l;
    }
  }
  EXPECT_EQ(cross, 8) << r.out;  // 4 ranks, each with 2 peers on the other node
  EXPECT_EQ(same, 4) << r.out;
  EXPECT_EQ(LinesWith(r.out, " ok").size(), 4u) << r.out;
}

// The "bits rank=R ..." line of every rank, without the rank: one entry per distinct result.
std::set<std::string> Bits(const std::string& out) {
  std::set<std::string> b;
  for (const std::string& l : LinesWith(out, "bits rank=")) {
    std::string v = l.substr(l.find("bits rank="));
    b.insert(v.substr(v.find(' ', 10)));
  }
  return b;
}

TEST(CommNetns, EveryLayoutGivesTheSameBits) {
  // Four ranks on one node (the shared-memory path), 2+2, 3+1 and 1+1+1+1 nodes (the fold
  // chain across nodes): fp32 and bf16 sums, avg and reduce-scatter of seeded
  // random inputs must be bit-identical. A flat ring over the nodes must not be (else this
  // test could not tell).
  NetnsCluster c = TestNetns();
  if (c.nodes.size() < 4) GTEST_SKIP() << (c.why.empty() ? "the namespace cluster has fewer than 4 nodes" : c.why);
  const std::string a = c.nodes[0].addr, b = c.nodes[1].addr;
  const std::vector<std::string> layouts = {a + ":4", a + ":2," + b + ":2", a + ":3," + b + ":1",
                                            a + ":1," + b + ":1," + c.nodes[2].addr + ":1," + c.nodes[3].addr + ":1"};
  std::string want;
  for (const std::string& h : layouts) {
    auto r = RunCommand({BinDir() + "/ogai-run", "-H", h, "--", BinDir() + "/netns_probe"}, {c.ssh_env}, 240);
    ASSERT_EQ(r.code, 0) << h << "\n" << r.out << r.err;
    std::set<std::string> bits = Bits(r.out);
    ASSERT_EQ(bits.size(), 1u) << "ranks disagree on layout " << h << ":\n" << r.out;
    if (want.empty()) want = *bits.begin();
    EXPECT_EQ(*bits.begin(), want) << "layout " << h << " differs from " << layouts[0];
  }
  auto flat =
      RunCommand({BinDir() + "/ogai-run", "-H", layouts[1], "-x", "OGAI_COMM_FLAT=1", "--", BinDir() + "/netns_probe"},
                 {c.ssh_env}, 240);
  ASSERT_EQ(flat.code, 0) << flat.out << flat.err;
  std::set<std::string> bits = Bits(flat.out);
  ASSERT_EQ(bits.size(), 1u) << flat.out;
  EXPECT_NE(*bits.begin(), want) << "the flat ring gave the fold chain's bits: the check cannot tell them apart";
}

}  // namespace
}  // namespace ogai::launch::testing
