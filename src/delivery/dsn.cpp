// dsn.cpp: RFC 3464 delivery status notification builder (see dsn.hpp).
#include "delivery/dsn.hpp"

#include "base/time.hpp"

#include <cctype>
#include <ctime>
#include <random>

namespace mxg::delivery {

namespace {

// One-line printable US-ASCII, bounded (see the security note in dsn.hpp).
std::string clean(std::string_view v, std::size_t max = kDsnFieldValueMax) {
  std::string out;
  out.reserve(std::min(v.size(), max));
  for (unsigned char c : v) {
    if (out.size() >= max) break;
    if (c == '\r' || c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (c < 0x20 || c >= 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool is_status(std::string_view s, char cls) {
  // RFC 3463 2: class "." subject(1-3 digits) "." detail(1-3 digits)
  if (s.size() < 5 || s[0] != cls || s[1] != '.') return false;
  std::size_t i = 2, n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++n;
  if (n < 1 || n > 3 || i >= s.size() || s[i] != '.') return false;
  ++i;
  n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++n;
  return n >= 1 && n <= 3 && i == s.size();
}

}  // namespace

std::string status_of_reply(std::string_view reply) {
  if (reply.size() < 3 || reply[0] < '2' || reply[0] > '5' ||
      !std::isdigit(static_cast<unsigned char>(reply[1])) ||
      !std::isdigit(static_cast<unsigned char>(reply[2])))
    return "4.0.0";
  char cls = reply[0];
  if (reply.size() > 4 && (reply[3] == ' ' || reply[3] == '-')) {
    auto rest = reply.substr(4);
    auto end = rest.find_first_of(" \r\n");
    auto token = rest.substr(0, end);
    if (is_status(token, cls)) return std::string(token);
  }
  return std::string(1, cls) + ".0.0";
}

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  return base::rfc5322_date(static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(t)));
}

std::string header_block(std::string_view message) {
  std::string out;
  std::size_t pos = 0;
  while (pos < message.size()) {
    auto nl = message.find('\n', pos);
    std::string_view line = message.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if (out.size() + line.size() + 2 > kDsnReturnedHeadersMax) break;
    out.append(line);
    out += "\r\n";
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return out;
}

result<dsn_message> build_dsn(const dsn_input& in) {
  // RFC 5321 4.5.5 and 6.1: no notification to the null reverse-path.
  if (in.original_sender.empty() || in.original_sender == "<>")
    return fail(errc::invalid_argument, "no DSN for the null sender (RFC 5321 4.5.5)");
  if (in.recipients.empty()) return fail(errc::invalid_argument, "DSN without recipients");

  const std::string mta = clean(in.reporting_mta.empty() ? "localhost" : in.reporting_mta, 255);
  const std::string headers = header_block(in.original_message);
  bool any_failed = false;
  for (const auto& r : in.recipients) any_failed = any_failed || r.action == "failed";

  // Boundary: random, and checked against the returned text (RFC 2046 5.1.1).
  std::random_device rd;
  std::string boundary;
  do {
    char buf[48];
    std::snprintf(buf, sizeof buf, "=_mxguard_%08x%08x", rd(), rd());
    boundary = buf;
  } while (headers.find(boundary) != std::string::npos);

  std::string d;
  auto line = [&d](std::string_view s) {
    d.append(s);
    d += "\r\n";
  };
  line("From: Mail Delivery System <MAILER-DAEMON@" + mta + ">");
  line("To: <" + clean(in.original_sender, 512) + ">");
  line(any_failed ? "Subject: Undelivered Mail Returned to Sender"
                  : "Subject: Delayed Mail (still being retried)");
  line("Date: " + rfc5322_date(in.now));
  line("Message-ID: <" + clean(in.queue_id, 64) + ".dsn@" + mta + ">");
  line("Auto-Submitted: auto-replied");  // RFC 3834 5
  if (!in.queue_id.empty()) line("X-Mxguard-Queue-ID: " + clean(in.queue_id, 64));
  line("MIME-Version: 1.0");
  line("Content-Type: multipart/report; report-type=delivery-status;");
  line("\tboundary=\"" + boundary + "\"");
  line("");
  line("This is a MIME-encapsulated message.");
  line("");

  // Part 1: for people.
  line("--" + boundary);
  line("Content-Description: Notification");
  line("Content-Type: text/plain; charset=us-ascii");
  line("");
  line("This is the mail system at host " + mta + ".");
  line("");
  if (any_failed) {
    line("I'm sorry to have to inform you that your message could not");
    line("be delivered to one or more recipients. The reasons are below.");
  } else {
    line("Your message could not be delivered yet to one or more recipients.");
    line("The mail system will keep trying; you do not need to send it again.");
  }
  line("");
  for (const auto& r : in.recipients) {
    line("<" + clean(r.address, 512) + ">: " + clean(r.action, 16) +
         (r.remote_mta.empty() ? "" : " (host " + clean(r.remote_mta, 255) + " said)"));
    line("    " + clean(r.reply));
  }
  line("");

  // Part 2: for programs (RFC 3464 2.1: per-message fields, blank line, per-recipient
  // groups separated by blank lines).
  line("--" + boundary);
  line("Content-Description: Delivery report");
  line("Content-Type: message/delivery-status");
  line("");
  line("Reporting-MTA: dns; " + mta);
  if (!in.queue_id.empty()) line("X-Mxguard-Queue-ID: " + clean(in.queue_id, 64));
  if (!in.envelope_id.empty()) line("Original-Envelope-Id: " + clean(in.envelope_id, 100));
  line("Arrival-Date: " + rfc5322_date(in.arrival));
  for (const auto& r : in.recipients) {
    line("");
    line("Final-Recipient: rfc822; " + clean(r.address, 512));
    line("Action: " + clean(r.action, 16));
    line("Status: " + (r.status.empty() ? status_of_reply(r.reply) : clean(r.status, 16)));
    if (!r.remote_mta.empty()) line("Remote-MTA: dns; " + clean(r.remote_mta, 255));
    if (!r.reply.empty()) {
      // RFC 3464 2.3.6: diagnostic-type "smtp" only for a reply that came over SMTP.
      bool smtp = !r.remote_mta.empty();
      line(std::string("Diagnostic-Code: ") + (smtp ? "smtp; " : "x-mxguard; ") + clean(r.reply));
    }
    if (r.last_attempt != std::chrono::system_clock::time_point{})
      line("Last-Attempt-Date: " + rfc5322_date(r.last_attempt));
  }
  line("");

  // Part 3: the returned header block (RFC 6522 4; RET=HDRS).
  line("--" + boundary);
  line("Content-Description: Undelivered Message Headers");
  line("Content-Type: text/rfc822-headers");
  line("");
  d += headers;
  line("");
  line("--" + boundary + "--");

  return dsn_message{"", in.original_sender, std::move(d)};
}

}  // namespace mxg::delivery
