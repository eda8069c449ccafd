// queue_message_file.cpp: libFuzzer target for the format B queue file parser
// (src/queue/message_file.hpp: message bytes, envelope, fixed-size end marker). Queue
// files are read back after crashes and may have been cut or edited by hand; the
// envelope's values came from SMTP peers. Checks: no crash, no UB, and every accepted
// file round-trips: the first env.size bytes followed by format_message_tail(env) is
// accepted as the same envelope, and dropping its last byte is refused.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/message_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto env = mxg::queue::parse_message_file(in);
  if (!env) return 0;
  if (env->size > in.size()) std::abort();
  std::string again = std::string(in.substr(0, env->size)) + mxg::queue::format_message_tail(*env);
  auto back = mxg::queue::parse_message_file(again);
  if (!back || !(*back == *env)) std::abort();
  if (mxg::queue::parse_message_file(std::string_view(again).substr(0, again.size() - 1)))
    std::abort();
  return 0;
}
