// policy_protocol.cpp: libFuzzer target for the Postfix policy delegation request reader
// (src/policy/policy_protocol.hpp, SMTPD_POLICY_README) as the policy service drives it:
// the input is fed in reads whose sizes come from the input itself, every complete
// request goes through read_policy_request, and the reply formatter gets every value.
// Invariants checked (abort on violation): the same input fed byte by byte and in pieces
// gives the same requests and the same error state; every request respects the named
// bounds; a formatted reply is exactly one "action=..." line without control bytes
// followed by one empty line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy_protocol.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void check_reply(const std::string& r) {
  require(r.starts_with("action="));
  require(r.size() >= 9 && r.ends_with("\n\n"));
  std::string_view line(r.data(), r.size() - 2);
  require(line.size() - 7 <= mxg::policy::kPolicyMaxAction);
  for (unsigned char c : line) require(c >= 0x20 && c != 0x7f);
}

std::vector<mxg::policy::policy_attributes> drain(mxg::policy::policy_request_reader& r) {
  std::vector<mxg::policy::policy_attributes> v;
  while (auto a = r.next()) v.push_back(std::move(*a));
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mxg::policy;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Byte by byte, draining after each byte like the service (it answers what is ready
  // before reading on), so the pending-requests bound is never what stops it.
  policy_request_reader whole;
  std::vector<policy_attributes> a;
  bool ok_whole = true;
  for (std::size_t i = 0; i < in.size() && ok_whole; ++i) {
    ok_whole = whole.feed(in.substr(i, 1)).has_value();
    for (auto& x : drain(whole)) a.push_back(std::move(x));
  }

  // In pieces chosen by the input's bytes; at most 64 bytes, which cannot hold more than
  // kPolicyMaxPending requests (the shortest is "a=\n\n"), so both must agree.
  static_assert(64 < 4 * (kPolicyMaxPending + 1));
  policy_request_reader pieces;
  std::vector<policy_attributes> b;
  bool ok_pieces = true;
  std::size_t pos = 0, k = 0;
  while (pos < in.size() && ok_pieces) {
    std::size_t n = 1 + (static_cast<unsigned char>(in[k % in.size()]) % 64);
    ++k;
    ok_pieces = pieces.feed(in.substr(pos, n)).has_value();
    for (auto& x : drain(pieces)) b.push_back(std::move(x));
    pos += n;
  }
  require(ok_whole == ok_pieces);
  if (ok_whole) require(a == b);

  for (const auto& req : a) {
    require(!req.empty() && req.size() <= kPolicyMaxAttributes);
    std::size_t bytes = 0;
    for (const auto& [name, value] : req) {
      require(!name.empty() && name.size() <= kPolicyMaxName);
      require(name.size() + 1 + value.size() <= kPolicyMaxLine);
      require(value.find('\n') == std::string::npos && value.find('\0') == std::string::npos);
      bytes += name.size() + value.size() + 2;
      check_reply(format_policy_reply(value));
    }
    require(bytes <= kPolicyMaxRequest);
    auto r = read_policy_request(req);
    if (r) {
      check_reply(format_policy_reply("HOLD " + r->sender));
      check_reply(format_policy_reply(later_recipient_action("PREPEND " + r->helo_name)));
      (void)parse_listen_address(r->client_address);
    }
  }
  return 0;
}
