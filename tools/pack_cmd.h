// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim pack IMAGE -o FILE.pack` and `pdsim unpack FILE.pack -o IMAGE`: thin_metadata_pack files
// (core/pack). Kept out of main.cc: main only constructs PackCommands and asks it to run.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace pdsim::tools {

class PackCommands {
 public:
  // Registers both subcommands on `app`. The object must outlive app.parse() (CLI11 writes the
  // parsed arguments into its members).
  explicit PackCommands(CLI::App& app);
  PackCommands(const PackCommands&) = delete;
  PackCommands& operator=(const PackCommands&) = delete;

  // The exit code of `pack` or `unpack` when one of them was parsed, else nullopt.
  [[nodiscard]] std::optional<int> run_if_parsed() const;

 private:
  CLI::App* pack_ = nullptr;
  CLI::App* unpack_ = nullptr;
  std::string pack_input_, pack_output_;
  std::string unpack_input_, unpack_output_;
};

}  // namespace pdsim::tools
