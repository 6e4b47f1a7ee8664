// The one wrapper every ogai executable's main() runs its body in: an allocation failure
// (std::bad_alloc) or any other exception that escapes becomes one clear line on stderr and
// exit code 1, instead of "terminate called after throwing an instance of ..." and SIGABRT.
//
//   int Main(int argc, char** argv);
//   int main(int argc, char** argv) { return ogai::GuardedMain("ogai-worker", argc, argv, Main); }
#pragma once

namespace ogai {

int GuardedMain(const char* program, int argc, char** argv, int (*body)(int, char**));

}  // namespace ogai
