// SPDX-License-Identifier: GPL-2.0-or-later
// Writes the fuzzers' seed corpora: `pdsim_fuzz_corpus OUT [FIXTURE_DIR]` fills OUT/TARGET/ for
// every target with
//   - thin pools our engine builds (empty; two thins and a snapshot; a multi-level tree with
//     removals; a held metadata snapshot), as sparse images, packs and thin_dump documents;
//   - the kernel-written fixtures (FIXTURE_DIR/*.pack), the same three ways;
//   - dm-cache metadata v1 and v2 (mappings, dirty bits, hints, discards), as sparse images and
//     cache_dump documents;
//   - the first steps of seed 1 of every step-based scenario, and fault-plan lines using every
//     selector and action.
// Deterministic: the same build writes the same files.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "core/cache/cache_dump.h"
#include "core/cache/cache_metadata.h"
#include "core/pack/pack.h"
#include "core/thin/pool_metadata.h"
#include "core/thin/thin_dump.h"
#include "fuzz/sparse_image.h"
#include "scenarios/runner/registry.h"
#include "sim/image.h"

namespace pdsim::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr BlockNr kImageBlocks = 1024;

void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error(fmt::format("cannot write {}", p.string()));
}

void write_file(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  write_file(p, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void require(const Status& s, std::string_view what) {
  if (!s) throw std::runtime_error(fmt::format("{}: {}", what, s.error().to_string()));
}

template <typename T>
  requires(!std::is_void_v<T>)
T require(Result<T> r, std::string_view what) {
  if (!r) throw std::runtime_error(fmt::format("{}: {}", what, r.error().to_string()));
  return std::move(r).value();
}

// A thin image the three ways the fuzzers read it.
void emit_thin(const fs::path& out, const std::string& name, sim::ImageDevice& dev) {
  write_file(out / "thin_image" / name, encode_image(dev.image()));
  std::vector<std::uint8_t> packed;
  (void)require(pack::write_pack(dev, [&](std::span<const std::uint8_t> b) -> Status {
                  packed.insert(packed.end(), b.begin(), b.end());
                  return {};
                }),
                name);
  write_file(out / "pack" / (name + ".pack"), packed);
  std::ostringstream xml;
  if (thin::dump_xml(dev, {}, xml)) write_file(out / "thin_xml" / (name + ".xml"), xml.str());
}

void thin_pools(const fs::path& out) {
  struct Pool {
    const char* name;
    std::uint64_t mappings;  // on thin 1
    bool snapshot, removals, metadata_snap;
  };
  const Pool pools[] = {{"empty", 0, false, false, false},
                        {"small", 60, true, false, false},
                        {"deep", 3000, true, true, false},
                        {"held_snapshot", 400, true, true, true}};
  for (const Pool& p : pools) {
    sim::ImageDevice dev(sim::Image{kImageBlocks});
    auto md = require(thin::pdsim_thin_engine().format(dev, 128, 256), p.name);
    require(md->resize_data(16384), p.name);
    if (p.mappings > 0) {
      require(md->create_thin(1), p.name);
      require(md->create_thin(7), p.name);
      for (std::uint64_t v = 0; v < p.mappings; ++v) {
        auto b = require(md->alloc_data_block(), p.name);
        if (!b) throw std::runtime_error("data space full");
        require(md->insert_mapping(v % 5 == 0 ? 7 : 1, v * 3 + (v % 2), *b), p.name);
      }
      require(md->commit(), p.name);
      if (p.snapshot) require(md->create_snapshot(2, 1), p.name);
      if (p.metadata_snap) {
        require(md->commit(), p.name);
        require(md->reserve_metadata_snap(), p.name);
      }
      if (p.removals) (void)require(md->remove_range(1, p.mappings / 3, p.mappings), p.name);
    }
    require(md->commit(), p.name);
    md.reset();
    emit_thin(out, p.name, dev);
  }
}

void fixtures(const fs::path& out, const fs::path& dir) {
  if (dir.empty() || !fs::is_directory(dir)) return;
  std::vector<fs::path> packs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".pack") packs.push_back(e.path());
  std::sort(packs.begin(), packs.end());
  for (const auto& p : packs) {
    auto bytes = require(pack::read_whole_file(p.string()), p.string());
    auto dev = require(pack::load_pack(bytes), p.string());
    if (dev->nr_blocks() > kMaxBlocks) continue;  // too big for the sparse format: the pack corpus has it
    sim::Image image(dev->nr_blocks());
    std::array<std::uint8_t, kBlockSize> block{};
    for (BlockNr b = 0; b < dev->nr_blocks(); ++b) {
      require(dev->read(b, block), p.string());
      image.write(b, block);
    }
    sim::ImageDevice copy(std::move(image));
    emit_thin(out, "fixture_" + p.stem().string(), copy);
  }
}

void cache_pools(const fs::path& out) {
  for (std::uint32_t version : {1u, 2u}) {
    sim::ImageDevice dev(sim::Image{kImageBlocks});
    const std::string name = fmt::format("cache_v{}", version);
    auto md = require(cache::pdsim_cache_engine().format(dev, 128, version), name);
    require(md->resize(1500), name);
    for (std::uint32_t c = 0; c < 1500; c += 3) require(md->insert_mapping(c, 100000 + 7 * c), name);
    for (std::uint32_t c = 0; c < 1500; c += 9) require(md->set_dirty(c, true), name);
    const seam::CachePolicy policy{"smq", {2, 0, 0}, 4};
    require(md->write_hints(policy, [](std::uint32_t c) -> Result<std::uint32_t> { return c * 2654435761u; }), name);
    require(md->resize_discard(1024, 300), name);
    for (std::uint64_t d = 10; d < 300; d += 17) require(md->set_discard(d, true), name);
    require(md->commit(true), name);
    md.reset();
    write_file(out / "cache_image" / name, encode_image(dev.image()));
    std::ostringstream xml;
    require(cache::dump_cache_xml(dev, xml), name);
    write_file(out / "cache_xml" / (name + ".xml"), xml.str());
  }
}

void steps(const fs::path& out) {
  for (const auto& sc : scenarios::all_scenarios()) {
    if (!sc.generate || !sc.replay || sc.name.rfind("differential", 0) == 0) continue;
    const scenarios::Steps all = sc.generate(1);
    std::string text = fmt::format("scenario {} 1\n", sc.name);
    for (std::size_t i = 0; i < all.size() && i < 60; ++i) text += all[i] + "\n";
    write_file(out / "steps" / sc.name, text);
  }
}

void fault_plans(const fs::path& out) {
  const char* lines[] = {
      "write nth=3 -> error",
      "read blocks=10-20 -> rot=1; any p=1/100 -> error",
      "any flakey=50/10 -> error; write blocks=900- -> nospace; flush nth=2 -> lie",
      "write ops=5-9 -> drop",
      "write p=1/3 -> flip=2",
      "write blocks=4-4 -> misdirect=7",
      "flush p=1/5 -> error; read ops=3- -> error",
  };
  int i = 0;
  for (const char* l : lines) write_file(out / "fault_plan" / fmt::format("plan{}", i++), std::string_view(l));
}

}  // namespace
}  // namespace pdsim::fuzz

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: pdsim_fuzz_corpus OUT_DIR [FIXTURE_DIR]\n";
    return 2;
  }
  const fs::path out = argv[1];
  try {
    for (const char* t : {"thin_image", "cache_image", "pack", "thin_xml", "cache_xml", "steps", "fault_plan"})
      fs::create_directories(out / t);
    pdsim::fuzz::thin_pools(out);
    pdsim::fuzz::fixtures(out, argc == 3 ? fs::path(argv[2]) : fs::path());
    pdsim::fuzz::cache_pools(out);
    pdsim::fuzz::steps(out);
    pdsim::fuzz::fault_plans(out);
  } catch (const std::exception& e) {
    std::cerr << "pdsim_fuzz_corpus: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
