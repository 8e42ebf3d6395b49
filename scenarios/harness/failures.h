// SPDX-License-Identifier: GPL-2.0-or-later
// One failure collector for the harnesses and scenarios: failure lines, the first naming the
// symptom, each with an optional prefix ("seed 7: "), at most `limit` kept (a run that goes wrong
// early would otherwise repeat its symptom for every later step).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/image.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {

class Failures {
 public:
  static constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

  explicit Failures(std::string prefix = {}, std::size_t limit = kUnlimited)
      : prefix_(std::move(prefix)), limit_(limit) {}

  void add(std::string what) {
    if (lines_.size() < limit_) lines_.push_back(prefix_.empty() ? std::move(what) : prefix_ + what);
  }
  // The symptom, found after other lines: it goes first whatever the limit.
  void add_first(std::string what) { lines_.insert(lines_.begin(), prefix_.empty() ? std::move(what) : prefix_ + what); }
  void expect(bool cond, std::string what) {
    if (!cond) add(std::move(what));
  }
  [[nodiscard]] bool empty() const { return lines_.empty(); }
  [[nodiscard]] std::size_t size() const { return lines_.size(); }
  [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::string prefix_;
  std::size_t limit_;
  std::vector<std::string> lines_;
};

// The first line where `got` differs from `want`, in words: "line N: expected '...', found '...'"
// (`expected`/`found` renamed by the last two arguments), or "equal".
[[nodiscard]] std::string first_line_difference(const std::string& want, const std::string& got,
                                                std::string_view want_name = "expected",
                                                std::string_view got_name = "found");

// A failing run's disk, as the report and `pdsim check` / thin_check read it.
struct FailingImages {
  sim::Image found;                       // what the run's checks read
  std::optional<sim::Image> last_commit;  // the disk as the run's last successful commit left it
  std::optional<sim::Image> written;      // every block as the engine last wrote it (WriteLog::engine_view)
};

// The images of `disk` for a failing run: `found` as given, `last_commit` when kept, and the
// engine's view when the disk logged its writes from the start.
[[nodiscard]] FailingImages failing_images(const sim::SimDisk& disk, sim::Image found,
                                           const std::optional<sim::Image>& last_commit);

// Where a failing run's image of `kind` is saved: DIR/SCENARIO-seedN.bin for kind "" (found),
// DIR/SCENARIO-seedN.KIND.bin for "expected" (the last commit) and "written" (the engine's view).
[[nodiscard]] std::string failing_image_path(const std::string& dir, const std::string& scenario, std::uint64_t seed,
                                             std::string_view kind = "");

// Writes the images to their failing_image_path (DIR made if need be), with a failure line saying
// where, or why not.
void save_failing_image(const FailingImages& images, const std::string& dir, const std::string& scenario,
                        std::uint64_t seed, std::vector<std::string>& failures);

}  // namespace pdsim::scenarios
