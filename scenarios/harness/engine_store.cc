// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/harness/engine_store.h"

#include <fmt/format.h>

#include "core/common/endian.h"
#include "core/tm/metadata_store.h"

namespace pdsim::scenarios {
namespace {

constexpr std::uint64_t kMagic = 0x5453544D4953445Full;  // "_DSIMTST"
constexpr std::uint32_t kSalt = 0x70D51E00u;

namespace sb {
constexpr std::size_t magic = 16, txn = 24, meta_root = 32, data_root = 64, map_root = 96, volumes_root = 104;
}

}  // namespace

const Validator& store_superblock_validator() {
  static const SuperblockValidator v({"store superblock", kSalt, 8, sb::magic, kMagic});
  return v;
}

EngineStore::EngineStore(BlockDevice& dev) : dev_(dev), bm_(dev, kCacheBlocks), tm_(bm_) {}

btree::Info EngineStore::map_info() { return btree::Info{&tm_, 1, btree::plain_value_type(8)}; }

btree::Info EngineStore::volumes_info() {
  btree::ValueType data_block{};
  data_block.size = 8;
  sm::DiskSpaceMap* data = data_.get();
  data_block.inc = [data](btree::ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(data->inc(load_le<std::uint64_t>(v.data() + 8 * i) >> 24));
    return {};
  };
  data_block.dec = [data](btree::ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(data->dec(load_le<std::uint64_t>(v.data() + 8 * i) >> 24));
    return {};
  };
  data_block.equal = [](btree::ValueSpan a, btree::ValueSpan b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); };
  return btree::Info{&tm_, 2, std::move(data_block)};
}

btree::Info EngineStore::volume_subtree_info() {
  // dm-thin's "top" view: deleting a volume's entry deletes its whole subtree.
  btree::ValueType subtree{};
  subtree.size = 8;
  TransactionManager* tm = &tm_;
  subtree.inc = [tm](btree::ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(tm->inc(load_le<std::uint64_t>(v.data() + 8 * i)));
    return {};
  };
  subtree.dec = [this](btree::ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) {
      btree::Info leaf = volumes_info();
      leaf.levels = 1;
      PDSIM_TRY(btree::del(leaf, load_le<std::uint64_t>(v.data() + 8 * i)));
    }
    return {};
  };
  subtree.equal = [](btree::ValueSpan a, btree::ValueSpan b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); };
  return btree::Info{&tm_, 1, std::move(subtree)};
}

Result<std::unique_ptr<EngineStore>> EngineStore::format(BlockDevice& dev, BlockNr data_blocks) {
  auto s = std::make_unique<EngineStore>(dev);
  PDSIM_TRY_ASSIGN(s->meta_, sm::MetadataSpaceMap::create(s->tm_, dev.nr_blocks()));
  PDSIM_TRY_ASSIGN(s->data_, sm::DiskSpaceMap::create(s->tm_, data_blocks));
  auto mi = s->map_info();
  PDSIM_TRY_ASSIGN(s->map_root_, btree::create_empty(mi));
  auto vi = s->volumes_info();
  PDSIM_TRY_ASSIGN(s->volumes_root_, btree::create_empty(vi));
  s->txn_ = 0;
  PDSIM_TRY(s->commit());
  return s;
}

Result<std::unique_ptr<EngineStore>> EngineStore::open(BlockDevice& dev) {
  auto s = std::make_unique<EngineStore>(dev);
  PDSIM_TRY(s->load_superblock());
  return s;
}

Status EngineStore::load_superblock() {
  PDSIM_TRY_ASSIGN(Block raw, read_superblock(bm_, store_superblock_validator()));
  const std::uint8_t* d = raw.data();
  SpaceMapRoot meta_root{}, data_root{};
  std::copy(d + sb::meta_root, d + sb::meta_root + kSpaceMapRootSize, meta_root.begin());
  std::copy(d + sb::data_root, d + sb::data_root + kSpaceMapRootSize, data_root.begin());
  txn_ = load_le<std::uint64_t>(d + sb::txn);
  map_root_ = load_le<std::uint64_t>(d + sb::map_root);
  volumes_root_ = load_le<std::uint64_t>(d + sb::volumes_root);
  PDSIM_TRY_ASSIGN(meta_, sm::MetadataSpaceMap::open(tm_, meta_root));
  PDSIM_TRY_ASSIGN(data_, sm::DiskSpaceMap::open(tm_, data_root));
  return {};
}

Status EngineStore::insert(std::uint64_t key, std::uint64_t value) {
  auto info = map_info();
  PDSIM_TRY_ASSIGN(auto r, btree::insert(info, map_root_, std::span<const std::uint64_t>(&key, 1), btree::u64_value(value)));
  map_root_ = r.root;
  return {};
}

Status EngineStore::remove(std::uint64_t key) {
  auto info = map_info();
  PDSIM_TRY_ASSIGN(map_root_, btree::remove(info, map_root_, std::span<const std::uint64_t>(&key, 1)));
  return {};
}

Result<std::uint64_t> EngineStore::map_block(std::uint64_t volume, std::uint64_t vblock) {
  PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, data_->new_block());
  if (!b) return Error::no_space("data device is out of space");
  auto info = volumes_info();
  const std::uint64_t keys[2] = {volume, vblock};
  // Values are packed like dm-thin's block_time (data block << 24), so the checker counts them.
  PDSIM_TRY_ASSIGN(auto r, btree::insert(info, volumes_root_, keys, btree::u64_value(*b << 24)));
  volumes_root_ = r.root;
  return *b;
}

Status EngineStore::unmap_block(std::uint64_t volume, std::uint64_t vblock) {
  auto info = volumes_info();
  const std::uint64_t keys[2] = {volume, vblock};
  PDSIM_TRY_ASSIGN(volumes_root_, btree::remove(info, volumes_root_, keys));
  return {};
}

Status EngineStore::snapshot(std::uint64_t origin, std::uint64_t volume) {
  auto top = volume_subtree_info();
  PDSIM_TRY_ASSIGN(auto origin_root, btree::lookup(top, volumes_root_, std::span<const std::uint64_t>(&origin, 1)));
  if (!origin_root) return Error::no_data(fmt::format("no volume {} to snapshot", origin));
  PDSIM_TRY_ASSIGN(auto exists, btree::lookup(top, volumes_root_, std::span<const std::uint64_t>(&volume, 1)));
  if (exists) return Error::invalid(fmt::format("volume {} already exists", volume));
  const BlockNr subtree = load_le<std::uint64_t>(origin_root->data());
  PDSIM_TRY(tm_.inc(subtree));
  PDSIM_TRY_ASSIGN(auto r, btree::insert(top, volumes_root_, std::span<const std::uint64_t>(&volume, 1), *origin_root));
  volumes_root_ = r.root;
  return {};
}

Status EngineStore::delete_volume(std::uint64_t volume) {
  auto top = volume_subtree_info();
  PDSIM_TRY_ASSIGN(volumes_root_, btree::remove(top, volumes_root_, std::span<const std::uint64_t>(&volume, 1)));
  return {};
}

Status EngineStore::commit() {
  // The store's own step (the data space map), then the shared protocol.
  PDSIM_TRY(data_->commit());
  PDSIM_TRY(commit_transaction(tm_, store_superblock_validator(), {meta_.get(), data_.get()}, SuperblockLock::zero,
                               [&](std::uint8_t* d, std::span<const SpaceMapRoot> roots) {
                                 store_le<std::uint64_t>(d + sb::magic, kMagic);
                                 store_le<std::uint64_t>(d + sb::txn, txn_ + 1);
                                 std::copy(roots[0].begin(), roots[0].end(), d + sb::meta_root);
                                 std::copy(roots[1].begin(), roots[1].end(), d + sb::data_root);
                                 store_le<std::uint64_t>(d + sb::map_root, map_root_);
                                 store_le<std::uint64_t>(d + sb::volumes_root, volumes_root_);
                               }));
  ++txn_;
  return {};
}

Status EngineStore::abort() {
  PDSIM_TRY(abort_transaction(tm_, dev_, AbortFlush::flush_device));
  return load_superblock();
}

Result<StoreContents> EngineStore::contents() {
  StoreContents c;
  c.txn = txn_;
  auto mi = map_info();
  PDSIM_TRY(btree::walk(mi, map_root_, [&](std::uint64_t k, btree::ValueSpan v) -> Result<bool> {
    c.map[k] = load_le<std::uint64_t>(v.data());
    return true;
  }));
  auto top = volume_subtree_info();
  std::vector<std::pair<std::uint64_t, BlockNr>> vols;
  PDSIM_TRY(btree::walk(top, volumes_root_, [&](std::uint64_t k, btree::ValueSpan v) -> Result<bool> {
    vols.emplace_back(k, load_le<std::uint64_t>(v.data()));
    return true;
  }));
  for (auto [id, root] : vols) {
    auto leaf = volumes_info();
    leaf.levels = 1;
    auto& m = c.volumes[id];
    PDSIM_TRY(btree::walk(leaf, root, [&](std::uint64_t k, btree::ValueSpan v) -> Result<bool> {
      m[k] = load_le<std::uint64_t>(v.data()) >> 24;
      return true;
    }));
  }
  return c;
}

Result<check::Input> store_checker_input(BlockDevice& dev) {
  Block raw{};
  PDSIM_TRY(dev.read(0, BlockSpan(raw)));
  PDSIM_TRY(store_superblock_validator().check(ConstBlockSpan(raw), 0));
  const std::uint8_t* d = raw.data();
  check::Input in;
  in.metadata_nr_blocks = dev.nr_blocks();
  in.metadata_sm_root = check::parse_space_map_root(d + sb::meta_root);
  in.data_sm_root = check::parse_space_map_root(d + sb::data_root);
  in.trees.push_back(check::TreeSpec{"map", load_le<std::uint64_t>(d + sb::map_root), 1, 8, check::ValueRefs::none});
  in.trees.push_back(
      check::TreeSpec{"volumes", load_le<std::uint64_t>(d + sb::volumes_root), 2, 8, check::ValueRefs::data_block_time});
  in.extra_metadata_refs.push_back(0);
  return in;
}

Result<std::vector<std::string>> check_store_image(BlockDevice& dev) {
  PDSIM_TRY_ASSIGN(check::Input in, store_checker_input(dev));
  PDSIM_TRY_ASSIGN(check::Report rep, check::check(dev, in));
  std::vector<std::string> out;
  for (const auto& p : rep.problems) out.push_back(check::to_string(p));
  if (rep.problems_dropped > 0) out.push_back(fmt::format("... and {} more problems", rep.problems_dropped));
  return out;
}

}  // namespace pdsim::scenarios
