// report.cpp: text and JSON renderings of queued messages for `mxguard queue`.
// Security: peer-supplied strings are printed escaped (escape_value), never raw.
#include "queue/report.hpp"

#include <fmt/format.h>

namespace mxg::queue {

namespace {

std::string opt_time(const std::optional<time_point>& t) {
  return t ? format_time(*t) : "";
}

nlohmann::json opt_time_json(const std::optional<time_point>& t) {
  return t ? nlohmann::json(format_time(*t)) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json to_json(const envelope& env) {
  nlohmann::json j;
  j["id"] = env.id.str();
  j["created"] = format_time(env.created);
  j["sender"] = env.sender;
  auto& rs = j["recipients"] = nlohmann::json::array();
  for (const auto& r : env.recipients) {
    rs.push_back({{"address", r.address},
                  {"status", to_string(r.status)},
                  {"reply", r.reply},
                  {"next_attempt", opt_time_json(r.next_attempt)}});
  }
  j["client_ip"] = env.client_ip;
  j["client_name"] = env.client_name;
  j["helo"] = env.helo;
  j["listener"] = env.listener;
  j["session"] = env.session;
  j["mode"] = to_string(env.mode);
  j["attempts"] = env.attempts;
  j["next_attempt"] = opt_time_json(env.next_attempt);
  j["size"] = env.size;
  j["body"] = to_string(env.body);
  j["smtputf8"] = env.smtputf8;
  auto& ex = j["extra"] = nlohmann::json::object();
  for (const auto& [k, v] : env.extra) ex[k] = v;
  j["quarantined"] = quarantined(env);
  if (quarantined(env)) j["quarantine_reason"] = *env.find_extra(kQuarantineExtra);
  return j;
}

bool quarantined(const envelope& env) {
  return env.mode == delivery_mode::hold && env.find_extra(kQuarantineExtra) != nullptr;
}

bool mark_quarantine_released(envelope& env, time_point when) {
  for (auto it = env.extra.begin(); it != env.extra.end(); ++it) {
    if (it->first != kQuarantineExtra) continue;
    std::string reason = it->second;
    env.extra.erase(it);
    env.set_extra(kQuarantineReleasedExtra, format_time(when) + " " + reason);
    return true;
  }
  return false;
}

nlohmann::json to_json(const std::vector<listed_message>& list) {
  nlohmann::json j;
  auto& msgs = j["messages"] = nlohmann::json::array();
  auto& bad = j["unreadable"] = nlohmann::json::array();
  for (const auto& m : list) {
    if (m.env)
      msgs.push_back(to_json(*m.env));
    else
      bad.push_back({{"id", m.id.str()}, {"error", m.env.error().message}});
  }
  j["count"] = msgs.size();
  return j;
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string format_list_header() {
  return fmt::format("{:<18}  {:>9}  {:<20}  {:<10}  {}\n", "QUEUE ID", "SIZE", "CREATED", "MODE",
                     "SENDER");
}

std::string format_list_entry(const listed_message& m) {
  if (!m.env)
    return fmt::format("{:<18}  unreadable: {}\n", m.id.str(), escape_value(m.env.error().message));
  const envelope& e = *m.env;
  std::string out =
      fmt::format("{:<18}  {:>9}  {:<20}  {:<10}  {}\n", e.id.str(), e.size, format_time(e.created),
                  quarantined(e) ? "quarantine" : to_string(e.mode),
                  e.sender.empty() ? "<>" : escape_value(e.sender));
  if (quarantined(e))
    out +=
        fmt::format("{:<20}quarantined: {}\n", "", escape_value(*e.find_extra(kQuarantineExtra)));
  for (const auto& r : e.recipients) {
    out += fmt::format("{:<20}{:<9}  {}", "", to_string(r.status), escape_value(r.address));
    if (r.next_attempt) out += " next " + format_time(*r.next_attempt);
    if (!r.reply.empty()) out += " (" + escape_value(r.reply) + ")";
    out += '\n';
  }
  return out;
}

std::string format_list_summary(std::size_t n, std::size_t bad) {
  std::string out = fmt::format("-- {} message{}", n, n == 1 ? "" : "s");
  if (bad) out += fmt::format(", {} unreadable", bad);
  out += '\n';
  return out;
}

std::string format_list(const std::vector<listed_message>& list) {
  std::string out = format_list_header();
  std::size_t n = 0, bad = 0;
  for (const auto& m : list) {
    ++(m.env ? n : bad);
    out += format_list_entry(m);
  }
  return out + format_list_summary(n, bad);
}

namespace {

// json_text() of a value nested `depth` levels deep: every line but the first indented.
std::string nested_json(const nlohmann::json& j, std::size_t depth) {
  std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string pad(2 * depth, ' '), out;
  out.reserve(text.size() + 64);
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

}  // namespace

list_stream::list_stream(std::vector<const queue_dir*> queues, bool json)
    : queues_(std::move(queues)), json_(json) {}

result<std::string> list_stream::next(std::size_t piece) {
  std::string out;
  while (out.size() < piece && !finished_) {
    if (!in_queue_) {
      if (qi_ == queues_.size()) {
        out += finish();
        finished_ = true;
        break;
      }
      auto ids = queues_[qi_]->ids();
      if (!ids) return std::unexpected(ids.error());
      ids_ = std::move(*ids);
      pos_ = n_ = bad_ = 0;
      in_queue_ = true;
      if (!json_) {
        if (queues_.size() > 1) out += "queue " + queues_[qi_]->path().string() + ":\n";
        out += format_list_header();
      }
      continue;
    }
    if (pos_ == ids_.size()) {
      if (!json_) out += format_list_summary(n_, bad_);
      std::vector<id_key>().swap(ids_);  // give the memory back before the next queue
      in_queue_ = false;
      ++qi_;
      continue;
    }
    const queue_dir& q = *queues_[qi_];
    auto id = queue_id::parse(view(ids_[pos_++]));
    if (!id) continue;  // ids() returns valid ids only
    listed_message m{*id, q.load(*id)};
    if (!m.env && m.env.error().code == errc::not_found) continue;  // deleted meanwhile
    ++(m.env ? n_ : bad_);
    if (!json_) {
      out += format_list_entry(m);
    } else if (!m.env) {
      unreadable_.push_back(
          {{"id", m.id.str()}, {"error", m.env.error().message}, {"queue", q.path().string()}});
    } else {
      auto j = to_json(*m.env);
      j["queue"] = q.path().string();
      out += total_ == 0 ? "{\n  \"messages\": [\n    " : ",\n    ";
      out += nested_json(j, 2);
    }
    if (m.env)
      ++total_;
    else
      ++total_bad_;
  }
  return out;
}

// JSON: the end of the messages array, the unreadable ones and the count.
std::string list_stream::finish() {
  if (!json_) return "";
  std::string out = total_ == 0 ? "{\n  \"messages\": [],\n" : "\n  ],\n";
  out += "  \"unreadable\": " + nested_json(unreadable_, 1) + ",\n";
  out += "  \"count\": " + std::to_string(total_) + "\n}\n";
  return out;
}

std::string format_show(const envelope& e) {
  std::string out;
  auto line = [&](std::string_view k, std::string_view v) {
    out += fmt::format("{:<13} {}\n", std::string(k) + ":", v);
  };
  line("id", e.id.str());
  line("created", format_time(e.created));
  line("sender", e.sender.empty() ? "<>" : escape_value(e.sender));
  for (const auto& r : e.recipients) {
    std::string v = fmt::format("{} {}", escape_value(r.address), to_string(r.status));
    if (r.next_attempt) v += " next " + format_time(*r.next_attempt);
    if (!r.reply.empty()) v += " (" + escape_value(r.reply) + ")";
    line("recipient", v);
  }
  line("client-ip", escape_value(e.client_ip));
  if (!e.client_name.empty()) line("client-name", escape_value(e.client_name));
  line("helo", escape_value(e.helo));
  line("listener", escape_value(e.listener));
  if (!e.session.empty()) line("session", escape_value(e.session));
  line("mode", to_string(e.mode));
  if (quarantined(e)) line("quarantined", escape_value(*e.find_extra(kQuarantineExtra)));
  line("attempts", std::to_string(e.attempts));
  line("next-attempt", e.next_attempt ? opt_time(e.next_attempt) : "-");
  line("size", std::to_string(e.size));
  line("body", to_string(e.body));
  line("smtputf8", e.smtputf8 ? "yes" : "no");
  for (const auto& [k, v] : e.extra) line("x-" + k, escape_value(v));
  return out;
}

}  // namespace mxg::queue
