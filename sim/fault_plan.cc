// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/fault_plan.h"

#include <charconv>

#include <fmt/format.h>

#include "sim/rng.h"

namespace pdsim::sim {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  for (auto w : split(s, ' '))
    if (!trim(w).empty()) out.push_back(trim(w));
  return out;
}

template <typename T>
std::optional<T> parse_int(std::string_view s) {
  T v{};
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<Range> parse_range(std::string_view s) {
  auto dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto lo = parse_int<std::uint64_t>(s.substr(0, dash));
  if (!lo) return std::nullopt;
  Range r{*lo, std::nullopt};
  auto rest = s.substr(dash + 1);
  if (!rest.empty()) {
    auto hi = parse_int<std::uint64_t>(rest);
    if (!hi || *hi < *lo) return std::nullopt;
    r.hi = *hi;
  }
  return r;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_ratio(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto a = parse_int<std::uint64_t>(s.substr(0, slash));
  auto b = parse_int<std::uint64_t>(s.substr(slash + 1));
  if (!a || !b) return std::nullopt;
  return std::make_pair(*a, *b);
}

std::string range_text(const Range& r) {
  return r.hi ? fmt::format("{}-{}", r.lo, *r.hi) : fmt::format("{}-", r.lo);
}

// A rule or term as an error message shows it: cut when long, so the message stays one short line.
std::string shown(std::string_view text) {
  text = trim(text);
  if (text.size() <= 60) return std::string(text);
  return fmt::format("{}... ({} characters)", text.substr(0, 50), text.size());
}

Result<FaultRule> parse_rule(std::string_view text) {
  auto arrow = text.find("->");
  if (arrow == std::string_view::npos)
    return Error::invalid(fmt::format("fault rule '{}': missing '->'", shown(text)));
  FaultRule rule;
  Selector& sel = rule.selector;
  for (auto term : words(text.substr(0, arrow))) {
    auto eq = term.find('=');
    auto key = term.substr(0, eq);
    auto val = eq == std::string_view::npos ? std::string_view{} : term.substr(eq + 1);
    auto bad = [&] { return Error::invalid(fmt::format("fault rule '{}': bad selector term '{}'", shown(text), shown(term))); };
    if (eq == std::string_view::npos) {
      if (sel.kind || term == "any") {
        if (term != "any") return bad();
        continue;
      }
      if (term == "read") sel.kind = OpKind::read;
      else if (term == "write") sel.kind = OpKind::write;
      else if (term == "flush") sel.kind = OpKind::flush;
      else return bad();
    } else if (key == "nth") {
      auto n = parse_int<std::uint64_t>(val);
      if (!n || *n == 0) return bad();
      sel.nth = *n;
    } else if (key == "ops") {
      auto r = parse_range(val);
      if (!r) return bad();
      sel.ops = *r;
    } else if (key == "blocks") {
      auto r = parse_range(val);
      if (!r) return bad();
      sel.blocks = *r;
    } else if (key == "p") {
      auto r = parse_ratio(val);
      if (!r || r->second == 0 || r->first > r->second) return bad();
      sel.probability = *r;
    } else if (key == "flakey") {
      auto r = parse_ratio(val);
      if (!r || r->second == 0) return bad();
      sel.flakey = *r;
    } else {
      return bad();
    }
  }
  auto act_words = words(text.substr(arrow + 2));
  if (act_words.size() != 1)
    return Error::invalid(fmt::format("fault rule '{}': expected exactly one action", shown(text)));
  auto act = act_words[0];
  auto eq = act.find('=');
  auto name = act.substr(0, eq);
  auto val = eq == std::string_view::npos ? std::string_view{} : act.substr(eq + 1);
  bool has_val = eq != std::string_view::npos;
  auto bad_action = [&] { return Error::invalid(fmt::format("fault rule '{}': bad action '{}'", shown(text), shown(act))); };
  if (name == "error" && !has_val) rule.action = FaultAction::error;
  else if (name == "drop" && !has_val) rule.action = FaultAction::drop;
  else if (name == "lie" && !has_val) rule.action = FaultAction::lie;
  else if (name == "nospace" && !has_val) rule.action = FaultAction::nospace;
  else if (name == "flip" || name == "rot") {
    auto n = parse_int<std::int64_t>(val);
    if (!n || *n <= 0 || *n > 64) return bad_action();
    rule.action = name == "flip" ? FaultAction::flip : FaultAction::rot;
    rule.param = *n;
  } else if (name == "misdirect") {
    if (!val.empty() && val.front() == '+') val.remove_prefix(1);
    auto n = parse_int<std::int64_t>(val);
    if (!n || *n == 0) return bad_action();
    rule.action = FaultAction::misdirect;
    rule.param = *n;
  } else {
    return bad_action();
  }
  if (sel.kind && !action_applies(rule.action, *sel.kind))
    return Error::invalid(fmt::format("fault rule '{}': action '{}' does not apply to {} operations", shown(text),
                                      pdsim::sim::to_string(rule.action), pdsim::sim::to_string(*sel.kind)));
  if (sel.blocks && sel.kind == OpKind::flush)
    return Error::invalid(fmt::format("fault rule '{}': a flush has no block", shown(text)));
  return rule;
}

}  // namespace

std::string_view to_string(OpKind k) noexcept {
  switch (k) {
    case OpKind::read: return "read";
    case OpKind::write: return "write";
    case OpKind::flush: return "flush";
  }
  return "?";
}

std::string_view to_string(FaultAction a) noexcept {
  switch (a) {
    case FaultAction::none: return "none";
    case FaultAction::error: return "error";
    case FaultAction::drop: return "drop";
    case FaultAction::flip: return "flip";
    case FaultAction::rot: return "rot";
    case FaultAction::misdirect: return "misdirect";
    case FaultAction::lie: return "lie";
    case FaultAction::nospace: return "nospace";
  }
  return "?";
}

bool action_applies(FaultAction a, OpKind k) noexcept {
  switch (a) {
    case FaultAction::none: return false;
    case FaultAction::error: return true;
    case FaultAction::drop:
    case FaultAction::flip:
    case FaultAction::misdirect:
    case FaultAction::nospace: return k == OpKind::write;
    case FaultAction::rot: return k == OpKind::read;
    case FaultAction::lie: return k == OpKind::flush;
  }
  return false;
}

Result<FaultPlan> FaultPlan::parse(std::string_view line) {
  FaultPlan plan;
  // One line of printable text: anything else would also be echoed into the error message.
  for (std::size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c < 0x20 && c != '\t')
      return Error::invalid(fmt::format("fault plan: a control character (0x{:02x}) at column {}; a plan is one line",
                                        c, i + 1));
  }
  line = trim(line);
  if (line.empty() || line == "none") return plan;
  for (auto part : split(line, ';')) {
    if (trim(part).empty()) continue;
    PDSIM_TRY_ASSIGN(FaultRule rule, parse_rule(part));
    plan.rules_.push_back(std::move(rule));
  }
  return plan;
}

std::string FaultPlan::to_string() const {
  if (rules_.empty()) return "none";
  std::string out;
  for (const auto& r : rules_) {
    if (!out.empty()) out += "; ";
    const Selector& s = r.selector;
    out += s.kind ? std::string(pdsim::sim::to_string(*s.kind)) : "any";
    if (s.nth) out += fmt::format(" nth={}", *s.nth);
    if (s.ops) out += " ops=" + range_text(*s.ops);
    if (s.blocks) out += " blocks=" + range_text(*s.blocks);
    if (s.probability) out += fmt::format(" p={}/{}", s.probability->first, s.probability->second);
    if (s.flakey) out += fmt::format(" flakey={}/{}", s.flakey->first, s.flakey->second);
    out += " -> ";
    out += pdsim::sim::to_string(r.action);
    if (r.action == FaultAction::flip || r.action == FaultAction::rot) out += fmt::format("={}", r.param);
    if (r.action == FaultAction::misdirect) out += fmt::format("={}", r.param);
  }
  return out;
}

const FaultRule* FaultPlan::decide(const OpContext& op, Rng& rng) const {
  for (const auto& r : rules_) {
    const Selector& s = r.selector;
    if (s.kind && *s.kind != op.kind) continue;
    if (!action_applies(r.action, op.kind)) continue;
    if (s.nth && op.kind_count != *s.nth) continue;
    if (s.ops && !s.ops->contains(op.kind_count)) continue;
    if (s.blocks && (!op.block || !s.blocks->contains(*op.block))) continue;
    if (s.flakey) {
      std::uint64_t period = s.flakey->first + s.flakey->second;
      if ((op.op_count - 1) % period < s.flakey->first) continue;  // the "up" part of the cycle
    }
    if (s.probability && !rng.chance(s.probability->first, s.probability->second)) continue;
    return &r;
  }
  return nullptr;
}

}  // namespace pdsim::sim
