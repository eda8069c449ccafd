// decision.cpp: see decision.hpp.
#include "policy/decision.hpp"

namespace mxg::policy {

const char* to_string(verdict v) {
  switch (v) {
    case verdict::accept:
      return "accept";
    case verdict::tag:
      return "tag";
    case verdict::quarantine:
      return "quarantine";
    case verdict::tempfail:
      return "tempfail";
    case verdict::reject:
      return "reject";
  }
  return "accept";
}

std::optional<verdict> verdict_from_string(std::string_view s) {
  for (auto v :
       {verdict::accept, verdict::tag, verdict::quarantine, verdict::tempfail, verdict::reject})
    if (s == to_string(v)) return v;
  return std::nullopt;
}

bool txn_decisions::add(decision d) {
  all_.push_back(std::move(d));
  if (all_.size() == 1 || all_.back().action > all_[best_].action) {
    best_ = all_.size() - 1;
    return true;
  }
  return false;
}

const decision& txn_decisions::final() const {
  static const decision kAccept{};
  return all_.empty() ? kAccept : all_[best_];
}

}  // namespace mxg::policy
