// probe_output.hpp: the output of a probe report shared by `mxguard probe` and
// `mxguard ndr report --probe`: JSON (one object per report) and the transcript / summary
// lines of the text form. Peer bytes pass through printable() or the JSON encoder.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "delivery/probe.hpp"

namespace mxg::cli {

const char* yes_no(const std::optional<bool>& v);  // "yes", "no", "unknown"
nlohmann::json probe_json(const delivery::probe_report& r);
void print_transcript(const std::vector<delivery::exchange>& t, const char* indent);
// A few lines about one probed host for an abuse report: banner, rDNS, names, TLS.
std::string probe_summary(const delivery::probe_report& r, const std::string& indent);

}  // namespace mxg::cli
