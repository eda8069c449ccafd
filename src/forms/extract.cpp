// extract.cpp: gumbo tree -> raw forms. See extract.hpp.
// HTML references: WHATWG HTML "form owner" (4.10.18.3 association of controls and forms),
// "labeled control" (4.10.4), tree construction (13.2.6; the form element pointer).
// Security: untrusted input; size and nesting are checked before parsing, the tree walks
// use explicit stacks (no recursion on page depth), every kept list and string is capped.
#include "forms/extract.hpp"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstdlib>
#include <map>
#include <memory>
#include <unordered_map>

#include "base/ascii.hpp"
#include "forms/limits.hpp"

namespace mxg::forms {

namespace {

using ascii::lower;

bool iequal_prefix(std::string_view s, std::size_t at, std::string_view word) {
  if (at + word.size() > s.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (ascii::to_lower(s[at + i]) != word[i]) return false;
  return true;
}

std::size_t ifind(std::string_view s, std::string_view word, std::size_t from) {
  for (std::size_t i = from; i + word.size() <= s.size(); ++i)
    if (iequal_prefix(s, i, word)) return i;
  return std::string_view::npos;
}

// Collapses runs of whitespace and trims; cuts at kMaxTextChars.
std::string collapse(std::string_view s) {
  std::string r;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !r.empty();
      continue;
    }
    if (space) r += ' ';
    space = false;
    r += c;
    if (r.size() >= limits::kMaxTextChars) break;
  }
  return r;
}

std::string attr(const GumboNode* n, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&n->v.element.attributes, name);
  if (!a || !a->value) return {};
  std::string_view v(a->value);
  return std::string(v.substr(0, limits::kMaxTextChars * 4));
}
bool has_attr(const GumboNode* n, const char* name) {
  return gumbo_get_attribute(&n->v.element.attributes, name) != nullptr;
}

bool is_element(const GumboNode* n) {
  return n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE;
}

// Text content of a subtree, without the text of controls and scripts inside it.
std::string text_of(const GumboNode* root) {
  std::string out;
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty() && out.size() < limits::kMaxTextChars * 4) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE ||
        n->type == GUMBO_NODE_CDATA) {
      out += n->v.text.text;
      out += ' ';
      continue;
    }
    if (!is_element(n)) continue;
    GumboTag t = n->v.element.tag;
    if (n != root && (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_SELECT ||
                      t == GUMBO_TAG_TEXTAREA || t == GUMBO_TAG_OPTION))
      continue;
    const GumboVector& ch = n->v.element.children;
    for (unsigned i = ch.length; i-- > 0;)
      stack.push_back(static_cast<const GumboNode*>(ch.data[i]));
  }
  return collapse(out);
}

bool class_has(const std::string& cls, std::string_view token) {
  std::size_t i = 0;
  while (i < cls.size()) {
    while (i < cls.size() && std::isspace(static_cast<unsigned char>(cls[i]))) ++i;
    std::size_t j = i;
    while (j < cls.size() && !std::isspace(static_cast<unsigned char>(cls[j]))) ++j;
    if (lower(std::string_view(cls).substr(i, j - i)) == token) return true;
    i = j;
  }
  return false;
}

// Captcha evidence on one element (widget classes, scripts, images, iframes).
void captcha_markers_of(const GumboNode* n, std::vector<captcha_marker>& out) {
  GumboTag t = n->v.element.tag;
  std::string cls = attr(n, "class");
  static const std::pair<const char*, const char*> kWidgets[] = {
      {"g-recaptcha", "recaptcha"},
      {"h-captcha", "hcaptcha"},
      {"cf-turnstile", "turnstile"},
      {"frc-captcha", "friendlycaptcha"},
  };
  for (auto [klass, kind] : kWidgets)
    if (class_has(cls, klass))
      out.push_back({kind, std::string("<") + gumbo_normalized_tagname(t) + " class=\"" + klass +
                               "\"> widget"});
  if (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_IFRAME) {
    std::string src = lower(attr(n, "src"));
    static const std::pair<const char*, const char*> kScripts[] = {
        {"google.com/recaptcha", "recaptcha"},
        {"recaptcha.net/recaptcha", "recaptcha"},
        {"gstatic.com/recaptcha", "recaptcha"},
        {"hcaptcha.com", "hcaptcha"},
        {"challenges.cloudflare.com/turnstile", "turnstile"},
        {"friendlycaptcha", "friendlycaptcha"},
    };
    for (auto [needle, kind] : kScripts)
      if (src.find(needle) != std::string::npos) {
        out.push_back({kind, std::string(t == GUMBO_TAG_SCRIPT ? "script" : "iframe") + " " +
                                 collapse(attr(n, "src"))});
        break;
      }
    if (t == GUMBO_TAG_SCRIPT && src.empty() && n->v.element.children.length > 0) {
      const GumboNode* c = static_cast<const GumboNode*>(n->v.element.children.data[0]);
      if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_CDATA) {
        std::string_view code(c->v.text.text);
        static const std::pair<const char*, const char*> kCalls[] = {
            {"grecaptcha.", "recaptcha"},
            {"hcaptcha.render", "hcaptcha"},
            {"turnstile.render", "turnstile"}};
        for (auto [needle, kind] : kCalls)
          if (code.find(needle) != std::string_view::npos) {
            out.push_back({kind, std::string("inline script calling ") + needle});
            break;
          }
      }
    }
  }
  if (t == GUMBO_TAG_IMG) {
    std::string all = lower(attr(n, "src") + " " + attr(n, "alt") + " " + attr(n, "id") + " " +
                            cls + " " + attr(n, "name"));
    if (all.find("captcha") != std::string::npos)
      out.push_back({"captcha", "image " + collapse(attr(n, "src"))});
  }
  if (out.empty() && has_attr(n, "data-sitekey") && t != GUMBO_TAG_SCRIPT)
    out.push_back(
        {"captcha", std::string("<") + gumbo_normalized_tagname(t) + " data-sitekey> widget"});
}

struct pending_control {
  control c;
  int ancestor_form = -1;
  bool has_form_attr = false;
  std::string form_attr;
  const GumboNode* node = nullptr;
};

// Every gumbo allocation goes through this arena: blocks are linked so that an abandoned
// parse can free them all, and live/total byte counts enforce the parser budgets. When a
// budget is exceeded the allocator longjmps back to parse_bounded (only C frames of gumbo
// and trivially destructible locals lie between), and the arena frees what gumbo held.
struct block_header {
  block_header *prev, *next;
  std::size_t size;
  std::max_align_t align_pad[1];  // keeps the payload maximally aligned
};
struct arena {
  block_header head{&head, &head, 0, {}};
  std::size_t live = 0, total = 0;
  std::jmp_buf on_budget;
  bool over = false;

  ~arena() {
    for (block_header* b = head.next; b != &head;) {
      block_header* next = b->next;
      std::free(b);
      b = next;
    }
  }
};

void* arena_alloc(void* ud, std::size_t size) {
  auto* a = static_cast<arena*>(ud);
  a->live += size;
  a->total += size;
  if (a->live > limits::kMaxParserLiveBytes || a->total > limits::kMaxParserTotalBytes) {
    a->over = true;
    std::longjmp(a->on_budget, 1);
  }
  auto* b = static_cast<block_header*>(std::malloc(sizeof(block_header) + size));
  if (!b) {
    a->over = true;
    std::longjmp(a->on_budget, 1);
  }
  b->size = size;
  b->prev = &a->head;
  b->next = a->head.next;
  a->head.next->prev = b;
  a->head.next = b;
  return b + 1;
}

void arena_free(void* ud, void* p) {
  if (!p) return;
  auto* a = static_cast<arena*>(ud);
  block_header* b = static_cast<block_header*>(p) - 1;
  b->prev->next = b->next;
  b->next->prev = b->prev;
  a->live -= b->size;
  std::free(b);
}

// No object with a destructor may live in this frame: the allocator longjmps into it.
GumboOutput* parse_bounded(arena* a, const GumboOptions* opts, const char* data, std::size_t size) {
  if (setjmp(a->on_budget) != 0) return nullptr;
  return gumbo_parse_with_options(opts, data, size);
}

struct gumbo_deleter {
  const GumboOptions* opts;
  void operator()(GumboOutput* o) const { gumbo_destroy_output(opts, o); }
};

}  // namespace

std::size_t estimate_nesting_depth(std::string_view s) {
  static const char* const kVoid[] = {"area",     "base",    "br",    "col",   "embed",
                                      "hr",       "img",     "input", "link",  "meta",
                                      "param",    "source",  "track", "wbr",   "keygen",
                                      "basefont", "bgsound", "frame", "image", "command"};
  static const char* const kRaw[] = {"script", "style",  "textarea", "title",
                                     "xmp",    "iframe", "noembed",  "noframes"};
  static const char* const kClosesP[] = {
      "address", "article", "aside",    "blockquote", "center",  "details", "dialog",   "dir",
      "div",     "dl",      "fieldset", "figcaption", "figure",  "footer",  "form",     "h1",
      "h2",      "h3",      "h4",       "h5",         "h6",      "header",  "hgroup",   "hr",
      "main",    "menu",    "nav",      "ol",         "p",       "pre",     "section",  "summary",
      "ul",      "li",      "dd",       "dt",         "listing", "xmp",     "plaintext"};
  static const char* const kScope[] = {"table",    "td",      "th",     "caption", "html",
                                       "template", "marquee", "object", "applet"};
  auto in = [](const auto& list, const std::string& w) {
    return std::find_if(std::begin(list), std::end(list), [&](const char* x) { return w == x; }) !=
           std::end(list);
  };
  std::vector<std::string> stack;
  std::size_t deepest = 0, foreign = 0, i = 0, n = s.size();
  auto read_name = [&](std::size_t& j) {
    std::size_t b = j;
    while (j < n && !std::isspace(static_cast<unsigned char>(s[j])) && s[j] != '>' && s[j] != '/')
      ++j;
    return lower(s.substr(b, j - b));
  };
  while (i < n) {
    if (s[i] != '<') {
      ++i;
      continue;
    }
    if (s.substr(i, 4) == "<!--") {
      auto e = s.find("-->", i + 4);
      i = e == std::string_view::npos ? n : e + 3;
      continue;
    }
    if (i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?')) {
      auto e = s.find('>', i);
      i = e == std::string_view::npos ? n : e + 1;
      continue;
    }
    bool end_tag = i + 1 < n && s[i + 1] == '/';
    std::size_t j = i + (end_tag ? 2 : 1);
    if (j >= n || !std::isalpha(static_cast<unsigned char>(s[j]))) {
      ++i;
      continue;
    }
    std::string name = read_name(j);
    // Attributes up to '>', skipping quoted values.
    bool self_closing = false;
    while (j < n && s[j] != '>') {
      if (s[j] == '"' || s[j] == '\'') {
        auto e = s.find(s[j], j + 1);
        j = e == std::string_view::npos ? n : e + 1;
        continue;
      }
      self_closing = s[j] == '/' && j + 1 < n && s[j + 1] == '>';
      ++j;
    }
    i = j < n ? j + 1 : n;
    if (end_tag) {
      for (std::size_t k = stack.size(); k-- > 0;) {
        if (stack[k] == name) {
          for (std::size_t m = k; m < stack.size(); ++m)
            if (stack[m] == "svg" || stack[m] == "math") --foreign;
          stack.resize(k);
          break;
        }
        if (in(kScope, stack[k])) break;  // not in scope: the parser ignores the end tag
      }
      continue;
    }
    if (name == "plaintext") break;
    if (in(kVoid, name) || (self_closing && foreign > 0)) continue;
    // Start tags that close an open element (13.2.6.4.7 "in body", 13.2.6.4.9-15 tables):
    // pop to the nearest `closes` element unless a boundary comes first.
    auto close_open = [&](std::initializer_list<std::string_view> closes,
                          std::initializer_list<std::string_view> bounds, bool scope = true) {
      for (std::size_t k = stack.size(); k-- > 0;) {
        const std::string& e = stack[k];
        if (std::find(closes.begin(), closes.end(), e) != closes.end()) {
          for (std::size_t m = k; m < stack.size(); ++m)
            if (stack[m] == "svg" || stack[m] == "math") --foreign;
          stack.resize(k);
          return;
        }
        if ((scope && in(kScope, e)) || std::find(bounds.begin(), bounds.end(), e) != bounds.end())
          return;
      }
    };
    if (foreign == 0) {
      if (in(kClosesP, name)) close_open({"p"}, {"button"});  // p in button scope
      if (name == "li") close_open({"li"}, {"ol", "ul"});     // list item scope
      if (name == "dt" || name == "dd") close_open({"dt", "dd"}, {"dl", "ol", "ul"});
      // "clear the stack back to a table body/row context" (13.2.6.4.13-14)
      if (name == "tr")
        close_open({"tr"}, {"table", "tbody", "thead", "tfoot", "template", "html"}, false);
      if (name == "td" || name == "th")
        close_open({"td", "th"}, {"tr", "table", "template", "html"}, false);
      if (name == "a") close_open({"a"}, {});  // adoption agency on the open <a>
      if (name == "nobr") close_open({"nobr"}, {});
      if (name == "option" && !stack.empty() && stack.back() == "option") stack.pop_back();
    }
    if (name == "svg" || name == "math") ++foreign;
    stack.push_back(name);
    deepest = std::max(deepest, stack.size());
    if (in(kRaw, name)) {  // its text holds no tags: jump to its end tag
      auto e = ifind(s, "</" + name, i);
      i = e == std::string_view::npos ? n : e;
    }
  }
  return deepest;
}

result<extracted_page> extract_forms(std::string_view html) {
  if (html.size() > limits::kMaxPageBytes)
    return fail(errc::limit_exceeded, "page of " + std::to_string(html.size()) +
                                          " bytes is over the limit of " +
                                          std::to_string(limits::kMaxPageBytes));
  if (std::size_t d = estimate_nesting_depth(html); d > limits::kMaxNestingDepth)
    return fail(errc::limit_exceeded, "HTML nested about " + std::to_string(d) +
                                          " elements deep, over the limit of " +
                                          std::to_string(limits::kMaxNestingDepth));

  arena mem;  // declared before `out`: outlives the tree it holds
  GumboOptions opts = kGumboDefaultOptions;
  opts.max_errors = 0;  // we do not read parse errors
  opts.allocator = arena_alloc;
  opts.deallocator = arena_free;
  opts.userdata = &mem;
  std::unique_ptr<GumboOutput, gumbo_deleter> out(
      parse_bounded(&mem, &opts, html.data(), html.size()), gumbo_deleter{&opts});
  if (mem.over)
    return fail(errc::limit_exceeded,
                "HTML parser memory budget exceeded (" +
                    std::to_string(limits::kMaxParserLiveBytes >> 20) + " MiB live, " +
                    std::to_string(limits::kMaxParserTotalBytes >> 20) + " MiB in total): refused");
  if (!out) return fail(errc::parse_error, "HTML parser failed");

  extracted_page page;
  std::unordered_map<std::string, const GumboNode*> first_id;  // first element with an id
  std::unordered_map<const GumboNode*, int> form_index;
  std::vector<pending_control> pending;
  std::vector<const GumboNode*> labels;

  struct frame {
    const GumboNode* node;
    int form;
    std::string legend;
  };
  std::vector<frame> stack{{out->document, -1, {}}};
  while (!stack.empty()) {
    frame f = std::move(stack.back());
    stack.pop_back();
    const GumboNode* n = f.node;
    if (n->type == GUMBO_NODE_DOCUMENT) {
      const GumboVector& ch = n->v.document.children;
      for (unsigned i = ch.length; i-- > 0;)
        stack.push_back({static_cast<const GumboNode*>(ch.data[i]), -1, {}});
      continue;
    }
    if (!is_element(n)) continue;
    const GumboElement& e = n->v.element;
    if (std::string id = attr(n, "id"); !id.empty()) first_id.try_emplace(id, n);

    std::vector<captcha_marker> marks;
    captcha_markers_of(n, marks);
    for (auto& m : marks) {
      if (f.form >= 0)
        page.forms[static_cast<std::size_t>(f.form)].captchas.push_back(std::move(m));
      else
        page.page_captchas.push_back(std::move(m));
    }

    switch (e.tag) {
      case GUMBO_TAG_FORM:
        if (f.form < 0 && page.forms.size() < limits::kMaxFormsPerPage) {
          raw_form rf;
          rf.id = collapse(attr(n, "id"));
          rf.name = collapse(attr(n, "name"));
          rf.has_action = has_attr(n, "action");
          rf.action = attr(n, "action");
          rf.method = lower(collapse(attr(n, "method")));
          rf.enctype = lower(collapse(attr(n, "enctype")));
          rf.offset = e.start_pos.offset;
          rf.end_offset = e.end_pos.offset;
          f.form = static_cast<int>(page.forms.size());
          form_index[n] = f.form;
          page.forms.push_back(std::move(rf));
        }
        break;
      case GUMBO_TAG_FIELDSET:
        for (unsigned i = 0; i < e.children.length; ++i) {
          auto* c = static_cast<const GumboNode*>(e.children.data[i]);
          if (is_element(c) && c->v.element.tag == GUMBO_TAG_LEGEND) {
            std::string l = text_of(c);
            if (!l.empty()) f.legend = f.legend.empty() ? l : l + " / " + f.legend;
            break;
          }
        }
        break;
      case GUMBO_TAG_INPUT:
      case GUMBO_TAG_TEXTAREA:
      case GUMBO_TAG_SELECT: {
        pending_control p;
        control& c = p.c;
        c.tag = gumbo_normalized_tagname(e.tag);
        c.type = e.tag == GUMBO_TAG_INPUT ? lower(collapse(attr(n, "type"))) : c.tag;
        if (c.type.empty()) c.type = "text";
        c.name = collapse(attr(n, "name"));
        c.id = collapse(attr(n, "id"));
        c.placeholder = collapse(attr(n, "placeholder"));
        c.title = collapse(attr(n, "title"));
        c.aria_label = collapse(attr(n, "aria-label"));
        c.css_class = collapse(attr(n, "class"));
        c.autocomplete = lower(collapse(attr(n, "autocomplete")));
        c.readonly = has_attr(n, "readonly");
        c.disabled = has_attr(n, "disabled");
        c.hidden_attr = has_attr(n, "hidden");
        c.legend = f.legend;
        c.offset = e.start_pos.offset;
        if (e.tag == GUMBO_TAG_TEXTAREA)
          c.value = text_of(n);
        else
          c.value = collapse(attr(n, "value"));
        if (e.tag == GUMBO_TAG_SELECT) {
          std::vector<const GumboNode*> sub{n};
          while (!sub.empty() && c.options.size() < 100) {
            const GumboNode* s = sub.back();
            sub.pop_back();
            if (!is_element(s)) continue;
            if (s->v.element.tag == GUMBO_TAG_OPTION) {
              c.options.push_back(has_attr(s, "value") ? collapse(attr(s, "value")) : text_of(s));
              continue;
            }
            const GumboVector& ch = s->v.element.children;
            for (unsigned i = ch.length; i-- > 0;)
              sub.push_back(static_cast<const GumboNode*>(ch.data[i]));
          }
        }
        p.ancestor_form = f.form;
        p.has_form_attr = has_attr(n, "form");
        p.form_attr = attr(n, "form");
        p.node = n;
        pending.push_back(std::move(p));
        break;
      }
      case GUMBO_TAG_LABEL:
        labels.push_back(n);
        break;
      case GUMBO_TAG_BASE:
        if (page.base_href.empty()) page.base_href = attr(n, "href");
        break;
      case GUMBO_TAG_A:
      case GUMBO_TAG_AREA:
        if (has_attr(n, "href") && page.links.size() < limits::kMaxLinksPerPage)
          page.links.push_back(attr(n, "href"));
        break;
      case GUMBO_TAG_IFRAME:
      case GUMBO_TAG_FRAME:
        if (has_attr(n, "src") && page.links.size() < limits::kMaxLinksPerPage)
          page.links.push_back(attr(n, "src"));
        break;
      default:
        break;
    }
    const GumboVector& ch = e.children;
    for (unsigned i = ch.length; i-- > 0;)
      stack.push_back({static_cast<const GumboNode*>(ch.data[i]), f.form, f.legend});
  }

  // Byte offsets of "</form" in the source, for the parser's form element pointer: a form
  // start tag inside a table is closed at once (13.2.6.4.9 "in table"), yet the controls
  // that follow still belong to it until a </form> end tag (13.2.6.4.7 "form" end tag).
  std::vector<std::size_t> form_end_tags;
  for (std::size_t at = ifind(html, "</form", 0); at != std::string_view::npos;
       at = ifind(html, "</form", at + 6))
    form_end_tags.push_back(at);

  std::unordered_map<const GumboNode*, std::pair<std::size_t, std::size_t>> placed;
  for (auto& p : pending) {
    int owner = -1;
    if (p.has_form_attr) {
      // HTML 4.10.18.3: the first element in tree order with that id, if it is a form.
      auto it = first_id.find(p.form_attr);
      if (it != first_id.end()) {
        auto fi = form_index.find(it->second);
        if (fi != form_index.end()) {
          owner = fi->second;
          p.c.association = "form=\"" + collapse(p.form_attr) + "\" attribute";
        }
      }
    } else if (p.ancestor_form >= 0) {
      owner = p.ancestor_form;
    } else {
      for (std::size_t k = page.forms.size(); k-- > 0;) {
        const raw_form& rf = page.forms[k];
        if (rf.offset >= p.c.offset) continue;
        auto closed = std::lower_bound(form_end_tags.begin(), form_end_tags.end(), rf.offset);
        if (closed == form_end_tags.end() || *closed > p.c.offset) {
          owner = static_cast<int>(k);
          p.c.association = "parser form pointer (form start tag closed early, e.g. in a table)";
        }
        break;
      }
    }
    if (owner < 0) {
      ++page.orphan_controls;
      continue;
    }
    raw_form& rf = page.forms[static_cast<std::size_t>(owner)];
    if (rf.controls.size() >= limits::kMaxControlsPerForm) {
      rf.truncated = true;
      continue;
    }
    placed[p.node] = {static_cast<std::size_t>(owner), rf.controls.size()};
    rf.controls.push_back(std::move(p.c));
  }

  // Labels (HTML 4.10.4): for= names the control by id; otherwise the first labelable
  // descendant is the labeled control.
  auto add_label = [&](const GumboNode* target, const std::string& text) {
    auto it = placed.find(target);
    if (it == placed.end() || text.empty()) return;
    control& c = page.forms[it->second.first].controls[it->second.second];
    if (c.label.size() < limits::kMaxTextChars)
      c.label = collapse(c.label.empty() ? text : c.label + " / " + text);
  };
  for (const GumboNode* l : labels) {
    std::string text = text_of(l);
    if (has_attr(l, "for")) {
      auto it = first_id.find(attr(l, "for"));
      if (it != first_id.end()) add_label(it->second, text);
      continue;
    }
    std::vector<const GumboNode*> sub;
    const GumboVector& ch = l->v.element.children;
    for (unsigned i = ch.length; i-- > 0;) sub.push_back(static_cast<const GumboNode*>(ch.data[i]));
    while (!sub.empty()) {
      const GumboNode* s = sub.back();
      sub.pop_back();
      if (!is_element(s)) continue;
      GumboTag t = s->v.element.tag;
      bool labelable = t == GUMBO_TAG_SELECT || t == GUMBO_TAG_TEXTAREA || t == GUMBO_TAG_BUTTON ||
                       t == GUMBO_TAG_METER || t == GUMBO_TAG_OUTPUT || t == GUMBO_TAG_PROGRESS ||
                       (t == GUMBO_TAG_INPUT && lower(attr(s, "type")) != "hidden");
      if (labelable) {
        add_label(s, text);
        break;
      }
      const GumboVector& c2 = s->v.element.children;
      for (unsigned i = c2.length; i-- > 0;)
        sub.push_back(static_cast<const GumboNode*>(c2.data[i]));
    }
  }
  return page;
}

}  // namespace mxg::forms
