// log_trace.cpp: `mxguard log trace QUEUE-ID LOGFILE` prints one message's whole
// story from a gateway log (text or JSON lines): every line with qid=QUEUE-ID
// (queueing, delivery attempts, DSN) and, for each session id (sid=) seen on those
// lines, every line of that session (connect, helo, mail, rcpt, data, disconnect).
// Security: the log holds peer text; lines are printed as stored (the logger
// already replaced control characters), and the id is matched as a whole field.
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "cli/registry.hpp"

namespace {

// Value of " key=VALUE" in a line (the value ends at a space, quote or end).
std::string field_value(const std::string& line, const std::string& key) {
  std::string pat = key + "=";
  for (std::size_t pos = line.find(pat); pos != std::string::npos; pos = line.find(pat, pos + 1)) {
    if (pos > 0 && line[pos - 1] != ' ' && line[pos - 1] != '"') continue;
    std::size_t b = pos + pat.size();
    std::size_t e = b;
    while (e < line.size() && line[e] != ' ' && line[e] != '"' && line[e] != '\\') ++e;
    return line.substr(b, e - b);
  }
  return "";
}

int trace(const std::string& qid, const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "mxguard log trace: cannot open %s\n", file.c_str());
    return 66;  // EX_NOINPUT
  }
  std::vector<std::string> lines;
  std::set<std::string> sids;
  for (std::string l; std::getline(in, l);) {
    if (field_value(l, "qid") == qid) {
      std::string sid = field_value(l, "sid");
      if (!sid.empty()) sids.insert(sid);
    }
    lines.push_back(std::move(l));
  }
  std::size_t n = 0;
  for (const auto& l : lines) {
    std::string sid = field_value(l, "sid");
    if (field_value(l, "qid") == qid || (!sid.empty() && sids.contains(sid))) {
      std::printf("%s\n", l.c_str());
      ++n;
    }
  }
  if (n == 0) {
    std::fprintf(stderr, "mxguard log trace: no line for queue id %s in %s\n", qid.c_str(),
                 file.c_str());
    return 1;
  }
  return 0;
}

mxg::cli::registration reg(300, [](CLI::App& root, int& exit_code) {
  auto* log = root.add_subcommand("log", "Work with gateway logs");
  log->require_subcommand(1);
  auto* t = log->add_subcommand(
      "trace", "Print one message's whole story (connection, envelope, queue, delivery)");
  auto qid = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  t->add_option("queue-id", *qid, "Queue id (from the 250 reply or `mxguard queue list`)")
      ->required();
  t->add_option("logfile", *file, "Log file (text or JSON lines)")->required();
  t->callback([qid, file, &exit_code] { exit_code = trace(*qid, *file); });
});

}  // namespace
