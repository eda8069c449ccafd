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
// The pieces of format_list: the header line, one message, the summary line.
std::string format_list_header();
std::string format_list_entry(const listed_message& m);
std::string format_list_summary(std::size_t messages, std::size_t unreadable);

// `queue list` over one or more queues, produced in pieces so that neither the CLI nor
// the server's control socket holds the whole listing (issue 16 item 5): memory is the
// sorted ids of the queue being read (queue_dir::ids(), 18 bytes a message), one
// envelope at a time, the piece being built and the unreadable entries (JSON only).
// Output, the same online and offline:
//   text: per queue, "queue PATH:" (only when there are several), format_list's header,
//         its lines and its summary;
//   json: {"messages":[to_json(env) + "queue": PATH, ...], "unreadable":[{"id","error",
//         "queue"}], "count":N}, laid out as json_text() lays it out.
// A message deleted between the directory read and its load is left out (it is gone).
// next() does blocking file I/O: the server calls it on a worker thread (control.cpp).
inline constexpr std::size_t kListPiece = 64 * 1024;  // bytes of output per piece (about)
class list_stream {
 public:
  list_stream(std::vector<const queue_dir*> queues, bool json);
  // The next piece (at least one message's worth unless done); "" once done().
  result<std::string> next(std::size_t piece = kListPiece);
  bool done() const noexcept { return finished_; }
  std::size_t messages() const noexcept { return total_; }
  std::size_t unreadable() const noexcept { return total_bad_; }

 private:
  std::string finish();
  std::vector<const queue_dir*> queues_;
  bool json_;
  std::size_t qi_ = 0;
  bool in_queue_ = false;
  std::vector<id_key> ids_;
  std::size_t pos_ = 0, n_ = 0, bad_ = 0;
  std::size_t total_ = 0, total_bad_ = 0;
  nlohmann::json unreadable_ = nlohmann::json::array();
  bool finished_ = false;
};

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
