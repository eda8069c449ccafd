// default_config.cpp: conf/mxguard.toml compiled into the binary, so that
// `mxguard serve` without --config runs exactly what `make run` runs.
// The assembler includes the file bytes (.incbin) with a terminating NUL; CMake
// lists the file as a dependency of this object (OBJECT_DEPENDS).
#include <cstring>

#include "gateway/config.hpp"

__asm__(
    ".section .rodata\n"
    ".global mxg_gateway_default_config\n"
    ".type mxg_gateway_default_config, @object\n"
    "mxg_gateway_default_config:\n"
    ".incbin \"" MXG_SOURCE_DIR
    "/conf/mxguard.toml\"\n"
    ".byte 0\n"
    ".previous\n");

extern "C" const char mxg_gateway_default_config[];

namespace mxg::gateway {

std::string_view embedded_default_config() {
  return std::string_view(mxg_gateway_default_config, std::strlen(mxg_gateway_default_config));
}

}  // namespace mxg::gateway
