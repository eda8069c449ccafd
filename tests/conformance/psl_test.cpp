// psl_test.cpp: Public Suffix List conformance (psl.hpp) on the pinned copy in
// ../shared/conformance/psl (SOURCE.md: Debian publicsuffix 20230209.2326-1; the list is
// MPL-2.0, test_psl.txt CC0). Every active line `checkPublicSuffix(INPUT, EXPECTED);` of
// test_psl.txt is one case: registrable_domain(INPUT) must be EXPECTED (null = nullopt).
// U-label inputs and answers are compared in A-label form (to_a_label, IDNA 2008), which
// is the form DMARC compares in (RFC 9989 5.3.1). Skips: tests/conformance/psl-skips.txt,
// one reason each. The run fails if a case fails or if the file yields no case.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "dmarc/from.hpp"
#include "dmarc/psl.hpp"

namespace {

using namespace mxg::dmarc;

std::string dir() {
  return std::string(MXG_SHARED_DIR) + "/conformance/psl";
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool non_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

// A-label form when the text holds U-labels; as written otherwise (the list itself has
// to cope with case, leading dots and unlisted TLDs).
std::string as_queried(const std::string& s) {
  if (!non_ascii(s)) return s;
  auto a = to_a_label(s);
  return a ? *a : s;
}

std::map<std::string, std::string> load_skips() {
  std::map<std::string, std::string> m;
  std::istringstream in(read_all(std::string(MXG_SOURCE_DIR) + "/tests/conformance/psl-skips.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.find(' ');
    m[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  return m;
}

TEST(PslConformance, AllCases) {
  auto psl = public_suffix_list::load_file(dir() + "/public_suffix_list.dat");
  ASSERT_TRUE(psl) << psl.error().message;
  EXPECT_GT(psl->size(), 9000u);  // the 2023 list has about 9,400 rules
  auto skips = load_skips();
  std::istringstream in(read_all(dir() + "/test_psl.txt"));
  static const std::regex line_re(R"(^checkPublicSuffix\((null|'([^']*)'),\s*(null|'([^']*)')\);)");
  std::string line;
  int cases = 0, passed = 0, skipped = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, line_re)) continue;  // comments, commented-out cases
    ++cases;
    const bool in_null = m[1] == "null", out_null = m[3] == "null";
    const std::string input = in_null ? "" : m[2].str();
    const std::string key = in_null ? "null" : input;
    if (auto s = skips.find(key); s != skips.end()) {
      ++skipped;
      std::printf("skip %s: %s\n", key.c_str(), s->second.c_str());
      continue;
    }
    auto got = psl->registrable_domain(as_queried(input));
    if (out_null) {
      EXPECT_FALSE(got) << line << " gave " << got.value_or("");
      if (!got) ++passed;
    } else {
      const std::string want = as_queried(m[4].str());
      EXPECT_EQ(got.value_or("(null)"), want) << line;
      if (got && *got == want) ++passed;
    }
  }
  std::printf("psl conformance: %d cases, %d passed, %d skipped\n", cases, passed, skipped);
  EXPECT_EQ(cases, 78);  // SOURCE.md: 78 cases
  EXPECT_EQ(passed + skipped, cases);
}

TEST(PslConformance, PublicSuffixItself) {
  auto psl = public_suffix_list::load_file(dir() + "/public_suffix_list.dat");
  ASSERT_TRUE(psl);
  EXPECT_EQ(psl->public_suffix("www.city.kobe.jp"), "kobe.jp");  // !city.kobe.jp
  EXPECT_EQ(psl->public_suffix("b.c.kobe.jp"), "c.kobe.jp");     // *.kobe.jp
  EXPECT_EQ(psl->public_suffix("example.example"), "example");   // implicit *
  EXPECT_EQ(psl->public_suffix(".com"), "");
}

TEST(PslConformance, MissingFile) {
  auto psl = public_suffix_list::load_file(dir() + "/no-such-file.dat");
  ASSERT_FALSE(psl);
  EXPECT_EQ(psl.error().code, mxg::errc::io_error);
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
