// classify.cpp: roles of controls and verdicts of forms. See classify.hpp and docs/forms.md
// for the rules. Security: inputs are untrusted page strings; only bounded string work.
#include "forms/classify.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "base/ascii.hpp"
#include "forms/url.hpp"

namespace mxg::forms {

const char* to_string(role r) noexcept {
  switch (r) {
    case role::sender:
      return "sender";
    case role::recipient:
      return "recipient";
    case role::free_text:
      return "free-text";
    case role::captcha:
      return "captcha";
    case role::other:
      return "other";
  }
  return "other";
}

const char* to_string(verdict v) noexcept {
  switch (v) {
    case verdict::ok:
      return "ok";
    case verdict::risky:
      return "risky";
    case verdict::open_relay_enabler:
      return "open-relay-enabler";
  }
  return "ok";
}

namespace {

using words = std::initializer_list<std::string_view>;

using ascii::lower;

// Identifier words: "yourEmail2" -> {your, email}; "send_to" -> {send, to}. Splits at
// non-alphanumerics, lower->upper case changes and letter/digit changes; drops numbers.
std::vector<std::string> tokens(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty() && !std::isdigit(static_cast<unsigned char>(cur[0]))) out.push_back(cur);
    cur.clear();
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (!std::isalnum(c)) {
      flush();
      continue;
    }
    if (!cur.empty()) {
      unsigned char p = static_cast<unsigned char>(s[i - 1]);
      if ((std::isupper(c) && std::islower(p)) || (std::isdigit(c) != 0) != (std::isdigit(p) != 0))
        flush();
    }
    cur += ascii::to_lower(static_cast<char>(c));
  }
  flush();
  return out;
}

std::string compact(std::string_view s) {
  std::string r;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) r += ascii::to_lower(c);
  return r;
}

template <typename W>
bool any_token(const std::vector<std::string>& t, const W& w) {
  for (auto& x : t)
    for (std::string_view y : w)
      if (x == y) return true;
  return false;
}
bool any_token(const std::vector<std::string>& t, words w) {
  return any_token<words>(t, w);
}
template <typename W>
bool contains_any(std::string_view s, const W& w) {
  for (std::string_view y : w)
    if (s.find(y) != std::string_view::npos) return true;
  return false;
}
bool contains_any(std::string_view s, words w) {
  return contains_any<words>(s, w);
}

// An RFC 5322 addr-spec, loosely: local@domain.tld without spaces (or a list of them).
bool is_address(std::string_view v) {
  std::size_t start = 0;
  while (start < v.size()) {
    std::size_t end = v.find_first_of(",;", start);
    if (end == std::string_view::npos) end = v.size();
    std::string_view a = v.substr(start, end - start);
    while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
    while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
    auto at = a.find('@');
    if (at != std::string_view::npos && at > 0 && a.find('@', at + 1) == std::string_view::npos &&
        a.find(' ') == std::string_view::npos && a.find('.', at) != std::string_view::npos &&
        a.back() != '.')
      return true;
    start = end + 1;
  }
  return false;
}

// Vocabulary (see docs/forms.md). Identifier tokens that name a recipient or a sender.
constexpr std::string_view kRecipientTokens[] = {
    "to",        "cc",     "bcc",     "rcpt",      "recipient",  "recipients", "receiver",
    "receivers", "friend", "friends", "colleague", "colleagues", "dest",       "destination",
    "sendto",    "mailto", "emailto", "toemail",   "their",      "them",       "target"};
constexpr std::string_view kRecipientCompact[] = {"friend", "recipient", "rcpt", "receiver",
                                                  "colleague"};
constexpr std::string_view kSenderTokens[] = {"from",     "sender",  "replyto",  "reply", "your",
                                              "you",      "my",      "me",       "user",  "visitor",
                                              "customer", "contact", "fromemail"};
// Tokens that make an identifier something other than an address ("friend_name").
constexpr std::string_view kNotAddressTokens[] = {
    "name",      "firstname", "lastname", "fname",   "lname",   "phone",   "tel",
    "telephone", "mobile",    "fax",      "message", "msg",     "comment", "comments",
    "subject",   "note",      "notes",    "city",    "company", "date",    "time",
    "url",       "website",   "token",    "csrf",    "nonce",   "count",   "format",
    "copy",      "confirm",   "ok",       "list",    "body",    "text"};
constexpr std::string_view kTextTokens[] = {
    "message", "messages", "msg",       "comment",  "comments",    "note",
    "notes",   "body",     "text",      "content",  "subject",     "enquiry",
    "inquiry", "question", "questions", "feedback", "description", "details",
    "remarks", "remark",   "personal",  "greeting", "greetings",   "request"};
constexpr std::string_view kCaptchaCompact[] = {"captcha",   "recaptcha",    "hcaptcha",
                                                "turnstile", "securitycode", "verificationcode",
                                                "antispam",  "spamcheck",    "humancheck"};
constexpr std::string_view kWidgetResponse[] = {"recaptcha", "hcaptcha", "turnstile"};

// Natural text (labels, placeholders): phrases naming a recipient, a sender, text, captcha.
constexpr std::string_view kRecipientPhrases[] = {
    "friend",       "recipient",   "colleague",     "receiver",     "send to",
    "their e-mail", "their email", "their address", "destinataire", "empf\xc3\xa4nger"};
constexpr std::string_view kSenderPhrases[] = {"your e-mail",  "your email", "your mail",
                                               "your address", "my e-mail",  "my email",
                                               "from",         "sender",     "reply"};
constexpr std::string_view kPossessiveRecipient[] = {"friend's", "friends'", "friend\xe2\x80\x99s",
                                                     "recipient's", "recipient\xe2\x80\x99s"};
constexpr std::string_view kTextPhrases[] = {"message", "comment",  "subject",   "enquiry",
                                             "inquiry", "question", "your note", "feedback"};
constexpr std::string_view kCaptchaPhrases[] = {"captcha",    "security code", "verification code",
                                                "anti-spam",  "antispam",      "are you human",
                                                "not a robot"};

bool submits(const control& c) {
  return c.type != "submit" && c.type != "reset" && c.type != "button" && c.type != "image";
}
bool texty_type(const std::string& t) {
  return t == "text" || t == "search" || t == "hidden" || t == "textarea" || t == "select" ||
         t == "email";
}

// Why a client-side-fixed value is still the visitor's to choose.
std::string fixed_note(const control& c) {
  if (c.type == "hidden")
    return "; fixed in a hidden field, which the visitor can change before submitting";
  if (c.readonly) return "; read-only in the page, which the visitor can change before submitting";
  if (c.type == "select" || c.type == "radio")
    return "; a choice in the page, but the visitor can submit any value";
  return "";
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

field classify_control(const control& c) {
  field f;
  f.tag = c.tag;
  f.type = c.type;
  f.name = c.name;
  f.id = c.id;
  f.label = c.label;
  f.hidden = c.type == "hidden";
  if (c.disabled) {
    f.why = "disabled: never submitted";
    return f;
  }
  if (!submits(c)) return f;

  // Identifiers first: name, then id (with class for widgets).
  std::string ident = c.name.empty() ? c.id : c.name;
  std::string ident_what = c.name.empty() ? "id" : "name";
  std::vector<std::string> tk = tokens(c.name);
  for (auto& t : tokens(c.id)) tk.push_back(t);
  std::string cp = compact(c.name) + " " + compact(c.id);
  std::string text =
      lower(c.label + " | " + c.placeholder + " | " + c.aria_label + " | " + c.title);
  std::string legend = lower(c.legend);

  // Captcha (a hidden field is no challenge unless it is a widget's response field).
  bool widget_response = contains_any(cp, kWidgetResponse);
  if (widget_response || (!f.hidden && (contains_any(cp, kCaptchaCompact) ||
                                        contains_any(compact(c.css_class), {"captcha"}) ||
                                        contains_any(text, kCaptchaPhrases)))) {
    f.r = role::captcha;
    f.why = widget_response
                ? ident_what + " " + quoted(ident) + " is a captcha widget response"
                : "captcha field (" +
                      (contains_any(cp, kCaptchaCompact) ? ident_what + " " + quoted(ident)
                                                         : std::string("label/class")) +
                      ")";
    return f;
  }

  if (c.type == "checkbox") {
    if (contains_any(cp, {"copy", "ccme", "ccself", "sendme", "tome", "myself"}) ||
        any_token(tk, {"cc", "self"}) ||
        contains_any(text, {"copy", "cc me", "send me", "to myself"})) {
      f.copy_to_sender = true;
      f.why = "checkbox asks to mail a copy to the sender address";
    }
    if (!(c.value.empty() || !is_address(c.value))) {
      f.r = role::recipient;
      f.why = "checkbox carries address " + quoted(c.value) + fixed_note(c);
    }
    return f;
  }
  if (!texty_type(c.type) && c.type != "radio") return f;

  bool addr_value =
      is_address(c.value) || std::any_of(c.options.begin(), c.options.end(),
                                         [](const std::string& o) { return is_address(o); });

  // Is it an address field? type=email, an identifier whose head word is mail, or one that
  // names a party (to, from, recipient...) and nothing else (not "friend_name").
  bool head_mail = false;
  for (auto& id : {c.name, c.id}) {
    auto t = tokens(id);
    std::string cid = compact(id);
    if (t.empty()) continue;
    const std::string& last = t.back();
    bool mail_word =
        cid.find("mail") != std::string::npos && cid.find("mailing") == std::string::npos;
    if (last == "email" || last == "emails" || last == "mail" || last == "courriel" ||
        last == "correo" || ((last == "address" || last == "addr") && mail_word) ||
        cid.ends_with("email") || cid.ends_with("mail"))
      head_mail = true;
  }
  bool not_address = any_token(tk, kNotAddressTokens);
  bool party_ident = !not_address && (any_token(tk, kRecipientTokens) ||
                                      any_token(tk, {"from", "sender", "replyto"}) ||
                                      contains_any(cp, kRecipientCompact));
  bool ident_says_text = any_token(tk, kTextTokens) || contains_any(cp, {"message", "comment"});
  bool ident_neutral = !head_mail && !party_ident && !ident_says_text;
  bool text_mail = contains_any(text, {"e-mail", "email", "mail address", "courriel"});
  bool address = c.type == "email" || head_mail || party_ident || addr_value ||
                 (ident_neutral && text_mail && c.type != "textarea");
  if (c.type == "radio" && !addr_value) return f;

  if (address) {
    bool ident_recipient = any_token(tk, kRecipientTokens) || contains_any(cp, kRecipientCompact);
    bool ident_sender = any_token(tk, kSenderTokens);
    auto recipient = [&](std::string why) {
      f.r = role::recipient;
      f.why = why + fixed_note(c);
      if (addr_value && (f.hidden || c.readonly))
        f.why = why + " (value " + quoted(c.value.empty() ? c.options.front() : c.value) + ")" +
                fixed_note(c);
      return f;
    };
    if (ident_recipient && !(ident_sender && any_token(tk, {"from", "sender", "replyto", "reply"})))
      return recipient(ident_what + " " + quoted(ident) + " names a recipient");
    if (!ident_sender) {
      bool text_recipient =
          contains_any(text, kRecipientPhrases) &&
          (!contains_any(text, kSenderPhrases) || contains_any(text, kPossessiveRecipient));
      if (text_recipient)
        return recipient("label/placeholder " + quoted(c.label.empty() ? c.placeholder : c.label) +
                         " names a recipient");
      if (contains_any(legend, kRecipientPhrases) || legend == "to")
        return recipient("address field in fieldset " + quoted(c.legend) +
                         " that names a recipient");
      if (addr_value && (f.hidden || c.readonly || c.type == "select" || c.type == "radio"))
        return recipient("carries a fixed address and nothing names it a sender");
    }
    f.r = role::sender;
    if (c.type == "email" && !head_mail && !party_ident)
      f.why = "type=email";
    else if (head_mail || party_ident)
      f.why = ident_what + " " + quoted(ident) + " names a sender address";
    else
      f.why = "label/placeholder mentions an e-mail address";
    f.why += fixed_note(c);
    return f;
  }

  // Free text that reaches the mail.
  if (c.type == "textarea") {
    f.r = role::free_text;
    f.why = "textarea" + std::string(ident.empty() ? "" : " " + quoted(ident));
    return f;
  }
  if (ident_says_text || (ident_neutral && contains_any(text, kTextPhrases))) {
    f.r = role::free_text;
    f.why = (ident_says_text ? ident_what + " " + quoted(ident) : "label " + quoted(c.label)) +
            " is message text" + fixed_note(c);
    return f;
  }
  return f;
}

form_report classify_form(const extracted_page& page, std::size_t index,
                          std::string_view page_url) {
  const raw_form& rf = page.forms.at(index);
  form_report r;
  r.index = index + 1;
  r.id = rf.id;
  r.name = rf.name;
  r.method = rf.method == "post" ? "POST" : rf.method == "dialog" ? "DIALOG" : "GET";
  std::string base = page_url.empty()         ? std::string()
                     : page.base_href.empty() ? std::string(page_url)
                                              : resolve_uri(page_url, page.base_href);
  if (page_url.empty() && !page.base_href.empty()) base = page.base_href;
  if (!rf.has_action || rf.action.empty())
    r.action = base.empty() ? "(this page)" : strip_fragment(base);
  else
    r.action = resolve_uri(base, rf.action);

  std::vector<std::string> senders, recipients, texts, captcha_fields;
  bool copy = false;
  for (const control& c : rf.controls) {
    field f = classify_control(c);
    if (!c.association.empty())
      f.why += (f.why.empty() ? "" : "; ") + ("owner by " + c.association);
    switch (f.r) {
      case role::sender:
        senders.push_back(f.name.empty() ? f.id : f.name);
        break;
      case role::recipient:
        recipients.push_back(f.name.empty() ? f.id : f.name);
        break;
      case role::free_text:
        texts.push_back(f.name.empty() ? f.id : f.name);
        break;
      case role::captcha:
        captcha_fields.push_back(f.name.empty() ? f.id : f.name);
        break;
      case role::other:
        break;
    }
    copy = copy || f.copy_to_sender;
    if (f.type != "submit" && f.type != "reset" && f.type != "button" && f.type != "image")
      r.fields.push_back(std::move(f));
  }

  for (auto& m : rf.captchas) r.captchas.push_back(m.kind + ": " + m.evidence);
  for (auto& n : captcha_fields) r.captchas.push_back("captcha: field '" + n + "'");
  if (r.captchas.empty() && !page.page_captchas.empty()) {
    // A captcha script or widget outside every form protects the forms of the page only
    // when no form carries its own widget (invisible reCAPTCHA v3, a widget placed after
    // the form): otherwise the page shows which forms it protects.
    bool any_own = false;
    for (std::size_t k = 0; k < page.forms.size(); ++k) {
      const raw_form& o = page.forms[k];
      if (!o.captchas.empty()) any_own = true;
      for (const control& c : o.controls)
        if (classify_control(c).r == role::captcha) any_own = true;
    }
    if (!any_own)
      for (auto& m : page.page_captchas)
        r.captchas.push_back(m.kind + ": " + m.evidence + " (page level, outside the form)");
  }

  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) s += (s.empty() ? "" : ", ") + quoted(x);
    return s;
  };
  r.sender = !senders.empty();
  r.recipient = !recipients.empty();
  r.free_text = !texts.empty();
  r.captcha = !r.captchas.empty();
  if (copy && r.sender && !r.recipient) {
    r.recipient = true;
    recipients = senders;
    r.reasons.push_back(
        "a 'send me a copy' checkbox mails the message to the sender address the "
        "visitor typed: " +
        list(senders) + " is also a recipient");
  }

  if (r.action.starts_with("mailto:") || r.action.starts_with("MAILTO:")) {
    r.v = verdict::ok;
    r.reasons.push_back(
        "action is mailto: the visitor's own mail client sends the message, "
        "not this site's server");
    return r;
  }

  const std::string R = list(recipients), S = list(senders), T = list(texts);
  if (r.recipient && r.sender && r.free_text && !r.captcha) {
    r.v = verdict::open_relay_enabler;
    r.reasons.push_back("the visitor chooses the recipient (" + R + "), the sender (" + S +
                        ") and the text (" + T +
                        ") and there is no captcha: anyone can send "
                        "any message to any address through this site's mail server, and the "
                        "bounces go to the forged sender");
  } else if (r.recipient && r.free_text) {
    r.v = verdict::risky;
    if (r.captcha)
      r.reasons.push_back("the visitor chooses the recipient (" + R + ") and the text (" + T +
                          "); only the captcha stops automated abuse (solving services and "
                          "humans can still send spam through it)");
    else
      r.reasons.push_back("the visitor chooses the recipient (" + R + ") and the text (" + T +
                          ") with no captcha; there is no sender field, so the spam goes out "
                          "under the site's own address (no forged-sender backscatter)");
  } else if (r.recipient && !r.captcha) {
    r.v = verdict::risky;
    r.reasons.push_back("the visitor chooses the recipient (" + R +
                        ") with no captcha: the "
                        "site's fixed text can be sent to any address in bulk (mail bombing, "
                        "blocklisting of the site's server)");
  } else if (r.sender && r.free_text && !r.captcha) {
    r.v = verdict::risky;
    r.reasons.push_back("contact form with a sender field (" + S + ") and free text (" + T +
                        ") but no captcha: spam reaches the site's own mailbox, and any "
                        "acknowledgement mail goes to whatever address was typed");
  } else {
    r.v = verdict::ok;
    if (r.recipient)
      r.reasons.push_back("the visitor chooses the recipient (" + R +
                          ") but the text is fixed and a captcha is present");
    else if (r.sender || r.free_text)
      r.reasons.push_back(std::string("no recipient field: the mail goes to an address the "
                                      "site fixes on the server") +
                          (r.captcha ? ", and a captcha is present" : ""));
    else
      r.reasons.push_back("no address or message fields");
    if (r.sender && !r.free_text && !r.captcha)
      r.reasons.push_back("note: if the site mails a confirmation to " + S +
                          ", anyone can aim those at any address; rate-limit it");
  }
  if (!r.captcha && r.v != verdict::ok) r.reasons.push_back("no captcha found in or for the form");
  if (r.captcha) r.reasons.push_back("captcha: " + r.captchas.front());
  if (rf.truncated) r.reasons.push_back("form has too many controls; only the first were read");
  return r;
}

std::vector<form_report> classify_page(const extracted_page& page, std::string_view page_url) {
  std::vector<form_report> out;
  for (std::size_t i = 0; i < page.forms.size(); ++i)
    out.push_back(classify_form(page, i, page_url));
  return out;
}

}  // namespace mxg::forms
