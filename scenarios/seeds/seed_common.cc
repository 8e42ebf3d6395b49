// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/seeds/seed_common.h"

#include <sstream>

#include <fmt/format.h>

#include "core/check/thin_input.h"

namespace pdsim::scenarios::seeds {

Status GrowableView::read(BlockNr b, BlockSpan out) {
  if (b >= size_) return Error::invalid(fmt::format("read of block {} beyond the device ({} blocks)", b, size_));
  return inner().read(b, out);
}

Status GrowableView::write(BlockNr b, ConstBlockSpan data, WriteMode mode) {
  if (b >= size_) return Error::invalid(fmt::format("write of block {} beyond the device ({} blocks)", b, size_));
  return inner().write(b, data, mode);
}

namespace {
std::vector<std::string> lines_of(const Result<check::Report>& r) {
  std::vector<std::string> out;
  if (!r) {
    out.push_back(fmt::format("checker could not read the image: {}", r.error().to_string()));
    return out;
  }
  for (const auto& p : r->problems) out.push_back(check::to_string(p));
  if (r->problems_dropped > 0) out.push_back(fmt::format("{} more problems", r->problems_dropped));
  return out;
}
}  // namespace

std::vector<std::string> check_thin_image(const sim::Image& image) {
  sim::ImageDevice dev(image);
  return lines_of(check::check_thin(dev));
}

std::vector<std::string> check_image(const sim::Image& image, const check::Input& in) {
  sim::ImageDevice dev(image);
  return lines_of(check::check(dev, in));
}

std::string summarize(const std::vector<std::string>& problems) {
  std::string s = fmt::format("{} problem{}", problems.size(), problems.size() == 1 ? "" : "s");
  for (std::size_t i = 0; i < problems.size() && i < 3; ++i) s += (i == 0 ? ": " : "; ") + problems[i];
  return s;
}

SeedOutcome Run::outcome(std::string summary) const {
  SeedOutcome out;
  out.passed = failures.empty();
  out.failures = failures.lines();
  out.operations = operations;
  out.summary = std::move(summary);
  return out;
}

Bare::Bare(BlockNr nr_blocks, std::uint64_t seed) : disk(nr_blocks, sim::sub_seed(seed, "disk")), bm(disk, 1024), tm(bm) {}

Status Bare::format() {
  PDSIM_TRY_ASSIGN(sm, sm::MetadataSpaceMap::create(tm, disk.nr_blocks()));
  return commit();
}

Status Bare::commit() {
  PDSIM_TRY(tm.pre_commit());
  PDSIM_TRY_ASSIGN(SpaceMapRoot root, sm->copy_root());
  PDSIM_TRY_ASSIGN(WriteRef sb, bm.write_lock_zero(0, nullptr));
  PDSIM_TRY(tm.commit(std::move(sb)));
  committed_root = root;
  return {};
}

Status Bare::abort() {
  tm.abort();
  PDSIM_TRY_ASSIGN(sm, sm::MetadataSpaceMap::open(tm, committed_root));
  return {};
}

Result<check::Input> Bare::input(std::vector<check::TreeSpec> trees) {
  PDSIM_TRY_ASSIGN(SpaceMapRoot root, sm->copy_root());
  check::Input in;
  in.metadata_nr_blocks = disk.nr_blocks();
  in.metadata_sm_root = check::parse_space_map_root(root.data());
  in.trees = std::move(trees);
  in.extra_metadata_refs = {0};
  return in;
}

std::optional<BlockNr> below_zero_block(const Error& e) {
  static constexpr std::string_view kKey = "unable to decrement block ";
  const std::string& m = e.message();
  const auto at = m.find(kKey);
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(m.substr(at + kKey.size()));
}

Status PoolRig::format(BlockNr data_blocks) {
  PDSIM_TRY_ASSIGN(md, thin::PoolMetadata::format(view, 128));
  PDSIM_TRY(md->resize_data(data_blocks));
  PDSIM_TRY(md->create_thin(1));
  return commit();
}

Status PoolRig::map_some(sim::Rng& rng, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t vblock = rng.below(1u << 22);
    if (mappings.count(vblock)) continue;
    PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, md->alloc_data_block());
    if (!b) return Error::no_space("data device full");
    PDSIM_TRY(md->insert_mapping(1, vblock, *b));
    mappings[vblock] = *b;
  }
  return {};
}

Status PoolRig::commit() {
  PDSIM_TRY(md->commit());
  committed = mappings;
  return {};
}

Status PoolRig::abort() {
  // dm-thin never commits after an abort (the pool goes read-only and in-core device records keep
  // their values); carrying on means loading the pool again, from the device.
  mappings = committed;
  md.reset();
  PDSIM_TRY_ASSIGN(md, thin::PoolMetadata::open(view, 128));
  return {};
}

Status PoolRig::extend(BlockNr size) {
  view.grow(size);
  return md->resize_metadata(size);
}

std::string PoolRig::compare() {
  std::size_t seen = 0;
  std::string diff;
  Status s = md->walk_mappings(1, [&](std::uint64_t vblock, std::uint64_t block_time) -> Result<bool> {
    auto it = mappings.find(vblock);
    if (it == mappings.end() || it->second != (block_time >> 24)) {
      diff = fmt::format("mapping {} -> {} is not in the model", vblock, block_time >> 24);
      return false;
    }
    ++seen;
    return true;
  });
  if (!s) return fmt::format("walking the mappings: {}", s.error().to_string());
  if (diff.empty() && seen != mappings.size()) diff = fmt::format("{} mappings, the model has {}", seen, mappings.size());
  return diff;
}

std::string step_word(const std::string& step) {
  std::istringstream in(step);
  std::string w;
  in >> w;
  return w;
}

std::vector<std::uint64_t> step_args(const std::string& step) {
  std::istringstream in(step);
  std::string w;
  in >> w;
  std::vector<std::uint64_t> out;
  std::uint64_t n = 0;
  while (in >> n) out.push_back(n);
  return out;
}

}  // namespace pdsim::scenarios::seeds
