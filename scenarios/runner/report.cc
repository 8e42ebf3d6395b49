// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/report.h"

#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pdsim::scenarios::report {

void add_totals(ScenarioTotals& into, const ScenarioTotals& from) {
  into.runs += from.runs;
  into.failed += from.failed;
  into.operations += from.operations;
  into.crash_states += from.crash_states;
  into.thin_checks += from.thin_checks;
  into.diverged += from.diverged;
  into.seconds += from.seconds;
  for (const auto& [m, c] : from.marks) into.marks[m] += c;
  into.failed_seeds.insert(into.failed_seeds.end(), from.failed_seeds.begin(), from.failed_seeds.end());
}

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
  j["shard"] = {{"index", run.shard_index}, {"count", run.shard_count}};
  j["build"] = run.build;
  j["engine"] = run.engine;
  j["strict"] = run.strict;
  j["runs"] = runs;
  j["failed"] = run.failed;
  j["crash_states_checked"] = crash_states;
  j["failures"] = ordered_json::array();
  for (const auto& f : run.failures)
    j["failures"].push_back({{"scenario", f.scenario}, {"seed", f.seed}, {"reproduce", f.reproduce}, {"message", f.message}});
  j["marks"] = ordered_json::object();
  for (const auto& [m, c] : run.marks) j["marks"][m] = c;
  j["marks_not_hit"] = run.marks_not_hit;
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
  j["version"] = kSeedsReportVersion;
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

namespace {

// Reading a report: every field is checked for its type; the first that does not fit stops it.
class Reader {
 public:
  explicit Reader(const nlohmann::json& j) : j_(j) {}
  template <typename T>
  T get(const nlohmann::json& obj, const char* field) {
    if (!error_.empty()) return T{};
    if (!obj.is_object() || !obj.contains(field)) {
      error_ = fmt::format("missing field '{}'", field);
      return T{};
    }
    try {
      return obj.at(field).get<T>();
    } catch (const nlohmann::json::exception&) {
      error_ = fmt::format("field '{}' has the wrong type", field);
      return T{};
    }
  }
  template <typename T>
  T get(const char* field) { return get<T>(j_, field); }
  const nlohmann::json& array(const nlohmann::json& obj, const char* field) {
    static const nlohmann::json empty = nlohmann::json::array();
    if (!error_.empty()) return empty;
    if (!obj.is_object() || !obj.contains(field) || !obj.at(field).is_array()) {
      error_ = fmt::format("field '{}' is not an array", field);
      return empty;
    }
    return obj.at(field);
  }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  const nlohmann::json& j_;
  std::string error_;
};

}  // namespace

Result<Run> from_json(const nlohmann::json& j) {
  Reader r(j);
  if (r.get<std::string>("schema") != "pdsim-run" && r.error().empty())
    return Error::invalid("not a pdsim run report (schema is not \"pdsim-run\")");
  const int version = r.get<int>("version");
  if (r.error().empty() && version != kReportVersion)
    return Error::invalid(fmt::format("report version {}, this pdsim reads version {}", version, kReportVersion));
  Run run;
  run.target = r.get<std::string>("target");
  run.first_seed = r.get<std::uint64_t>("first_seed");
  run.seeds_per_scenario = r.get<std::uint64_t>("seeds_per_scenario");
  const nlohmann::json shard = r.get<nlohmann::json>("shard");
  run.shard_index = r.get<std::uint64_t>(shard, "index");
  run.shard_count = r.get<std::uint64_t>(shard, "count");
  run.build = r.get<std::string>("build");
  run.engine = r.get<std::string>("engine");
  run.strict = r.get<bool>("strict");
  run.failed = r.get<std::uint64_t>("failed");
  for (const auto& f : r.array(j, "failures"))
    run.failures.push_back({r.get<std::string>(f, "scenario"), r.get<std::uint64_t>(f, "seed"),
                            r.get<std::string>(f, "reproduce"), r.get<std::string>(f, "message")});
  run.marks = r.get<std::map<std::string, std::uint64_t>>("marks");
  run.marks_not_hit = r.get<std::vector<std::string>>("marks_not_hit");
  run.bugs = r.get<std::vector<std::string>>("bugs");
  for (const auto& sj : r.array(j, "scenarios")) {
    ScenarioTotals t;
    t.runs = r.get<std::uint64_t>(sj, "runs");
    t.failed = r.get<std::uint64_t>(sj, "failed");
    t.operations = r.get<std::uint64_t>(sj, "operations");
    t.crash_states = r.get<std::uint64_t>(sj, "crash_states");
    t.thin_checks = r.get<std::uint64_t>(sj, "thin_checks");
    t.diverged = r.get<std::uint64_t>(sj, "diverged");
    t.failed_seeds = r.get<std::vector<std::uint64_t>>(sj, "failed_seeds");
    t.marks = r.get<std::map<std::string, std::uint64_t>>(sj, "marks");
    t.missing_marks = r.get<std::vector<std::string>>(sj, "missing_marks");
    run.scenarios.emplace_back(r.get<std::string>(sj, "name"), std::move(t));
  }
  for (const auto& sh : r.array(j, "shrunk"))
    run.shrunk.push_back({r.get<std::string>(sh, "scenario"), r.get<std::uint64_t>(sh, "seed"),
                          r.get<std::size_t>(sh, "shrunk_steps"), r.get<std::string>(sh, "steps_file")});
  run.passed = r.get<bool>("passed");
  if (!r.error().empty()) return Error::invalid(r.error());
  return run;
}

Result<Run> merge(const std::vector<Run>& shards) {
  if (shards.empty()) return Error::invalid("no report to merge");
  const Run& a = shards.front();
  std::vector<bool> seen(a.shard_count, false);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const Run& b = shards[i];
    auto differ = [&](const char* what, const std::string& x, const std::string& y) {
      return Error::invalid(fmt::format("report {} is of another {} ({}) than report 1 ({})", i + 1, what, y, x));
    };
    if (b.target != a.target) return differ("suite or scenario", a.target, b.target);
    if (b.first_seed != a.first_seed || b.seeds_per_scenario != a.seeds_per_scenario)
      return differ("seed range", fmt::format("seeds {}..{}", a.first_seed, a.first_seed + a.seeds_per_scenario - 1),
                    fmt::format("seeds {}..{}", b.first_seed, b.first_seed + b.seeds_per_scenario - 1));
    if (b.build != a.build) return differ("build", a.build, b.build);
    if (b.engine != a.engine || b.strict != a.strict)
      return differ("engine", fmt::format("{}{}", a.engine, a.strict ? ", strict" : ""),
                    fmt::format("{}{}", b.engine, b.strict ? ", strict" : ""));
    if (b.bugs != a.bugs) return differ("set of seed-bug switches", fmt::format("{}", fmt::join(a.bugs, ",")),
                                        fmt::format("{}", fmt::join(b.bugs, ",")));
    if (b.shard_count != a.shard_count)
      return differ("sharding", fmt::format("{} shards", a.shard_count), fmt::format("{} shards", b.shard_count));
    if (b.scenarios.size() != a.scenarios.size()) return differ("scenario list", "", "");
    for (std::size_t t = 0; t < a.scenarios.size(); ++t)
      if (b.scenarios[t].first != a.scenarios[t].first) return differ("scenario list", a.scenarios[t].first, b.scenarios[t].first);
    if (b.shard_index >= a.shard_count) return Error::invalid(fmt::format("report {}: shard {}/{} is not a shard", i + 1, b.shard_index, b.shard_count));
    if (seen[b.shard_index])
      return Error::invalid(fmt::format("report {}: shard {}/{} is given twice", i + 1, b.shard_index, b.shard_count));
    seen[b.shard_index] = true;
  }
  for (std::size_t k = 0; k < seen.size(); ++k)
    if (!seen[k]) return Error::invalid(fmt::format("shard {}/{} is missing", k, a.shard_count));

  Run m;
  m.target = a.target;
  m.first_seed = a.first_seed;
  m.seeds_per_scenario = a.seeds_per_scenario;
  m.build = a.build;
  m.engine = a.engine;
  m.strict = a.strict;
  m.bugs = a.bugs;
  std::map<std::string, std::size_t> order;  // scenario name -> its place in the run
  for (std::size_t t = 0; t < a.scenarios.size(); ++t) {
    order[a.scenarios[t].first] = t;
    m.scenarios.emplace_back(a.scenarios[t].first, ScenarioTotals{});
  }
  std::set<std::string> known;  // every mark any shard's program knew
  for (const Run& b : shards) {
    m.failed += b.failed;
    m.failures.insert(m.failures.end(), b.failures.begin(), b.failures.end());
    m.shrunk.insert(m.shrunk.end(), b.shrunk.begin(), b.shrunk.end());
    for (const auto& [mk, c] : b.marks) m.marks[mk] += c, known.insert(mk);
    known.insert(b.marks_not_hit.begin(), b.marks_not_hit.end());
    for (std::size_t t = 0; t < b.scenarios.size(); ++t) add_totals(m.scenarios[t].second, b.scenarios[t].second);
  }
  // In run order: scenario by scenario, seed by seed.
  auto by_run_order = [&](const auto& x, const auto& y) {
    const std::size_t ox = order.count(x.scenario) ? order[x.scenario] : 0, oy = order.count(y.scenario) ? order[y.scenario] : 0;
    return ox != oy ? ox < oy : x.seed < y.seed;
  };
  std::stable_sort(m.failures.begin(), m.failures.end(), by_run_order);
  std::stable_sort(m.shrunk.begin(), m.shrunk.end(), by_run_order);
  bool missing_any = false;
  for (std::size_t t = 0; t < m.scenarios.size(); ++t) {
    ScenarioTotals& into = m.scenarios[t].second;
    std::sort(into.failed_seeds.begin(), into.failed_seeds.end());
    // A required mark is missing when no shard that ran the scenario hit it.
    std::optional<std::vector<std::string>> missing;
    for (const Run& b : shards) {
      const ScenarioTotals& s = b.scenarios[t].second;
      if (s.runs == 0) continue;
      if (!missing) {
        missing = s.missing_marks;
        continue;
      }
      std::vector<std::string> both;
      for (const auto& mk : *missing)
        if (std::find(s.missing_marks.begin(), s.missing_marks.end(), mk) != s.missing_marks.end()) both.push_back(mk);
      missing = both;
    }
    into.missing_marks = missing.value_or(std::vector<std::string>{});
    missing_any = missing_any || !into.missing_marks.empty();
  }
  for (const auto& mk : known)
    if (m.marks.count(mk) == 0) m.marks_not_hit.push_back(mk);
  m.passed = m.failed == 0 && !missing_any;
  return m;
}

void print_summary(const Run& run, std::ostream& out) {
  out << "\n| scenario | runs | failed | operations | crash states | states/s | thin_check | marks hit | missing marks |\n";
  out << "|---|---|---|---|---|---|---|---|---|\n";
  bool missing_any = false;
  std::uint64_t runs = 0, diverged = 0;
  for (const auto& [name, tot] : run.scenarios) {
    runs += tot.runs;
    diverged += tot.diverged;
    if (tot.runs == 0) continue;
    std::string missing;
    for (const auto& m : tot.missing_marks) missing += (missing.empty() ? "" : " ") + m;
    missing_any = missing_any || !missing.empty();
    const std::string rate = tot.crash_states == 0 || tot.seconds <= 0
                                 ? "-"
                                 : fmt::format("{:.0f}", static_cast<double>(tot.crash_states) / std::max(tot.seconds, 1e-9));
    out << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", name, tot.runs, tot.failed, tot.operations,
                       tot.crash_states, rate, tot.thin_checks, tot.marks.size(), missing.empty() ? "-" : missing);
  }
  std::string hit;
  for (const auto& [m, c] : run.marks) hit += fmt::format("{}{}={}", hit.empty() ? "" : " ", m, c);
  out << fmt::format("\nmarks hit: {}\n", hit.empty() ? "none" : hit);
  if (!run.marks_not_hit.empty()) out << fmt::format("marks not hit: {}\n", fmt::join(run.marks_not_hit, " "));
  out << fmt::format("{} runs, {} failed{}{}\n", runs, run.failed,
                     diverged == 0 ? "" : fmt::format(", {} ended at a known divergence of the engine", diverged),
                     missing_any ? "; required coverage marks missing" : "");
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
