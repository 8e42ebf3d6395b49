// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/harness/failures.h"

#include <filesystem>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

namespace pdsim::scenarios {

std::string first_line_difference(const std::string& want, const std::string& got, std::string_view want_name,
                                  std::string_view got_name) {
  std::istringstream w(want), g(got);
  std::string wl, gl;
  for (std::size_t line = 1;; ++line) {
    const bool wm = static_cast<bool>(std::getline(w, wl));
    const bool gm = static_cast<bool>(std::getline(g, gl));
    if (!wm && !gm) return "equal";
    if (!wm || !gm || wl != gl)
      return fmt::format("line {}: {} '{}', {} '{}'", line, want_name, wm ? wl : "(end)", got_name, gm ? gl : "(end)");
  }
}

FailingImages failing_images(const sim::SimDisk& disk, sim::Image found, const std::optional<sim::Image>& last_commit) {
  FailingImages out{std::move(found), last_commit, std::nullopt};
  if (disk.logging()) out.written = disk.log().engine_view();
  return out;
}

std::string failing_image_path(const std::string& dir, const std::string& scenario, std::uint64_t seed,
                               std::string_view kind) {
  return kind.empty() ? fmt::format("{}/{}-seed{}.bin", dir, scenario, seed)
                      : fmt::format("{}/{}-seed{}.{}.bin", dir, scenario, seed, kind);
}

void save_failing_image(const FailingImages& images, const std::string& dir, const std::string& scenario,
                        std::uint64_t seed, std::vector<std::string>& failures) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = failing_image_path(dir, scenario, seed);
  if (Status s = images.found.save(path); !s) {
    failures.push_back(fmt::format("image not saved: {}", s.error().to_string()));
    return;
  }
  std::string also;
  auto save = [&](const std::optional<sim::Image>& image, const char* kind, const char* what) {
    if (!image) return;
    const std::string p = failing_image_path(dir, scenario, seed, kind);
    if (Status s = image->save(p); s) also += fmt::format("; {}: {}", what, p);
    else also += fmt::format("; {} not saved: {}", what, s.error().to_string());
  };
  save(images.last_commit, "expected", "as the last commit left it");
  save(images.written, "written", "as the engine last wrote it");
  failures.push_back(fmt::format("image saved: {}{}", path, also));
}

}  // namespace pdsim::scenarios
