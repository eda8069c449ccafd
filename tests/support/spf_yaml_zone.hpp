// spf_yaml_zone.hpp: loads the zonedata of an openspf YAML scenario into a
// dns::memory_zone, following EXACTLY the harness rules of pyspf's testspf.py as
// written down in ../shared/conformance/spf/SOURCE.md ("How pyspf's harness gives the
// zonedata meaning"):
//   * owner names lower-cased; entries keep their order;
//   * TXT/SPF: a string is one character-string, a list is one RR of several strings
//     (joined by SPF with no separator), [] is an RR with no strings; strings are kept
//     as raw bytes (yaml-cpp yields UTF-8 for \xNN escapes, as pyspf does; NUL kept);
//   * SPF->TXT copying: an owner with NO TXT entry at all gets every SPF entry again as
//     a TXT RR, appended AFTER all listed entries (including any TIMEOUT);
//   * "TXT: NONE" is no record but counts as a TXT entry (turns the copying off);
//   * a bare "TIMEOUT" item is a timeout marker at that point of the owner's list
//     (memory_zone implements the ordering rule).
// Security: test data only; unknown entry types throw std::runtime_error.
#pragma once

#include <yaml-cpp/yaml.h>

#include "dns/memory_zone.hpp"

namespace mxg::test {

// Adds every owner of `zonedata` (a YAML map) to `zone`. Throws on malformed entries.
void load_spf_zonedata(const YAML::Node& zonedata, dns::memory_zone& zone);

}  // namespace mxg::test
