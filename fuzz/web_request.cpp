// web_request.cpp: libFuzzer target for what the web console reads from a browser
// (src/web/request.hpp): the Cookie header, the JSON bodies (login, ids, fields), ages,
// the helpdesk visibility rule and the message split of the body view.
// Invariants checked (abort on violation): a cookie value found is a substring of the
// header and holds no ';'; parsed ids are valid queue ids, at most kIdsMax; login fields
// are non-empty and within their caps; a field is within its cap; an age is within ten
// years; a split message's parts are no longer than the input and the body within max.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "queue/queue_id.hpp"
#include "web/request.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace mxg::web;
  if (auto c = cookie_value(in, "mxg_session")) {
    require(in.find(*c) != std::string_view::npos);
    require(c->find(';') == std::string::npos);
  }
  if (auto l = parse_login(in)) {
    require(!l->user.empty() && l->user.size() <= 64);
    require(!l->password.empty() && l->password.size() <= 1024);
  }
  for (bool empty_ok : {false, true}) {
    if (auto ids = parse_ids(in, empty_ok)) {
      require(ids->size() <= kIdsMax);
      require(empty_ok || !ids->empty());
      for (const auto& id : *ids) require(mxg::queue::queue_id::valid(id));
    }
  }
  if (auto f = parse_field(in, "domain", 255)) require(f->size() <= 255);
  if (auto a = parse_age(in)) require(*a >= 0 && *a <= 3650ll * 86400);
  (void)visible_to({"example.com", "b.test"}, in);
  require(csrf_ok("GET", in, "t"));
  require(!csrf_ok("POST", in, "") && csrf_ok("POST", in, in) == !in.empty());
  (void)address_domain(in);
  auto parts = split_message(in, 64);
  require(parts.headers.size() <= in.size() && parts.body.size() <= 64);
  return 0;
}
