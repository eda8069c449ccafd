// header.hpp: the one raw-header reader of mxguard (RFC 5322 2.1, 2.2, 2.2.3, 3.5).
// Splits a message's header block into fields without changing a byte: each field keeps
// its folding (CRLF or bare LF followed by WSP) exactly as received, so DKIM "simple"
// canonicalization (RFC 6376 3.4.1) can hash it as is. Also finds the header/body
// boundary (the first empty line, RFC 5322 3.5) with CRLF or bare-LF line ends.
// Module mail/ sits just above base/: DKIM uses it; gateway/header_scan and ndr/ may
// move onto it later. It never allocates per byte and never throws.
// Security: the input is peer data. The reader only makes views into it; the number
// of fields kept is capped (max_fields, default kHeaderFieldsMax); lines that are neither
// a field nor a continuation are counted and skipped, never guessed at.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mxg::mail {

inline constexpr std::size_t kHeaderLineMax = 998;       // RFC 5322 2.1.1 (reported, not cut)
inline constexpr std::size_t kHeaderFieldsMax = 10'000;  // our cap on fields kept per message

struct field {
  std::string_view raw;    // the whole field: name, colon, value with folding, final line end
  std::string_view name;   // bytes before the colon, trailing WSP removed (obs-optional, 4.5)
  std::string_view value;  // bytes after the colon up to (not including) the final line end
  std::size_t offset = 0;  // where raw starts in the input
};

struct header_block {
  std::vector<field> fields;    // in message order (top first)
  std::size_t body_offset = 0;  // first byte of the body (after the empty line); input size if none
  bool complete = false;        // the empty line that ends the header block was seen
  bool truncated = false;       // more than max_fields fields: the rest were not kept
  std::size_t malformed_lines = 0;  // lines with no colon / a bad name / continuation at start
  std::size_t long_lines = 0;       // lines over kHeaderLineMax bytes (without the line end)
};

// Reads the header block at the start of `message` (a whole message or just its header).
// Line ends may be CRLF or bare LF; a bare CR is an ordinary byte. Views point into
// `message`, which must outlive the result.
header_block read_header(std::string_view message, std::size_t max_fields = kHeaderFieldsMax);

// The offset of the body in `data` (just after the empty line ending the header), or
// npos when the header has not ended within `data`. A message starting with an empty
// line has an empty header and body_offset 1 or 2.
std::size_t find_body_offset(std::string_view data);

// RFC 5322 2.2.3 unfolding: every line end directly followed by WSP is removed.
std::string unfold(std::string_view value);

// Field names compare case-insensitively (RFC 5322 1.2.2).
bool name_is(const field& f, std::string_view name);

// Appends `in` to `out` turning every bare LF into CRLF (a CR already before an LF is
// kept; the last byte of `out` is looked at, so a CR/LF pair split across calls is seen). Used to
// give CRLF-only views to readers that hash bytes (DKIM).
void append_crlf(std::string& out, std::string_view in);

}  // namespace mxg::mail
