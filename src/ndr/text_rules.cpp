// text_rules.cpp: producer tables and the generic scanner for free-text bounces.
// See text_rules.hpp. The tables are lower-case substrings; order matters only
// where noted. Recipient lines are recognised by shape (an address alone, an
// address in <>, "address: text", or a labelled field) and the diagnostic is
// the text that follows until a blank line or the next recipient.
#include "ndr/text_rules.hpp"

#include <algorithm>
#include <initializer_list>

#include "ndr/classify.hpp"
#include "ndr/text.hpp"

namespace mxg::ndr {

namespace {

using phrases = std::initializer_list<std::string_view>;

struct producer_rule {
  std::string_view name;
  phrases detect;                 // any of these in "from subject body-start" (lower case)
  phrases begin;                  // the error section starts after the first line with one of these
  std::string_view reason = {};   // reason this producer's notices always mean, if any
  std::string_view command = {};  // SMTP command its failures answer, when the text names none
};

// clang-format off
const producer_rule kProducers[] = {
  // Most specific first: detection stops at the first producer that matches.
  // Google Groups refuses posts from non-members or to missing groups.
  {"googlegroups", {"googlegroups.com", "google groups"}, {}, "rejected"},
  {"qmail", {"this is the qmail-send program", "qmail-send"}, {"following addresses", "following address"}},
  {"exim", {"this message was created automatically by mail delivery software",
            "mail delivery software"}, {"address(es) failed", "following address", "failed:"}},
  {"postfix", {"this is the mail system at host", "the mail system"}, {"the mail system"}},
  {"sendmail", {"----- transcript of session follows -----", "the original message was received at"},
               {"----- transcript of session follows -----"}},
  {"courier", {"running the courier mail server", "courier mail server"}, {"cannot be delivered", "undeliverable mail"}},
  {"gmail", {"delivery to the following recipient failed", "google tried to deliver your message",
             "mail delivery subsystem"}, {"failed permanently", "delivery to the following recipient"}},
  {"yahoo", {"sorry, we were unable to deliver your message to the following address"},
            {"unable to deliver your message"}},
  {"exchange", {"did not reach the following recipient", "could not be delivered to the following recipients",
                "delivery has failed to these recipients", "msexch", "undeliverable:"},
               {"did not reach the following recipient", "following recipient"}, {}, "RCPT"},
  {"notes", {"------- failure reasons", "lotus"}, {"failure reasons"}},
  {"opensmtpd", {"this is the mailer-daemon, please do not reply", "opensmtpd"},
                {"following list of recipients", "following recipients"}},
  {"dragonfly", {"dma", "dragonfly"}, {"could not be delivered", "delivery failed"}},
  {"x2", {"unable to deliver message to the following address"}, {"following address"}},
  {"mailru", {"mail.ru"}, {"address(es) failed", "получателям"}},
  {"domino", {"domino", "was not delivered to"}, {"was not delivered to"}},
  {"imailserver", {"imail"}, {}},
  {"ezweb", {"ezweb"}, {}},
  {"kddi", {"kddi", "au.com"}, {}},
  {"amazonses", {"amazonses", "amazon ses"}, {}},
  {"generic", {}, {}},
};

// Lines that open the returned message (lower case, matched as substrings of
// the trimmed line; the line must be short, a separator, not prose).
constexpr std::string_view kOriginalMarkers[] = {
  "below this line is a copy of the message", "this is a copy of the message",
  "original message follows", "original message ---", "----- original message -----",
  "original message header", "returned message", "unsent message follows",
  "message header follows", "headers of the original message", "the original message headers",
  "copy of the original message", "original message headers", "returned mail follows",
  "the header of the original message", "below is a copy of the original message",
  "content-type: message/rfc822", "content-type: text/rfc822-headers",
  "original message:", "message follows", "undelivered message follows",
  "headers of your message", "your message reads", "original mail", "message text follows",
  "the first lines of the message", "here is your original message", "start of the original message",
  "-- original message --", "original message", "---- the header of",
};

// Addresses that are never the failed recipient of a bounce.
constexpr std::string_view kNotRecipient[] = {
  "mailer-daemon@", "postmaster@", "mail-daemon@", "nobody@", "noreply@", "no-reply@",
};

// Field labels whose value is a failed recipient (lower case, with colon).
constexpr std::string_view kRecipientLabels[] = {
  "original-recipient:", "final-recipient:", "failed recipient:", "failed recipients:",
  "recipient address:", "recipient:", "recipients:", "invalid recipient:", "unknown recipient:",
  "bad address:", "address:", "rcpt to:", "to address:", "destinataire:", "empfänger:",
  "x-failed-recipients:", "failed address:", "email address:", "user:",
};

// Labels of the bounce's own summary lines whose addresses are not recipients.
constexpr std::string_view kSkipLabels[] = {
  "from:", "sent:", "date:", "subject:", "reply-to:", "return-path:", "message-id:", "sender:",
  "x-", "cc:", "received:", "by ", "for <", "envelope-from",
};
// clang-format on

bool never_recipient(std::string_view addr) {
  const auto l = text::lower(addr);
  for (auto p : kNotRecipient)
    if (l.starts_with(p)) return true;
  return false;
}

struct candidate {
  std::string address;
  std::string rest;          // text after the address on the same line
  bool strong;               // recognised by shape, not only because an address appears
  bool single_line = false;  // the line holds the whole diagnostic (transcript line)
  std::string rule;          // which shape recognised it (instrumentation)
};

bool recipient_line_shape(std::string_view line, candidate& c);

// Does this line name a failed recipient? Returns the address and the text after it.
bool recipient_line(std::string_view line, candidate& c) {
  return recipient_line_shape(line, c) && !rule_disabled(c.rule);
}

bool recipient_line_shape(std::string_view line, candidate& c) {
  auto t = text::trim(line);
  if (t.size() < 3 || t.size() > 400 || t.find('@') == std::string_view::npos) return false;
  const std::string l = text::lower(t);
  for (auto s : kSkipLabels)
    if (l.starts_with(s)) return false;
  // 1. labelled: "Recipient: x", "RCPT TO:<x>", "Original-Recipient: rfc822;x"
  for (auto label : kRecipientLabels) {
    auto at = l.find(label);
    if (at == 0 || (at != std::string::npos && at < 8 && (label == "rcpt to:"))) {
      auto rest = t.substr(at + label.size());
      auto addrs = text::find_addresses(rest);
      if (addrs.empty()) return false;
      c.address = addrs.front();
      auto pos = text::ifind(rest, c.address);
      c.rest = pos == std::string_view::npos ? std::string()
                                             : std::string(rest.substr(pos + c.address.size()));
      c.strong = true;
      // One rule for the class of labels (a field named for the recipient),
      // like a frame: "Recipient:" is no less general for being one MTA's.
      c.rule = "text:label";
      return true;
    }
  }
  // 2. prose naming the recipient in <> after "to", "for" or "recipient":
  // "error delivering your mail to <x>.", "The following message to <x> was
  // undeliverable", "Delivery failed for <x>", "recipient <x> rejected".
  for (std::size_t open = t.find('<'); open != std::string_view::npos;
       open = t.find('<', open + 1)) {
    std::size_t e = open;
    while (e > 0 && t[e - 1] == ' ') --e;
    std::size_t w = e;
    while (w > 0 && std::isalpha(static_cast<unsigned char>(t[w - 1]))) --w;
    const std::string word = text::lower(t.substr(w, e - w));
    if (word != "to" && word != "for" && word != "recipient") continue;
    auto close = t.find('>', open);
    if (close == std::string_view::npos) break;
    auto addrs = text::find_addresses(t.substr(open + 1, close - open - 1));
    if (addrs.size() != 1) continue;
    c.address = addrs.front();
    c.rest = std::string(t.substr(close + 1));
    c.strong = true;
    c.rule = "text:prose-" + word + "-<addr>";
    return true;
  }
  // 2b. "did not reach the following recipient: addr", "The following address failed: addr"
  static constexpr std::string_view kListPhrases[] = {
      "following recipient:", "following recipients:",   "following address:",
      "following addresses:", "following recipient(s):", "following address(es):"};
  for (auto ph : kListPhrases) {
    auto at = l.find(ph);
    if (at == std::string::npos) continue;
    auto addrs = text::find_addresses(t.substr(at + ph.size()));
    if (addrs.size() != 1) break;
    c.address = addrs.front();
    c.rest.clear();
    c.strong = true;
    c.rule = "text:label";  // "the following recipient:" labels the address too
    return true;
  }
  // 2c. Sendmail transcript: "554 <addr>... Remote protocol error", "550 5.1.1 <addr>... User
  // unknown"
  if (t.size() > 6 && std::isdigit(static_cast<unsigned char>(t[0])) &&
      std::isdigit(static_cast<unsigned char>(t[1])) &&
      std::isdigit(static_cast<unsigned char>(t[2])) && (t[3] == ' ' || t[3] == '-')) {
    auto lt = t.find('<');
    auto gt = t.find(">...");
    if (lt != std::string_view::npos && gt != std::string_view::npos && lt < gt && lt < 16) {
      auto addrs = text::find_addresses(t.substr(lt + 1, gt - lt - 1));
      if (addrs.size() == 1) {
        c.address = addrs.front();
        c.rest = std::string(t);
        c.strong = true;
        c.single_line = true;
        c.rule = "text:transcript";
        return true;
      }
    }
  }
  // A list item ("* addr", "- addr", "-- addr", "\u2022 addr") is the same line without
  // its list mark.
  for (std::string_view mark : {"* ", "- ", "-- ", "\u2022 "}) {
    if (t.starts_with(mark)) {
      t = text::trim(t.substr(mark.size()));
      break;
    }
  }
  if (t.empty()) return false;
  // 3. "<addr>..." at the start of the line
  if (t.front() == '<') {
    auto close = t.find('>');
    if (close == std::string_view::npos) return false;
    auto inner = t.substr(1, close - 1);
    auto addrs = text::find_addresses(inner);
    if (addrs.size() != 1 || inner.find(' ') != std::string_view::npos) return false;
    c.address = addrs.front();
    c.rest = std::string(t.substr(close + 1));
    c.strong = true;
    c.rule = "text:line-starts-with-address";
    return true;
  }
  // 4. "addr", "addr:", "addr on DATE", "addr (generated from x)", "addr: text", "addr ... text"
  auto end = t.find_first_of(" \t:,;");
  auto token = t.substr(0, end);
  auto addrs = text::find_addresses(token);
  if (addrs.size() != 1) return false;
  // The token must be the address itself (maybe quoted).
  if (token.size() > addrs.front().size() + 4) return false;
  c.address = addrs.front();
  std::string_view rest = end == std::string_view::npos ? std::string_view() : t.substr(end);
  c.rest = std::string(rest);
  auto r = text::trim(rest);
  c.strong = r.empty() || r.front() == ':' || r.starts_with("...") ||
             text::istarts_with(r, "on ") || r.front() == '(' || r.front() == '<' ||
             r.front() == '[';
  // "addr Invalid Address, ERROR_CODE :550": an address followed by an error.
  c.rule = "text:line-starts-with-address";
  if (!c.strong && (!text::find_reply_code(r).empty() || !text::find_status(r).empty() ||
                    !reason_for_text(r).empty())) {
    c.strong = true;
    c.rule = "text:line-starts-with-address";
  }
  return c.strong;
}

// A line that mentions exactly one address and an error ("Could not find a
// gateway for x", "User's mailbox is full: <x>"): used only when no line has
// the shape of a recipient line.
bool weak_recipient_line(std::string_view line, candidate& c) {
  auto t = text::trim(line);
  if (t.size() < 5 || t.size() > 300) return false;
  const std::string l = text::lower(t);
  for (auto s : kSkipLabels)
    if (l.starts_with(s)) return false;
  auto addrs = text::find_addresses(t);
  if (addrs.size() != 1) return false;
  if (reason_for_text(l).empty() && l.find("fail") == std::string::npos &&
      l.find("unable") == std::string::npos && l.find("error") == std::string::npos &&
      l.find("invalid") == std::string::npos)
    return false;
  c.address = addrs.front();
  c.rest = std::string(t);
  c.strong = false;
  c.rule = "text:error-line-naming-one-address";
  return !rule_disabled(c.rule);
}

std::string_view detect_producer(std::string_view hay) {
  for (const auto& p : kProducers)
    for (auto d : p.detect)
      if (hay.find(d) != std::string_view::npos) return p.name;
  return "generic";
}

const producer_rule& rule(std::string_view name) {
  for (const auto& p : kProducers)
    if (p.name == name) return p;
  return kProducers[std::size(kProducers) - 1];
}

}  // namespace

std::size_t find_original_start(std::string_view body) {
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto nl = body.find('\n', pos);
    if (nl == std::string_view::npos) nl = body.size();
    auto line = text::trim(body.substr(pos, nl - pos));
    if (!line.empty() && line.size() < 120) {
      const auto l = text::lower(line);
      for (auto m : kOriginalMarkers) {
        if (l.find(m) != std::string::npos) {
          // "original message" alone must look like a separator line.
          if (m == "original message" &&
              !(l.starts_with("-") || l.starts_with("=") || l.starts_with("*")))
            break;
          return nl < body.size() ? nl + 1 : body.size();
        }
      }
    }
    pos = nl + 1;
  }
  return std::string_view::npos;
}

bool looks_like_bounce(const text_input& in) {
  const auto from = text::lower(in.from);
  const auto subj = text::lower(in.subject);
  static constexpr std::string_view kFrom[] = {
      "mailer-daemon", "postmaster",         "mail delivery", "mail-daemon",
      "mailer_daemon", "mail administrator", "post_master"};
  static constexpr std::string_view kSubject[] = {"undeliver",
                                                  "delivery status",
                                                  "delivery failure",
                                                  "delivery notification",
                                                  "returned mail",
                                                  "failure notice",
                                                  "mail delivery failed",
                                                  "non-delivery",
                                                  "nondeliverable",
                                                  "not delivered",
                                                  "delivery problem",
                                                  "could not send",
                                                  "mail system error",
                                                  "delivery report",
                                                  "bounce",
                                                  "warning: could not",
                                                  "delayed mail",
                                                  "unable to deliver",
                                                  "error sending",
                                                  "rejected",
                                                  "returned to sender",
                                                  "message not delivered",
                                                  "failed delivery",
                                                  "delivery has failed",
                                                  "failed",
                                                  "nicht zustellbar",
                                                  "unzustellbar",
                                                  "non remis",
                                                  "no entregado"};
  for (auto f : kFrom)
    if (from.find(f) != std::string::npos) return true;
  for (auto s : kSubject)
    if (subj.find(s) != std::string::npos) return true;
  return !in.failed_recipients.empty();
}

std::string find_remote_host(std::string_view diag) {
  // "host mx.example.org[192.0.2.1] said:", "host mx.example.org [192.0.2.1]:",
  // "remote host 192.0.2.1 said", "by mx.example.org. [192.0.2.1]"
  std::size_t pos = 0;
  while ((pos = text::ifind(diag, "host ", pos)) != std::string_view::npos) {
    if (pos > 0 && std::isalpha(static_cast<unsigned char>(diag[pos - 1]))) {
      pos += 5;
      continue;
    }
    auto rest = diag.substr(pos + 5);
    auto end = rest.find_first_of(" [\t:,;()");
    auto host = rest.substr(0, end);
    while (!host.empty() && (host.back() == '.')) host.remove_suffix(1);
    if (host.find('.') != std::string_view::npos && host.find('@') == std::string_view::npos &&
        host.size() < 255) {
      bool ok = true;
      for (char c : host)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
          ok = false;
      if (ok) return text::lower(host);
    }
    pos += 5;
  }
  return {};
}

text_result parse_text_bounce(const text_input& in) {
  text_result out;
  std::string_view body = in.body.substr(0, std::min(in.body.size(), kMaxBodyScanBytes));
  std::string hay = text::lower(in.from);
  hay += ' ';
  hay += text::lower(in.subject);
  hay += ' ';
  hay += text::lower(body.substr(0, std::min<std::size_t>(body.size(), 4096)));
  out.producer = std::string(detect_producer(hay));
  const auto& pr = rule(out.producer);

  // Cut the returned message off.
  std::string_view errors = body;
  if (auto o = find_original_start(body); o != std::string_view::npos) {
    out.original = body.substr(o);
    // The marker line itself is not part of the error text.
    auto marker_line = body.rfind('\n', o >= 2 ? o - 2 : 0);
    errors = body.substr(0, marker_line == std::string_view::npos ? 0 : marker_line);
  } else {
    // No marker: a block of message headers (Received:/Return-Path:) after the text.
    std::size_t pos = 0;
    bool prev_blank = true;
    while (pos < body.size()) {
      auto nl = body.find('\n', pos);
      if (nl == std::string_view::npos) nl = body.size();
      auto line = body.substr(pos, nl - pos);
      if (prev_blank && pos > 0 &&
          (text::istarts_with(line, "received:") || text::istarts_with(line, "return-path:"))) {
        out.original = body.substr(pos);
        errors = body.substr(0, pos);
        break;
      }
      prev_blank = text::trim(line).empty();
      pos = nl + 1;
    }
  }
  // Skip to the producer's error-section opener when there is one.
  for (auto b : pr.begin) {
    auto at = text::ifind(errors, b);
    if (at != std::string_view::npos) {
      auto nl = errors.find('\n', at);
      // keep the opener line itself out, but only if something follows
      if (nl != std::string_view::npos && text::trim(errors.substr(nl)).size() > 0)
        errors = errors.substr(nl + 1);
      break;
    }
  }
  // Reporting MTA named in the text.
  {
    static constexpr std::string_view kHostIntro[] = {"this is the qmail-send program at ",
                                                      "this is the mail system at host ",
                                                      "delivery status notification from ",
                                                      "message from ",
                                                      "reporting-mta: dns;",
                                                      "this is the mail delivery agent at ",
                                                      "mail delivery system at "};
    for (auto intro : kHostIntro) {
      auto at = text::ifind(body, intro);
      if (at == std::string_view::npos) continue;
      auto rest = body.substr(at + intro.size());
      rest = text::trim(rest.substr(0, rest.find('\n')));
      auto end = rest.find_first_of(" ,;\t(");
      auto host = rest.substr(0, end);
      while (!host.empty() && (host.back() == '.' || host.back() == ':')) host.remove_suffix(1);
      if (host.find('.') != std::string_view::npos) {
        out.reporting_mta = text::lower(host);
        break;
      }
    }
  }

  auto lines = text::split_lines(errors);
  const std::string bounce_to = text::clean_address(in.to);
  struct found {
    std::string address;
    std::string diag;
    bool strong;
    std::string rule;
  };
  std::vector<found> recips;
  auto add_diag = [](std::string& d, std::string_view s) {
    s = text::trim(s);
    if (s.empty()) return;
    if (!d.empty()) d.push_back(' ');
    d.append(s);
  };
  found* cur = nullptr;
  bool blank_after_cur = false;
  std::vector<found> weak;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto line = lines[i];
    candidate c;
    if (recips.empty() && weak.size() < 8) {
      candidate w;
      if (weak_recipient_line(line, w) && !never_recipient(w.address) &&
          !text::iequals(w.address, bounce_to))
        weak.push_back({w.address, w.rest, false, w.rule});
    }
    if (recipient_line(line, c) && !never_recipient(c.address)) {
      // Same address again (e.g. "RCPT TO:<x>" under "<x>:"): more diagnostic.
      auto it = std::find_if(recips.begin(), recips.end(),
                             [&](const found& f) { return text::iequals(f.address, c.address); });
      if (it != recips.end()) {
        cur = &*it;
        auto rest = text::trim(c.rest);
        if (!rest.empty() && rest.front() == ':') rest.remove_prefix(1);
        if (text::trim(line).front() == '>' || text::istarts_with(text::trim(line), "rcpt to"))
          add_diag(cur->diag, line);
        else
          add_diag(cur->diag, rest);
      } else if (recips.size() < kMaxRecordsPerMessage) {
        recips.push_back({c.address, {}, c.strong, c.rule});
        cur = &recips.back();
        auto rest = text::trim(c.rest);
        while (!rest.empty() && (rest.front() == ':' || rest.front() == '.' || rest.front() == '>'))
          rest.remove_prefix(1);
        if (text::istarts_with(text::trim(rest), "on ")) rest = {};
        // Keep ">>> RCPT To:<x>" itself: it names the command that failed.
        if (text::icontains(line, "rcpt to")) rest = text::trim(line);
        add_diag(cur->diag, rest);
      }
      blank_after_cur = false;
      // A transcript line is complete: what follows is about other hosts.
      if (c.single_line) cur = nullptr;
      continue;
    }
    if (!cur) continue;
    if (text::trim(line).empty()) {
      if (!cur->diag.empty()) {
        blank_after_cur = true;
      }
      continue;
    }
    if (blank_after_cur) {
      // Text after a blank line belongs to the recipient only if it has no
      // diagnostic yet, or only a lead-in ("because:", "for the following reason:").
      if (!cur->diag.empty() && cur->diag.back() != ':') continue;
      if (!cur->diag.empty() && cur->diag.size() < 40) cur->diag.clear();
      blank_after_cur = false;
    }
    add_diag(cur->diag, line);
    if (cur->diag.size() > 4000) cur = nullptr;
  }
  if (recips.empty() && !weak.empty()) {
    for (auto& w : weak)
      if (std::none_of(recips.begin(), recips.end(),
                       [&](const found& f) { return text::iequals(f.address, w.address); }))
        recips.push_back(std::move(w));
  }
  // Recipient with an empty diagnostic (Gmail): take the next paragraph.
  if (recips.size() == 1 && recips[0].diag.empty()) {
    // whole error text minus the address line
    std::string d;
    bool after = false;
    for (auto line : lines) {
      if (!after) {
        if (text::icontains(line, recips[0].address)) after = true;
        continue;
      }
      add_diag(d, line);
    }
    recips[0].diag = d;
  }
  // One recipient whose lines say nothing usable (no code, no known phrase):
  // the reason is elsewhere in the error text ("Could not be delivered because
  // of 550 5.1.1 User unknown. The following recipients were affected: x").
  if (recips.size() == 1) {
    auto& d = recips[0].diag;
    auto failure_code = [](std::string_view x) {
      auto c = text::find_reply_code(x);
      return !c.empty() && (c[0] == '4' || c[0] == '5');
    };
    if (text::find_status(d).empty() && !failure_code(d) && reason_for_text(d).empty()) {
      std::string all = text::squeeze(errors.substr(0, std::min<std::size_t>(errors.size(), 4000)));
      if (!text::find_status(all).empty() || failure_code(all) || !reason_for_text(all).empty()) {
        d = all;
      } else if (d.empty()) {
        // Still nothing: the error text minus the address (Notes puts the reason above it).
        for (auto pos = all.find(recips[0].address); pos != std::string::npos;
             pos = all.find(recips[0].address))
          all.erase(pos, recips[0].address.size());
        d = text::squeeze(all);
        // Only the sentence that introduces the list of recipients ("Delivery
        // to the following recipients failed permanently:", a list marker
        // after it): a lead-in, not an error text. The notice says nothing
        // about why.
        std::string_view rest = text::trim(d);
        while (!rest.empty() && (rest.back() == '*' || rest.back() == '-' || rest.back() == ' '))
          rest.remove_suffix(1);
        if (!rest.empty() && rest.back() == ':') d.clear();
      }
    }
  }
  // Drop the bounce's own recipient when other candidates exist.
  if (recips.size() > 1 && !bounce_to.empty()) {
    std::erase_if(recips, [&](const found& f) { return text::iequals(f.address, bounce_to); });
  }
  // X-Failed-Recipients (Exim, Gmail, Google Groups) when the text names nobody.
  if (recips.empty() && !in.failed_recipients.empty()) {
    for (const auto& a : in.failed_recipients)
      recips.push_back({a, text::squeeze(errors), true, "header:x-failed-recipients"});
  }
  for (auto& f : recips) {
    record r;
    r.recipient = f.address;
    r.recipient_rule = f.rule;
    r.diagnostic = text::squeeze(f.diag);
    r.producer = out.producer;
    r.reason = std::string(pr.reason);
    r.smtp_command = text::find_command(r.diagnostic);
    if (r.smtp_command.empty()) r.smtp_command = std::string(pr.command);
    out.records.push_back(std::move(r));
  }
  if (out.records.empty()) {
    // No recipient in the text: one record with the whole error text; the
    // caller fills the recipient from the returned message's To:.
    record r;
    r.diagnostic = text::squeeze(errors.substr(0, std::min<std::size_t>(errors.size(), 2000)));
    r.producer = out.producer;
    out.records.push_back(std::move(r));
  }
  return out;
}

}  // namespace mxg::ndr
