// canon.cpp: RFC 6376 3.4.1-3.4.4 canonicalization, 3.5 l=. See canon.hpp.
#include "dkim/canon.hpp"

#include "base/ascii.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mxg::dkim {

namespace {
bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}
constexpr std::size_t kBodyBufferMax = 16 * 1024;

// "Ordinary" body bytes, one table per method: not CR or LF, and for relaxed not WSP
// either.
struct plain_table {
  bool v[256];
  constexpr explicit plain_table(bool relaxed) : v{} {
    for (int c = 0; c < 256; ++c)
      v[c] = c != '\r' && c != '\n' && !(relaxed && (c == ' ' || c == '\t'));
  }
};
constexpr plain_table kPlainSimple{false};
constexpr plain_table kPlainRelaxed{true};

// Skips, 16 bytes at a time, the bytes the fast path in body_hasher::update() keeps in a
// run: not CR or LF, and for relaxed not a TAB and not an SP followed by WSP, CR or LF
// (an SP followed by an ordinary byte stays). Returns the first byte that is not such a
// byte, or where fewer than 17 bytes are left (the scalar loop finishes). Reads u[j..n).
std::size_t skip_ordinary(const unsigned char* u, std::size_t j, std::size_t n, bool relaxed) {
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
  const __m128i tab = _mm_set1_epi8('\t'), sp = _mm_set1_epi8(' ');
  while (j + 17 <= n) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u + j));
    __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf));
    if (relaxed) {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u + j + 1));
      const __m128i next_ws =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, cr), _mm_cmpeq_epi8(b, lf)),
                       _mm_or_si128(_mm_cmpeq_epi8(b, tab), _mm_cmpeq_epi8(b, sp)));
      bad = _mm_or_si128(bad, _mm_cmpeq_epi8(a, tab));
      bad = _mm_or_si128(bad, _mm_and_si128(_mm_cmpeq_epi8(a, sp), next_ws));
    }
    if (const auto m = static_cast<unsigned>(_mm_movemask_epi8(bad)); m != 0)
      return j + static_cast<std::size_t>(__builtin_ctz(m));
    j += 16;
  }
#else
  (void)u;
  (void)n;
  (void)relaxed;
#endif
  return j;
}
}  // namespace

void canon_header(canon c, std::string_view raw, std::string_view name, std::string_view value,
                  std::string& out, bool final_crlf) {
  if (c == canon::simple) {
    std::string_view r = raw;
    if (r.size() >= 2 && r.substr(r.size() - 2) == "\r\n") r.remove_suffix(2);
    out.append(r);
    if (final_crlf) out += "\r\n";
    return;
  }
  for (char ch : name) out += ascii::to_lower(ch);
  out += ':';
  bool wsp = false, any = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char ch = value[i];
    if (ch == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {  // unfold (3.4.2)
      ++i;
      continue;
    }
    if (ch == '\n') continue;  // a bare LF cannot remain in a CRLF-normalized field
    if (is_wsp(ch)) {
      wsp = true;
      continue;
    }
    if (wsp && any) out += ' ';
    wsp = false;
    any = true;
    out += ch;
  }
  if (final_crlf) out += "\r\n";
}

body_hasher::body_hasher(canon c, hash_alg h, std::optional<std::uint64_t> limit)
    : c_(c), h_(h), limit_(limit), hash_(h) {
  buf_.reserve(kBodyBufferMax);
}

void body_hasher::emit(const char* p, std::size_t n) {
  total_ += n;
  if (limit_) {
    if (hashed_ >= *limit_) return;
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, *limit_ - hashed_));
  }
  hashed_ += n;
  buf_.append(p, n);
  if (buf_.size() >= kBodyBufferMax) flush();
}

void body_hasher::emit_crlfs(std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) emit("\r\n", 2);
}

void body_hasher::flush() {
  hash_.update(buf_);
  buf_.clear();
}

void body_hasher::content(char ch) {
  if (c_ == canon::relaxed && is_wsp(ch)) {
    pending_wsp_ = true;
    return;
  }
  if (!line_started_) {
    emit_crlfs(pending_empty_);  // the empty lines were inside the body after all
    pending_empty_ = 0;
    line_started_ = true;
  }
  if (pending_wsp_) {
    emit(" ", 1);
    pending_wsp_ = false;
  }
  emit(&ch, 1);
}

void body_hasher::end_line() {
  pending_wsp_ = false;  // relaxed: WSP at the end of a line is removed (3.4.4 a)
  if (line_started_) {
    emit("\r\n", 2);
    line_started_ = false;
  } else {
    ++pending_empty_;  // dropped if only empty lines follow (3.4.3, 3.4.4 b)
  }
}

void body_hasher::content_run(const char* p, std::size_t n) {
  if (!line_started_) {
    emit_crlfs(pending_empty_);
    pending_empty_ = 0;
    line_started_ = true;
  }
  if (pending_wsp_) {
    emit(" ", 1);
    pending_wsp_ = false;
  }
  emit(p, n);
}

void body_hasher::update(std::string_view chunk) {
  const bool relaxed = c_ == canon::relaxed;
  const bool* const tbl = relaxed ? kPlainRelaxed.v : kPlainSimple.v;
  const auto* const u = reinterpret_cast<const unsigned char*>(chunk.data());
  auto plain = [tbl](char ch) { return tbl[static_cast<unsigned char>(ch)]; };
  std::size_t i = 0;
  const std::size_t n = chunk.size();
  while (i < n) {
    char ch = chunk[i];
    if (relaxed && !have_cr_ && is_wsp(ch)) {
      // Relaxed (3.4.4 b): a run of WSP is one pending SP, whatever its length; exactly
      // what content() does for each of its bytes.
      pending_wsp_ = true;
      for (++i; i < n && is_wsp(chunk[i]); ++i) {
      }
      continue;
    }
    if (!have_cr_ && plain(ch)) {  // fast path: a run of ordinary bytes is emitted at once
      std::size_t j = i + 1;
      // Relaxed (3.4.4 b): a single SP between two ordinary bytes canonicalizes to itself,
      // so it stays in the run; a longer WSP run, a tab, or an SP at the end of the chunk
      // or the line leaves the fast path. (Byte j may stay when it is ordinary, or an SP
      // followed by an ordinary byte; computed without a branch per SP, which text makes
      // unpredictable. The byte before j is always ordinary here.)
      const unsigned sp = relaxed ? ' ' : 256;  // never equal to a byte for simple
      j = skip_ordinary(u, j, n, relaxed);
      while (j + 1 < n && (tbl[u[j]] | ((u[j] == sp) & tbl[u[j + 1]]))) ++j;
      if (j + 1 == n && tbl[u[j]]) ++j;
      content_run(chunk.data() + i, j - i);
      i = j;
      continue;
    }
    ++i;
    if (have_cr_) {
      have_cr_ = false;
      if (ch == '\n') {
        end_line();
        continue;
      }
      content('\r');  // a bare CR is an ordinary byte
    }
    if (ch == '\r') {
      have_cr_ = true;
    } else if (ch == '\n') {
      end_line();  // a bare LF ends a line like CRLF
    } else {
      content(ch);
    }
  }
}

std::string body_hasher::finish() {
  if (have_cr_) {
    have_cr_ = false;
    content('\r');
  }
  if (line_started_) end_line();  // a missing final CRLF is added (3.4.3, 3.4.4)
  if (c_ == canon::simple && total_ == 0) emit("\r\n", 2);  // empty body -> CRLF (3.4.3)
  flush();
  return hash_.final();
}

}  // namespace mxg::dkim
