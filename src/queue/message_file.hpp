// message_file.hpp: queue format B ("single"), one file per message, like Postfix's
// queue file (docs/queue.md, "Queue formats"):
//
//   messages/<id>.msg  = the message bytes as received (env.size bytes)
//                        + the envelope: a complete control file (envelope.hpp), written
//                          after the data because the session decides the quarantine /
//                          hold / policy fields only at the end of DATA
//                        + the trailer, one fixed-size line at the very end:
//                          "mxguard-end: <id> <envelope offset, 16 hex> <length, 8 hex>\n"
//   messages/<id>.st   = optional: the message's current envelope (same control file
//                        format), written (tmp + fsync + rename) only when delivery,
//                        hold or release changes something; when present it replaces
//                        the envelope of the .msg file as a whole (no merge rules).
//
// The reader finds the envelope from the trailer at the file's tail (one pread of
// kTrailerSize bytes, one of the envelope), so loading an envelope never reads the
// message. The file is written under tmp/, renamed into messages/ and then fsynced
// together with the directory (queue_dir.hpp): the end marker is the commit point; a
// file whose trailer, envelope or sizes do not agree (a write a crash interrupted
// before its 250, or damage) is never resumed (the scanner moves it to corrupt/).
//
// Security: the trailer and the envelope are parsed strictly (fuzz/queue_message_file.cpp):
// the trailer must repeat the envelope's id, its offset must equal the envelope's
// `size` (the message length), and offset + length + kTrailerSize must be the file size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "queue/envelope.hpp"
#include "queue/queue_id.hpp"

namespace mxg::queue {

inline constexpr std::string_view kTrailerTag = "mxguard-end: ";
// "mxguard-end: " + id + " " + 16 hex + " " + 8 hex + "\n"
inline constexpr std::size_t kTrailerSize =
    kTrailerTag.size() + kQueueIdLength + 1 + 16 + 1 + 8 + 1;

struct message_trailer {
  queue_id id;
  std::uint64_t env_offset = 0;  // = the message's length in bytes
  std::uint32_t env_length = 0;  // bytes of the envelope (control file text)
};

std::string format_trailer(const message_trailer& t);
// `tail` must be exactly the last kTrailerSize bytes of the file.
result<message_trailer> parse_trailer(std::string_view tail);

// What follows the message bytes in a .msg file: the envelope and the trailer.
// env.size must be the message length (it becomes the envelope offset).
std::string format_message_tail(const envelope& env);

// Checks an envelope read from a .msg file against its trailer and the file size and
// parses it (errc::parse_error with the reason).
result<envelope> parse_message_envelope(const message_trailer& t, std::string_view env_text,
                                        std::uint64_t file_size);

// A whole .msg file (tests, fuzzing): the envelope; the message is the first env.size bytes.
result<envelope> parse_message_file(std::string_view file);

}  // namespace mxg::queue
