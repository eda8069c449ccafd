// dkim_body_canon.cpp: libFuzzer target for DKIM body canonicalization (RFC 6376 3.4.3
// simple, 3.4.4 relaxed; src/dkim/canon.cpp's body_hasher, whose fast path scans 16
// bytes at a time). Differential: the input (after its first byte, which picks a chunk
// size) is fed to body_hasher in chunks and whole, for both methods, and each digest
// must equal the digest of the canonical body computed here by the RFC's rules written
// out plainly, with the verifier's reading of line ends (CRLF or a bare LF ends a line,
// a bare CR is an ordinary byte; a missing final line end is added). Aborts on any
// difference.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canon.hpp"
#include "dkim/crypto.hpp"

namespace {
using namespace mxg::dkim;

std::vector<std::string> lines_of(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool open = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    if (s[i] == '\n') {
      out.push_back(cur);
      cur.clear();
      open = false;
      continue;
    }
    cur += s[i];
    open = true;
  }
  if (open) out.push_back(cur);  // 3.4.3/3.4.4: a missing final CRLF is added
  return out;
}

std::string canonical(canon c, std::string_view body) {
  std::vector<std::string> lines = lines_of(body);
  if (c == canon::relaxed) {
    for (auto& l : lines) {  // 3.4.4 a, b: WSP runs -> one SP, none at the end
      std::string r;
      for (std::size_t i = 0; i < l.size(); ++i) {
        if (l[i] == ' ' || l[i] == '\t') {
          while (i + 1 < l.size() && (l[i + 1] == ' ' || l[i + 1] == '\t')) ++i;
          r += ' ';
        } else {
          r += l[i];
        }
      }
      while (!r.empty() && r.back() == ' ') r.pop_back();
      l = r;
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();  // 3.4.3, 3.4.4 c
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  if (c == canon::simple && out.empty()) out = "\r\n";  // 3.4.3: an empty body is CRLF
  return out;
}

std::string digest(std::string_view s) {
  hasher h(hash_alg::sha256);
  h.update(s);
  return h.final();
}

std::string body_digest(canon c, std::string_view body, std::size_t chunk) {
  body_hasher b(c, hash_alg::sha256, std::nullopt);
  for (std::size_t i = 0; i < body.size(); i += chunk) {
    std::string piece(body.substr(i, chunk));  // its own allocation: ASan sees overreads
    b.update(piece);
  }
  return b.finish();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 40;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (canon c : {canon::relaxed, canon::simple}) {
    const std::string want = digest(canonical(c, body));
    if (body_digest(c, body, chunk) != want) std::abort();
    if (body_digest(c, body, body.size() + 1) != want) std::abort();
  }
  return 0;
}
