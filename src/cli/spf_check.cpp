// spf_check.cpp: `mxguard spf check`: evaluates RFC 7208 check_host() for one client
// (--ip/--sender/--helo) or for every line of a batch file, against real DNS (c-ares,
// --dns HOST[:PORT], /etc/resolv.conf by default) or a zone file (--zone FILE).
// Prints the result, the deciding term, the explanation and the Received-SPF field
// (RFC 7208 9.1); --trace adds every DNS query with its answer and every term evaluated;
// --json prints one object (one per line with --batch).
// Security: the batch file and DNS answers are untrusted; lines are length-capped,
// output of DNS text goes through the JSON encoder (bytes that are not UTF-8 become
// U+FFFD instead of an exception) or the Received-SPF escaper.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/spawn.hpp"
#include "cli/dns_flags.hpp"
#include "cli/printable.hpp"
#include "spf/evaluator.hpp"
#include "spf/received_spf.hpp"

namespace {

using namespace mxg;

constexpr std::size_t kBatchLineMax = 4096;    // a line is IP, address and HELO: ample
constexpr int kBatchDefaultConcurrency = 256;  // checks in flight at once in --batch

// Exit codes (also in README "spf check"). 2 is the CLI-wide usage error.
int exit_code_for(spf::result r) {
  switch (r) {
    case spf::result::pass:
      return 0;
    case spf::result::fail:
      return 1;
    case spf::result::softfail:
      return 3;
    case spf::result::neutral:
      return 4;
    case spf::result::none:
      return 5;
    case spf::result::temperror:
      return 6;
    case spf::result::permerror:
      return 7;
  }
  return 70;
}

constexpr const char* kExitHelp =
    "Exit codes: 0 pass, 1 fail, 3 softfail, 4 neutral, 5 none, 6 temperror, 7 permerror,\n"
    "2 usage error (bad flags, unreadable zone or batch file). With --batch: 0 when every\n"
    "line was evaluated, 2 when a line could not be read (it prints \"error\").";

struct check_args {
  std::string ip;
  std::string sender;
  bool sender_given = false;
  std::string helo;
  std::string batch;
  std::string receiver;
  std::string default_exp;
  bool trace = false;
  bool json = false;
  int concurrency = kBatchDefaultConcurrency;
  cli::dns_flags dns;
};

std::string hostname_or_unknown() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) == 0 && buf[0]) return buf;
  return "unknown";
}

const char* kind_name(spf::trace_event::kind k) {
  switch (k) {
    case spf::trace_event::kind::record:
      return "record";
    case spf::trace_event::kind::term:
      return "term";
    case spf::trace_event::kind::query:
      return "query";
    case spf::trace_event::kind::note:
      return "note";
  }
  return "?";
}

nlohmann::json to_json(const spf::outcome& o, const spf::request& req, const std::string& receiver,
                       bool trace) {
  nlohmann::json j;
  j["result"] = spf::to_string(o.result);
  j["explanation"] = o.explanation;
  j["mechanism"] = o.mechanism;
  j["identity"] = spf::to_string(o.identity);
  j["domain"] = o.domain;
  j["sender"] = o.sender;
  j["client_ip"] = req.ip.unmapped().to_string();
  j["helo"] = req.helo;
  j["problem"] = o.problem;
  if (o.diag)
    j["diagnostic"] = {{"term", o.diag->term},
                       {"offset", o.diag->offset},
                       {"reason", o.diag->reason},
                       {"suggestion", o.diag->suggestion}};
  j["received_spf"] = spf::received_spf_value(o, req, receiver);
  j["dns_terms"] = o.dns_terms;
  j["void_lookups"] = o.void_lookups;
  j["dns_queries"] = o.dns_queries;
  if (trace) {
    auto lookups = nlohmann::json::array();
    auto events = nlohmann::json::array();
    for (const auto& e : o.trace) {
      if (e.what == spf::trace_event::kind::query) {
        lookups.push_back({{"name", e.text},
                           {"type", dns::to_string(e.type)},
                           {"status", dns::to_string(e.status)},
                           {"answers", e.answers},
                           {"for", e.domain},
                           {"depth", e.depth}});
      }
      events.push_back({{"kind", kind_name(e.what)},
                        {"domain", e.domain},
                        {"depth", e.depth},
                        {"text", e.text},
                        {"detail", e.detail}});
    }
    j["lookups"] = std::move(lookups);
    j["trace"] = std::move(events);
  }
  return j;
}

using cli::printable;

void print_text(const spf::outcome& o, const spf::request& req, const std::string& receiver,
                bool trace) {
  if (trace) {
    std::printf("trace:\n");
    for (const auto& e : o.trace) {
      std::string indent(2 + 2 * static_cast<std::size_t>(e.depth), ' ');
      switch (e.what) {
        case spf::trace_event::kind::query:
          std::printf("%squery  %s %s -> %s\n", indent.c_str(), printable(e.text).c_str(),
                      dns::to_string(e.type), printable(e.detail).c_str());
          for (const auto& a : e.answers)
            std::printf("%s         %s\n", indent.c_str(), printable(a).c_str());
          break;
        case spf::trace_event::kind::record:
          std::printf("%srecord %s: \"%s\" (%s)\n", indent.c_str(), e.domain.c_str(),
                      printable(e.text).c_str(), printable(e.detail).c_str());
          break;
        case spf::trace_event::kind::term:
          std::printf("%sterm   %s -> %s\n", indent.c_str(), printable(e.text).c_str(),
                      printable(e.detail).c_str());
          break;
        case spf::trace_event::kind::note:
          std::printf("%snote   %s: %s\n", indent.c_str(), printable(e.text).c_str(),
                      printable(e.detail).c_str());
          break;
      }
    }
  }
  std::printf("result:      %s\n", spf::to_string(o.result));
  std::printf("identity:    %s (%s)\n", spf::to_string(o.identity), printable(o.domain).c_str());
  if (!o.mechanism.empty()) std::printf("mechanism:   %s\n", printable(o.mechanism).c_str());
  if (!o.explanation.empty()) std::printf("explanation: %s\n", printable(o.explanation).c_str());
  if (!o.problem.empty()) std::printf("problem:     %s\n", printable(o.problem).c_str());
  std::printf("lookups:     %d DNS terms, %d void, %d queries\n", o.dns_terms, o.void_lookups,
              o.dns_queries);
  std::printf("%s\n", spf::received_spf_header(o, req, receiver).c_str());
}

// "<>" or "-" means the null sender; angle brackets are stripped.
std::string sender_arg(std::string s) {
  if (s == "<>" || s == "-") return {};
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') return s.substr(1, s.size() - 2);
  return s;
}

struct batch_item {
  spf::request req;
  bool ok = false;
  bool done = false;  // evaluated (or not evaluable: !ok)
  std::string error;
  std::string line;  // when !ok
  spf::outcome out;
};

// Reads one batch line into `it` (a comment or blank line: false).
bool parse_batch_line(std::string& line, batch_item& it) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  auto first = line.find_first_not_of(" \t");
  if (first == std::string::npos || line[first] == '#') return false;
  // Whitespace-separated fields, as operator>> splits them (" \t\n\v\f\r"), without an
  // istringstream per line and without a memchr per byte (find_first_of).
  std::string_view rest = line;
  auto space = [](char ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); };
  auto field = [&rest, &space]() -> std::string_view {
    std::size_t b = 0;
    while (b < rest.size() && space(rest[b])) ++b;
    std::size_t e = b;
    while (e < rest.size() && !space(rest[e])) ++e;
    auto tok = rest.substr(b, e - b);
    rest.remove_prefix(e);
    return tok;
  };
  std::string_view ip = field(), sender = field(), helo = field(), extra = field();
  auto parsed = net::ip_address::parse(ip);
  if (line.size() > kBatchLineMax) {
    it.error = "line longer than " + std::to_string(kBatchLineMax) + " bytes";
  } else if (!parsed) {
    it.error = "bad IP address \"" + std::string(ip) + "\"";
  } else if (sender.empty()) {
    it.error = "expected: IP SENDER [HELO]";
  } else if (!extra.empty()) {
    it.error = "too many fields (expected: IP SENDER [HELO])";
  } else {
    it.req.ip = *parsed;
    it.req.sender = sender_arg(std::string(sender));
    it.req.helo = helo;
    if (it.req.sender.empty() && helo.empty())
      it.error = "null sender needs a HELO name";
    else
      it.ok = true;
  }
  if (!it.ok) it.line = line;  // printed with the error
  return true;
}

void format_batch_item(const batch_item& it, const check_args& a, const std::string& receiver,
                       std::string& out) {
  if (!it.ok) {
    if (a.json)
      out += nlohmann::json{{"error", it.error}, {"line", it.line}}.dump() + "\n";
    else
      out += "error " + it.line + " # " + it.error + "\n";
    return;
  }
  if (a.json) {
    out += to_json(it.out, it.req, receiver, a.trace)
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
    return;
  }
  out += spf::to_string(it.out.result);
  out += ' ';
  out += it.req.ip.to_string();
  out += ' ';
  out += it.req.sender.empty() ? "<>" : it.req.sender;
  if (!it.out.mechanism.empty()) out += " mechanism=" + printable(it.out.mechanism);
  if (!it.out.problem.empty()) out += " problem=\"" + printable(it.out.problem) + "\"";
  out += '\n';
}

// --batch: lines are read as they come and printed in input order. A check whose DNS
// answers are all cached is evaluated at once (evaluator::check_now, no coroutine); only
// the others go to the event loop, at most `concurrency` at a time, and wait in a window
// of at most kBatchWindowMax lines with the lines read after them. Output is written in
// blocks of kBatchOutputBlock bytes.
constexpr std::size_t kBatchWindowMax = 16384;
constexpr std::size_t kBatchOutputBlock = 64 * 1024;

int run_batch(check_args& a, asio::io_context& io, const spf::evaluator& ev,
              const std::string& receiver) {
  std::ifstream in(a.batch);
  if (!in) {
    std::fprintf(stderr, "mxguard spf check: cannot read %s\n", a.batch.c_str());
    return 2;
  }
  int status = 0;
  std::string out;
  out.reserve(kBatchOutputBlock + kBatchLineMax);
  auto emit = [&](const batch_item& it) {
    if (!it.ok) status = 2;
    format_batch_item(it, a, receiver, out);
    if (out.size() >= kBatchOutputBlock) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  };
  std::deque<batch_item> window;  // input order; references stay valid at both ends
  std::size_t in_flight = 0;
  const auto max_in_flight = static_cast<std::size_t>(a.concurrency);
  auto step = [&](bool block) {  // runs ready completions; with block, waits for one
    io.restart();
    if (block)
      io.run_one();
    else
      io.poll();
    while (!window.empty() && window.front().done) {
      emit(window.front());
      window.pop_front();
    }
  };
  std::string line;
  std::size_t lines = 0;
  while (std::getline(in, line)) {
    batch_item it;
    if (!parse_batch_line(line, it)) continue;
    if (!it.ok) {
      it.done = true;
    } else if (auto o = ev.check_now(it.req)) {
      it.out = std::move(*o);
      it.done = true;
    }
    if (it.done && window.empty()) {
      emit(it);
      continue;
    }
    window.push_back(std::move(it));
    batch_item& w = window.back();
    if (!w.done) {
      ++in_flight;
      asio::co_spawn(io, ev.check(w.req), [&w, &in_flight](std::exception_ptr e, spf::outcome o) {
        if (e) {
          log_escape("spf check")(e);
          o.result = spf::result::temperror;
          o.problem = "internal error";
        }
        w.out = std::move(o);
        w.done = true;
        --in_flight;
      });
    }
    while (in_flight >= max_in_flight || window.size() > kBatchWindowMax) step(in_flight > 0);
    if (in_flight > 0 && ++lines % 64 == 0) step(false);
  }
  while (!window.empty()) step(in_flight > 0);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return status;
}

int run(check_args& a) {
  asio::io_context io;
  auto res = a.dns.make(io.get_executor());
  if (!res) {
    std::fprintf(stderr, "mxguard spf check: %s\n", res.error().message.c_str());
    return 2;
  }
  spf::options opt;
  opt.receiver = a.receiver.empty() ? hostname_or_unknown() : a.receiver;
  if (!a.default_exp.empty()) opt.default_explanation = a.default_exp;
  opt.trace = a.trace;
  spf::evaluator ev(**res, opt);

  if (!a.batch.empty()) return run_batch(a, io, ev, opt.receiver);

  auto ip = net::ip_address::parse(a.ip);
  if (!ip) {
    std::fprintf(stderr, "mxguard spf check: --ip: \"%s\" is not an IPv4 or IPv6 address\n",
                 a.ip.c_str());
    return 2;
  }
  spf::request req;
  req.ip = *ip;
  req.sender = sender_arg(a.sender);
  req.helo = a.helo;
  if (req.sender.empty() && req.helo.empty()) {
    std::fprintf(stderr, "mxguard spf check: the null sender needs --helo NAME\n");
    return 2;
  }
  spf::outcome out;
  asio::co_spawn(io, ev.check(req), [&](std::exception_ptr e, spf::outcome o) {
    if (e) std::rethrow_exception(e);
    out = std::move(o);
  });
  io.run();
  if (a.json)
    std::printf("%s\n", to_json(out, req, opt.receiver, a.trace)
                            .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                            .c_str());
  else
    print_text(out, req, opt.receiver, a.trace);
  return exit_code_for(out.result);
}

cli::registration reg(100, [](CLI::App& root, int& exit_code) {
  auto* spf = cli::group(root, "spf", "SPF (RFC 7208): evaluate sender policies and lint records");
  auto args = std::make_shared<check_args>();
  auto* cmd = spf->add_subcommand(
      "check",
      std::string(
          "Evaluate RFC 7208 check_host() for a client IP and sender, print the result,\n"
          "the deciding term, the explanation and the Received-SPF field.\n"
          "An empty --sender ('' or '<>') checks the HELO identity as postmaster@HELO.\n"
          "--batch FILE reads lines \"IP SENDER [HELO]\" and evaluates them\n"
          "concurrently, printing one line per query in input order.\n"
          "Examples:\n"
          "  mxguard spf check --ip 192.0.2.1 --sender user@example.com --helo mx.example.com\n"
          "  mxguard spf check --ip 192.0.2.1 --sender user@example.com --trace --json\n"
          "  mxguard spf check --zone test.zone --batch queries.txt\n") +
          kExitHelp);
  cmd->add_option("--ip", args->ip, "SMTP client IP address (IPv4 or IPv6)");
  cmd->add_option("--sender", args->sender, "MAIL FROM address ('' or '<>': null sender)");
  cmd->add_option("--helo", args->helo, "HELO/EHLO name");
  cmd->add_option("--batch", args->batch, "File of \"IP SENDER [HELO]\" lines")
      ->check(CLI::ExistingFile);
  cmd->add_option("--concurrency", args->concurrency, "With --batch: checks in flight at once")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--receiver", args->receiver,
                  "Receiving host name for %{r} and Received-SPF (default: this host)");
  cmd->add_option("--default-explanation", args->default_exp,
                  "Explanation for fail when the domain gives none (macro-string)");
  cmd->add_flag("--trace", args->trace, "Show every DNS query and answer and every term");
  cmd->add_flag("--json", args->json, "Print JSON (one object per line with --batch)");
  args->dns.add_to(cmd);
  cmd->callback([args, cmd, &exit_code] {
    if (args->batch.empty() && (args->ip.empty() || cmd->count("--sender") == 0)) {
      std::fprintf(stderr, "mxguard spf check: give --ip and --sender, or --batch FILE\n");
      exit_code = 2;
      return;
    }
    exit_code = run(*args);
  });
});

}  // namespace
