// session.hpp: the SMTP server protocol state machine (RFC 5321 4.1.4 command
// order, 3.3 mail transactions, 4.3.2 replies; RFC 2920 PIPELINING, RFC 1870
// SIZE, RFC 6152 8BITMIME, RFC 2034 ENHANCEDSTATUSCODES, RFC 6531 SMTPUTF8,
// RFC 3207 STARTTLS, RFC 3030 CHUNKING/BINARYMIME). No I/O: the driver (the
// asio session in src/gateway/) feeds events and gets back a reply and an action.
//
// Driver loop (see docs/smtp.md for the full contract):
//   step s = sess.on_connect();                  // 220 greeting
//   loop: read bytes; line_reader.next(buf) ->
//     line       -> s = sess.on_line(line)
//     too_long   -> s = sess.on_line_too_long()
//     bare_lf    -> s = sess.on_bare_lf_command()
//   write s.reply (if not empty; with PIPELINING the driver may batch replies
//   while more complete lines are buffered, RFC 2920 3.2), then by s.act.kind:
//     read_data  -> feed bytes to a data_reader until done(); then
//                   s = sess.on_data_end(reader.error(), reader.size())
//     read_bdat  -> read exactly act.chunk_size raw bytes (store them unless
//                   act.discard_chunk), then s = sess.on_bdat_chunk(); a chunk
//                   larger than max_message_size is never read: 552 and close
//     enqueue    -> write sess.transaction() + body to the queue, then
//                   s = sess.on_queued(id) or sess.on_queue_failed()
//     policy     -> ask the policy for act.stage (mail: pending() sender; rcpt:
//                   current() + pending() recipient; data: the whole transaction),
//                   possibly waiting on DNS, then s = sess.on_policy(answer)
//     xclient    -> (reply 220 was written) info() has the new client (XCLIENT);
//                   re-derive what depends on the client (trust, rDNS)
//     start_tls  -> (reply 220 was written) DROP every buffered byte
//                   (act.discard_buffered_input, RFC 3207 4.2 / CVE-2011-0411),
//                   handshake, then s = sess.on_tls_started() (no reply)
//     close      -> write the reply and close
// Synchronous checks (relay control) are hooks; checks that need I/O (SPF, DNS lists)
// are the policy action, enabled per stage in session_config.
//
// Security: all input is hostile; the session bounds what it keeps (recipients,
// errors) and every reply echoing peer data goes through reply's sanitizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/command.hpp"
#include "smtp/data.hpp"
#include "smtp/path.hpp"
#include "smtp/reply.hpp"

namespace mxg::smtp {

// Named defaults (the gateway config overrides them; limits.hpp has the RFC minimums).
inline constexpr std::uint64_t kDefaultMaxMessageSize = 25 * 1024 * 1024;  // SIZE (RFC 1870)
inline constexpr std::size_t kDefaultMaxRecipients = 100;  // RFC 5321 4.5.3.1.8 minimum
inline constexpr std::size_t kDefaultMaxErrors = 10;       // then 421 (RFC 5321 4.2.2)

struct session_config {
  std::string hostname = "localhost";      // our name in 220/221/250 EHLO (RFC 5321 4.1.1.1)
  std::string greeting = "ESMTP mxguard";  // text after the hostname in the 220
  std::uint64_t max_message_size = kDefaultMaxMessageSize;
  std::size_t max_recipients = kDefaultMaxRecipients;
  std::size_t max_errors = kDefaultMaxErrors;
  bool tls_available = false;  // a certificate is configured: offer STARTTLS
  bool tls_required = false;   // refuse MAIL before STARTTLS (530 5.7.0, RFC 3207 4)
  bool require_helo = true;    // MAIL before HELO/EHLO: 503 5.5.1
  bool pipelining = true;      // RFC 2920
  bool chunking = true;        // RFC 3030 CHUNKING + BINARYMIME
  bool smtputf8 = true;        // RFC 6531
  bool eightbitmime = true;    // RFC 6152
  // The asynchronous policy step (action_kind::policy) at each stage; off: accepted as
  // the hooks say.
  bool policy_mail = false;  // after MAIL passed syntax and hooks
  bool policy_rcpt = false;  // after each RCPT passed syntax, limits and hooks
  bool policy_data = false;  // after the message is complete, before it is queued
  // Postfix XCLIENT (XCLIENT_README): offered in EHLO and accepted only when the driver
  // allows it for this client (set_xclient_allowed; trusted networks); else 550 5.7.0.
  bool xclient = false;
};

enum class action_kind {
  none,       // write the reply (if any), read the next command
  read_data,  // reply was 354: read the DATA body with a data_reader
  read_bdat,  // read chunk_size raw bytes, then on_bdat_chunk() (reply is empty)
  enqueue,    // message complete: queue transaction() + body, then on_queued/on_queue_failed
  start_tls,  // reply was 220: discard buffered input, TLS handshake, on_tls_started()
  close,      // write the reply, then close the connection
  policy,     // ask the policy for act.stage, then on_policy() (reply is empty)
  xclient,    // reply was 220 after XCLIENT: info() describes the new client
};

enum class policy_stage : std::uint8_t { mail, rcpt, data };
const char* to_string(policy_stage s) noexcept;
const char* to_string(action_kind k) noexcept;

struct action {
  action_kind kind = action_kind::none;
  std::uint64_t chunk_size = 0;         // read_bdat
  bool last_chunk = false;              // read_bdat: BDAT ... LAST
  bool discard_chunk = false;           // read_bdat: read and throw away (RFC 3030 2: error case)
  bool discard_buffered_input = false;  // start_tls: drop plaintext read ahead (RFC 3207 4.2)
  policy_stage stage = policy_stage::mail;  // policy
};

struct step {
  reply out;  // may be empty (read_bdat, enqueue, on_tls_started)
  action act;
};

// One mail transaction (RFC 5321 3.3): exists from an accepted MAIL until the end
// of DATA/BDAT LAST, RSET, EHLO/HELO, STARTTLS or a failure that aborts it.
struct transaction {
  path sender;
  mail_params params;
  std::vector<path> recipients;  // accepted ones, duplicates removed
  std::size_t rejected_recipients = 0;
  std::uint64_t bdat_bytes = 0;  // sum of chunk sizes so far (CHUNKING)
  bool bdat_used = false;
};

enum class session_state {
  fresh,         // before on_connect()
  refused,       // greeting was 554: only QUIT is served (RFC 5321 3.1)
  ready,         // greeted by us, no HELO/EHLO yet (or reset by STARTTLS)
  identified,    // after HELO/EHLO, no transaction
  in_mail,       // MAIL accepted (transaction exists)
  in_data,       // 354 sent, waiting for on_data_end()
  in_bdat,       // read_bdat issued, waiting for on_bdat_chunk()
  queueing,      // enqueue issued, waiting for on_queued()/on_queue_failed()
  starting_tls,  // start_tls issued, waiting for on_tls_started()
  policy_wait,   // policy issued, waiting for on_policy()
  closed,
};
const char* to_string(session_state s) noexcept;

// What a policy hook sees about the session.
struct session_info {
  std::string helo;  // HELO/EHLO argument ("" before)
  bool esmtp = false;
  bool tls = false;
  // The client, as the driver saw it at connect or as XCLIENT presented it.
  std::string client_ip;    // "192.0.2.1", "2001:db8::1"; "" = unknown
  std::string client_name;  // reverse DNS name (XCLIENT NAME=); "" = unknown
  std::string client_port;
  bool xclient = false;  // the client was presented by XCLIENT
};

// Policy hooks: return nullopt to accept with the default 250, or a reply to send
// instead. A 2yz reply accepts with that text (for HELO/EHLO the text is ignored:
// the 250 carries our hostname and extensions); 4yz/5yz refuses; 421 also closes.
using mail_hook = std::function<std::optional<reply>(const session_info&, const path& sender,
                                                     const mail_params&)>;
using rcpt_hook = std::function<std::optional<reply>(const session_info&, const transaction&,
                                                     const path& recipient)>;
using helo_hook = std::function<std::optional<reply>(const session_info&, std::string_view helo)>;

struct session_hooks {
  helo_hook on_helo;
  mail_hook on_mail;
  rcpt_hook on_rcpt;  // the gateway puts check_relay() here
};

class session {
 public:
  explicit session(session_config cfg, session_hooks hooks = {});

  // Connection accepted: 220 greeting. With `refuse` (a 554 from connection
  // policy) the session only serves QUIT afterwards, 503 for anything else; a 421
  // refusal closes (RFC 5321 3.8).
  step on_connect(std::optional<reply> refuse = std::nullopt);
  // After XCLIENT (action_kind::xclient, its 220 not yet written): connection policy
  // refuses the presented client; `r` replaces that 220, then as on_connect(refuse).
  step refuse_client(reply r);
  // The client talked before the greeting (pregreet): 554 5.5.1 and close.
  step on_early_input();
  // One command line without its CRLF.
  step on_line(std::string_view line);
  // line_reader reported line_status::too_long: 500 5.5.2 (RFC 5321 4.5.3.1.10).
  step on_line_too_long();
  // line_reader in strict mode reported line_status::bare_lf: 500 5.5.2.
  step on_bare_lf_command();
  // DATA body finished (data_reader done()): error -> refusal reply; else enqueue.
  step on_data_end(data_error err, std::uint64_t size);
  // The chunk announced by the last read_bdat was read (or discarded).
  step on_bdat_chunk();
  // The queue committed the message (RFC 5321 4.1.1.4: 250 only once it is safe).
  step on_queued(std::string_view queue_id);
  // Queueing failed: default 451 4.3.0; a policy may pass its own 4yz/5yz reply.
  step on_queue_failed(std::optional<reply> r = std::nullopt);
  // TLS handshake done after STARTTLS: state is reset (RFC 3207 4.2), no reply.
  step on_tls_started();
  // The policy's answer to action_kind::policy: nullopt (or a 2yz reply, whose text is
  // used) accepts; a 4yz/5yz reply refuses (the MAIL, that RCPT, or the message). A
  // 421 also closes.
  step on_policy(std::optional<reply> answer);
  // The command waiting for the policy (MAIL or RCPT); nullptr at the data stage.
  const command* pending() const { return pending_ ? &*pending_ : nullptr; }
  // The driver's client facts (connect): the policy context and XCLIENT start here.
  void set_client(std::string ip, std::string port);
  void set_client_name(std::string name) { info_.client_name = std::move(name); }
  // XCLIENT is accepted from this client (the driver checks its trusted networks).
  void set_xclient_allowed(bool yes) { xclient_allowed_ = yes; }
  // Command or data timeout (RFC 5321 4.5.3.2): 421 4.4.2 and close.
  step on_timeout();
  // Shutting down (SIGTERM drain deadline): 421 4.3.2 and close.
  step on_shutdown();

  session_state state() const { return state_; }
  const session_info& info() const { return info_; }
  // The current transaction; nullptr when there is none.
  const transaction* current() const { return txn_ ? &*txn_ : nullptr; }
  std::size_t errors() const { return errors_; }
  std::size_t messages() const { return messages_; }  // accepted in this session
  const session_config& config() const { return cfg_; }

  // The EHLO keyword lines as offered now (without the hostname line).
  std::vector<std::string> extensions() const;

 private:
  step dispatch(const command& c);
  step do_helo(const command& c, bool esmtp);
  step do_mail(const command& c);
  step do_rcpt(const command& c);
  step do_data(const command& c);
  step do_bdat(const command& c);
  step do_starttls(const command& c);
  step do_xclient(const command& c);
  step accept_mail(const command& c, reply r);
  step accept_rcpt(const command& c, reply r);
  step message_complete();  // DATA/BDAT LAST done: the data-stage policy, or enqueue
  step error(reply r);      // counts the error; closes with 421 past max_errors
  step ok(reply r, action a = {});
  void reset_transaction();
  session_state idle_state() const;

  session_config cfg_;
  session_hooks hooks_;
  session_state state_ = session_state::fresh;
  session_info info_;
  std::optional<transaction> txn_;
  std::size_t errors_ = 0;
  std::size_t messages_ = 0;
  bool greeted_ = false;                     // HELO/EHLO accepted (since connect or STARTTLS)
  std::optional<reply> pending_bdat_error_;  // reply after a discarded BDAT chunk
  action pending_bdat_;
  std::optional<command> pending_;  // MAIL/RCPT waiting for on_policy()
  policy_stage pending_stage_ = policy_stage::mail;
  reply pending_reply_;  // the reply an accepting answer sends (from the hooks)
  bool xclient_allowed_ = false;
};

}  // namespace mxg::smtp
