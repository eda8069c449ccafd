// seal.hpp: adding our own ARC set to a message (RFC 8617 5.1, sealer actions).
// Given the message as it will be forwarded and the validation of its incoming chain:
//   - an incoming chain whose newest ARC-Seal already says cv=fail is not sealed again
//     (RFC 8617 5.1: a failed chain is terminated; nothing is added);
//   - otherwise the new instance is N+1 (at most 50, RFC 8617 4.2.1), with cv = the
//     incoming validation's result (none, pass or fail);
//   - ARC-Authentication-Results (4.1.1): "i=N; authserv-id; " and the results of every
//     Authentication-Results field of our authserv-id, in message order, one resinfo each;
//   - ARC-Message-Signature (4.1.2): relaxed/relaxed over `headers` and the body;
//   - ARC-Seal (4.1.3, 5.1.1): relaxed over the ARC sets 1..N+1 (AAR, AMS, AS each), its
//     own b= empty; with cv=fail only over the new set.
// Tags are written in the ARC suite's standard form (alphabetical, one space after ';').
// rsa-sha256 only. Security: the message is peer data (bounded by the caller's size cap;
// the header is read by mail/header.hpp); the private key is local configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arc/validate.hpp"
#include "base/result.hpp"

namespace mxg::arc {

struct seal_options {
  std::string domain;       // d=
  std::string selector;     // s=
  std::string private_key;  // PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8)
  std::string authserv_id;  // our Authentication-Results authserv-id
  std::vector<std::string> headers = {"from", "to", "subject", "date", "message-id"};  // AMS h=
  std::int64_t timestamp = 0;                                                          // t=
};

// The three field values of the new set (without the field names and final CRLF);
// prepend them as "ARC-Seal: ", "ARC-Message-Signature: ", "ARC-Authentication-Results: ".
struct arc_set {
  int instance = 0;
  std::string aar, ams, seal;
};

// nullopt: nothing to add (the incoming chain was already terminated with cv=fail, or it
// has 50 sets). An error: the key does not load, signing failed, or the message starts
// with a continuation line (WSP), which a field put on top would absorb.
mxg::result<std::optional<arc_set>> seal(std::string_view message, const validation& incoming,
                                         const seal_options& o);

}  // namespace mxg::arc
