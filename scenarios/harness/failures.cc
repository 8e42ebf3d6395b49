// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/harness/failures.h"

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

namespace pdsim::scenarios {

void save_failing_image(const sim::Image& image, const std::string& dir, const std::string& scenario,
                        std::uint64_t seed, std::vector<std::string>& failures) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = fmt::format("{}/{}-seed{}.bin", dir, scenario, seed);
  if (Status s = image.save(path); s) failures.push_back(fmt::format("image saved: {}", path));
  else failures.push_back(fmt::format("image not saved: {}", s.error().to_string()));
}

}  // namespace pdsim::scenarios
