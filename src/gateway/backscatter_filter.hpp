// backscatter_filter.hpp: the gateway's glue around the backscatter filter of
// policy/backscatter_filter.hpp (issue 4 section 3; the judgement is policy since
// issue 9 section 1). It adds one thing the policy floor cannot have: the after-DATA
// bounce judgement with the outbound history asked through the server's history writer
// (SQLite never runs on the io thread); the answers are judged as a read-only snapshot.
// The policy names are re-exported here so the gateway (session, server, config) keeps
// spelling them gateway::backscatter_filter, bs_action, bs_decision, ...
// Every decision is a value: the session asks the filter held by its listener (swapped
// on SIGHUP reload) at RCPT and after DATA, adds each decision to the transaction's
// policy::txn_decisions and records it in the history like any other decision.
// Security: the message comes from the outside; parsing is bounded by the NDR parser's
// limits and nothing here throws.
#pragma once

#include <asio/awaitable.hpp>

#include <string_view>

#include "dns/resolver.hpp"
#include "policy/backscatter_filter.hpp"

namespace mxg::gateway {

class history_writer;

using policy::backscatter_config;
using policy::backscatter_header;
using policy::bs_action;
using policy::bs_action_from_string;
using policy::bs_decision;
using policy::txn_decision;

class backscatter_filter : public policy::backscatter_filter {
 public:
  using policy::backscatter_filter::backscatter_filter;
  using policy::backscatter_filter::check_bounce;

  // check_bounce() with the outbound history asked through the history writer's thread
  // (the server's form). A full writer queue means no history evidence, not a wait.
  asio::awaitable<bs_decision> check_bounce(std::string_view message, history_writer& history,
                                            dns::resolver* res) const;
};

}  // namespace mxg::gateway
