// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim cache-restore`, `pdsim cache-dump`, `pdsim cache-check`: the cache tools, in
// cache_dump's XML format. main() registers them with one line and dispatches with another.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace pdsim::tools {

class CacheCommands {
 public:
  explicit CacheCommands(CLI::App& app);
  [[nodiscard]] bool parsed() const;
  // The process exit code of the parsed command (0 done / clean, 1 refused, failed or damaged).
  [[nodiscard]] int run() const;

 private:
  CLI::App* restore_;
  CLI::App* dump_;
  CLI::App* check_;
  std::string input_, output_, image_;
  std::uint32_t metadata_version_ = 1;
  bool quiet_ = false;
  bool discards_ = false;
  bool ignore_non_fatal_ = false;
};

}  // namespace pdsim::tools
