// SPDX-License-Identifier: GPL-2.0-or-later
#include "tools/pack_cmd.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <string_view>

#include <fmt/format.h>

#include "core/pack/pack.h"

namespace pdsim::tools {
namespace {

int fail(std::string_view cmd, const Error& e) {
  fmt::print(stderr, "pdsim {}: {}\n", cmd, e.to_string());
  return 1;
}

// thin_dump's XML is a common wrong input (upstream refuses it too): say so instead of packing
// a file with no metadata blocks in it.
bool looks_like_xml(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::array<char, 16> head{};
  f.read(head.data(), head.size());
  const std::string_view s(head.data(), static_cast<std::size_t>(f.gcount()));
  const auto start = s.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return false;
  const std::string_view t = s.substr(start);
  return t.starts_with("<superblock") || t.starts_with("<?xml") || t.starts_with("<!DOCTYPE");
}

int cmd_pack(const std::string& input, const std::string& output) {
  if (looks_like_xml(input))
    return fail("pack", Error::invalid(fmt::format("'{}' looks like XML, not a metadata image (restore it first)", input)));
  auto dev = pack::open_input_image(input);
  if (!dev) return fail("pack", dev.error());
  auto stats = pack::write_pack_file(**dev, output);
  if (!stats) return fail("pack", std::move(stats).error().with_context(input));
  fmt::print("{}: {} of {} blocks packed in {} record{}, {} bytes\n", output, stats->blocks, stats->nr_blocks,
             stats->records, stats->records == 1 ? "" : "s", stats->file_bytes);
  return 0;
}

int cmd_unpack(const std::string& input, const std::string& output) {
  auto stats = pack::unpack_file(input, output);
  if (!stats) return fail("unpack", stats.error());
  fmt::print("{}: {} blocks, {} from the pack, the rest zero\n", output, stats->nr_blocks, stats->blocks);
  return 0;
}

}  // namespace

PackCommands::PackCommands(CLI::App& app) {
  pack_ = app.add_subcommand(
      "pack", "Write a thin_metadata_pack file: every block of IMAGE with a valid metadata checksum, compressed");
  pack_->add_option("image", pack_input_, "Metadata image (raw or a pack)")->required();
  pack_->add_option("-o,--output", pack_output_, "Pack file to write")->required();
  unpack_ = app.add_subcommand("unpack", "Unpack a thin_metadata_pack file into a raw metadata image");
  unpack_->add_option("pack", unpack_input_, "Pack file")->required();
  unpack_->add_option("-o,--output", unpack_output_, "Raw image to write (a regular file)")->required();
}

std::optional<int> PackCommands::run_if_parsed() const {
  if (pack_->parsed()) return cmd_pack(pack_input_, pack_output_);
  if (unpack_->parsed()) return cmd_unpack(unpack_input_, unpack_output_);
  return std::nullopt;
}

}  // namespace pdsim::tools
