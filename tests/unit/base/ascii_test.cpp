// ascii_test.cpp: base/ascii.hpp's hex encoder (two lower-case digits per byte).
#include "base/ascii.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mxg::ascii {
namespace {

TEST(AsciiHex, TwoLowerCaseDigitsPerByteHighNibbleFirst) {
  EXPECT_EQ(hex_lower(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
  EXPECT_EQ(hex_lower(std::string("\x10\x01", 2)), "1001");
  EXPECT_EQ(hex_lower(""), "");
}

}  // namespace
}  // namespace mxg::ascii
