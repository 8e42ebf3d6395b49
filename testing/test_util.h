// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers shared by the tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "core/io/block_device.h"
#include "core/sm/space_map.h"
#include "core/tm/transaction_manager.h"

namespace pdsim::testing {

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pdsim-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline Block pattern_block(std::uint8_t seed) {
  Block b;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

// The smallest client of the two-phase commit, for tests of the layers below the pool
// metadata: pre-commit, then a bare superblock at block 0 recording the root of `sm` (taken after
// the pre-commit, which commits the space map and may move its root) at byte 64, then commit.
inline constexpr std::size_t kBareRootOffset = 64;

[[nodiscard]] inline Status commit_bare(TransactionManager& tm, BlockManager& bm, SpaceMap* sm = nullptr) {
  PDSIM_TRY(tm.pre_commit());
  SpaceMapRoot root{};
  if (sm != nullptr) {
    PDSIM_TRY_ASSIGN(root, sm->copy_root());
  }
  PDSIM_TRY_ASSIGN(WriteRef sb, bm.write_lock_zero(0, nullptr));
  std::copy(root.begin(), root.end(), sb.data().begin() + kBareRootOffset);
  return tm.commit(std::move(sb));
}

// The space-map root a bare superblock recorded (as of the device, after dropping the cache).
[[nodiscard]] inline Result<SpaceMapRoot> read_bare_root(TransactionManager& tm, BlockManager& bm) {
  tm.abort();
  PDSIM_TRY_ASSIGN(ReadRef sb, bm.read_lock(0, nullptr));
  SpaceMapRoot root{};
  std::copy(sb.data().begin() + kBareRootOffset, sb.data().begin() + kBareRootOffset + root.size(), root.begin());
  sb.release();
  bm.discard_all();
  return root;
}

// Runs a shell command; returns its exit code (-1 if it did not exit normally) and its stdout.
// Its stderr goes to `stderr_file` when given, else is discarded.
struct CommandResult {
  int rc = -1;
  std::string out;
};

inline CommandResult run_command(const std::string& cmd, const std::string& stderr_file = "/dev/null") {
  CommandResult r;
  FILE* p = ::popen((cmd + " 2>'" + stderr_file + "'").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// run_command with stderr captured too (through a file in `dir`).
struct CommandOutput {
  int rc = -1;
  std::string out;
  std::string err;
};

inline CommandOutput run_capturing(TempDir& dir, const std::string& cmd) {
  const std::string err_file = dir.file("stderr.txt");
  CommandResult r = run_command(cmd, err_file);
  std::ifstream e(err_file);
  return CommandOutput{r.rc, std::move(r.out), std::string(std::istreambuf_iterator<char>(e), {})};
}

}  // namespace pdsim::testing
