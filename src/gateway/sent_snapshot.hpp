// sent_snapshot.hpp: the outbound-history answers fetched through the history writer
// (history_writer::async_sent) as a read-only store::history, so policy::judge can run
// off the writer's thread: the after-DATA bounce judgement (backscatter_filter.cpp) and
// the console's backscatter report (admin_insight.cpp). Only sent_message_id / sent_to
// answer; every other call is empty or an error.
#pragma once

#include <memory>

#include "gateway/history_writer.hpp"
#include "store/history.hpp"

namespace mxg::gateway {

std::unique_ptr<store::history> sent_snapshot(sent_facts f);

}  // namespace mxg::gateway
