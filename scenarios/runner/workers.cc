// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/workers.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "core/common/fd_io.h"

namespace pdsim::scenarios {
namespace {

volatile sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

// Whole reads and writes over a pipe; false at end of file or on an error.
bool write_all(int fd, const void* data, std::size_t n) { return write_fully(fd, data, n) == 0; }
bool read_all(int fd, void* data, std::size_t n) { return read_fully(fd, data, n) == 0; }

struct Worker {
  pid_t pid = -1;
  int tasks = -1;    // parent writes task numbers here
  int results = -1;  // and reads results from here
  std::optional<std::size_t> busy;  // the task it is running
};

// The worker's loop: a task number in, its result out (u64 length, then the bytes), until the
// task pipe closes.
[[noreturn]] void worker_main(int tasks, int results, const WorkerCallbacks& cb) {
  ::signal(SIGINT, SIG_DFL);
  std::uint64_t i = 0;
  while (read_all(tasks, &i, sizeof i)) {
    const std::string r = cb.work(static_cast<std::size_t>(i));
    const std::uint64_t len = r.size();
    if (!write_all(results, &len, sizeof len) || !write_all(results, r.data(), r.size())) ::_exit(3);
  }
  ::_exit(0);
}

std::string death_of(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return "its worker process vanished";
  if (WIFSIGNALED(status)) return fmt::format("its worker process died of signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("its worker process exited with status {} before answering", WEXITSTATUS(status));
}

}  // namespace

Result<WorkerRunEnd> run_in_workers(std::size_t n, unsigned jobs, const WorkerCallbacks& cb) {
  WorkerRunEnd end;
  if (n == 0) return end;
  const std::size_t count = std::min<std::size_t>(std::max(jobs, 1u), n);
  std::vector<Worker> workers(count);
  struct sigaction old_int {};
  struct sigaction old_pipe {};
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  ::sigemptyset(&sa.sa_mask);
  g_interrupted = 0;
  ::sigaction(SIGINT, &sa, &old_int);
  // A task written to a worker that died must fail the write (EPIPE), not kill the run.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &old_pipe);
  auto cleanup = [&] {
    for (auto& w : workers) {
      if (w.tasks >= 0) ::close(w.tasks);
      if (w.results >= 0) ::close(w.results);
      if (w.pid > 0) {
        if (end.interrupted) ::kill(w.pid, SIGKILL);
        int status = 0;
        ::waitpid(w.pid, &status, 0);
      }
      w = Worker{};
    }
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGPIPE, &old_pipe, nullptr);
  };
  for (auto& w : workers) {
    int down[2], up[2];
    if (::pipe(down) != 0) { cleanup(); return Error::io(fmt::format("pdsim run --jobs: pipe: {}", std::strerror(errno))); }
    if (::pipe(up) != 0) {
      ::close(down[0]); ::close(down[1]);
      cleanup();
      return Error::io(fmt::format("pdsim run --jobs: pipe: {}", std::strerror(errno)));
    }
    std::fflush(nullptr);  // nothing buffered is written twice
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(down[0]); ::close(down[1]); ::close(up[0]); ::close(up[1]);
      cleanup();
      return Error::io(fmt::format("pdsim run --jobs: fork: {}", std::strerror(errno)));
    }
    if (pid == 0) {
      ::close(down[1]);
      ::close(up[0]);
      for (auto& other : workers)  // the pipes of the workers forked before this one
        if (&other != &w) {
          if (other.tasks >= 0) ::close(other.tasks);
          if (other.results >= 0) ::close(other.results);
        }
      worker_main(down[0], up[1], cb);
    }
    ::close(down[0]);
    ::close(up[1]);
    w = Worker{pid, down[1], up[0], std::nullopt};
  }

  std::size_t next_task = 0, next_report = 0, finished = 0;
  bool stopped = false;
  std::map<std::size_t, std::pair<std::optional<std::string>, std::string>> waiting;  // out of order
  auto hand_out = [&](Worker& w) {
    if (stopped || next_task >= n) return;
    const std::uint64_t i = next_task;
    if (!write_all(w.tasks, &i, sizeof i)) {  // it died while idle: no task is lost, the others go on
      ::close(w.tasks);
      ::close(w.results);
      (void)death_of(w.pid);
      w = Worker{};
      return;
    }
    w.busy = next_task++;
  };
  for (auto& w : workers) hand_out(w);
  while (!stopped && next_report < n) {
    if (g_interrupted) {
      end.interrupted = true;
      break;
    }
    std::vector<pollfd> fds;
    std::vector<Worker*> who;
    for (auto& w : workers)
      if (w.busy) {
        fds.push_back(pollfd{w.results, POLLIN, 0});
        who.push_back(&w);
      }
    if (fds.empty()) {  // every worker died with tasks left
      cleanup();
      return Error::io(fmt::format("pdsim run --jobs: every worker process died; {} of {} seeds were reported",
                                   next_report, n));
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      cleanup();
      return Error::io(fmt::format("pdsim run --jobs: poll: {}", std::strerror(errno)));
    }
    for (std::size_t f = 0; f < fds.size(); ++f) {
      if ((fds[f].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      Worker& w = *who[f];
      const std::size_t task = *w.busy;
      w.busy.reset();
      std::uint64_t len = 0;
      std::string bytes;
      bool ok = read_all(w.results, &len, sizeof len);
      if (ok) {
        bytes.resize(len);
        ok = read_all(w.results, bytes.data(), len);
      }
      ++finished;
      if (ok) {
        waiting.emplace(task, std::make_pair(std::optional<std::string>(std::move(bytes)), std::string()));
        hand_out(w);
      } else {
        ::close(w.tasks);
        ::close(w.results);
        const std::string why = death_of(w.pid);
        w = Worker{};
        waiting.emplace(task, std::make_pair(std::optional<std::string>(), why));
      }
      if (cb.progress) cb.progress(finished);
    }
    // Report what is complete from the front, in order.
    for (auto it = waiting.find(next_report); it != waiting.end() && !stopped; it = waiting.find(next_report)) {
      if (!cb.in_order(next_report, it->second.first, it->second.second)) stopped = true;
      waiting.erase(it);
      ++next_report;
    }
    // Tasks a dead worker would have taken go to the ones still alive.
    for (auto& w : workers)
      if (w.pid > 0 && !w.busy) hand_out(w);
  }
  if (stopped || end.interrupted) {
    for (auto& w : workers)
      if (w.pid > 0) ::kill(w.pid, SIGKILL);
    end.interrupted = end.interrupted || g_interrupted != 0;
  }
  cleanup();
  end.reported = next_report;
  return end;
}

}  // namespace pdsim::scenarios
