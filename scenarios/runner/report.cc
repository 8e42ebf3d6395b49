// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/report.h"

#include <fstream>

#include <fmt/format.h>

namespace pdsim::scenarios::report {

nlohmann::ordered_json to_json(const Run& run) {
  using nlohmann::ordered_json;
  std::uint64_t runs = 0, crash_states = 0;
  for (const auto& [name, t] : run.scenarios) {
    runs += t.runs;
    crash_states += t.crash_states;
  }
  ordered_json j;
  j["schema"] = "pdsim-run";
  j["version"] = kReportVersion;
  j["target"] = run.target;
  j["first_seed"] = run.first_seed;
  j["seeds_per_scenario"] = run.seeds_per_scenario;
  j["runs"] = runs;
  j["failed"] = run.failed;
  j["crash_states_checked"] = crash_states;
  j["failures"] = ordered_json::array();
  for (const auto& f : run.failures)
    j["failures"].push_back({{"scenario", f.scenario}, {"seed", f.seed}, {"reproduce", f.reproduce}, {"message", f.message}});
  j["marks"] = ordered_json::object();
  for (const auto& [m, c] : run.marks) j["marks"][m] = c;
  j["bugs"] = run.bugs;
  j["scenarios"] = ordered_json::array();
  for (const auto& [name, t] : run.scenarios) {
    ordered_json s;
    s["name"] = name;
    s["runs"] = t.runs;
    s["failed"] = t.failed;
    s["operations"] = t.operations;
    s["crash_states"] = t.crash_states;
    s["thin_checks"] = t.thin_checks;
    s["diverged"] = t.diverged;
    s["failed_seeds"] = t.failed_seeds;
    s["marks"] = ordered_json::object();
    for (const auto& [m, c] : t.marks) s["marks"][m] = c;
    s["missing_marks"] = t.missing_marks;
    j["scenarios"].push_back(std::move(s));
  }
  j["shrunk"] = ordered_json::array();
  for (const auto& s : run.shrunk)
    j["shrunk"].push_back(
        {{"scenario", s.scenario}, {"seed", s.seed}, {"shrunk_steps", s.shrunk_steps}, {"steps_file", s.steps_file}});
  j["passed"] = run.passed;
  return j;
}

nlohmann::ordered_json seeds_to_json(const std::vector<BugRow>& rows, bool passed) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["schema"] = "pdsim-seeds";
  j["version"] = kReportVersion;
  j["target"] = "seeds";
  j["bugs"] = ordered_json::array();
  for (const auto& r : rows) {
    ordered_json b;
    b["name"] = r.name;
    b["commit"] = r.commit;
    b["scenario"] = r.scenario;
    b["caught"] = r.caught;
    b["seeds_to_catch"] = r.caught ? ordered_json(r.seeds_to_catch) : ordered_json(nullptr);
    b["operations"] = r.operations;
    b["shrunk_steps"] = r.shrunk_steps ? ordered_json(*r.shrunk_steps) : ordered_json(nullptr);
    b["clean_when_off"] = r.clean_when_off;
    b["symptom"] = r.symptom;
    b["also_seen_by"] = r.also_seen_by;
    j["bugs"].push_back(std::move(b));
  }
  j["passed"] = passed;
  return j;
}

Status write_json(const std::string& path, const nlohmann::ordered_json& j) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) return Error::io(fmt::format("cannot write '{}'", path));
  // Replace invalid UTF-8 rather than throw: messages quote whatever the run saw.
  f << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  f.close();
  if (!f) return Error::io(fmt::format("cannot write '{}'", path));
  return {};
}

}  // namespace pdsim::scenarios::report
