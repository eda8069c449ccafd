// web_request_token.cpp: libFuzzer target for the release-request link check
// (src/web/request_token.hpp, issue 11): the id, recipient and token of a link come from
// the query string or a form, i.e. from anyone.
// Invariants checked (abort on violation): request_token_ok never accepts a token that
// is not the token of its own (id, recipient); the token of a valid id and recipient
// always verifies; is_recipient of a list holding the value accepts it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/queue_id.hpp"
#include "web/request_token.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace mxg::web;
  const std::string key = "fuzz-key-0123456789abcdef0123456789abcdef";
  // Split the input into id, recipient and token at the first two NULs.
  auto a = in.find('\0');
  auto b = a == std::string_view::npos ? a : in.find('\0', a + 1);
  std::string_view id = in.substr(0, a);
  std::string_view rcpt = a == std::string_view::npos ? "" : in.substr(a + 1, b - a - 1);
  std::string_view token = b == std::string_view::npos ? "" : in.substr(b + 1);
  if (request_token_ok(key, id, rcpt, token)) {
    require(mxg::queue::queue_id::valid(id));
    std::string t(token);
    for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    require(t == request_token(key, id, rcpt));
  }
  if (mxg::queue::queue_id::valid(id) && !rcpt.empty() && rcpt.size() <= kRecipientMax)
    require(request_token_ok(key, id, rcpt, request_token(key, id, rcpt)));
  if (!rcpt.empty() && rcpt.find(',') == std::string_view::npos)
    require(is_recipient("x@y.test," + std::string(rcpt), rcpt));
  (void)url_encode(in);
  return 0;
}
