// Test helper: connects to a store, says "connected" on stdout, then blocks in Get on a key
// nobody sets (the test kills it there).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: store_client_helper PORT TOKEN\n");
    return 2;
  }
  auto store = ogai::store::ConnectTcpStore("127.0.0.1", std::atoi(argv[1]), argv[2], std::chrono::seconds(10));
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::printf("connected\n");
  std::fflush(stdout);
  auto v = (*store)->Get("never-set", std::chrono::seconds(60));
  return v.ok() ? 0 : 1;
}
