// console.cpp: `mxguard console passwd USER [--config FILE] [--role admin|helpdesk]
// [--domain D ...]` (issue 11 section 2): makes the argon2id hash of a console password
// (src/web/password.hpp). The password is read from standard input when it is not a
// terminal (one line), else asked twice without echo. Without --config the
// [console.users.USER] table is printed; with --config the file's password line of that
// user is replaced, or the table appended (written to a temporary file, fsynced and
// renamed over the file, mode kept), and the file is checked afterwards.
// Exit: 0 done, 1 the passwords differ or are empty, 2 usage, 74 I/O error, 78 the file
// does not parse after the change (the file is left as it was).
// Security: the password is never printed or written, only its hash.
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/registry.hpp"
#include "gateway/config.hpp"
#include "web/password.hpp"

namespace {

constexpr int kExitOk = 0, kExitBad = 1, kExitUsage = 2, kExitIo = 74, kExitConfig = 78;

struct passwd_args {
  std::string user, config, role = "admin";
  std::vector<std::string> domains;
};

std::string read_line_noecho(const char* prompt) {
  std::fprintf(stderr, "%s", prompt);
  termios old{};
  bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::fprintf(stderr, "\n");
  return line;
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' &&
        c != '@')
      return false;
  return true;
}

std::string table_text(const passwd_args& a, const std::string& hash) {
  std::string t = "[console.users." + a.user + "]\nrole = \"" + a.role + "\"\n";
  if (!a.domains.empty()) {
    t += "domains = [";
    for (std::size_t i = 0; i < a.domains.size(); ++i)
      t += (i ? ", \"" : "\"") + a.domains[i] + "\"";
    t += "]\n";
  }
  return t + "password = \"" + hash + "\"\n";
}

// The file with the user's password line replaced (or its table appended).
std::string edited(const std::string& text, const passwd_args& a, const std::string& hash) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  const std::string header = "[console.users." + a.user + "]";
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (trim(lines[i]) != header) continue;
    std::size_t j = i + 1;
    for (; j < lines.size() && (trim(lines[j]).empty() || trim(lines[j])[0] != '['); ++j) {
      std::string t = trim(lines[j]);
      if (t.rfind("password", 0) == 0 && t.find('=') != std::string::npos) {
        lines[j] = "password = \"" + hash + "\"";
        std::string out;
        for (const auto& l : lines) out += l + "\n";
        return out;
      }
    }
    lines.insert(lines.begin() + static_cast<long>(i) + 1, "password = \"" + hash + "\"");
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
  std::string out = text;
  if (!out.empty() && out.back() != '\n') out += "\n";
  return out + "\n" + table_text(a, hash);
}

int write_file(const std::string& path, const std::string& text) {
  struct stat st {};
  mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0600;
  const std::string tmp = path + ".tmp-passwd";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return kExitIo;
  ::fchmod(fd, mode);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return kExitIo;
  }
  return kExitOk;
}

int run_passwd(const passwd_args& a) {
  if (!valid_name(a.user)) {
    std::fprintf(stderr, "mxguard console passwd: user names are letters, digits, . - _ @\n");
    return kExitUsage;
  }
  if (a.role != "admin" && a.role != "helpdesk") {
    std::fprintf(stderr, "mxguard console passwd: --role admin or helpdesk\n");
    return kExitUsage;
  }
  std::string pw;
  if (::isatty(STDIN_FILENO)) {
    pw = read_line_noecho("New password: ");
    if (read_line_noecho("Again: ") != pw) {
      std::fprintf(stderr, "mxguard console passwd: the passwords differ\n");
      return kExitBad;
    }
  } else {
    std::getline(std::cin, pw);
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  }
  auto hash = mxg::web::hash_password(pw);
  if (!hash) {
    std::fprintf(stderr, "mxguard console passwd: %s\n", hash.error().message.c_str());
    return kExitBad;
  }
  if (a.config.empty()) {
    std::fputs(table_text(a, *hash).c_str(), stdout);
    return kExitOk;
  }
  std::ifstream in(a.config);
  if (!in) {
    std::fprintf(stderr, "mxguard console passwd: cannot read %s\n", a.config.c_str());
    return kExitIo;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = edited(ss.str(), a, *hash);
  if (auto c = mxg::gateway::parse_config(text, a.config); !c) {
    std::fprintf(stderr, "mxguard console passwd: %s would not load after the change:\n%s\n",
                 a.config.c_str(), c.error().message.c_str());
    return kExitConfig;
  }
  if (int rc = write_file(a.config, text); rc != kExitOk) {
    std::fprintf(stderr, "mxguard console passwd: cannot write %s: %s\n", a.config.c_str(),
                 std::strerror(errno));
    return rc;
  }
  std::printf("%s: password of console user %s set\n", a.config.c_str(), a.user.c_str());
  return kExitOk;
}

mxg::cli::registration reg(230, [](CLI::App& root, int& exit_code) {
  auto a = std::make_shared<passwd_args>();
  auto* con = root.add_subcommand("console", "The web console ([console], docs/console.md)");
  con->require_subcommand(1);
  auto* pw = con->add_subcommand(
      "passwd",
      "Hash a console user's password (argon2id): print the [console.users.USER]\n"
      "table, or set it in --config FILE. Reads the password from stdin when it is\n"
      "not a terminal.");
  pw->add_option("user", a->user, "Console user name")->required();
  pw->add_option("--config,-c", a->config, "Configuration file to update")->type_name("FILE");
  pw->add_option("--role", a->role, "admin (default) or helpdesk, for a new user")
      ->type_name("ROLE");
  pw->add_option("--domain", a->domains, "helpdesk: a recipient domain it sees (repeatable)")
      ->type_name("D");
  pw->callback([a, &exit_code] { exit_code = run_passwd(*a); });
});

}  // namespace
