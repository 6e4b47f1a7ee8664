// ogai-bench: one binary, one subcommand per benchmark (train, coll, launch, ckpt, recovery, peer, data).
#include <cstring>
#include <iostream>
#include <string>

#include "bench/command.h"
#include "core/main_guard.h"

namespace ogai::bench {

static std::vector<CommandInfo>& Registry() {
  static std::vector<CommandInfo> r;
  return r;
}

Command::Command(const char* name, const char* help, CommandFn fn) { Registry().push_back({name, help, fn}); }

const std::vector<CommandInfo>& Command::All() { return Registry(); }

}  // namespace ogai::bench

static void Usage(std::ostream& os) {
  os << "usage: ogai-bench <command> [options]\n\ncommands:\n";
  for (const auto& c : ogai::bench::Command::All()) {
    os << "  " << c.name << std::string(c.name.size() < 10 ? 10 - c.name.size() : 1, ' ') << c.help << "\n";
  }
  os << "\n`ogai-bench <command> --help` describes each command's options.\n";
}

static int Main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    Usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : ogai::bench::Command::All()) {
    if (c.name == argv[1]) {
      std::string argv0 = std::string("ogai-bench ") + argv[1];
      argv[1] = argv0.data();
      return c.fn(argc - 1, argv + 1);
    }
  }
  std::cerr << "ogai-bench: unknown command '" << argv[1] << "'\n";
  Usage(std::cerr);
  return 2;
}

int main(int argc, char** argv) { return ogai::GuardedMain("ogai-bench", argc, argv, Main); }
