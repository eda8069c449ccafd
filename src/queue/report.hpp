// report.hpp: how `mxguard queue list|show` render messages, as text (mailq-like)
// and as JSON. Kept in src/queue so the server's control socket (online mode) prints
// exactly what the offline CLI prints.
//
// Security: addresses, HELO and reply texts are peer input; the text forms print
// them escaped (envelope.hpp escape_value), so no control character reaches the
// terminal. JSON strings are escaped by nlohmann::json.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "queue/envelope.hpp"
#include "queue/queue_dir.hpp"

namespace mxg::queue {

// One object per message: id, created, sender, recipients[{address,status,reply,
// next_attempt}], client_ip, client_name, helo, listener, session, mode, attempts,
// next_attempt, size, body, smtputf8, extra{}.
nlohmann::json to_json(const envelope& env);
// {"messages":[...], "unreadable":[{"id":..,"error":..}], "count":N}
nlohmann::json to_json(const std::vector<listed_message>& list);

// Serializes for output. Peer bytes may be invalid UTF-8, on which plain dump() throws;
// this replaces them with U+FFFD instead. Indented by 2, ends with a newline.
std::string json_text(const nlohmann::json& j);

// mailq-like table: "ID  SIZE  CREATED  MODE  SENDER" then one indented line per
// recipient with its status; ends with a "-- N messages" summary.
std::string format_list(const std::vector<listed_message>& list);
// Every field of one message, one per line ("field: value").
std::string format_show(const envelope& env);

// Quarantine (issue 4 section 3): the gateway holds a message with the extra field
// "quarantine: <reason>". A quarantined message is one in hold mode with that field.
inline constexpr std::string_view kQuarantineExtra = "quarantine";
inline constexpr std::string_view kQuarantineReleasedExtra = "quarantine-released";
bool quarantined(const envelope& env);
// After a release: the field becomes "quarantine-released: <time> <reason>", so the
// message no longer reads as quarantined but keeps why it was. False when it was not
// quarantined (nothing changed).
bool mark_quarantine_released(envelope& env, time_point when);

}  // namespace mxg::queue
