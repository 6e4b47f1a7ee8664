// ogai-bench subcommands register themselves here:
//
//   static ogai::bench::Command reg("coll", "collective benchmark (all-reduce, ...)", &RunColl);
//
// where RunColl(int argc, char** argv) gets the arguments after the subcommand name
// (argv[0] is "ogai-bench <name>") and returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace ogai::bench {

using CommandFn = int (*)(int argc, char** argv);

struct CommandInfo {
  std::string name;
  std::string help;
  CommandFn fn;
};

class Command {
 public:
  Command(const char* name, const char* help, CommandFn fn);
  static const std::vector<CommandInfo>& All();
};

}  // namespace ogai::bench
