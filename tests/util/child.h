// The one way tests start a child process.
//
// Child runs argv[0] (a path, or a name looked up on PATH like execvp) with this process's environment plus
// `env` ("NAME=value"; a name given there replaces the inherited value). Its stdout and
// stderr go to capture files in a TempDir (so under $TMPDIR): one file read back by output(),
// or two (Options::separate_stderr) read back by out() and err() while it runs too; or,
// with Options::stdout_pipe, stdout goes to a pipe the test reads (stdout_fd()).
//
// The child leads a session (and so a process group) of its own and gets SIGKILL if the test
// process dies. Kill() and the destructor SIGKILL that group (the child and whatever it
// started that stayed in it) and reap the child, so no test leaves a process behind. Wait()
// with a timeout does the same when the time is up, and fails the running test, naming the
// command and showing its output.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/util/job.h"

namespace ogai::testing {

struct ChildOptions {
  std::vector<std::string> env;  // "NAME=value" added to (or replacing in) the environment
  bool stdout_pipe = false;      // stdout to a pipe (stdout_fd()); stderr still captured
  bool separate_stderr = false;  // stdout and stderr in two files: out() and err()
  // Once the child has exited, SIGKILL what is left in its process group. Off for a program
  // whose own clean-up is under test (ogai-run: its tests look for leftovers themselves).
  bool kill_group_on_exit = true;
  // Leave out inherited variables of an outer job's launcher (Open MPI, PMIx, Slurm step:
  // rank/contract.h), as ogai-run does for its ranks, so a test run inside an allocation
  // does not make the program under test think it is part of that job.
  bool drop_launcher_env = false;
};

class Child {
 public:
  using Options = ChildOptions;
  explicit Child(const std::vector<std::string>& argv, Options o = {});
  // A child whose stdout and stderr are captured apart (separate_stderr), for tests that
  // watch a program's output while it runs and check its clean-up (ogai-run's end-to-end
  // tests: kill_group_on_exit is off, so a leftover process is the launcher's to answer for;
  // drop_launcher_env is on).
  static std::unique_ptr<Child> Start(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
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
  // Sends `sig` to the child alone (not its group), while it runs.
  void Signal(int sig);
  // Polls the captured stdout until pred(stdout) holds or timeout_s pass (or the child has
  // exited and pred still fails). Returns pred's last value.
  bool WaitForStdout(const std::function<bool(const std::string&)>& pred, double timeout_s);
  // Seconds from the start to the exit (or to now, while it runs).
  double seconds() const;
  // After the exit: the exit status, or 128 + the signal that ended it; -1 before.
  int exit_code() const;
  bool signalled() const;
  // The captured stdout + stderr (stderr only with Options::stdout_pipe).
  std::string output() const;
  // With separate_stderr: the captured stdout and stderr so far.
  std::string out() const;
  std::string err() const;
  // The command line, for messages.
  std::string command() const;

 private:
  std::vector<std::string> argv_;
  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  int pipe_fd_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  bool separate_stderr_ = false;
  bool kill_group_on_exit_ = true;
  double start_ = 0, end_ = 0;
};

struct ChildResult {
  int exit_code = -1;  // exit status, 128 + signal, or -1 after a timeout (which fails the test)
  std::string output;  // stdout + stderr
};
// Runs argv to completion, at most timeout_s.
ChildResult RunChild(const std::vector<std::string>& argv, double timeout_s, const std::vector<std::string>& env = {});

}  // namespace ogai::testing
