// PipedChild: a child process whose stdout and stderr (and, when asked, stdin) are pipes to
// this process, read on the event loop and cut into lines. The launcher's nodes start their
// ranks this way, and the launcher starts the ssh/srun that carry its remote agents so.
//
// Each readable stream is read in up to 16 x 64 KiB pieces per wake-up; a line is handed to
// the sink without its '\n'. At the end of a stream (or on Close) a trailing partial line is
// flushed and the pipe closed. Not copyable or movable (the loop holds pointers to it).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string_view>

#include "core/status.h"
#include "launcher/event_loop.h"
#include "launcher/output.h"
#include "launcher/process.h"

namespace ogai::launch {

class PipedChild {
 public:
  using LineSink = std::function<void(std::string_view line, bool is_stderr)>;

  PipedChild() = default;
  ~PipedChild();  // closes what is still open, without reading it
  PipedChild(const PipedChild&) = delete;
  PipedChild& operator=(const PipedChild&) = delete;

  // Spawns `req` (its stdin/stdout/stderr fields are replaced by the pipes; stdin stays
  // /dev/null unless `pipe_stdin`) and watches its output on `loop`. On failure nothing is
  // left open.
  Status Start(SpawnRequest req, bool pipe_stdin, EventLoop& loop, LineSink sink);

  // Reads whatever is waiting on both streams now (a stream at its end is closed).
  void Drain();
  // Drain(), then flushes partial lines and closes both streams.
  void Close();
  // The write end of the child's stdin (-1 without one, or once closed).
  int stdin_fd() const { return in_fd_; }
  void CloseStdin();

  pid_t pid() const { return pid_; }

 private:
  struct Stream {
    int fd = -1;
    LineSplitter split;
  };
  void Read(bool is_stderr);
  void Finish(bool is_stderr);

  EventLoop* loop_ = nullptr;
  LineSink sink_;
  Stream out_, err_;
  int in_fd_ = -1;
  pid_t pid_ = -1;
};

}  // namespace ogai::launch
