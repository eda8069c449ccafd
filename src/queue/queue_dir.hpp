// queue_dir.hpp: one durable queue directory (one per listener is allowed): the
// group-committing writer the SMTP server calls after DATA, the scanner that
// recovers the queue at start, and the operations behind `mxguard queue`.
//
// Layout (docs/queue.md):
//   <dir>/lock                 flock()ed by the process that owns the queue (the server)
//   <dir>/tmp/<id>.data|.ctl   files being written; anything here at start is removed
//   <dir>/messages/<id>.data   the message bytes as received (Received header included)
//   <dir>/messages/<id>.ctl    the control file (envelope.hpp); its presence commits
//   <dir>/corrupt/<id>.*       refused files moved aside by the scanner, never deleted
// Hold / deferred / delivery mode are fields of the control file, not directories:
// changing them is one atomic rename of a rewritten control file.
//
// Commit protocol (never half-visible, issue 3 section 4):
//   1. write the data and the control file under tmp/ (spare files created ahead,
//      O_EXCL, by a background thread: kSpareFilesDefault)
//   2. fsync both, at the same time (two writer threads)
//   3. rename the data file, then the control file, into messages/ (RENAME_NOREPLACE)
//      (steps 1-3 run for each message on the writer threads as soon as it is
//      submitted: one writes the control file and fsyncs the data file while another
//      fsyncs the control file; whichever finishes last renames)
//   4. fsync messages/ once for every message renamed since the last time
//   5. only then report success (the server answers 250).
// On any failure (ENOSPC, EIO, ...) the message's files are removed from tmp/ and
// messages/ and the callback gets an error: the server answers 451 4.3.0.
// Format B (single, message_file.hpp): 1. the data streams into a spare file under
// tmp/; 2. the envelope and the end marker are appended; 3. the file is renamed into
// messages/; 4. its fsync (writer) and the fsync of messages/ (directory syncer) run at
// the same time, so both wait for one journal commit; 5. success when both are done.
// The end marker is the commit point: a file whose trailer does not agree is never
// resumed. On failure the file is removed from messages/ (and that directory fsynced).
// Group commit: concurrent fsyncs of the writers share journal commits; a directory
// syncer thread runs steps 4-5 for every message renamed since its last directory
// fsync (up to options::max_batch), while the writers already sync and rename the
// next ones. So throughput is not capped at one fsync round per message. `stats()`
// counts rounds and messages.
//
// Threads: commit() may be called from any thread; callbacks run on the directory syncer
// or a writer thread (post them back to your io_context). All other members are synchronous and
// thread-safe with respect to the writers; they do blocking file I/O.
//
// Security: queue files are created 0600; ids from outside (CLI, file names) are
// validated by queue_id::parse before they become paths.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "queue/envelope.hpp"
#include "queue/queue_id.hpp"

namespace mxg::queue {

inline constexpr std::size_t kCommitBatchMax = 256;  // messages per fsync round
// Writer threads (write + fsync): two per message in flight, most of them waiting in
// fsync; 32 keep 16 sessions' commits going at once without queueing.
inline constexpr std::size_t kSyncThreadsDefault = 32;
inline constexpr std::size_t kWriterBuffer = 64 * 1024;  // message_writer buffer
// Empty files created ahead of need in tmp/ by a background thread, so that neither
// the SMTP event loop (data file at DATA) nor a commit round (control file) waits for
// a file creation: on a busy or slow disk an O_CREAT costs milliseconds under the
// directory lock. 2 per message in flight.
inline constexpr std::size_t kSpareFilesDefault = 64;
inline const std::filesystem::path kDefaultQueueDir = "var/queue";  // relative to cwd

// How new messages are written (docs/queue.md, "Queue formats"); both are always read,
// side by side, so a queue written in one format is delivered by a server set to the
// other (an upgrade loses nothing).
//   split  (A): messages/<id>.data + messages/<id>.ctl; the control file's rename commits
//   single (B): messages/<id>.msg = data + envelope + end marker (message_file.hpp),
//               renamed, then fsynced with the directory in one journal commit; the end
//               marker commits; mutable state in messages/<id>.st when changed
enum class queue_format { split, single };
// The default is single (docs/queue.md "Format decision": half the file fsyncs, less
// CPU per message); split is still written when configured, and both are always read.
inline constexpr queue_format kQueueFormatDefault = queue_format::single;
const char* to_string(queue_format f) noexcept;
result<queue_format> parse_queue_format(std::string_view s);  // "split" | "single"

// System calls the writer uses, replaceable to inject faults in tests. Each returns
// what the system call returns and sets errno like it.
struct file_ops {
  std::function<long(int fd, const void* buf, std::size_t n)> write;
  std::function<int(int fd)> fsync;
  std::function<int(const char* from, const char* to, bool noreplace)> rename;
  static file_ops system();  // the real ones
};

struct options {
  std::filesystem::path dir = kDefaultQueueDir;
  // false: no fsync at all. UNSAFE: a power loss or OS crash can lose mail that was
  // answered 250. Only for tests and benchmarks of the protocol.
  bool fsync = true;
  std::size_t max_batch = kCommitBatchMax;
  std::size_t sync_threads = kSyncThreadsDefault;
  std::size_t spare_files = kSpareFilesDefault;  // 0: create files when needed
  queue_format format = kQueueFormatDefault;     // how new messages are written
  file_ops ops = file_ops::system();
};

struct commit_stats {
  std::uint64_t messages = 0;    // committed successfully
  std::uint64_t failures = 0;    // commits that returned an error
  std::uint64_t rounds = 0;      // commit rounds (each ends with one directory fsync)
  std::uint64_t dir_syncs = 0;   // directory fsyncs done
  std::uint64_t file_syncs = 0;  // file fsyncs done
  std::uint64_t max_batch = 0;   // largest batch seen
};

using commit_callback = std::function<void(result<queue_id>)>;

class queue_dir;

// A message being received: its id is known before the data (for the Received
// header); bytes are appended as they arrive (write(2) into tmp/, no fsync yet).
// Destroying it without commit() removes the temporary file (RSET, lost connection).
class message_writer {
 public:
  message_writer(message_writer&&) noexcept;
  message_writer& operator=(message_writer&&) noexcept;
  message_writer(const message_writer&) = delete;
  ~message_writer();

  const queue_id& id() const noexcept { return id_; }
  // Appends bytes to the data file. A failed write is remembered: commit() then fails.
  result<void> append(std::string_view bytes);
  std::uint64_t size() const noexcept { return size_; }

 private:
  friend class queue_dir;
  message_writer(queue_dir* q, queue_id id, int fd, std::string tmp_name);
  void discard() noexcept;
  result<void> flush();
  queue_dir* q_ = nullptr;
  queue_id id_;
  int fd_ = -1;
  std::string tmp_name_;  // its name under tmp/ (<id>.data or a spare's name)
  std::uint64_t size_ = 0;
  std::string buf_;  // appended bytes not yet written (kWriterBuffer at most)
  std::optional<error> error_;
};

// Result of the start-up scan.
struct recovery_report {
  std::vector<envelope> messages;       // valid messages, in id order: resume these
  std::size_t tmp_removed = 0;          // orphans of interrupted writes removed from tmp/
  std::size_t orphan_data_removed = 0;  // data files whose control file never landed,
                                        // state files (.st) whose .msg file is gone
  std::size_t split_messages = 0;       // valid messages in format A (.data + .ctl)
  std::size_t single_messages = 0;      // valid messages in format B (.msg)
  std::vector<std::string> corrupt;     // one line per file moved to corrupt/ (and why)
};

// A queue id as fixed-size characters (no allocation per id): queue_id::parse(view(k)).
using id_key = std::array<char, kQueueIdLength>;
inline std::string_view view(const id_key& k) noexcept {
  return {k.data(), k.size()};
}

// One listed message (for `queue list`): its envelope, or why it cannot be read.
struct listed_message {
  queue_id id;
  result<envelope> env;
};

class queue_dir {
 public:
  // The spare pool (for tests and status): whether the background thread has a refill
  // to do now (the pool is below its low-water mark), and how many refills it started.
  bool spare_refill_due();
  std::uint64_t spare_refills();
  // Creates the directory and its subdirectories when missing (mode 0700) and starts
  // the writer and directory syncer threads. Fails with one clear message if the
  // directory is unusable.
  static result<std::unique_ptr<queue_dir>> open(options opts);
  ~queue_dir();  // finishes pending commits, then stops the threads
  queue_dir(const queue_dir&) = delete;
  queue_dir& operator=(const queue_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return opts_.dir; }
  const options& opts() const noexcept { return opts_; }

  // Takes the exclusive lock of the directory (flock on <dir>/lock, non-blocking). The
  // server holds it while it runs; the offline CLI takes it before changing anything.
  // Error errc::temporary when another process holds it.
  result<void> lock();
  bool locked() const noexcept { return lock_fd_ >= 0; }

  // ---- writer ----
  // Starts a message: allocates its id and takes a spare file of tmp/ (or creates
  // tmp/<id>.data when none is ready). Never blocks on another thread.
  result<message_writer> begin();
  // Commits asynchronously: env.id and env.size are set from the writer, the
  // callback runs on the directory syncer thread with the id or the error (never
  // inline).
  void commit(message_writer msg, envelope env, commit_callback done);
  // Convenience: begin + append(data) + commit, where the writing happens on a
  // writer thread (nothing blocks the caller). env.id is allocated here.
  // The id is returned at once (e.g. for logging); it is only committed when the
  // callback reports success.
  queue_id commit(envelope env, std::string data, commit_callback done);
  // Synchronous forms (CLI, tests, tools): wait for the commit round.
  result<queue_id> store(envelope env, std::string_view data);
  result<queue_id> store(message_writer msg, envelope env);

  commit_stats stats() const;

  // ---- scanner ----
  // At start (with lock() held): removes tmp/ leftovers and data files without a
  // control file, moves unreadable control files (no end marker, unparsable, id not
  // matching the name, data missing or of the wrong size) with their data to
  // corrupt/, logs one line for each, and returns the valid messages in id order.
  result<recovery_report> recover();
  // Read-only listing (no cleanup), in id order; unreadable ones carry their error.
  // Holds every envelope: for a large queue use ids() and load() piece by piece
  // (report.hpp list_stream does).
  result<std::vector<listed_message>> list() const;
  // The ids of the committed messages (names of messages/*.ctl), in id order, read
  // without opening the files: 18 bytes per message (a million: 18 MB).
  result<std::vector<id_key>> ids() const;

  // ---- one message ----
  // Both formats: the .st file's envelope when there is one (format B).
  result<envelope> load(const queue_id& id) const;
  result<std::string> read_data(const queue_id& id) const;
  // Whether the message is committed here (either format).
  bool contains(const queue_id& id) const;
  std::filesystem::path data_path(const queue_id& id) const;     // A: <id>.data
  std::filesystem::path control_path(const queue_id& id) const;  // A: <id>.ctl
  std::filesystem::path message_path(const queue_id& id) const;  // B: <id>.msg
  std::filesystem::path state_path(const queue_id& id) const;    // B: <id>.st
  // Rewrites the control file atomically (tmp + fsync + rename + directory fsync),
  // e.g. after a delivery attempt updated recipient statuses. env.id must exist.
  // Format B: writes messages/<id>.st the same way (the .msg file is never rewritten).
  result<void> update(const envelope& env);
  // mode := hold / deliver (release also makes deferred recipients pending and clears
  // next_attempt, so the message goes out on the next run).
  result<envelope> hold(const queue_id& id);
  // A quarantined message's "quarantine" field becomes "quarantine-released" in the
  // same rewrite (report.hpp); *was_quarantined says whether it was.
  result<envelope> release(const queue_id& id, bool* was_quarantined = nullptr);
  // Deletes the message: control file first (that uncommits it), then the data.
  // Format B: the .msg file first (that uncommits it), then the .st file.
  result<void> remove(const queue_id& id);

 private:
  struct pending;
  // A writer thread's job: a submitted message (write the control file, start
  // writeback, fsync the data file) or the fsync of its control file, running at the
  // same time on another writer.
  struct sync_job {
    pending* p;  // owned by the pipeline until finish_if_last()
    bool ctl_only;
  };
  explicit queue_dir(options opts);
  result<void> start();
  // Directory syncer thread: one directory fsync for every message renamed since the
  // last one (up to max_batch), clean-up of failures, callbacks.
  void dir_sync_loop();
  void finish_round(std::vector<std::unique_ptr<pending>>& batch);
  void submit(std::unique_ptr<pending> p);
  result<void> sync_fd(int fd);
  result<void> sync_dir(const std::filesystem::path& dir);
  result<void> sync_dir_fd(int fd, const std::filesystem::path& dir);  // fsync, counted
  result<void> sync_msgs_dir();  // fsync of messages/ through msgs_fd_ (kept open)
  result<void> write_all(int fd, std::string_view bytes);
  result<void> write_file_synced(const std::filesystem::path& tmp, std::string_view bytes);
  // Writer threads: steps 1-3 (run_first, then finish_if_last on whichever of the two
  // fsyncs ends last), then on to the directory syncer.
  void work_loop();
  void run_first(pending* p);
  void finish_if_last(pending* p);
  void hand_to_dir_syncer(std::unique_ptr<pending> p);
  void prepare_one(pending& p);    // write the control file, start writeback (one message)
  void publish_one(pending& p);    // close, rename data then control (after the fsyncs)
  void run_single(pending* p);     // format B: append envelope + end marker, rename, fsync
  void finish_single(pending* p);  // format B: the later of the file and directory fsyncs
  void report(pending& p);         // the commit callback (and the log line of a failure)
  result<envelope> load_split(const queue_id& id) const;
  // Format B: the envelope of the .msg file, then the .st file's when with_state.
  result<envelope> load_single(const queue_id& id, bool with_state) const;
  result<std::string> read_single_data(const queue_id& id) const;
  // A spare file (fd and name under tmp/), or nullopt when none is ready.
  std::optional<std::pair<int, std::string>> take_spare();
  std::size_t spare_low_water() const noexcept;   // half the target: a refill starts below it
  bool spare_refill_due_locked() const noexcept;  // the spare thread's wake-up condition
  void spare_loop();
  bool recycle(const std::filesystem::path& file, bool must_exist, int& err);
  friend class message_writer;

  options opts_;
  std::filesystem::path msgs_dir_;        // <dir>/messages
  std::string tmp_prefix_, msgs_prefix_;  // "<dir>/tmp/", "<dir>/messages/" (commit path)
  int msgs_fd_ = -1;                      // messages/, open for its fsyncs
  // Format B messages between their rename and their report (run_single): when there
  // is none, a new one starts its writeback before its rename.
  std::atomic<std::size_t> single_inflight_{0};
  id_generator ids_;
  // update/hold/release/remove of one message are read-check-write sequences; the
  // delivery scheduler runs them on a pool thread (net::offload) while the control
  // socket runs them on the event loop: one at a time, so an update never renames a
  // control file back over a message just removed.
  std::recursive_mutex meta_mu_;
  int lock_fd_ = -1;

  // directory syncer: messages renamed, waiting for their directory fsync
  std::mutex ds_mu_;
  std::condition_variable ds_cv_;
  std::deque<std::unique_ptr<pending>> ds_queue_;
  bool ds_stop_ = false;
  std::thread dir_syncer_;

  // writer threads (options::sync_threads): jobs waiting for a writer
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<sync_job> work_;
  bool sync_stop_ = false;
  std::vector<std::thread> sync_workers_;

  // spare files (see kSpareFilesDefault); filled only after the first begin(), so the
  // start-up scan of tmp/ runs before any exists
  std::mutex spare_mu_;
  std::condition_variable spare_cv_;
  std::vector<std::pair<int, std::string>> spares_;
  bool spares_wanted_ = false, spare_stop_ = false;
  std::uint64_t spare_seq_ = 0;
  std::uint64_t spare_refills_ = 0;
  std::thread spare_thread_;

  mutable std::mutex stats_mu_;
  commit_stats stats_;
};

}  // namespace mxg::queue
