// preflight.hpp: everything `mxguard serve` start-up tries, short of binding sockets
// and taking queue locks, so that `serve --check`, the start itself and every SIGHUP
// reload refuse the same broken configurations with the same messages (issue 16
// items 1 and 6):
//   - the routing table ([routing] table) loads (its own FILE:LINE inside the message);
//   - each listener's TLS certificate and key exist, are PEM, and belong together (the
//     web console's too, [console] tls_cert/tls_key);
//   - state_dir, queue directories, the control socket's and history's directories,
//     and the log file can be created (or exist and are writable);
//   - the control socket path fits a unix socket address;
//   - listener addresses can all be bound together (config.hpp listener_conflicts);
//   - the DNS resolver can be set up when a deliver-mode listener, [spf] or the
//     policy service needs it.
// Each problem is one line "FILE:LINE: message", FILE:LINE being the config line that
// names the thing (config::origin); nothing is created or changed on disk.
#pragma once

#include <asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "delivery/routing.hpp"
#include "gateway/config.hpp"

namespace mxg::gateway {

// Every problem found, one "FILE:LINE: message" each; empty: the config can start.
std::vector<std::string> preflight(const config& c);

// The routing table of `c` ([routing] table; an empty table, every message `mx`,
// when none is set). Errors: "CONFIG:LINE: routing.table: TABLE:LINE: message".
result<std::shared_ptr<const delivery::routing_table>> load_routing_table(const config& c);

// The STARTTLS server context of listener `l` (null when it has no certificate): the
// certificate chain and key are read as PEM and must match. Errors name the config
// line of tls_cert / tls_key.
result<std::shared_ptr<asio::ssl::context>> make_tls_context(const config& c,
                                                             const listener_config& l);

}  // namespace mxg::gateway
