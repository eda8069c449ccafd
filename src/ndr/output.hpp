// output.hpp: rendering of bounce records: JSON (field names are part of the
// CLI contract: recipient, status, reason, diagnostic, action, reporting_mta,
// remote_mta, original_sender, original_subject, original_message_id,
// original_client_ip, file, ...), CSV (RFC 4180 quoting) and a text table.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ndr/ndr.hpp"

namespace mxg::ndr {

nlohmann::json to_json(const record& r);
std::string csv_header();
std::string to_csv(const record& r);
std::string to_table(const std::vector<record>& records);
// Value of the column named `name` (the JSON field names), "" if unknown.
std::string to_string_field(const record& r, std::string_view name);

}  // namespace mxg::ndr
