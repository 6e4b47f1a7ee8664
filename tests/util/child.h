// The one way tests start a child process.
//
// Child runs argv[0] (a path; PATH is not searched) with this process's environment plus
// `env` ("NAME=value"; a name given there replaces the inherited value). Its stdout and
// stderr go to one capture file in a TempDir (so under $TMPDIR), read back by output(); or,
// with Options::stdout_pipe, stdout goes to a pipe the test reads (stdout_fd()).
//
// The child leads a process group of its own. Kill() and the destructor SIGKILL that group
// (the child and whatever it started that stayed in it) and reap the child, so no test leaves
// a process behind. Wait() with a timeout does the same when the time is up, and fails the
// running test, naming the command and showing its output.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/util/job.h"

namespace ogai::testing {

struct ChildOptions {
  std::vector<std::string> env;  // "NAME=value" added to (or replacing in) the environment
  bool stdout_pipe = false;      // stdout to a pipe (stdout_fd()); stderr still captured
};

class Child {
 public:
  using Options = ChildOptions;
  explicit Child(const std::vector<std::string>& argv, Options o = {});
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return pipe_fd_; }  // -1 without Options::stdout_pipe
  // True until it has exited (reaps it then).
  bool Running();
  // Waits up to timeout_s for the exit and returns exit_code(). When the time is up: kills
  // the group, fails the test (ADD_FAILURE) with the command and its output, returns -1.
  int Wait(double timeout_s);
  // SIGKILL to the group, then reap. Nothing when it has already been reaped.
  void Kill();
  // After the exit: the exit status, or 128 + the signal that ended it; -1 before.
  int exit_code() const;
  bool signalled() const;
  // The captured stdout + stderr (stderr only with Options::stdout_pipe).
  std::string output() const;
  // The command line, for messages.
  std::string command() const;

 private:
  std::vector<std::string> argv_;
  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  int pipe_fd_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

struct ChildResult {
  int exit_code = -1;  // exit status, 128 + signal, or -1 after a timeout (which fails the test)
  std::string output;  // stdout + stderr
};
// Runs argv to completion, at most timeout_s.
ChildResult RunChild(const std::vector<std::string>& argv, double timeout_s,
                     const std::vector<std::string>& env = {});

}  // namespace ogai::testing
