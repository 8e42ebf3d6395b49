// SPDX-License-Identifier: GPL-2.0-or-later
#include "tools/merge_cmd.h"

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "scenarios/runner/report.h"

namespace pdsim::tools {

int cmd_merge(const std::vector<std::string>& reports, const std::string& output) {
  namespace report = scenarios::report;
  std::vector<report::Run> shards;
  for (const auto& path : reports) {
    std::ifstream in(path);
    if (!in) {
      fmt::print(stderr, "pdsim merge: cannot read '{}'\n", path);
      return 2;
    }
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      fmt::print(stderr, "pdsim merge: {}: not JSON\n", path);
      return 2;
    }
    auto run = report::from_json(j);
    if (!run) {
      fmt::print(stderr, "pdsim merge: {}: {}\n", path, run.error().message());
      return 2;
    }
    shards.push_back(std::move(run).value());
  }
  auto merged = report::merge(shards);
  if (!merged) {
    fmt::print(stderr, "pdsim merge: {}\n", merged.error().message());
    return 2;
  }
  std::cout << fmt::format("merged {} shard reports of {}, seeds {}..{}\n", shards.size(), merged->target,
                           merged->first_seed, merged->first_seed + merged->seeds_per_scenario - 1);
  for (const auto& f : merged->failures)
    std::cout << fmt::format("{} seed {}: FAILED {}\n  reproduce: {}\n", f.scenario, f.seed, f.message, f.reproduce);
  report::print_summary(*merged, std::cout);
  if (Status w = report::write_json(output, report::to_json(*merged)); !w) {
    fmt::print(stderr, "pdsim merge: {}\n", w.error().message());
    return 2;
  }
  return merged->passed ? 0 : 1;
}

}  // namespace pdsim::tools
