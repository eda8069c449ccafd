// queue_run.hpp: the offline `mxguard queue run [ID...]` (issue 3, section 6): delivers
// the queue (or the given ids) once with src/delivery and prints per-recipient outcomes.
// The `queue` command itself lives in queue.cpp; it calls these two functions.
#pragma once

#include <string>
#include <vector>

#include "cli/registry.hpp"
#include "queue/queue_dir.hpp"

namespace mxg::cli {

// Adds the delivery options of `queue run`: --routes FILE, --dns HOST:PORT / --zone FILE
// (see dns_flags.hpp), --hostname NAME, --no-dsn, --no-starttls, --connect-timeout S.
void add_queue_run_options(CLI::App* run);

// Delivers the messages `ids` (empty: all) of the locked queues once (like
// `postqueue -f` / `sendmail -q`, ignoring the retry backoff; held messages stay).
// Prints one line per recipient (or JSON); returns the exit status: 0 when the run
// completed, 1 when an id was not found or a message could not be read, 2 usage/config.
int queue_run_offline(const std::vector<mxg::queue::queue_dir*>& queues,
                      const std::vector<std::string>& ids, bool json);

}  // namespace mxg::cli
