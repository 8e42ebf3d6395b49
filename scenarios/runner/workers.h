// SPDX-License-Identifier: GPL-2.0-or-later
// Worker processes for `pdsim run --jobs N`: tasks 0..n-1 are handed out one at a time to N
// forked workers as they become free; each result comes back through a pipe and is given to the
// parent *in task order*, so what the parent prints does not depend on which worker finished
// first. Processes, not threads: marks, seed-bug switches and the engines' statics are
// process-wide, and a crash in one run takes down its worker, not the run.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "core/common/result.h"

namespace pdsim::scenarios {

struct WorkerCallbacks {
  // Runs in a worker: task i's result, as bytes.
  std::function<std::string(std::size_t i)> work;
  // Runs in the parent, in task order: task i's result, or nullopt with why when its worker died
  // (a crash, a kill). Returning false stops the run: no task after i is handed out or reported.
  std::function<bool(std::size_t i, const std::optional<std::string>& result, const std::string& death)> in_order;
  // Runs in the parent after each task's result arrives (any order): tasks finished so far.
  std::function<void(std::size_t finished)> progress;
};

struct WorkerRunEnd {
  bool interrupted = false;  // SIGINT (Ctrl-C) arrived: the workers were stopped
  std::size_t reported = 0;  // tasks given to in_order (fewer than n: stopped, interrupted, or every worker died)
};

// Runs n tasks on `jobs` workers (at least 1). An error: a pipe or fork that failed.
[[nodiscard]] Result<WorkerRunEnd> run_in_workers(std::size_t n, unsigned jobs, const WorkerCallbacks& cb);

}  // namespace pdsim::scenarios
