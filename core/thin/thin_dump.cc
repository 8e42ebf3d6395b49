// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/thin/thin_dump.h"

#include <sstream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "core/btree/btree.h"
#include "core/sm/sm_format.h"
#include "core/thin/thin_format.h"

namespace pdsim::thin {
namespace {

struct Run {
  std::uint64_t origin_begin;
  BlockNr data_begin;
  std::uint64_t length;
  std::uint32_t time;
};

void emit(std::ostream& out, const Run& r) {
  if (r.length == 1)
    fmt::print(out, "    <single_mapping origin_block=\"{}\" data_block=\"{}\" time=\"{}\"/>\n", r.origin_begin,
               r.data_begin, r.time);
  else
    fmt::print(out, "    <range_mapping origin_begin=\"{}\" data_begin=\"{}\" length=\"{}\" time=\"{}\"/>\n",
               r.origin_begin, r.data_begin, r.length, r.time);
}

}  // namespace

Status dump_xml(BlockDevice& dev, const DumpOptions& opts, std::ostream& final_out) {
  BlockManager bm(dev, 1024);
  bm.set_read_only(true);
  TransactionManager tm(bm);  // used for reads only: no space map is attached
  PDSIM_TRY_ASSIGN(ReadRef live, bm.read_lock(kSuperblockLocation, &superblock_validator()));
  Superblock sb = Superblock::unpack(live.data().data());
  live.release();
  BlockNr nr_data_blocks = sm::RootFields::unpack(sb.data_sm_root).nr_blocks;
  if (opts.metadata_snap) {
    const BlockNr where = *opts.metadata_snap == 0 ? sb.held_root : *opts.metadata_snap;
    if (where == 0) return Error::no_data("no metadata snapshot is held (held_root is 0)");
    if (where >= bm.nr_blocks())
      return Error::invalid(fmt::format("metadata snapshot block {} is past the end of the device ({} blocks)", where, bm.nr_blocks()));
    PDSIM_TRY_ASSIGN(ReadRef snap, bm.read_lock(where, &superblock_validator()));
    sb = Superblock::unpack(snap.data().data());
    nr_data_blocks = sm::RootFields::unpack(sb.data_sm_root).nr_blocks;  // zeroed in a snapshot copy
  }

  std::ostream& out = final_out;
  fmt::print(out,
             "<superblock uuid=\"\" time=\"{}\" transaction=\"{}\" flags=\"{}\" version=\"{}\" data_block_size=\"{}\" "
             "nr_data_blocks=\"{}\">\n",
             sb.time, sb.trans_id, sb.flags, sb.version, sb.data_block_size, nr_data_blocks);

  btree::Info details{&tm, 1, btree::plain_value_type(DeviceDetails::kSize)};
  std::vector<std::pair<std::uint64_t, DeviceDetails>> devices;
  PDSIM_TRY(btree::walk(details, sb.device_details_root, [&](std::uint64_t id, btree::ValueSpan v) -> Result<bool> {
    devices.emplace_back(id, DeviceDetails::unpack(v.data()));
    return true;
  }));
  btree::Info top{&tm, 1, btree::plain_value_type(8)};
  btree::Info leaf{&tm, 1, btree::plain_value_type(8)};
  for (const auto& [id, d] : devices) {
    fmt::print(out, "  <device dev_id=\"{}\" mapped_blocks=\"{}\" transaction=\"{}\" creation_time=\"{}\" snap_time=\"{}\">\n",
               id, d.mapped_blocks, d.transaction_id, d.creation_time, d.snapshotted_time);
    if (!opts.skip_mappings) {
      PDSIM_TRY_ASSIGN(auto subtree, btree::lookup(top, sb.data_mapping_root, std::span<const std::uint64_t>(&id, 1)));
      if (subtree) {
        std::optional<Run> run;
        PDSIM_TRY(btree::walk(leaf, load_le<std::uint64_t>(subtree->data()),
                              [&](std::uint64_t vblock, btree::ValueSpan v) -> Result<bool> {
                                const std::uint64_t bt = load_le<std::uint64_t>(v.data());
                                const BlockNr b = block_of(bt);
                                const std::uint32_t t = time_of(bt);
                                if (run && vblock == run->origin_begin + run->length && b == run->data_begin + run->length &&
                                    t == run->time) {
                                  ++run->length;
                                } else {
                                  if (run) emit(out, *run);
                                  run = Run{vblock, b, 1, t};
                                }
                                return true;
                              }));
        if (run) emit(out, *run);
      }
    }
    fmt::print(out, "  </device>\n");
  }
  fmt::print(out, "</superblock>\n");
  return {};
}

}  // namespace pdsim::thin
