// canon.hpp: DKIM canonicalization (RFC 6376 3.4), header and body, shared with ARC
// (RFC 8617 uses the same algorithms for ARC-Message-Signature and ARC-Seal).
//   header simple  (3.4.1): the field exactly as received (CRLF line ends)
//   header relaxed (3.4.2): name lower-cased, unfolded, WSP runs -> one SP, WSP around the
//                           colon and at the end removed, then CRLF
//   body simple    (3.4.3): trailing empty lines removed; an empty body becomes one CRLF
//   body relaxed   (3.4.4): WSP at line ends removed, WSP runs -> one SP, trailing empty
//                           lines removed; an empty body stays empty
// The body side streams: body_hasher takes the body in chunks of any size (CRLF or bare
// LF line ends; a chunk may end inside a line or between CR and LF), keeps O(1) state
// plus a small output buffer, and stops hashing after l= bytes (3.5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dkim/crypto.hpp"
#include "dkim/types.hpp"

namespace mxg::dkim {

// Appends the canonical form of one header field to `out`. `raw` is the whole field as
// received with CRLF line ends (mail::field::raw after CRLF normalization), `name` its
// name and `value` the bytes after the colon (no final CRLF). With `final_crlf` false
// the trailing CRLF is left out (the DKIM-Signature field itself, RFC 6376 3.7).
void canon_header(canon c, std::string_view raw, std::string_view name, std::string_view value,
                  std::string& out, bool final_crlf = true);

class body_hasher {
 public:
  body_hasher(canon c, hash_alg h, std::optional<std::uint64_t> limit);
  void update(std::string_view chunk);
  // Ends the body; returns the digest. canonical_length() then says how many canonical
  // bytes the whole body had (to judge an l= beyond it).
  std::string finish();
  std::uint64_t canonical_length() const { return total_; }
  canon method() const { return c_; }
  hash_alg hash() const { return h_; }
  std::optional<std::uint64_t> limit() const { return limit_; }

 private:
  void emit(const char* p, std::size_t n);
  void emit_crlfs(std::uint64_t n);
  void flush();
  void content(char ch);
  void content_run(const char* p, std::size_t n);
  void end_line();

  canon c_;
  hash_alg h_;
  std::optional<std::uint64_t> limit_;
  hasher hash_;
  std::uint64_t total_ = 0;          // canonical bytes produced (hashed or beyond l=)
  std::uint64_t hashed_ = 0;         // canonical bytes hashed
  std::uint64_t pending_empty_ = 0;  // empty lines not yet known to be inside the body
  bool have_cr_ = false;             // a CR was the last input byte
  bool line_started_ = false;        // the current line has content
  bool pending_wsp_ = false;         // relaxed: WSP seen, not yet emitted
  std::string buf_;                  // output buffer before the digest
};

}  // namespace mxg::dkim
