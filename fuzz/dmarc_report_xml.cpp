// dmarc_report_xml.cpp: libFuzzer target for the DMARC report readers (dmarc/report.hpp,
// dmarc/report_arf.hpp): the aggregate-report XML reader on the raw bytes, the container
// path (sniffing, gzip, zip, MIME) on the same bytes, and the ARF reader. Any crash,
// sanitizer report, leak or uncaught exception is a bug: every byte string must give a
// report or an error. Also checks an invariant: what the writer makes of a parsed report
// parses again (the writer never emits XML the reader refuses).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dmarc/report.hpp"
#include "dmarc/report_arf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto f = mxg::dmarc::parse_xml(in);
  if (f) {
    if (f->records.size() > mxg::dmarc::kReportRecordsMax) __builtin_trap();
    auto again = mxg::dmarc::parse_xml(mxg::dmarc::to_xml(*f));
    if (!again) __builtin_trap();  // our own output must always read back
    if (again->records.size() != f->records.size()) __builtin_trap();
  }
  auto pf = mxg::dmarc::parse_report_data(in, "fuzz");
  if (pf && pf->reports.size() != pf->names.size()) __builtin_trap();
  auto arf = mxg::dmarc::parse_arf(in);
  (void)arf;
  (void)mxg::dmarc::parse_report_filename(in);
  return 0;
}
