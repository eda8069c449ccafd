// smtp_path.cpp: libFuzzer target for the SMTP path parser (RFC 5321 4.1.2,
// src/smtp/path.hpp) and the relay decision that consumes its output.
// Input: arbitrary bytes taken as the text after "MAIL FROM:" / "RCPT TO:".
// Invariants checked (abort on violation):
//   - an accepted path re-parses from its own address() to the same address;
//   - the normalized domain has no upper-case ASCII and no trailing dot;
//   - the RFC 5321 4.5.3.1 limits hold (local part 64, domain 255);
//   - an untrusted relay acceptance never has %, ! or @ in the local part, a
//     quoted local part or an address literal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/path.hpp"
#include "smtp/relay.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void check(std::string_view text, mxg::smtp::path_kind kind, bool utf8) {
  using namespace mxg::smtp;
  auto r = parse_path(text, kind, path_options{.smtputf8 = utf8});
  auto pre = parse_path_prefix(text, kind, path_options{.smtputf8 = utf8});
  if (pre) require(pre->consumed <= text.size());
  if (!r) {
    require(!r.error().message.empty());
    return;
  }
  require(pre.has_value());
  const path& p = *r;
  require(p.local_part().size() <= 64);
  require(p.domain().size() <= 255);
  for (char c : p.domain()) require(!(c >= 'A' && c <= 'Z'));
  if (!p.domain().empty()) require(p.domain().back() != '.');
  if (!utf8) require(!p.is_utf8());
  // Round trip through the stored form.
  std::string again = "<" + p.address() + ">";
  if (p.is_null()) again = "<>";
  if (p.is_postmaster_only()) again = "<Postmaster>";
  auto r2 = parse_path(again, kind, path_options{.smtputf8 = utf8});
  require(r2.has_value());
  require(r2->address() == p.address());

  static const relay_domains domains{{"local.test", ".sub.local.test"}, {"relay.test"}, ""};
  relay_decision d = check_relay(p, domains, false);
  if (d.accepted() && !p.is_postmaster_only()) {
    const std::string local = p.local_part_unquoted();
    require(local.find_first_of("%!@") == std::string::npos);
    require(!p.local_part_quoted());
    require(!p.domain_is_literal());
    require(!local.empty());
  } else if (!d.accepted()) {
    require(d.refusal.code == 554);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto kind : {mxg::smtp::path_kind::reverse, mxg::smtp::path_kind::forward}) {
    check(text, kind, false);
    check(text, kind, true);
  }
  return 0;
}
