// session.hpp: one SMTP server session as a coroutine (RFC 5321 4.1, 4.3.2), the short
// linear driver around the I/O-free protocol core of src/smtp: read a line with a cap
// and a deadline, hand it to the state machine, write the reply, act (STARTTLS, DATA,
// QUIT). See session.cpp for the RFC rules it applies itself (greeting, PIPELINING
// flush groups, Received header, queue commit).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "gateway/server.hpp"
#include "smtp/reply.hpp"

namespace mxg::gateway {

// A short unique session id for the "sid=" log field: 12 hex digits.
std::string new_session_id();

// The reply when a message could not be queued: a full file system or exhausted quota
// (errc::no_space) is 452 4.3.1 "Insufficient system storage" (RFC 5321 4.2.2 / RFC
// 3463 3.4); anything else 451 4.3.0.
smtp::reply queue_failure_reply(const error& e);

// Octets free for an unprivileged writer in the file system of `dir` (statvfs
// f_bavail); nullopt when it cannot be asked.
std::optional<std::uint64_t> free_space(const std::string& dir);

// Runs one session to its end. `l` is the listener the client connected to; the
// caller has already counted the session against the limits. `remote` is the client's
// endpoint as the accept loop read it (no second getpeername).
asio::awaitable<void> run_session(server& srv, std::shared_ptr<listener_state> l,
                                  asio::ip::tcp::socket sock, asio::ip::tcp::endpoint remote,
                                  std::string sid);

}  // namespace mxg::gateway
