// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/seed_bugs.h"

namespace pdsim {

const std::array<BugInfo, kBugCount>& all_bugs() {
  static const std::array<BugInfo, kBugCount> bugs = {{
      {Bug::a, "seed.a_nonatomic_commit", "dm transaction manager: fix corruption due to non-atomic transaction commit",
       "superblock written although the metadata flush before it failed"},
      {Bug::b, "seed.b_lifo_queue", "dm space map metadata: fix refcount decrement below 0 which caused corruption",
       "queued recursive space-map operations applied newest first: a reference count would go below zero"},
      {Bug::c, "seed.c_extend_single_commit", "dm space map metadata: fix bug in resizing of thin metadata",
       "blocks allocated by the in-bootstrap commit of an extend keep count 0"},
      {Bug::d, "seed.d_extend_commit_outside_bootstrap", "dm space map metadata: fix extending the space map",
       "no space during the first commit after a metadata extend although new space exists"},
      {Bug::e, "seed.e_nr_blocks_after_loop", "dm space map common: make sure new space is used during extend",
       "a metadata extend that needs a new bitmap fails with no space"},
      {Bug::f, "seed.f_sticky_degraded_mode", "dm thin: allow pool in read-only mode to transition to read-write mode",
       "a read-only pool stays read-only after space is added and the table reloaded"},
      {Bug::g, "seed.g_dec_wraps", "dm space map: disallow decrementing a reference count below zero",
       "a decrement of a free block wraps to 2^32-1 silently"},
      {Bug::h, "seed.h_ignore_alloc_error", "dm space map metadata: return on failure in sm_metadata_new_block",
       "a failed metadata allocation reports success with a stale block number"},
      {Bug::i, "seed.i_array_no_reinc", "dm array: fix a reference counting bug in shadow_ablock",
       "an array block is released twice when its shadow is re-inserted"},
      {Bug::j, "seed.j_array_grow_overwrites_tail", "dm array: fix bug in growing array",
       "growing an array with a partial tail block loses the tail's entries"},
  }};
  return bugs;
}

const BugInfo& bug_info(Bug b) { return all_bugs()[static_cast<std::size_t>(b)]; }

std::optional<Bug> find_bug(std::string_view name) {
  for (const auto& info : all_bugs()) {
    std::string_view full = info.name;
    std::string_view bare = full.substr(5);  // without "seed."
    std::string_view letter = bare.substr(0, 1);
    if (name == full || name == bare || name == letter) return info.bug;
  }
  return std::nullopt;
}

std::vector<Bug> bugs_on() {
  std::vector<Bug> out;
  for (const auto& info : all_bugs())
    if (bug_on(info.bug)) out.push_back(info.bug);
  return out;
}

ScopedBugs::ScopedBugs(const std::vector<Bug>& on) : saved_(detail::g_bugs) {
  detail::g_bugs.fill(false);
  for (Bug b : on) set_bug(b, true);
}

ScopedBugs::~ScopedBugs() { detail::g_bugs = saved_; }

}  // namespace pdsim
