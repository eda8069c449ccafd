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
  const decision& b = all_[best_];
  const decision& n = all_.back();
  // Stronger wins; on a tie the first stays unless it gives no reason and the new one does.
  if (all_.size() == 1 || n.action > b.action ||
      (n.action == b.action && b.reason.empty() && !n.reason.empty())) {
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
