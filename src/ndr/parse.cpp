// parse.cpp: the bounce parser's driver. GMime parses the MIME structure
// (RFC 2045-2049); we look for, in order of trust:
//   1. message/delivery-status (RFC 3464, inside multipart/report RFC 6522),
//   2. message/feedback-report (ARF, RFC 5965),
//   3. an automatic reply (RFC 3834 Auto-Submitted: auto-replied),
//   4. a free-text bounce (text_rules.cpp),
// then read the returned original (message/rfc822, text/rfc822-headers or the
// text after a "copy of the message" marker) and classify each failure.
// Security: input is untrusted; size is capped (kMaxMessageBytes), MIME depth
// is capped (kMaxMimeDepth), GMime objects are released on every path, and no
// exception leaves parse_message().
#include <gmime/gmime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>

#include "ndr/classify.hpp"
#include "ndr/ndr.hpp"
#include "ndr/rfc3464.hpp"
#include "ndr/text.hpp"
#include "ndr/text_rules.hpp"

namespace mxg::ndr {

namespace {

struct gobject_deleter {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using gptr = std::unique_ptr<T, gobject_deleter>;

// Bytes of a leaf part with its Content-Transfer-Encoding removed (RFC 2045 6).
std::string part_bytes(GMimePart* part) {
  std::string out;
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return out;
  gptr<GMimeStream> mem(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, mem.get());
  GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  if (arr && arr->data) out.assign(reinterpret_cast<const char*>(arr->data), arr->len);
  return out;
}

// Text of a text/* part in UTF-8 (charset converted by GMime; undeclared
// 8-bit text is kept as it is).
std::string part_text(GMimePart* part) {
  if (GMIME_IS_TEXT_PART(part)) {
    char* s = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
    if (s) {
      std::string out(s);
      g_free(s);
      return out;
    }
  }
  return part_bytes(part);
}

std::string header(GMimeObject* obj, const char* name) {
  const char* v = g_mime_object_get_header(obj, name);
  return v ? std::string(v) : std::string();
}

std::string decode_header_text(std::string_view raw) {
  if (raw.empty()) return {};
  std::string tmp(raw);
  char* d = g_mime_utils_header_decode_text(nullptr, tmp.c_str());
  if (!d) return tmp;
  std::string out(d);
  g_free(d);
  return text::squeeze(out);
}

std::string strip_angles(std::string_view s) {
  s = text::trim(s);
  if (!s.empty() && s.front() == '<') s.remove_prefix(1);
  if (auto e = s.find('>'); e != std::string_view::npos) s = s.substr(0, e);
  return std::string(text::trim(s));
}

struct walk_state {
  std::string body;              // notification text (text/plain parts before the original)
  std::string html;              // text/html fallback
  std::string dsn;               // message/delivery-status body
  std::string arf;               // message/feedback-report body
  std::string original_headers;  // text/rfc822-headers, or headers of message/rfc822
  std::string original_body;
  std::string original_raw;  // the whole returned message, when it is a message/rfc822 part
  bool have_original = false;
};

void walk(GMimeObject* obj, int depth, walk_state& st) {
  if (!obj || depth > kMaxMimeDepth) return;
  if (GMIME_IS_MULTIPART(obj)) {
    auto* mp = GMIME_MULTIPART(obj);
    int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i), depth + 1, st);
    return;
  }
  if (GMIME_IS_MESSAGE_PART(obj)) {
    if (st.have_original) return;
    GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (!m) return;
    st.have_original = true;
    char* h = g_mime_object_get_headers(GMIME_OBJECT(m), nullptr);
    if (h) {
      st.original_headers = h;
      g_free(h);
    }
    // Keep the whole message when it is itself a bounce (a forwarded NDR).
    if (text::icontains(st.original_headers, "multipart/report") ||
        text::icontains(st.original_headers, "mailer-daemon")) {
      char* whole = g_mime_object_to_string(GMIME_OBJECT(m), nullptr);
      if (whole) {
        st.original_raw.assign(whole,
                               std::min<std::size_t>(std::strlen(whole), kMaxMessageBytes / 4));
        g_free(whole);
      }
    }
    return;
  }
  if (!GMIME_IS_PART(obj)) return;
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  const char* type = ct ? g_mime_content_type_get_media_type(ct) : nullptr;
  const char* sub = ct ? g_mime_content_type_get_media_subtype(ct) : nullptr;
  std::string mime = text::lower(std::string(type ? type : "text") + "/" + (sub ? sub : "plain"));
  auto* part = GMIME_PART(obj);
  if (mime == "message/delivery-status" || mime == "message/global-delivery-status" ||
      mime == "message/x-delivery-status") {
    // Several delivery-status parts (one per relay): read them all.
    if (st.dsn.size() < kMaxBodyScanBytes) {
      if (!st.dsn.empty()) st.dsn += "\n\n";
      st.dsn += text::normalize_newlines(part_bytes(part));
    }
  } else if (mime == "message/feedback-report") {
    if (st.arf.empty()) st.arf = text::normalize_newlines(part_bytes(part));
  } else if (mime == "text/rfc822-headers" || mime == "message/rfc822-headers" ||
             mime == "message/global-headers" ||
             ((mime == "message/rfc822" || mime == "text/rfc822") && !st.have_original)) {
    if (!st.have_original) {
      st.have_original = true;
      st.original_headers = text::normalize_newlines(part_text(part));
      // Some MTAs return a whole message here; keep it when it is a report.
      if (text::icontains(st.original_headers, "multipart/report"))
        st.original_raw = st.original_headers.substr(0, kMaxMessageBytes / 4);
    }
  } else if (mime == "text/plain" || mime == "text/enriched") {
    if (!st.have_original && st.body.size() < kMaxBodyScanBytes) {
      if (!st.body.empty()) st.body += "\n";
      st.body += text::normalize_newlines(part_text(part));
    }
  } else if (mime == "text/html") {
    if (st.html.empty()) st.html = text::normalize_newlines(part_text(part));
  }
}

// Crude HTML to text for bounces that only have an HTML body.
std::string html_to_text(std::string_view html) {
  std::string out;
  bool tag = false;
  std::string name;
  for (std::size_t i = 0; i < html.size(); ++i) {
    char c = html[i];
    if (tag) {
      if (c == '>') {
        tag = false;
        auto n = text::lower(name);
        if (n == "br" || n == "p" || n == "/p" || n == "div" || n == "/div" || n == "tr" ||
            n == "li" || n == "/tr" || n == "br/")
          out.push_back('\n');
      } else if (name.size() < 8 && c != ' ') {
        name.push_back(c);
      } else if (c == ' ') {
        name.append(8, ' ');
      }
      continue;
    }
    if (c == '<') {
      tag = true;
      name.clear();
      continue;
    }
    if (c == '&') {
      auto semi = html.find(';', i);
      if (semi != std::string_view::npos && semi - i < 8) {
        auto ent = html.substr(i, semi - i + 1);
        if (ent == "&lt;")
          out.push_back('<');
        else if (ent == "&gt;")
          out.push_back('>');
        else if (ent == "&amp;")
          out.push_back('&');
        else if (ent == "&nbsp;")
          out.push_back(' ');
        else if (ent == "&quot;")
          out.push_back('"');
        else
          out.push_back(' ');
        i = semi;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

struct original_info {
  std::string sender, to, subject, message_id, date, client_host, client_ip;
};

// RFC 5321 4.4 Received: "from HOST (TCP-info [IP]) by ..." of the topmost
// trace field that names a sending host: the hop that handed the message to
// the system that bounced it.
void client_from_received(const std::vector<std::string>& received, original_info& oi) {
  for (const auto& r : received) {
    auto l = text::lower(r);
    auto from = l.find("from ");
    if (from == std::string::npos || from > 10) continue;
    auto by = l.find(" by ");
    std::string_view clause = std::string_view(r).substr(
        from + 5, by == std::string::npos ? std::string::npos : by - from - 5);
    auto host = text::trim(clause.substr(0, clause.find_first_of(" \t(")));
    std::string ip = text::find_ip(clause);
    if (ip.empty() && !host.empty()) {
      std::string h(host);
      if (h.front() == '[') ip = text::find_ip(h);
    }
    std::string hostname(host);
    if (!hostname.empty() && hostname.front() == '[') hostname.clear();
    // Prefer the reverse-DNS name in the TCP-info when the HELO is a literal.
    if (hostname.empty() || hostname == "unknown" || hostname == "localhost") {
      auto paren = clause.find('(');
      if (paren != std::string_view::npos) {
        auto in = clause.substr(paren + 1);
        auto tok = in.substr(0, in.find_first_of(" )["));
        if (tok.find('.') != std::string_view::npos && !text::istarts_with(tok, "helo") &&
            text::find_ip(std::string("[") + std::string(tok) + "]").empty())
          hostname = std::string(tok);
      }
    }
    if (ip.empty() && hostname.empty()) continue;
    oi.client_host = text::lower(hostname);
    oi.client_ip = ip;
    return;
  }
}

original_info read_original(std::string_view headers_text) {
  original_info oi;
  if (headers_text.empty()) return oi;
  auto groups = parse_field_groups(
      headers_text.substr(0, std::min<std::size_t>(headers_text.size(), 256 * 1024)));
  // Headers may be preceded by junk lines; use the first group that has header names we know.
  const field_group* g = nullptr;
  for (const auto& grp : groups) {
    if (grp.has("From") || grp.has("Received") || grp.has("Message-ID") || grp.has("Subject") ||
        grp.has("Return-Path") || grp.has("To")) {
      g = &grp;
      break;
    }
  }
  if (!g) return oi;
  std::vector<std::string> received;
  for (const auto& [n, v] : g->fields)
    if (text::iequals(n, "Received")) received.push_back(v);
  auto rp = text::find_addresses(g->get("Return-Path"));
  auto from = text::find_addresses(g->get("From"));
  if (!from.empty())
    oi.sender = from.front();
  else if (!rp.empty())
    oi.sender = rp.front();
  auto to = text::find_addresses(g->get("To"));
  if (!to.empty()) oi.to = to.front();
  oi.subject = decode_header_text(g->get("Subject"));
  oi.message_id = strip_angles(g->get("Message-ID"));
  oi.date = g->get("Date");
  client_from_received(received, oi);
  return oi;
}

std::string temporary_hint(std::string_view s) {
  const auto l = text::lower(s);
  static constexpr std::string_view kDelayed[] = {"delivery status notification (delay)",
                                                  "warning: could not send",
                                                  "delayed mail",
                                                  "delivery delayed",
                                                  "will retry",
                                                  "will continue to try",
                                                  "this is a warning message only",
                                                  "has not yet been delivered",
                                                  "this is not a permanent error",
                                                  "delivery attempts will continue",
                                                  "still trying",
                                                  "this is a temporary error",
                                                  "message will be retried",
                                                  "no action is required on your part",
                                                  "warning: message",
                                                  "not yet been delivered"};
  for (auto d : kDelayed)
    if (l.find(d) != std::string::npos) return "delayed";
  return {};
}

// Which code to trust when the Status: field and the reply text disagree.
// Generic codes (x.0.0, x.Y.0, 4.4.7 "expired", 4.7.0, 5.3.x, x.5.1-x.5.5)
// say less than the code the remote server sent; a reply code decides the class.
std::string prefer_status(const std::string& field, const std::string& in_text,
                          const std::string& reply, std::string& rule) {
  auto pick = [&](const std::string& v, const char* why) {
    rule = why;
    return v;
  };
  if (field.empty()) return pick(in_text, "diagnostic");
  if (in_text.empty() || field == in_text) return pick(field, "dsn");
  if (!reply.empty() && field[0] != in_text[0]) {
    if (reply[0] == field[0]) return pick(field, "dsn:class-of-reply");
    if (reply[0] == in_text[0]) return pick(in_text, "diagnostic:class-of-reply");
  }
  const bool field_x00 = field.find(".0.0") != std::string::npos;
  const bool text_x00 = in_text.find(".0.0") != std::string::npos;
  const bool field_zero = field.find(".0") != std::string::npos;
  const bool text_zero = in_text.find(".0") != std::string::npos;
  if (field_x00) return text_x00 ? pick(field, "dsn") : pick(in_text, "diagnostic:more-specific");
  if (field_zero && !text_zero) return pick(in_text, "diagnostic:more-specific");
  if (text_x00) return pick(field, "dsn:more-specific");
  if (field == "4.4.7" || field == "4.7.0" || field.starts_with("5.3."))
    return pick(in_text, "diagnostic:over-generic-dsn");
  for (auto s : {".5.1", ".5.2", ".5.4", ".5.5"})
    if (field.compare(1, 4, s) == 0) return pick(in_text, "diagnostic:over-syntax-dsn");
  // An addressing code (X.1.1 bad mailbox, X.1.3 bad address syntax) is what a
  // reporting MTA derives from a 550/553 at RCPT; a specific code the remote
  // server sent with that reply (a security/policy X.7.Y) says why (RFC 3463
  // 3.2, 3.8). One rule for both fields.
  if (field == "5.1.1" || field == "5.1.3") {
    if (field == "5.1.1" && !text_zero && !in_text.starts_with("5.5."))
      return pick(in_text, "diagnostic:over-addressing-dsn");
    if (field == "5.1.3" && in_text.starts_with("5.7."))
      return pick(in_text, "diagnostic:over-addressing-dsn");
    if (field == "5.1.1") return pick(field, "dsn:5.1.1");
  }
  return pick(field, "dsn");
}

// Multi-line SMTP replies repeat their code on every line ("550-5.7.1 ...
// 550-5.7.1 ... 550 5.7.1 ..."): keep the first, drop the repeats.
void clean_diagnostic(std::string& d) {
  if (d.size() < 5 || d.size() > 64 * 1024) return;
  if (!std::isdigit(static_cast<unsigned char>(d[0])) ||
      !std::isdigit(static_cast<unsigned char>(d[1])) ||
      !std::isdigit(static_cast<unsigned char>(d[2])) || (d[3] != '-' && d[3] != ' '))
    return;
  const std::string code = d.substr(0, 3);
  const std::string status = text::find_status(d.substr(4, 12));
  std::vector<std::string> repeats;
  if (!status.empty()) {
    repeats.push_back(" " + code + "-" + status + " ");
    repeats.push_back(" " + code + " " + status + " ");
  } else {
    repeats.push_back(" " + code + "-");
  }
  for (const auto& rep : repeats) {
    std::size_t pos = 4;
    while ((pos = d.find(rep, pos)) != std::string::npos) d.erase(pos + 1, rep.size() - 1);
  }
  if (d[3] == '-') d[3] = ' ';
}

void finish(record& r, std::string_view fallback_command_text) {
  // Status: the DSN's, or the most specific code in the diagnostic (RFC 3463
  // codes embedded in the SMTP reply, RFC 2034).
  clean_diagnostic(r.diagnostic);
  if (r.reply_code.empty()) r.reply_code = text::find_reply_code(r.diagnostic);
  std::string in_diag = text::find_last_status(r.diagnostic);
  if (!is_status_code(r.status)) r.status.clear();
  if (!is_status_code(in_diag)) in_diag.clear();
  std::string status_rule;
  const std::string field_status = r.status;
  const std::string preset_status_rule = r.status_rule;
  r.status = prefer_status(r.status, in_diag, r.reply_code, status_rule);
  if (!field_status.empty() && rule_disabled(status_rule)) {
    r.status = field_status;
    status_rule = "dsn";
  }
  if (!r.status.empty())
    r.status_rule = status_rule == "dsn" && preset_status_rule.starts_with("dsn:")
                        ? preset_status_rule
                        : status_rule;
  if (r.smtp_command.empty()) r.smtp_command = text::find_command(r.diagnostic);
  if (r.smtp_command.empty()) {
    // Reporting MTAs (and remote MTAs) whose unqualified refusals are answers
    // to RCPT: large providers verify recipients in the SMTP dialogue.
    static constexpr std::string_view kRcptTimeHosts[] = {
        "google.com",  "googlemail.com", "gmail.com",       "outlook.com",
        "hotmail.com", "live.com",       "messagelabs.com", "laposte.net",
        "orange.fr",   "wanadoo.fr",     "yahoo.com",       "yahoodns.net"};
    for (auto h : kRcptTimeHosts) {
      auto ends = [&](const std::string& host) {
        return host == h || (host.size() > h.size() && host.ends_with(h) &&
                             host[host.size() - h.size() - 1] == '.');
      };
      std::string rem = r.remote_mta.substr(0, r.remote_mta.find_first_of(" (["));
      while (!rem.empty() && rem.back() == '.') rem.pop_back();
      if (ends(r.reporting_mta) || ends(rem)) {
        r.smtp_command = "RCPT";
        break;
      }
    }
  }
  if (r.smtp_command.empty() && !fallback_command_text.empty())
    r.smtp_command = text::find_command(fallback_command_text);
  if (r.remote_mta.empty()) r.remote_mta = find_remote_host(r.diagnostic);
  if (r.action.empty()) r.action = "failed";
  const std::string preset = r.reason;
  r.reason = classify({r.status, r.reply_code, r.diagnostic, r.diagnostic_type, r.action,
                       r.smtp_command, preset, r.producer},
                      &r.reason_rule);
  if (r.reason == "delivered" && r.action == "failed") r.action = "delivered";
  if (r.status.empty() && r.reason != "feedback" && r.reason != "vacation" &&
      r.reason != "delivered") {
    bool temp = r.action == "delayed" || (!r.reply_code.empty() && r.reply_code[0] == '4') ||
                text::icontains(r.diagnostic, "retry timeout exceeded");  // Exim gave up retrying
    r.status = pseudo_status(r.reason, temp);
    r.status_pseudo = true;
    r.status_rule = "pseudo";
  }
}

std::vector<record> from_dsn(const walk_state& st) {
  std::vector<record> out;
  auto dsn = parse_delivery_status(st.dsn);
  const auto& pm = dsn.per_message;
  std::string reporting = text::lower(strip_type(pm.get("Reporting-MTA")));
  std::string arrival = pm.get("Arrival-Date");
  for (const auto& g : dsn.recipients) {
    if (out.size() >= kMaxRecordsPerMessage) break;
    record r;
    std::string fr = g.get("Final-Recipient");
    std::string orcpt = g.get("Original-Recipient");
    std::string xar = g.get("X-Actual-Recipient");
    r.recipient = text::clean_address(strip_type(fr));
    r.original_recipient = text::clean_address(strip_type(orcpt));
    r.recipient_rule = "dsn:final-recipient";
    if (!text::looks_like_address(r.recipient)) {
      if (text::looks_like_address(r.original_recipient)) {
        r.recipient = r.original_recipient;
        r.recipient_rule = "dsn:original-recipient";
      } else if (text::looks_like_address(strip_type(xar))) {
        r.recipient = text::clean_address(strip_type(xar));
        r.recipient_rule = "dsn:x-actual-recipient";
      } else {
        r.recipient.clear();  // "@host", "|program": filled from the text below
      }
    }
    r.action = text::lower(text::trim(g.get("Action")));
    if (auto sp = r.action.find_first_of(" (;"); sp != std::string::npos) r.action.resize(sp);
    std::string st_field = std::string(text::trim(g.get("Status")));
    r.status = text::find_status(st_field);
    std::string dtype;
    r.diagnostic = text::squeeze(strip_type(g.get("Diagnostic-Code"), &dtype));
    r.diagnostic_type =
        dtype.empty() ? std::string() : std::string(text::lower(dtype) == "smtp" ? "SMTP" : dtype);
    if (!r.diagnostic.empty() && r.diagnostic_type.empty()) r.diagnostic_type = "SMTP";
    // A recipient that is a program ("|/usr/bin/cmd ...", the pipe deliveries
    // of Sendmail and Exim aliases): what failed is the local mailer, whose
    // diagnostics RFC 3464 2.3.6 types as X-Unix.
    if (r.diagnostic_type.empty() && text::trim(strip_type(fr)).starts_with("|"))
      r.diagnostic_type = "X-Unix";
    r.remote_mta = text::lower(strip_type(g.get("Remote-MTA")));
    r.reporting_mta = reporting;
    r.arrival_date = arrival;
    r.last_attempt_date = g.get("Last-Attempt-Date");
    r.producer = "rfc3464";
    out.push_back(std::move(r));
  }
  return out;
}

// The part of the notification text that talks about one recipient, for the
// SMTP command and a diagnostic when the DSN has none.
// RFC 5321 4.2.1: "550-" opens a multi-line reply, whose lines all carry the
// code and the last one "550 ". Some MTAs (Sendmail) put only its first line
// in the DSN's Diagnostic-Code; the notification's session transcript has the
// whole reply. Returns the joined lines, or `diag` when no transcript has them.
std::string complete_multiline_reply(const std::string& diag, std::string_view body) {
  const auto is_code = [](std::string_view l, std::string_view code) {
    return l.size() >= 4 && l.substr(0, 3) == code && (l[3] == '-' || l[3] == ' ');
  };
  if (diag.size() < 8 || !std::isdigit(static_cast<unsigned char>(diag[0])) ||
      !std::isdigit(static_cast<unsigned char>(diag[1])) ||
      !std::isdigit(static_cast<unsigned char>(diag[2])) || diag[3] != '-')
    return diag;
  const std::string code = diag.substr(0, 3);
  const std::string_view first =
      std::string_view(diag).substr(0, std::min<std::size_t>(diag.size(), 48));
  constexpr int kMaxLines = 32;
  for (auto at = body.find(first); at != std::string_view::npos; at = body.find(first, at + 1)) {
    auto pos = body.rfind('\n', at);
    pos = pos == std::string_view::npos ? 0 : pos + 1;
    std::string out;
    int n = 0;
    while (pos < body.size() && n < kMaxLines) {
      auto le = body.find('\n', pos);
      if (le == std::string_view::npos) le = body.size();
      auto line = text::trim(body.substr(pos, le - pos));
      if (line.starts_with("<<<")) line = text::trim(line.substr(3));
      if (!is_code(line, code)) break;
      if (!out.empty()) out.push_back(' ');
      out.append(line);
      ++n;
      pos = le + 1;
      if (line[3] == ' ') break;  // the last line of the reply
    }
    if (n >= 2) return text::squeeze(out);
  }
  return diag;
}

// RFC 3463 3.5, X.4.7 "Delivery time expired": "If possible, the code for the
// actual problem found when delivery was attempted should be returned rather
// than this code." When a DSN's Status is X.4.7 and its Diagnostic-Code or the
// notification text (before the returned message) records the attempts'
// replies with one other code of the same class ("554 4.4.7 Message expired
// ... <421 4.4.2 Connection timed out>", "returned '441 4.4.1 Error
// encountered ...'"), that code is the status. Several different codes:
// nothing is chosen.
std::string actual_problem_code(std::string_view status, std::string_view notice) {
  if (status.size() != 5 || status.substr(1) != ".4.7") return {};
  const auto end = find_original_start(notice);
  if (end != std::string_view::npos) notice = notice.substr(0, end);
  notice = notice.substr(0, std::min<std::size_t>(notice.size(), 64 * 1024));
  std::string found;
  for (int guard = 0; guard < 256; ++guard) {
    const auto code = text::find_status(notice);
    if (code.empty()) break;
    if (code[0] == status[0] && code.substr(1) != ".4.7") {
      if (found.empty())
        found = code;
      else if (found != code)
        return {};
    }
    const auto at = notice.find(code);
    if (at == std::string_view::npos) break;
    notice.remove_prefix(at + code.size());
  }
  return found;
}

std::string text_about(std::string_view body, std::string_view addr) {
  if (addr.empty()) return {};
  auto at = text::ifind(body, addr);
  if (at == std::string_view::npos) return {};
  auto end = body.find("\n\n", at);
  if (end == std::string_view::npos) end = body.size();
  // The paragraph ends early where the next recipient's line starts
  // ("b@example.org: 552 ...", "<b@example.org>: ..."): lists without blank lines.
  for (auto nl = body.find('\n', at); nl != std::string_view::npos && nl < end;
       nl = body.find('\n', nl + 1)) {
    // One line at a time (linear in the paragraph: untrusted text).
    auto next = body.find('\n', nl + 1);
    if (next == std::string_view::npos || next > end) next = end;
    const auto line = text::trim(body.substr(nl + 1, next - nl - 1));
    const auto token = line.substr(0, line.find_first_of(" \t"));
    const auto atsign = token.find('@');
    if (atsign == std::string_view::npos || atsign == 0) continue;
    if (token.front() == '<' || token.back() == ':') {
      if (text::ifind(token, addr) == std::string_view::npos) {
        end = nl;
        break;
      }
    }
  }
  return std::string(body.substr(at, end - at));
}

std::vector<record> from_arf(const walk_state& st, std::string_view bounce_to) {
  std::vector<record> out;
  auto groups = parse_field_groups(st.arf);
  field_group all;
  for (auto& g : groups)
    for (auto& f : g.fields) all.fields.push_back(f);
  record base;
  base.reason = "feedback";
  base.reason_rule = "arf:feedback-report";
  base.feedback_type = text::lower(all.get("Feedback-Type"));
  base.reporting_mta = text::lower(strip_type(all.get("Reporting-MTA")));
  base.remote_mta = all.get("Source-IP");
  base.arrival_date = all.get("Arrival-Date");
  base.producer = "arf";
  base.action.clear();
  base.diagnostic = text::squeeze(st.body.substr(0, std::min<std::size_t>(st.body.size(), 1000)));
  // Each Original-Rcpt-To (RFC 5965 3.2) is a record; else the original's To.
  for (const auto& [n, v] : all.fields) {
    if (!text::iequals(n, "Original-Rcpt-To") && !text::iequals(n, "Removal-Recipient")) continue;
    record r = base;
    r.recipient = text::clean_address(v);
    r.recipient_rule = "arf:" + text::lower(n);
    if (!r.recipient.empty() && out.size() < kMaxRecordsPerMessage) out.push_back(std::move(r));
  }
  if (out.empty()) {
    record r = base;
    (void)bounce_to;
    out.push_back(std::move(r));
  }
  return out;
}

// Amazon SES event notifications delivered by mail (SNS e-mail subscription):
// a JSON document with notificationType Bounce, Complaint or Delivery. Real
// ones are often cut or folded by mail systems, so the values are read with a
// lenient key scanner rather than a JSON parser.
std::string json_value(std::string_view s, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\"";
  auto at = s.find(needle);
  if (at == std::string_view::npos) return {};
  auto p = at + needle.size();
  while (p < s.size() && (s[p] == ' ' || s[p] == ':' || s[p] == '\n')) ++p;
  if (p >= s.size() || s[p] != '"') return {};
  std::string out;
  for (++p; p < s.size() && s[p] != '"'; ++p) {
    if (s[p] == '\\' && p + 1 < s.size()) ++p;
    if (s[p] != '\n') out.push_back(s[p]);
    if (out.size() > 4096) break;
  }
  return out;
}

std::vector<record> from_ses_json(std::string_view body) {
  std::vector<record> out;
  const std::string type = text::lower(json_value(body, "notificationType"));
  auto base = [&](record& r) {
    r.producer = "amazonses";
    r.original_sender = text::clean_address(json_value(body, "source"));
    auto common = body.find("\"commonHeaders\"");
    if (common != std::string_view::npos) {
      r.original_subject = json_value(body.substr(common), "subject");
      r.original_message_id = strip_angles(json_value(body.substr(common), "messageId"));
    }
  };
  auto list = [&](std::string_view key) {
    // the [...] array after "key"
    auto at = body.find("\"" + std::string(key) + "\"");
    if (at == std::string_view::npos) return std::string_view();
    auto open = body.find('[', at);
    auto close = body.find(']', open == std::string_view::npos ? at : open);
    if (open == std::string_view::npos || close == std::string_view::npos)
      return std::string_view();
    return body.substr(open + 1, close - open - 1);
  };
  if (type == "bounce") {
    auto bounce = body.substr(std::min(body.size(), body.find("\"bounce\"")));
    const bool transient = text::iequals(json_value(bounce, "bounceType"), "Transient");
    const std::string reporting = text::lower(strip_type(json_value(bounce, "reportingMTA")));
    auto items = list("bouncedRecipients");
    std::size_t pos = 0;
    while ((pos = items.find('{', pos)) != std::string_view::npos &&
           out.size() < kMaxRecordsPerMessage) {
      auto end = items.find('}', pos);
      auto item =
          items.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
      record r;
      base(r);
      r.recipient = text::clean_address(json_value(item, "emailAddress"));
      r.recipient_rule = "ses-json:emailAddress";
      r.status = text::find_status(json_value(item, "status"));
      std::string dtype;
      r.diagnostic = text::squeeze(strip_type(json_value(item, "diagnosticCode"), &dtype));
      r.diagnostic_type = text::lower(dtype) == "smtp" ? "SMTP" : dtype;
      r.action = text::lower(json_value(item, "action"));
      if (r.action.empty()) r.action = transient ? "delayed" : "failed";
      r.reporting_mta = reporting;
      if (!r.recipient.empty()) out.push_back(std::move(r));
      if (end == std::string_view::npos) break;
      pos = end;
    }
  } else if (type == "complaint") {
    for (auto& a : text::find_addresses(list("complainedRecipients"))) {
      record r;
      base(r);
      r.recipient = a;
      r.recipient_rule = "ses-json:complainedRecipients";
      r.reason = "feedback";
      r.reason_rule = "ses-json:complaint";
      r.feedback_type = json_value(body, "complaintFeedbackType");
      if (out.size() < kMaxRecordsPerMessage) out.push_back(std::move(r));
    }
  } else if (type == "delivery") {
    auto delivery = body.substr(std::min(body.size(), body.find("\"delivery\"")));
    for (auto& a : text::find_addresses(list("recipients"))) {
      record r;
      base(r);
      r.recipient = a;
      r.recipient_rule = "ses-json:recipients";
      r.diagnostic = json_value(delivery, "smtpResponse");
      r.diagnostic_type = "SMTP";
      r.status = text::find_status(r.diagnostic);
      r.action = "delivered";
      r.reporting_mta = text::lower(json_value(delivery, "reportingMTA"));
      if (out.size() < kMaxRecordsPerMessage) out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace

void init_mime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::vector<record> parse_message(std::string_view raw) {
  try {
    init_mime();
    if (raw.size() > kMaxMessageBytes) raw = raw.substr(0, kMaxMessageBytes);
    std::string data = text::normalize_newlines(raw);
    // Strip an mbox "From " line: GMime would take it for a header-less body.
    if (data.starts_with("From ")) {
      auto nl = data.find('\n');
      data.erase(0, nl == std::string::npos ? data.size() : nl + 1);
    }
    gptr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(data.data(), data.size()));
    gptr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
    gptr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!msg) return {};
    GMimeObject* top = GMIME_OBJECT(msg.get());
    const std::string from = header(top, "From");
    const std::string to = header(top, "To");
    const char* subj_c = g_mime_message_get_subject(msg.get());
    const std::string subject = subj_c ? text::squeeze(subj_c) : std::string();
    const std::string auto_submitted = text::lower(header(top, "Auto-Submitted"));

    walk_state st;
    walk(g_mime_message_get_mime_part(msg.get()), 0, st);
    if (st.body.empty() && !st.html.empty()) st.body = html_to_text(st.html);
    if (st.dsn.empty() && st.arf.empty()) {
      // Broken MIME (boundary that never occurs, parts without headers): read
      // the raw body as text, and as a delivery-status if it has its fields.
      auto hdr_end = data.find("\n\n");
      std::string_view raw_body = hdr_end == std::string::npos
                                      ? std::string_view()
                                      : std::string_view(data).substr(hdr_end + 2);
      if (st.body.empty() ||
          (!st.have_original && text::ifind(st.body, "Final-Recipient:") == std::string::npos &&
           text::ifind(raw_body, "\nFinal-Recipient:") != std::string::npos)) {
        if (st.body.size() < raw_body.size())
          st.body = std::string(raw_body.substr(0, kMaxBodyScanBytes));
      }
      if (text::ifind(st.body, "\nFinal-Recipient:") != std::string::npos ||
          text::ifind(st.body, "\nOriginal-Recipient:") != std::string::npos)
        st.dsn = st.body;
    }

    text_input ti;
    ti.from = from;
    ti.subject = subject;
    ti.to = to;
    ti.body = st.body;
    {
      // X-Failed-Recipients (Exim and others): comma-separated addresses.
      GMimeHeaderList* hl = g_mime_object_get_header_list(top);
      int n = hl ? g_mime_header_list_get_count(hl) : 0;
      for (int i = 0; i < n; ++i) {
        GMimeHeader* h = g_mime_header_list_get_header_at(hl, i);
        if (!text::iequals(g_mime_header_get_name(h), "X-Failed-Recipients")) continue;
        const char* v = g_mime_header_get_value(h);
        for (auto& a : text::find_addresses(v ? v : ""))
          if (std::find(ti.failed_recipients.begin(), ti.failed_recipients.end(), a) ==
              ti.failed_recipients.end())
            ti.failed_recipients.push_back(a);
      }
    }

    std::vector<record> recs;
    std::string original_text = st.original_headers;
    std::string reporting_from_text;
    if (!st.dsn.empty()) {
      recs = from_dsn(st);
      if (std::any_of(recs.begin(), recs.end(),
                      [](const record& r) { return r.recipient.empty(); })) {
        // Final-Recipient without a usable address: the notification text names it.
        auto tr = parse_text_bounce(ti);
        std::vector<std::string> named;
        for (const auto& t : tr.records)
          if (!t.recipient.empty()) named.push_back(t.recipient);
        if (named.size() == recs.size()) {
          for (std::size_t i = 0; i < recs.size(); ++i)
            if (recs[i].recipient.empty()) {
              recs[i].recipient = named[i];
              recs[i].recipient_rule = "dsn+text";
            }
        } else if (named.size() == 1) {
          for (auto& r : recs)
            if (r.recipient.empty()) {
              r.recipient = named[0];
              r.recipient_rule = "dsn+text";
            }
        }
      }
      for (auto& r : recs) {
        auto about = text_about(st.body, r.recipient);
        if (r.diagnostic.empty()) {
          // Diagnostic missing from the DSN: the text's lines about this
          // recipient, else the session transcript (Sendmail).
          std::string_view rest(about);
          rest.remove_prefix(std::min(rest.size(), r.recipient.size()));
          while (!rest.empty() &&
                 (rest.front() == '>' || rest.front() == ':' || rest.front() == ' ' ||
                  rest.front() == '\n' || rest.front() == '.'))
            rest.remove_prefix(1);
          if (rest.size() < 4) rest = {};
          if (rest.empty()) {
            auto tr = text::ifind(st.body, "transcript of session follows");
            if (tr != std::string::npos) {
              auto nl = st.body.find('\n', tr);
              auto end = nl == std::string::npos ? std::string::npos : st.body.find("\n\n", nl + 1);
              if (nl != std::string::npos)
                rest = std::string_view(st.body).substr(
                    nl + 1, end == std::string::npos ? std::string::npos : end - nl - 1);
            }
          }
          r.diagnostic = text::squeeze(rest.substr(0, std::min<std::size_t>(rest.size(), 2000)));
        }
        r.diagnostic = complete_multiline_reply(r.diagnostic, st.body);
        if (auto code = actual_problem_code(r.status, r.diagnostic + "\n" + st.body);
            !code.empty()) {
          r.status = code;
          r.status_rule = "dsn:x.4.7-attempt";
        }
        r.smtp_command = text::find_command(r.diagnostic);
        if (r.smtp_command.empty()) r.smtp_command = text::find_command(about);
      }
    }
    if (recs.empty() && !st.arf.empty()) {
      recs = from_arf(st, to);
    }
    if (recs.empty() && st.dsn.empty() && st.arf.empty() &&
        text::icontains(st.body, "notificationType")) {
      std::string json = st.body;
      if (json.find("\\\"notificationType\\\"") != std::string::npos) {
        // SNS envelope: the event is a JSON string inside "Message": unescape it.
        std::string u;
        for (std::size_t i = 0; i < json.size(); ++i) {
          if (json[i] == '\\' && i + 1 < json.size() && json[i + 1] == '"') continue;
          u.push_back(json[i]);
        }
        json = std::move(u);
      }
      recs = from_ses_json(json);
      std::string bounce_to;
      if (auto t = text::find_addresses(to); !t.empty()) bounce_to = t.front();
      for (auto& r : recs) {
        if (r.original_sender.empty()) r.original_sender = bounce_to;
        if (r.reason != "feedback") finish(r, {});
      }
      if (!recs.empty()) return recs;
    }
    if (recs.empty() && st.dsn.empty() && st.arf.empty() &&
        text::icontains(st.original_headers, "X-HmXmrOriginalRecipient:")) {
      // Microsoft JMRP complaint: the original with the complainer's address in a header.
      auto g = parse_field_groups(st.original_headers);
      record r;
      r.reason = "feedback";
      r.reason_rule = "jmrp:complaint";
      r.feedback_type = "abuse";
      r.producer = "jmrp";
      if (!g.empty()) r.recipient = text::clean_address(g.front().get("X-HmXmrOriginalRecipient"));
      r.recipient_rule = "jmrp:x-hmxmroriginalrecipient";
      if (!r.recipient.empty()) recs.push_back(std::move(r));
    }
    if (recs.empty() && st.arf.empty()) {
      const bool auto_reply =
          auto_submitted.starts_with("auto-replied") || text::icontains(subject, "out of office") ||
          text::istarts_with(subject, "auto:") || text::icontains(subject, "autoreply") ||
          text::icontains(subject, "automatic reply");
      const bool null_sender = text::trim(header(top, "Return-Path")) == "<>";
      if (looks_like_bounce(ti) || (null_sender && st.have_original && !auto_reply)) {
        auto tr = parse_text_bounce(ti);
        reporting_from_text = tr.reporting_mta;
        if (original_text.empty() && !tr.original.empty()) original_text = std::string(tr.original);
        recs = std::move(tr.records);
        for (auto& r : recs) r.reporting_mta = reporting_from_text;
        const std::string temp = temporary_hint(subject + "\n" + st.body.substr(0, 8192));
        for (auto& r : recs)
          if (r.action.empty() && !temp.empty()) r.action = temp;
      } else if (auto_reply) {
        record r;
        r.reason = "vacation";
        r.reason_rule = "rfc3834:auto-reply";
        r.producer = "rfc3834";
        r.diagnostic = text::squeeze(st.body.substr(0, std::min<std::size_t>(st.body.size(), 500)));
        auto f = text::find_addresses(from);
        r.recipient = f.empty() ? std::string() : f.front();
        r.recipient_rule = "auto-reply:from";
        r.action.clear();
        recs.push_back(std::move(r));
      }
    }
    // A bounce that only wraps another bounce (a report about an NDR): decode
    // the inner one. Depth-limited by nesting.
    static thread_local int nesting = 0;
    const bool no_recipient =
        std::all_of(recs.begin(), recs.end(), [](const record& r) { return r.recipient.empty(); });
    if (no_recipient && !st.original_raw.empty() && nesting < 3) {
      ++nesting;
      auto inner = parse_message(st.original_raw);
      --nesting;
      if (!inner.empty()) return inner;
    }
    if (recs.empty()) return recs;

    if (original_text.empty() && !st.body.empty()) {
      auto o = find_original_start(st.body);
      if (o != std::string_view::npos) original_text = st.body.substr(o);
    }
    original_info oi = read_original(original_text);
    std::string bounce_to;
    if (auto t = text::find_addresses(to); !t.empty()) bounce_to = t.front();
    for (auto& r : recs) {
      if (r.recipient.empty() && r.reason != "vacation") {
        r.recipient = oi.to;
        r.recipient_rule = "returned:to";
      }
      r.original_sender = oi.sender.empty() ? bounce_to : oi.sender;
      r.original_to = oi.to;
      r.original_subject = oi.subject;
      r.original_message_id = oi.message_id;
      r.original_date = oi.date;
      r.original_client_host = oi.client_host;
      r.original_client_ip = oi.client_ip;
      if (r.reason == "vacation") {
        r.original_sender = bounce_to;
        continue;
      }
      if (r.reason == "feedback") {
        if (r.recipient.empty()) {
          r.recipient = oi.to;
          r.recipient_rule = "returned:to";
        }
        continue;
      }
      finish(r, text_about(st.body, r.recipient));
    }
    std::erase_if(recs, [](const record& r) { return r.recipient.empty(); });
    // The returned message is itself a delivery report (a bounce of a bounce,
    // or a report forwarded with its own DSN): its failures are reported too.
    if (!st.original_raw.empty() && text::icontains(st.original_headers, "multipart/report") &&
        nesting < 3) {
      ++nesting;
      auto inner = parse_message(st.original_raw);
      --nesting;
      for (auto& r : inner)
        if (recs.size() < kMaxRecordsPerMessage) recs.push_back(std::move(r));
    }
    return recs;
  } catch (const std::exception& e) {
    if (std::getenv("MXG_NDR_DEBUG")) std::fprintf(stderr, "ndr: %s\n", e.what());
    return {};
  } catch (...) {
    return {};
  }
}

}  // namespace mxg::ndr
