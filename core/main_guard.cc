#include "core/main_guard.h"

#include <exception>
#include <new>
#include <string>

#include "core/log.h"

namespace ogai {

int GuardedMain(const char* program, int argc, char** argv, int (*body)(int, char**)) {
  try {
    return body(argc, argv);
  } catch (const std::bad_alloc&) {
    LogLine(LogLevel::Error, std::string(program) +
                                 ": out of memory: an allocation failed (std::bad_alloc); give the process more "
                                 "memory (ulimit -v, the cgroup) or make the job smaller (model sizes, "
                                 "train.micro_batch, data.demo_tokens)");
  } catch (const std::exception& e) {
    LogLine(LogLevel::Error, std::string(program) + ": internal error: uncaught exception: " + e.what());
  }
  return 1;
}

}  // namespace ogai
