// input.cpp: where bounces come from: single files (.eml), mbox files
// (RFC 4155 "From " separated), Maildir folders (cur/ new/), any directory
// (walked recursively, symlinks not followed), and stdin ("-").
// Security: reads only what the user names; files are size-capped
// (kMaxInputFileBytes) and directories depth-capped (kMaxDirectoryDepth).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "ndr/ndr.hpp"
#include "ndr/text.hpp"

namespace mxg::ndr {

namespace {
inline constexpr std::uintmax_t kMaxInputFileBytes = 512ull * 1024 * 1024;  // one mbox
inline constexpr int kMaxDirectoryDepth = 32;

void emit(const std::string& name, std::string&& data,
          const std::function<void(input_message&&)>& sink, std::size_t& count) {
  auto msgs = split_messages(data);  // any line ends (RFC 4155 From_ lines)
  if (msgs.size() > 1) {
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      sink({name + "#" + std::to_string(i + 1), std::move(msgs[i])});
      ++count;
    }
    return;
  }
  sink({name, std::move(data)});
  ++count;
}

result<std::string> slurp(const std::filesystem::path& p) {
  std::error_code ec;
  auto size = std::filesystem::file_size(p, ec);
  if (ec) return fail(errc::io_error, p.string() + ": " + ec.message());
  if (size > kMaxInputFileBytes) return fail(errc::limit_exceeded, p.string() + ": file too large");
  std::ifstream in(p, std::ios::binary);
  if (!in) return fail(errc::io_error, p.string() + ": cannot open");
  std::string data(static_cast<std::size_t>(size), '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}
}  // namespace

// An RFC 4155 From_ line: "From " sender, then a ctime date ("Thu Apr 29 23:34:45 2015").
static bool is_from_line(std::string_view line) {
  if (!line.starts_with("From ") || line.size() > 200) return false;
  int colons = 0;
  bool year = false;
  for (std::size_t i = 5; i < line.size(); ++i) {
    if (line[i] == ':') ++colons;
    if (i + 4 <= line.size() && std::isdigit(static_cast<unsigned char>(line[i])) &&
        std::isdigit(static_cast<unsigned char>(line[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(line[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(line[i + 3])) &&
        (i + 4 == line.size() || !std::isdigit(static_cast<unsigned char>(line[i + 4]))) &&
        line[i - 1] == ' ')
      year = true;
  }
  if (colons < 2 || !year) return false;
  // "From " sender, spaces, then a weekday: "Thu Jul  2 12:05:05 2020".
  auto rest = line.substr(5);
  auto sp = rest.find(' ');
  if (sp == std::string_view::npos || sp == 0) return false;
  rest.remove_prefix(sp);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest.size() > 4 && std::isalpha(static_cast<unsigned char>(rest[0])) &&
         std::isalpha(static_cast<unsigned char>(rest[1])) &&
         std::isalpha(static_cast<unsigned char>(rest[2])) && rest[3] == ' ';
}

std::vector<std::string> split_mbox(std::string_view data) {
  std::vector<std::string> out;
  std::size_t start = 0;
  std::size_t pos = 0;
  auto push = [&](std::size_t end) {
    auto msg = data.substr(start, end - start);
    if (msg.starts_with("From ")) {  // skip the From_ line itself
      auto nl = msg.find('\n');
      msg = nl == std::string_view::npos ? std::string_view() : msg.substr(nl + 1);
    }
    // un-escape ">From " (mboxrd/mboxo quoting, RFC 4155 appendix)
    std::string m;
    m.reserve(msg.size());
    std::size_t p = 0;
    while (p < msg.size()) {
      auto e = msg.find('\n', p);
      if (e == std::string_view::npos) e = msg.size();
      auto line = msg.substr(p, e - p);
      if (line.starts_with(">From ")) line.remove_prefix(1);
      m.append(line);
      if (e < msg.size()) m.push_back('\n');
      p = e + 1;
    }
    if (!text::trim(m).empty()) out.push_back(std::move(m));
  };
  bool prev_blank = true;
  while (pos < data.size()) {
    auto nl = data.find('\n', pos);
    if (nl == std::string_view::npos) nl = data.size();
    auto line = data.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // RFC 4155 wants a blank line before a From_ line; some writers omit it
    // after a MIME closing boundary, so a strict From_ line is enough.
    if (pos > 0 && (prev_blank || line.size() > 20) && is_from_line(line)) {
      push(pos);
      start = pos;
    }
    prev_blank = line.empty();
    pos = nl + 1;
  }
  push(data.size());
  return out;
}

std::vector<std::string> split_messages(std::string_view data) {
  // One message unless From_ separator lines (RFC 4155) split it. An mbox
  // with CR-only line ends (classic Mac OS) has its From_ lines found after
  // the line ends are made LF, as every message is read anyway.
  std::string normalized;
  std::string_view lines = data;
  if (data.find('\n') == std::string_view::npos && data.find('\r') != std::string_view::npos) {
    normalized = text::normalize_newlines(data);
    lines = normalized;
  }
  auto msgs = split_mbox(lines);
  if (msgs.size() <= 1) return {std::string(data)};
  return msgs;
}

result<std::size_t> read_inputs(const std::string& path,
                                const std::function<void(input_message&&)>& sink) {
  std::size_t count = 0;
  if (path == "-") {
    std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    emit("-", std::move(data), sink, count);
    return count;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p(path);
  auto status = fs::status(p, ec);
  if (ec) return fail(errc::not_found, path + ": " + ec.message());
  if (fs::is_regular_file(status)) {
    auto data = slurp(p);
    if (!data) return std::unexpected(data.error());
    emit(path, std::move(*data), sink, count);
    return count;
  }
  if (!fs::is_directory(status))
    return fail(errc::invalid_argument, path + ": not a file or directory");
  // Directory (a Maildir is a directory whose cur/ and new/ hold one message per file).
  std::vector<fs::path> files;
  for (auto it =
           fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > kMaxDirectoryDepth) {
      it.disable_recursion_pending();
      continue;
    }
    const auto& e = *it;
    auto name = e.path().filename().string();
    if (!name.empty() && name.front() == '.') {
      if (e.is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (e.is_directory() && name == "tmp" && fs::exists(e.path().parent_path() / "cur")) {
      it.disable_recursion_pending();  // Maildir tmp/: messages being written
      continue;
    }
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto data = slurp(f);
    if (!data) continue;  // unreadable file in a tree: skip, keep going
    emit(f.string(), std::move(*data), sink, count);
  }
  return count;
}

}  // namespace mxg::ndr
