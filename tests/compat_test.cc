// SPDX-License-Identifier: GPL-2.0-or-later
// Against the real thin-provisioning-tools (Debian's thin-provisioning-tools, installed by
// ./run-tests): images our engine commits pass thin_check and thin_dump them as our model says;
// images thin_restore writes read back identically through pdsim dump and check clean.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/check/thin_input.h"
#include "core/io/file_device.h"
#include "core/thin/pool_metadata.h"
#include "core/thin/thin_dump.h"
#include "core/thin/thin_restore.h"
#include "sim/rng.h"
#include "testing/test_util.h"

namespace pdsim::thin {
namespace {

using Cmd = testing::CommandResult;

Cmd run(const std::string& cmd) { return testing::run_command(cmd); }

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

// A sparse file of the given size, as the tools expect (they do not create or grow outputs).
void make_image(const std::string& path, BlockNr blocks) {
  ASSERT_EQ(run(fmt::format("truncate -s {} '{}'", blocks * kBlockSize, path)).rc, 0);
}

// The model's view of a pool, printed the way thin_dump prints it.
struct ModelDevice {
  DeviceDetails details;
  std::map<std::uint64_t, std::pair<BlockNr, std::uint32_t>> mappings;  // vblock -> (data, time)
};
struct Model {
  std::uint32_t time = 0;
  std::uint64_t trans_id = 0;
  std::uint32_t data_block_size = 128;
  BlockNr nr_data_blocks = 0;
  std::map<std::uint64_t, ModelDevice> devices;

  [[nodiscard]] std::string xml() const {
    std::string s = fmt::format(
        "<superblock uuid=\"\" time=\"{}\" transaction=\"{}\" flags=\"0\" version=\"2\" data_block_size=\"{}\" "
        "nr_data_blocks=\"{}\">\n",
        time, trans_id, data_block_size, nr_data_blocks);
    for (const auto& [id, d] : devices) {
      s += fmt::format("  <device dev_id=\"{}\" mapped_blocks=\"{}\" transaction=\"{}\" creation_time=\"{}\" snap_time=\"{}\">\n",
                       id, d.details.mapped_blocks, d.details.transaction_id, d.details.creation_time,
                       d.details.snapshotted_time);
      auto it = d.mappings.begin();
      while (it != d.mappings.end()) {
        auto [v0, bt] = *it;
        std::uint64_t len = 1;
        auto next = std::next(it);
        while (next != d.mappings.end() && next->first == v0 + len && next->second.first == bt.first + len &&
               next->second.second == bt.second) {
          ++len;
          ++next;
        }
        if (len == 1)
          s += fmt::format("    <single_mapping origin_block=\"{}\" data_block=\"{}\" time=\"{}\"/>\n", v0, bt.first, bt.second);
        else
          s += fmt::format("    <range_mapping origin_begin=\"{}\" data_begin=\"{}\" length=\"{}\" time=\"{}\"/>\n", v0,
                           bt.first, len, bt.second);
        it = next;
      }
      s += "  </device>\n";
    }
    return s + "</superblock>\n";
  }
};

#define ASSERT_OK(expr)                                         \
  do {                                                          \
    auto&& r_ = (expr);                                         \
    ASSERT_TRUE(r_.ok()) << #expr << ": " << r_.error().to_string(); \
  } while (false)

class EnginePoolsPassThinCheck : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(EnginePoolsPassThinCheck, AndThinDumpMatchesTheModel) {
  ASSERT_EQ(run("command -v thin_check").rc, 0) << "thin-provisioning-tools is not installed";
  testing::TempDir dir;
  const std::string img = dir.file("meta.bin");
  make_image(img, 4096);
  sim::Rng rng(GetParam());
  auto dev = FileDevice::open(img, FileDevice::Mode::read_write);
  ASSERT_OK(dev);
  auto pool = PoolMetadata::format(**dev, 128);
  ASSERT_OK(pool);
  PoolMetadata& p = **pool;
  Model m;
  m.nr_data_blocks = 2000 + rng.below(3000);
  ASSERT_OK(p.resize_data(m.nr_data_blocks));
  ASSERT_OK(p.commit());  // as dm-thin does after every resize (a second one would be sized from the committed size)
  std::uint64_t next_id = 1;
  for (int step = 0; step < 300; ++step) {
    const auto dice = rng.below(100);
    if (dice < 6 || m.devices.empty()) {
      const std::uint64_t id = next_id++;
      ASSERT_OK(p.create_thin(id));
      m.devices[id].details = DeviceDetails{0, m.trans_id, m.time, m.time};
    } else if (dice < 10) {
      auto it = m.devices.begin();
      std::advance(it, static_cast<long>(rng.below(m.devices.size())));
      const std::uint64_t id = next_id++;
      ASSERT_OK(p.create_snapshot(id, it->first));
      ++m.time;
      ModelDevice snap = it->second;
      snap.details = DeviceDetails{it->second.details.mapped_blocks, m.trans_id, m.time, m.time};
      it->second.details.snapshotted_time = m.time;
      m.devices[id] = snap;
    } else if (dice < 12 && m.devices.size() > 1) {
      auto it = m.devices.begin();
      std::advance(it, static_cast<long>(rng.below(m.devices.size())));
      ASSERT_OK(p.commit());  // dm-thin commits after every message; a delete needs committed details
      ASSERT_OK(p.delete_device(it->first));
      m.devices.erase(it);
    } else if (dice < 75) {
      auto it = m.devices.begin();
      std::advance(it, static_cast<long>(rng.below(m.devices.size())));
      const std::uint64_t vb = rng.below(600);
      auto b = p.alloc_data_block();
      ASSERT_OK(b);
      if (!b->has_value()) continue;
      ASSERT_OK(p.insert_mapping(it->first, vb, **b));
      if (!it->second.mappings.count(vb)) ++it->second.details.mapped_blocks;
      it->second.mappings[vb] = {**b, m.time};
    } else if (dice < 85) {
      auto it = m.devices.begin();
      std::advance(it, static_cast<long>(rng.below(m.devices.size())));
      if (it->second.mappings.empty()) continue;
      const std::uint64_t vb = std::next(it->second.mappings.begin(), static_cast<long>(rng.below(it->second.mappings.size())))->first;
      ASSERT_OK(p.remove_mapping(it->first, vb));
      it->second.mappings.erase(vb);
      --it->second.details.mapped_blocks;
    } else if (dice < 89) {
      auto it = m.devices.begin();
      std::advance(it, static_cast<long>(rng.below(m.devices.size())));
      const std::uint64_t b = rng.below(600), e = b + rng.below(200);
      auto removed = p.remove_range(it->first, b, e);
      ASSERT_OK(removed);
      std::uint64_t n = 0;
      for (auto mi = it->second.mappings.lower_bound(b); mi != it->second.mappings.end() && mi->first < e;) {
        mi = it->second.mappings.erase(mi);
        ++n;
      }
      EXPECT_EQ(*removed, n);
      it->second.details.mapped_blocks -= n;
    } else if (dice < 91) {
      m.nr_data_blocks += rng.below(500);
      ASSERT_OK(p.resize_data(m.nr_data_blocks));
      ASSERT_OK(p.commit());
    } else if (dice < 93) {
      ASSERT_OK(p.set_transaction_id(m.trans_id, m.trans_id + 1));
      ++m.trans_id;
    } else {
      ASSERT_OK(p.commit());
    }
  }
  ASSERT_OK(p.commit());
  pool->reset();
  dev->reset();
  Cmd check = run(fmt::format("thin_check -q '{}'", img));
  EXPECT_EQ(check.rc, 0) << "thin_check rejected an image our engine committed (seed " << GetParam() << ")";
  Cmd dump = run(fmt::format("thin_dump '{}'", img));
  ASSERT_EQ(dump.rc, 0);
  EXPECT_EQ(dump.out, m.xml()) << "seed " << GetParam();
  // Our own dump agrees, and our checker finds nothing (data-block counts included).
  auto ro = FileDevice::open(img, FileDevice::Mode::read_only);
  ASSERT_OK(ro);
  std::ostringstream ours;
  ASSERT_OK(dump_xml(**ro, {}, ours));
  EXPECT_EQ(ours.str(), dump.out);
  auto rep = check::check_thin(**ro);
  ASSERT_OK(rep);
  std::string problems;
  for (const auto& pr : rep->problems) problems += check::to_string(pr) + "\n";
  EXPECT_TRUE(rep->clean()) << problems;
}

INSTANTIATE_TEST_SUITE_P(Seeds, EnginePoolsPassThinCheck, ::testing::Range<std::uint64_t>(1, 9));

// Random documents restored by thin_restore read back identically through pdsim.
class ThinRestoreImagesReadBack : public ::testing::TestWithParam<std::uint64_t> {};

std::string random_document(std::uint64_t seed) {
  sim::Rng rng(seed);
  Model m;
  m.time = static_cast<std::uint32_t>(rng.below(5));
  m.trans_id = rng.below(100);
  m.nr_data_blocks = 5000;
  BlockNr next_data = 0;
  const auto ndev = 1 + rng.below(4);
  for (std::uint64_t d = 0; d < ndev; ++d) {
    ModelDevice dev;
    const std::uint64_t n = rng.below(1500);
    std::uint64_t v = rng.below(10);
    for (std::uint64_t i = 0; i < n && next_data < m.nr_data_blocks; ++i) {
      dev.mappings[v] = {next_data++, static_cast<std::uint32_t>(rng.below(m.time + 1))};
      v += 1 + (rng.chance(1, 4) ? rng.below(20) : 0);
    }
    dev.details = DeviceDetails{dev.mappings.size(), rng.below(50), static_cast<std::uint32_t>(rng.below(m.time + 1)),
                                m.time};
    m.devices[d * 3 + 1] = dev;
  }
  return m.xml();
}

TEST_P(ThinRestoreImagesReadBack, DumpEqualsThinDumpAndCheckIsClean) {
  ASSERT_EQ(run("command -v thin_restore").rc, 0) << "thin-provisioning-tools is not installed";
  testing::TempDir dir;
  const std::string xml = dir.file("in.xml"), img = dir.file("meta.bin"), ours_img = dir.file("ours.bin");
  const std::string doc = random_document(GetParam());
  write_file(xml, doc);
  make_image(img, 4096);
  ASSERT_EQ(run(fmt::format("thin_restore -i '{}' -o '{}'", xml, img)).rc, 0);
  Cmd theirs = run(fmt::format("thin_dump '{}'", img));
  ASSERT_EQ(theirs.rc, 0);
  EXPECT_EQ(theirs.out, doc);
  auto dev = FileDevice::open(img, FileDevice::Mode::read_only);
  ASSERT_OK(dev);
  std::ostringstream ours;
  ASSERT_OK(dump_xml(**dev, {}, ours));
  EXPECT_EQ(ours.str(), theirs.out);
  auto rep = check::check_thin(**dev);
  ASSERT_OK(rep);
  std::string problems;
  for (const auto& pr : rep->problems) problems += check::to_string(pr) + "\n";
  EXPECT_FALSE(rep->has_fatal()) << problems;  // the tools' known index-summary quirks are non-fatal

  // And our restore of the same document passes thin_check and dumps back the same.
  make_image(ours_img, 4096);
  auto parsed = parse_thin_xml(doc);
  ASSERT_OK(parsed);
  {
    auto out = FileDevice::open(ours_img, FileDevice::Mode::read_write);
    ASSERT_OK(out);
    ASSERT_OK(restore_pool(**out, *parsed));
  }
  EXPECT_EQ(run(fmt::format("thin_check -q '{}'", ours_img)).rc, 0);
  EXPECT_EQ(run(fmt::format("thin_dump '{}'", ours_img)).out, doc);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ThinRestoreImagesReadBack, ::testing::Range<std::uint64_t>(1, 7));

}  // namespace
}  // namespace pdsim::thin

namespace pdsim::thin {
namespace {

// A metadata snapshot (held root) taken by the engine: thin_check accepts the image with it held
// and after its release, and thin_dump -m shows the pool as it was when the snapshot was taken.
TEST(MetadataSnapshot, ReserveAndReleaseAsTheToolsExpect) {
  ASSERT_EQ(run("command -v thin_check").rc, 0) << "thin-provisioning-tools is not installed";
  testing::TempDir dir;
  const std::string img = dir.file("meta.bin");
  make_image(img, 2048);
  std::string at_snapshot;
  {
    auto dev = FileDevice::open(img, FileDevice::Mode::read_write);
    ASSERT_OK(dev);
    auto pool = PoolMetadata::format(**dev, 128);
    ASSERT_OK(pool);
    PoolMetadata& p = **pool;
    ASSERT_OK(p.resize_data(1000));
    ASSERT_OK(p.commit());
    ASSERT_OK(p.create_thin(1));
    for (std::uint64_t v = 0; v < 300; ++v) {
      auto b = p.alloc_data_block();
      ASSERT_OK(b);
      ASSERT_OK(p.insert_mapping(1, v, **b));
    }
    ASSERT_OK(p.commit());
    ASSERT_OK(p.reserve_metadata_snap());
    ASSERT_OK(p.commit());
    at_snapshot = run(fmt::format("thin_dump '{}'", img)).out;
    // Keep working after the snapshot: the live tree diverges, the snapshot must not.
    for (std::uint64_t v = 300; v < 400; ++v) {
      auto b = p.alloc_data_block();
      ASSERT_OK(b);
      ASSERT_OK(p.insert_mapping(1, v, **b));
    }
    ASSERT_OK(p.remove_mapping(1, 5));
    ASSERT_OK(p.commit());
    EXPECT_NE(p.held_root(), 0u);
  }
  EXPECT_EQ(run(fmt::format("thin_check -q '{}'", img)).rc, 0);
  EXPECT_EQ(run(fmt::format("thin_check -q -m '{}'", img)).rc, 0);
  Cmd snap = run(fmt::format("thin_dump -m '{}'", img));
  ASSERT_EQ(snap.rc, 0);
  // The snapshot copy has zeroed space-map roots: thin_dump -m reports nr_data_blocks="0".
  std::string expected = at_snapshot;
  expected.replace(expected.find("nr_data_blocks=\"1000\""), 21, "nr_data_blocks=\"0\"");
  EXPECT_EQ(snap.out, expected);
  {
    auto ro = FileDevice::open(img, FileDevice::Mode::read_only);
    ASSERT_OK(ro);
    std::ostringstream ours;
    ASSERT_OK(dump_xml(**ro, DumpOptions{0, false}, ours));
    EXPECT_EQ(ours.str(), snap.out);
    auto rep = check::check_thin(**ro);
    ASSERT_OK(rep);
    EXPECT_TRUE(rep->clean());
  }
  {
    auto dev = FileDevice::open(img, FileDevice::Mode::read_write);
    ASSERT_OK(dev);
    auto pool = PoolMetadata::open(**dev, 128);
    ASSERT_OK(pool);
    ASSERT_OK((*pool)->release_metadata_snap());
    ASSERT_OK((*pool)->commit());
  }
  EXPECT_EQ(run(fmt::format("thin_check -q '{}'", img)).rc, 0);
  EXPECT_NE(run(fmt::format("thin_dump -m '{}'", img)).rc, 0);  // nothing held any more
  auto ro = FileDevice::open(img, FileDevice::Mode::read_only);
  ASSERT_OK(ro);
  auto rep = check::check_thin(**ro);
  ASSERT_OK(rep);
  std::string problems;
  for (const auto& pr : rep->problems) problems += check::to_string(pr) + "\n";
  EXPECT_TRUE(rep->clean()) << problems;
}

}  // namespace
}  // namespace pdsim::thin
