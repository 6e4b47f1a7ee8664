#include "launcher/piped_child.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace ogai::launch {

PipedChild::~PipedChild() {
  for (Stream* s : {&out_, &err_}) {
    if (s->fd < 0) continue;
    if (loop_ != nullptr) loop_->RemoveFd(s->fd);
    ::close(s->fd);
    s->fd = -1;
  }
  CloseStdin();
}

Status PipedChild::Start(SpawnRequest req, bool pipe_stdin, EventLoop& loop, LineSink sink) {
  int inp[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {inp[0], inp[1], outp[0], outp[1], errp[0], errp[1]})
      if (fd >= 0) ::close(fd);
  };
  if ((pipe_stdin && ::pipe2(inp, O_CLOEXEC) != 0) || ::pipe2(outp, O_CLOEXEC) != 0 || ::pipe2(errp, O_CLOEXEC) != 0) {
    Status st = ErrnoError("pipe", errno);
    close_all();
    return st;
  }
  req.stdin_fd = inp[0];
  req.stdout_fd = outp[1];
  req.stderr_fd = errp[1];
  auto pid = Spawn(req);
  if (!pid.ok()) {
    close_all();
    return pid.status();
  }
  for (int* fd : {&inp[0], &outp[1], &errp[1]}) {
    if (*fd >= 0) ::close(*fd);
  }
  pid_ = *pid;
  loop_ = &loop;
  sink_ = std::move(sink);
  in_fd_ = inp[1];
  out_.fd = outp[0];
  err_.fd = errp[0];
  (void)SetNonBlockingCloexec(out_.fd);
  (void)SetNonBlockingCloexec(err_.fd);
  loop.AddFd(out_.fd, POLLIN, [this](short) { Read(false); });
  loop.AddFd(err_.fd, POLLIN, [this](short) { Read(true); });
  return Status::Ok();
}

void PipedChild::Read(bool is_stderr) {
  Stream& s = is_stderr ? err_ : out_;
  auto line = [&](std::string_view l) { sink_(l, is_stderr); };
  char buf[65536];
  for (int i = 0; i < 16 && s.fd >= 0; ++i) {
    ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n > 0) {
      s.split.Append(buf, static_cast<size_t>(n), line);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF or error: the stream is over.
    Finish(is_stderr);
  }
}

void PipedChild::Finish(bool is_stderr) {
  Stream& s = is_stderr ? err_ : out_;
  if (s.fd < 0) return;
  s.split.Finish([&](std::string_view l) { sink_(l, is_stderr); });
  loop_->RemoveFd(s.fd);
  ::close(s.fd);
  s.fd = -1;
}

void PipedChild::Drain() {
  Read(false);
  Read(true);
}

void PipedChild::Close() {
  for (bool err : {false, true}) {
    Read(err);
    Finish(err);
  }
}

void PipedChild::CloseStdin() {
  if (in_fd_ >= 0) ::close(in_fd_);
  in_fd_ = -1;
}

}  // namespace ogai::launch
