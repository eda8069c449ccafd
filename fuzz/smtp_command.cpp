// smtp_command.cpp: libFuzzer target for the SMTP command parser and the whole
// I/O-free server core (src/smtp/command.hpp, session.hpp, data.hpp) driven by
// the byte-exact test driver, as the gateway drives it.
// Input: the first line alone goes to parse_command (its reply must be a
// well-formed 4yz/5yz); the whole input is then fed to a session as client
// bytes, cut into reads at positions chosen by the input itself.
// Invariants checked (abort on violation): every byte the server writes is a
// sequence of well-formed reply lines "DDD[- ]text\r\n" without control bytes;
// nothing is written after a close; accepted MAIL/RCPT addresses re-parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../tests/unit/smtp/fake_driver.hpp"
#include "smtp/command.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// "DDD-text\r\n"* "DDD text\r\n", code 2yz..5yz, text without control bytes
// (the fake driver's "[TLS]" marker is skipped).
void check_replies(std::string_view out) {
  std::size_t pos = 0;
  while (pos < out.size()) {
    if (out.substr(pos, 5) == "[TLS]") {
      pos += 5;
      continue;
    }
    std::size_t eol = out.find("\r\n", pos);
    require(eol != std::string_view::npos);
    std::string_view line = out.substr(pos, eol - pos);
    require(line.size() >= 4);
    require(line[0] >= '2' && line[0] <= '5');
    require(line[1] >= '0' && line[1] <= '9' && line[2] >= '0' && line[2] <= '9');
    require(line[3] == ' ' || line[3] == '-');
    for (char ch : line) {
      auto c = static_cast<unsigned char>(ch);
      require(c >= 0x20 && c != 0x7f);
    }
    pos = eol + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mxg::smtp;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // 1. The parser alone, on the first line.
  std::string_view first = in.substr(0, in.find('\n'));
  if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
  auto c = parse_command(first);
  if (!c) {
    require(c.error().code >= 500 && c.error().code <= 555);
    check_replies(c.error().format());
  } else if (c->v == verb::mail || c->v == verb::rcpt) {
    std::string again = (c->v == verb::mail ? "MAIL FROM:<" : "RCPT TO:<") + c->address.address() +
                        ">" + (c->params.smtputf8 ? " SMTPUTF8" : "");
    if (c->address.is_postmaster_only()) again = "RCPT TO:<Postmaster>";
    auto c2 = parse_command(again);
    require(c2.has_value() && c2->address.address() == c->address.address());
  }

  // 2. A whole session on the input, with small limits to reach them.
  session_config cfg = testing::fake_driver::default_config();
  cfg.max_message_size = 300;
  cfg.max_recipients = 3;
  cfg.max_errors = 20;
  cfg.tls_available = size > 0 && (data[0] & 1);
  data_limits dl{
      .max_size = 300,
      .max_line = 100,
      .bare = (size > 0 && (data[0] & 2)) ? bare_line_end::normalize : bare_line_end::reject};
  testing::fake_driver d(cfg, {}, dl, size > 0 && (data[0] & 4));
  d.connect();
  // Read sizes from the input's own bytes so every split gets explored.
  std::size_t pos = 0, k = 0;
  while (pos < in.size() && !d.closed()) {
    std::size_t n = 1 + (static_cast<unsigned char>(in[k % in.size()]) % 64);
    ++k;
    d.feed(in.substr(pos, n));
    pos += n;
  }
  check_replies(d.output());
  for (const auto& m : d.queued()) {
    require(m.recipients.size() <= 3);
    require(m.body.size() <= 300);
  }
  return 0;
}
