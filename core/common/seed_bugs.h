// SPDX-License-Identifier: GPL-2.0-or-later
// Switches that put the ten historical kernel bugs of ../shared/spec/seed-bugs.md back into the
// engine, one per bug, all off by default. pdsim exists to show that its checks catch each of
// them: `pdsim run seeds` runs one regression scenario per bug with its switch on and off.
//
// A switch is a process-wide flag (scenario runs are single-threaded); reading one costs a load
// and a predictable branch. Use ScopedBugs to turn switches on for one run.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pdsim {

enum class Bug : std::uint8_t { a, b, c, d, e, f, g, h, i, j };
inline constexpr std::size_t kBugCount = 10;

struct BugInfo {
  Bug bug;
  std::string_view name;     // the switch name, e.g. "seed.b_lifo_queue"
  std::string_view commit;   // the upstream commit subject
  std::string_view symptom;  // one line: what breaks when it is on
};

[[nodiscard]] const std::array<BugInfo, kBugCount>& all_bugs();
[[nodiscard]] const BugInfo& bug_info(Bug b);
// Accepts the full switch name ("seed.b_lifo_queue"), the name without "seed." or the letter.
[[nodiscard]] std::optional<Bug> find_bug(std::string_view name);

namespace detail {
inline std::array<bool, kBugCount> g_bugs{};  // NOLINT: the switch board
}

[[nodiscard]] inline bool bug_on(Bug b) noexcept { return detail::g_bugs[static_cast<std::size_t>(b)]; }
inline void set_bug(Bug b, bool on) noexcept { detail::g_bugs[static_cast<std::size_t>(b)] = on; }
[[nodiscard]] std::vector<Bug> bugs_on();

// Turns the given switches on (and every other one off) for its lifetime.
class ScopedBugs {
 public:
  explicit ScopedBugs(const std::vector<Bug>& on);
  ~ScopedBugs();
  ScopedBugs(const ScopedBugs&) = delete;
  ScopedBugs& operator=(const ScopedBugs&) = delete;

 private:
  std::array<bool, kBugCount> saved_;
};

}  // namespace pdsim
