// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/step_grammar.h"

#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "sim/fault_plan.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {
namespace {

// A token cut for messages: a 400-digit number is not echoed whole.
std::string shown(std::string_view t) {
  return t.size() <= 24 ? std::string(t) : fmt::format("{}... ({} characters)", t.substr(0, 20), t.size());
}

}  // namespace

std::function<std::string(const std::vector<std::uint64_t>&)> range_relation(std::size_t begin, std::size_t end,
                                                                             std::uint64_t max_count, std::size_t stride_at) {
  return [=](const std::vector<std::uint64_t>& a) -> std::string {
    if (a[begin] > a[end]) return fmt::format("begin {} is past end {}", a[begin], a[end]);
    const std::uint64_t stride = stride_at < a.size() && a[stride_at] > 0 ? a[stride_at] : 1;
    const std::uint64_t count = (a[end] - a[begin]) / stride + ((a[end] - a[begin]) % stride != 0 ? 1 : 0);
    if (count > max_count) return fmt::format("{} blocks in one step, at most {}", count, max_count);
    return {};
  };
}

Status check_step(const StepGrammar& grammar, std::string_view step) {
  std::istringstream in{std::string(step)};
  std::string word;
  in >> word;
  const StepForm* form = nullptr;
  for (const auto& f : grammar) form = f.word == word ? &f : form;
  if (form == nullptr) {
    std::string words;
    for (const auto& f : grammar) words += (words.empty() ? "" : ", ") + f.word;
    return Error::invalid(fmt::format("unknown step '{}' (this scenario's steps: {})", shown(word), words));
  }
  std::vector<std::uint64_t> args;
  std::string tok;
  while (args.size() < form->args.size() && in >> tok) {
    const ArgRange& r = form->args[args.size()];
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec == std::errc::result_out_of_range)
      return Error::invalid(fmt::format("{}: {} '{}' is out of range (at most {})", word, r.name, shown(tok), r.max));
    if (ec != std::errc() || end != tok.data() + tok.size())
      return Error::invalid(fmt::format("{}: {} '{}' is not a number", word, r.name, shown(tok)));
    if (v < r.min || v > r.max)
      return Error::invalid(fmt::format("{}: {} {} is out of range ({}..{})", word, r.name, v, r.min, r.max));
    args.push_back(v);
  }
  if (args.size() + form->optional < form->args.size())
    return Error::invalid(fmt::format("{}: takes {} numbers, {} given", word, form->args.size(), args.size()));
  std::string rest;
  std::getline(in, rest);
  const auto first = rest.find_first_not_of(' ');
  rest = first == std::string::npos ? std::string() : rest.substr(first);
  switch (form->tail) {
    case StepForm::Tail::none:
      if (!rest.empty()) return Error::invalid(fmt::format("{}: unexpected '{}' after the numbers", word, shown(rest)));
      break;
    case StepForm::Tail::fault_plan: {
      auto plan = sim::FaultPlan::parse(rest);
      if (!plan) return Error::invalid(fmt::format("{}: {}", word, plan.error().message()));
      break;
    }
    case StepForm::Tail::power_cut: {
      auto p = sim::parse_power_cut_policy(rest);
      if (!p) return Error::invalid(fmt::format("{}: {}", word, p.error().message()));
      break;
    }
    case StepForm::Tail::policy_name:
      if (rest.empty() || rest.size() > 15 || rest.find(' ') != std::string::npos)
        return Error::invalid(fmt::format("{}: policy name '{}' must be one word of 1 to 15 characters", word, shown(rest)));
      break;
  }
  if (form->relation && args.size() == form->args.size()) {
    if (std::string why = form->relation(args); !why.empty()) return Error::invalid(fmt::format("{}: {}", word, why));
  }
  return {};
}

const StepGrammar& thin_step_grammar() {
  static const StepGrammar g = [] {
    const ArgRange id{"device id", 0, kMaxThinId}, v{"virtual block", 0, kMaxVirtualBlock},
        stride{"stride", 0, kMaxVirtualBlock}, key{"shuffle key"};
    using T = StepForm::Tail;
    StepGrammar out{
        {"create", {id}},
        {"snap", {id, id}},
        {"delete", {id}},
        {"write", {id, v}},
        {"read", {id, v}},
        {"discard", {id, v, v}, 0, T::none, range_relation(1, 2)},
        {"unmap", {id, v}},
        {"fill", {id, v, v, stride}, 0, T::none, range_relation(1, 2, kMaxBlocksPerStep, 3)},
        {"rfill", {id, v, v, stride}, 0, T::none, range_relation(1, 2, kMaxBlocksPerStep, 3)},
        {"sfill", {id, v, v, stride, key}, 0, T::none, range_relation(1, 2, kMaxBlocksPerStep, 3)},
        {"punch", {id, v, v, stride}, 0, T::none, range_relation(1, 2)},
        {"squeeze", {id, v}},
        {"unmapnext", {id, v}},
        {"trim", {id}},
        {"commit", {}},
        {"cut", {}, 0, T::power_cut},
        {"reopen", {}},
        {"plan", {}, 0, T::fault_plan},
    };
    return out;
  }();
  return g;
}

const StepGrammar& cache_step_grammar() {
  static const StepGrammar g = [] {
    const ArgRange c{"cache block", 0, kMaxCacheBlocks - 1}, bit{"flag", 0, 1};
    using T = StepForm::Tail;
    StepGrammar out{
        {"resize", {{"cache blocks", 0, kMaxCacheBlocks}}},
        {"insert", {c, {"origin block", 0, kMaxOriginBlock}}},
        {"remove", {c}},
        {"dirty", {c, bit}},
        {"discards", {{"discard blocks", 0, kMaxDiscardBlocks}}},
        {"discard", {{"discard block", 0, kMaxDiscardBlocks - 1}, bit}},
        {"hints", {{"hint seed", 0, UINT32_MAX}}, 0, T::policy_name},
        {"stats", {{"read hits", 0, UINT32_MAX}, {"write misses", 0, UINT32_MAX}}},
        {"commit", {bit}},
        {"cut", {}, 0, T::power_cut},
        {"plan", {}, 0, T::fault_plan},
    };
    return out;
  }();
  return g;
}

}  // namespace pdsim::scenarios
