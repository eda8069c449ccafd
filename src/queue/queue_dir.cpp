// queue_dir.cpp: the durable queue directory: group-committing writer, start-up
// scanner, and the per-message operations (load, update, hold, release, remove).
// The commit protocol and the layout are described in queue_dir.hpp and docs/queue.md.
//
// Must never: report success before the data file, the control file and the
// directory entries are on disk (fsync on); leave a control file visible whose data
// file is missing; overwrite another message (O_EXCL, RENAME_NOREPLACE).
// Security: file names read from the directory are validated as queue ids before
// use; queue files are 0600 and directories 0700.
#include "queue/queue_dir.hpp"

#include "base/thread_name.hpp"
#include "queue/message_file.hpp"
#include "queue/report.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/fs.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <map>
#include <set>

namespace mxg::queue {

namespace fs = std::filesystem;

namespace {

constexpr const char* kTmpDir = "tmp";
constexpr const char* kMessagesDir = "messages";
constexpr const char* kCorruptDir = "corrupt";
constexpr const char* kLockFile = "lock";
constexpr std::string_view kDataSuffix = ".data";
constexpr std::string_view kCtlSuffix = ".ctl";
constexpr std::string_view kMsgSuffix = ".msg";  // format B: data + envelope + end marker
constexpr std::string_view kStSuffix = ".st";    // format B: the current envelope, if changed
constexpr int kBeginAttempts = 3;                // id collisions (another process) before giving up
constexpr std::string_view kSparePrefix = "spare-";  // spare-<pid>-<n> in tmp/

// "spare-<pid>-": the names of this process's spare files start with it.
std::string own_spare_prefix() {
  return std::string(kSparePrefix) + std::to_string(::getpid()) + "-";
}

// Starts writeback of a file's dirty pages without waiting (Linux). Done for the data
// and the control file of a message before their fsyncs, so both files' blocks are
// allocated in the same journal transaction and the two fsyncs cost one commit
// instead of two (ext4, XFS). Only a hint: the fsyncs still make them durable.
void start_writeback(int fd) {
#if defined(__linux__)
  (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
  (void)fd;
#endif
}

std::string errno_text(int e) {
  return std::strerror(e);
}

// ENOSPC / EDQUOT are told apart: the server answers them 452 4.3.1 (RFC 3463 3.4).
errc io_code(int e) {
  return e == ENOSPC || e == EDQUOT ? errc::no_space : errc::io_error;
}

error io_fail(const fs::path& p, std::string_view what, int e) {
  return error(io_code(e), std::string(what) + " " + p.string() + ": " + errno_text(e));
}

// Reads a whole file, refusing more than `max` bytes.
result<std::string> read_file(const fs::path& p, std::size_t max) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return fail(errc::not_found, "no such file " + p.string());
    return std::unexpected(io_fail(p, "cannot open", e));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return std::unexpected(io_fail(p, "cannot read", e));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max) {
      ::close(fd);
      return fail(errc::limit_exceeded,
                  p.string() + " is larger than " + std::to_string(max) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// Reads exactly n bytes at offset (short file: errc::parse_error).
result<std::string> pread_exact(int fd, const fs::path& p, std::uint64_t off, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(off + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(io_fail(p, "cannot read", errno));
    }
    if (r == 0) return fail(errc::parse_error, p.string() + ": shorter than its end marker says");
    got += static_cast<std::size_t>(r);
  }
  return out;
}

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

// Names of the regular entries of a directory.
result<std::vector<std::string>> list_dir(const fs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return std::unexpected(io_fail(dir, "cannot read directory", errno));
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Splits "<id><suffix>" into the id, when the name has exactly that form.
std::optional<queue_id> id_of(std::string_view name, std::string_view suffix) {
  if (!name.ends_with(suffix)) return std::nullopt;
  auto id = queue_id::parse(name.substr(0, name.size() - suffix.size()));
  if (!id) return std::nullopt;
  return *id;
}

result<void> ensure_dir(const fs::path& p) {
  if (::mkdir(p.c_str(), 0700) == 0) return {};
  int e = errno;
  if (e != EEXIST) return std::unexpected(io_fail(p, "cannot create directory", e));
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::unexpected(io_fail(p, "cannot stat", errno));
  if (!S_ISDIR(st.st_mode)) return fail(errc::io_error, p.string() + " is not a directory");
  return {};
}

}  // namespace

// ---------------------------------------------------------------- queue_format

const char* to_string(queue_format f) noexcept {
  return f == queue_format::single ? "single" : "split";
}

result<queue_format> parse_queue_format(std::string_view s) {
  if (s == "split") return queue_format::split;
  if (s == "single") return queue_format::single;
  return fail(errc::invalid_argument, "queue format must be \"split\" or \"single\"");
}

// ---------------------------------------------------------------- file_ops

file_ops file_ops::system() {
  file_ops o;
  o.write = [](int fd, const void* buf, std::size_t n) -> long { return ::write(fd, buf, n); };
  o.fsync = [](int fd) { return ::fsync(fd); };
  o.rename = [](const char* from, const char* to, bool noreplace) {
    if (!noreplace) return ::rename(from, to);
    int r = ::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
    if (r == 0 || (errno != EINVAL && errno != ENOSYS)) return r;
    // File system without RENAME_NOREPLACE: link() fails with EEXIST just the same.
    if (::link(from, to) != 0) return -1;
    ::unlink(from);
    return 0;
  };
  return o;
}

// ---------------------------------------------------------------- pending commit

struct queue_dir::pending {
  queue_id id;
  envelope env;
  std::string data;            // bytes still to write into the data file
  bool open_data = false;      // a writer creates tmp/<id>.data (convenience commit)
  bool single = false;         // format B: one file, tmp/data_tmp -> messages/<id>.msg
  bool msg_committed = false;  // format B: renamed into messages/<id>.msg
  // Format B with fsync: renamed first, then the file's fsync (writer) and the
  // directory's (directory syncer) run at the same time; the later one finishes.
  bool single_concurrent = false;
  std::string data_tmp, ctl_tmp;  // names under tmp/
  int data_fd = -1;
  int ctl_fd = -1;
  std::optional<error> err;
  bool data_committed = false;
  bool ctl_committed = false;
  // The two file fsyncs run on two writer threads at once (see run_first); the one that
  // finishes last renames. Each side records its own failure until then.
  std::atomic<int> left{0};
  std::optional<error> data_sync_err, ctl_sync_err, dir_sync_err;
  commit_callback done;

  void close_files() {
    if (data_fd >= 0) ::close(std::exchange(data_fd, -1));
    if (ctl_fd >= 0) ::close(std::exchange(ctl_fd, -1));
  }
  void fail(error e) {
    err = std::move(e);
    close_files();
  }
};

// ---------------------------------------------------------------- message_writer

message_writer::message_writer(queue_dir* q, queue_id id, int fd, std::string tmp_name)
    : q_(q), id_(std::move(id)), fd_(fd), tmp_name_(std::move(tmp_name)) {}

message_writer::message_writer(message_writer&& o) noexcept
    : q_(std::exchange(o.q_, nullptr)),
      id_(std::move(o.id_)),
      fd_(std::exchange(o.fd_, -1)),
      tmp_name_(std::move(o.tmp_name_)),
      size_(std::exchange(o.size_, 0)),
      buf_(std::move(o.buf_)),
      error_(std::move(o.error_)) {}

message_writer& message_writer::operator=(message_writer&& o) noexcept {
  if (this != &o) {
    discard();
    q_ = std::exchange(o.q_, nullptr);
    id_ = std::move(o.id_);
    fd_ = std::exchange(o.fd_, -1);
    tmp_name_ = std::move(o.tmp_name_);
    size_ = std::exchange(o.size_, 0);
    buf_ = std::move(o.buf_);
    error_ = std::move(o.error_);
  }
  return *this;
}

message_writer::~message_writer() {
  discard();
}

void message_writer::discard() noexcept {
  if (fd_ < 0 || !q_) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink((q_->opts_.dir / kTmpDir / tmp_name_).c_str());
}

result<void> message_writer::flush() {
  if (buf_.empty()) return {};
  auto r = q_->write_all(fd_, buf_);
  buf_.clear();
  if (!r) error_ = r.error();
  return r;
}

result<void> message_writer::append(std::string_view bytes) {
  MXG_ASSERT(q_ && fd_ >= 0);
  if (error_) return std::unexpected(*error_);
  size_ += bytes.size();
  if (buf_.size() + bytes.size() <= kWriterBuffer) {
    buf_.append(bytes);
    return {};
  }
  if (auto r = flush(); !r) return r;
  if (bytes.size() >= kWriterBuffer) {
    auto r = q_->write_all(fd_, bytes);
    if (!r) error_ = r.error();
    return r;
  }
  buf_.append(bytes);
  return {};
}

// ---------------------------------------------------------------- queue_dir

queue_dir::queue_dir(options opts)
    : opts_(std::move(opts)),
      msgs_dir_(opts_.dir / kMessagesDir),
      tmp_prefix_((opts_.dir / kTmpDir).string() + "/"),
      msgs_prefix_(msgs_dir_.string() + "/") {}

result<std::unique_ptr<queue_dir>> queue_dir::open(options opts) {
  if (opts.dir.empty()) return fail(errc::invalid_argument, "empty queue directory name");
  if (opts.max_batch == 0) opts.max_batch = 1;
  if (!opts.ops.write || !opts.ops.fsync || !opts.ops.rename) {
    auto sys = file_ops::system();
    if (!opts.ops.write) opts.ops.write = sys.write;
    if (!opts.ops.fsync) opts.ops.fsync = sys.fsync;
    if (!opts.ops.rename) opts.ops.rename = sys.rename;
  }
  std::unique_ptr<queue_dir> q(new queue_dir(std::move(opts)));
  if (auto r = q->start(); !r) return std::unexpected(r.error());
  return q;
}

result<void> queue_dir::start() {
  for (const fs::path& p :
       {opts_.dir, opts_.dir / kTmpDir, opts_.dir / kMessagesDir, opts_.dir / kCorruptDir}) {
    if (auto r = ensure_dir(p); !r) return fail(errc::io_error, "queue: " + r.error().message);
  }
  if (::access(opts_.dir.c_str(), W_OK | X_OK) != 0)
    return std::unexpected(io_fail(opts_.dir, "queue directory not writable:", errno));
  // messages/ stays open for its fsyncs: one open and close less per commit round.
  msgs_fd_ = ::open(msgs_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (msgs_fd_ < 0) return std::unexpected(io_fail(msgs_dir_, "cannot open directory", errno));
  dir_syncer_ = std::thread([this] { dir_sync_loop(); });
  if (opts_.spare_files > 0) spare_thread_ = std::thread([this] { spare_loop(); });
  std::size_t workers = std::max<std::size_t>(opts_.sync_threads, 1);
  for (std::size_t i = 0; i < workers; ++i) sync_workers_.emplace_back([this] { work_loop(); });
  return {};
}

queue_dir::~queue_dir() {
  {
    std::lock_guard lk(sync_mu_);  // writers first: they finish what was submitted
    sync_stop_ = true;
  }
  sync_cv_.notify_all();
  for (auto& t : sync_workers_) t.join();
  {
    std::lock_guard lk(ds_mu_);
    ds_stop_ = true;
  }
  ds_cv_.notify_all();
  if (dir_syncer_.joinable()) dir_syncer_.join();
  {
    std::lock_guard lk(spare_mu_);
    spare_stop_ = true;
  }
  spare_cv_.notify_all();
  if (spare_thread_.joinable()) spare_thread_.join();
  for (auto& [fd, name] : spares_) {
    ::close(fd);
    ::unlink((opts_.dir / kTmpDir / name).c_str());
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
  if (msgs_fd_ >= 0) ::close(msgs_fd_);
}

result<void> queue_dir::lock() {
  if (lock_fd_ >= 0) return {};
  fs::path p = opts_.dir / kLockFile;
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(io_fail(p, "cannot open", errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK)
      return fail(errc::temporary, "queue " + opts_.dir.string() +
                                       " is in use by another mxguard process (lock held)");
    return std::unexpected(io_fail(p, "cannot lock", e));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::write(fd, pid.data(), pid.size());
  lock_fd_ = fd;
  return {};
}

result<void> queue_dir::write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    long n = opts_.ops.write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      return fail(io_code(e), "queue " + opts_.dir.string() + ": write failed: " + errno_text(e));
    }
    if (n == 0)
      return fail(errc::io_error, "queue " + opts_.dir.string() + ": write wrote nothing");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

result<void> queue_dir::sync_fd(int fd) {
  if (!opts_.fsync) return {};
  {
    std::lock_guard lk(stats_mu_);
    ++stats_.file_syncs;
  }
  if (opts_.ops.fsync(fd) != 0) {
    int e = errno;
    return fail(io_code(e), "queue " + opts_.dir.string() + ": fsync failed: " + errno_text(e));
  }
  return {};
}

result<void> queue_dir::sync_dir_fd(int fd, const fs::path& dir) {
  int r = opts_.ops.fsync(fd);
  int e = errno;
  {
    std::lock_guard lk(stats_mu_);
    ++stats_.dir_syncs;
  }
  if (r != 0) return std::unexpected(io_fail(dir, "cannot fsync directory", e));
  return {};
}

result<void> queue_dir::sync_msgs_dir() {
  if (!opts_.fsync) return {};
  return sync_dir_fd(msgs_fd_, msgs_dir_);
}

result<void> queue_dir::sync_dir(const fs::path& dir) {
  if (!opts_.fsync) return {};
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(io_fail(dir, "cannot open directory", errno));
  auto r = sync_dir_fd(fd, dir);
  ::close(fd);
  return r;
}

void queue_dir::work_loop() {
  base::name_this_thread("mxg-qwriter");
  std::unique_lock lk(sync_mu_);
  for (;;) {
    sync_cv_.wait(lk, [&] { return sync_stop_ || !work_.empty(); });
    if (work_.empty()) return;  // stopping and drained
    sync_job j = work_.front();
    work_.pop_front();
    lk.unlock();
    if (j.ctl_only) {
      if (auto r = sync_fd(j.p->ctl_fd); !r) j.p->ctl_sync_err = r.error();
      finish_if_last(j.p);
    } else {
      run_first(j.p);
    }
    lk.lock();
  }
}

void queue_dir::run_first(pending* p) {
  if (p->err) {  // failed while streaming: only clean up
    p->close_files();
    return hand_to_dir_syncer(std::unique_ptr<pending>(p));
  }
  if (p->single) return run_single(p);
  prepare_one(*p);
  if (p->err || !opts_.fsync) {
    publish_one(*p);
    return hand_to_dir_syncer(std::unique_ptr<pending>(p));
  }
  // 2. Both fsyncs at once: the control file's on the next free writer (front of the
  //    queue), the data file's here. Issued together they wait for the same journal
  //    commit; one after the other, the second finds that commit done and still pays a
  //    cache flush of its own (ext4 does one for every fsync of an already committed
  //    inode), ~1 ms on a busy device.
  p->left.store(2, std::memory_order_relaxed);
  {
    std::lock_guard lk(sync_mu_);
    work_.push_front(sync_job{p, true});
  }
  sync_cv_.notify_one();
  if (auto r = sync_fd(p->data_fd); !r) p->data_sync_err = r.error();
  finish_if_last(p);
}

// Format B: one file, one journal commit. The envelope goes after the data (the
// session decides its last fields at the end of DATA), then the end marker. The file
// is renamed into messages/ *before* it is fsynced, so that its fsync (here) and the
// directory's (the directory syncer, for every message renamed since its last one)
// run at the same time and wait for the same journal commit; fsyncing the file first
// and the directory after the rename waited for two commits in a row. The end marker
// is the commit point (message_file.hpp): the 250 waits for both fsyncs, and a file
// under messages/ whose trailer does not agree with its size is never resumed.
void queue_dir::run_single(pending* p) {
  std::unique_ptr<pending> owned(p);
  const std::string tmp = tmp_prefix_ + p->data_tmp;
  const std::string msg = msgs_prefix_ + p->id.str() + std::string(kMsgSuffix);
  auto run = [&]() -> result<void> {
    if (p->open_data) {
      p->data_fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (p->data_fd < 0) return std::unexpected(io_fail(tmp, "cannot create", errno));
      std::string all = std::move(p->data);
      all += format_message_tail(p->env);
      return write_all(p->data_fd, all);
    }
    return write_all(p->data_fd, format_message_tail(p->env));
  };
  if (auto r = run(); !r) {
    p->fail(r.error());
    return hand_to_dir_syncer(std::move(owned));
  }
  // A message committed alone: writeback starts before the rename, so the file's blocks
  // are allocated (delayed allocation) in the journal transaction that also holds the
  // rename; otherwise the directory's fsync, which may start that transaction's commit
  // before the file's fsync runs, leaves the file's allocation to a second commit. With
  // other commits in flight the next commit comes soon anyway and the early writeback
  // only delays this message's rename (measured: docs/benchmarks.md).
  if (opts_.fsync && single_inflight_.load(std::memory_order_acquire) == 0)
    start_writeback(p->data_fd);
  if (opts_.ops.rename(tmp.c_str(), msg.c_str(), true) != 0) {
    p->fail(io_fail(msg, "cannot rename into", errno));
    return hand_to_dir_syncer(std::move(owned));
  }
  p->msg_committed = true;
  if (!opts_.fsync) {
    p->close_files();
    return hand_to_dir_syncer(std::move(owned));
  }
  single_inflight_.fetch_add(1, std::memory_order_acq_rel);
  p->single_concurrent = true;
  p->left.store(2, std::memory_order_relaxed);
  hand_to_dir_syncer(std::move(owned));  // the directory fsync starts meanwhile
  if (auto r = sync_fd(p->data_fd); !r) p->data_sync_err = r.error();
  ::close(std::exchange(p->data_fd, -1));
  finish_single(p);
}

// Format B: called by the writer after the file's fsync and by the directory syncer
// after the directory's; the second one reports (and, on failure, removes the file).
void queue_dir::finish_single(pending* p) {
  if (p->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::unique_ptr<pending> owned(p);
  single_inflight_.fetch_sub(1, std::memory_order_acq_rel);
  if (p->data_sync_err)
    p->err = std::move(p->data_sync_err);
  else if (p->dir_sync_err)
    p->err = std::move(p->dir_sync_err);
  if (p->err) {
    ::unlink(message_path(p->id).c_str());
    (void)sync_msgs_dir();
  }
  {
    std::lock_guard lk(stats_mu_);
    (p->err ? stats_.failures : stats_.messages) += 1;
  }
  report(*p);
}

void queue_dir::report(pending& p) {
  if (p.err) {
    spdlog::warn("qid={} queue={} commit failed: {}", p.id.str(), opts_.dir.string(),
                 p.err->message);
    if (p.done) p.done(std::unexpected(*p.err));
  } else {
    if (p.done) p.done(p.id);
  }
}

void queue_dir::finish_if_last(pending* p) {
  if (p->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::unique_ptr<pending> owned(p);
  if (p->data_sync_err)
    p->fail(std::move(*p->data_sync_err));
  else if (p->ctl_sync_err)
    p->fail(std::move(*p->ctl_sync_err));
  // 3. Rename data, then control, into messages/ right here: no hand-over to another
  //    thread between the fsyncs and the renames.
  publish_one(*p);
  hand_to_dir_syncer(std::move(owned));
}

void queue_dir::hand_to_dir_syncer(std::unique_ptr<pending> p) {
  {
    std::lock_guard lk(ds_mu_);
    ds_queue_.push_back(std::move(p));
  }
  ds_cv_.notify_one();
}

std::optional<std::pair<int, std::string>> queue_dir::take_spare() {
  if (opts_.spare_files == 0) return std::nullopt;
  std::optional<std::pair<int, std::string>> out;
  bool wake;
  {
    std::lock_guard lk(spare_mu_);
    spares_wanted_ = true;
    if (!spares_.empty()) {
      out = std::move(spares_.back());
      spares_.pop_back();
    }
    wake = spare_refill_due_locked();
  }
  // Only below the low-water mark: the thread then refills the pool in one burst, so
  // taking a spare costs no wake-up (and no context switch) most of the time.
  if (wake) spare_cv_.notify_one();
  return out;
}

std::size_t queue_dir::spare_low_water() const noexcept {
  return std::max<std::size_t>(opts_.spare_files / 2, 1);
}

bool queue_dir::spare_refill_due_locked() const noexcept {
  return spares_wanted_ && spares_.size() < spare_low_water();
}

bool queue_dir::spare_refill_due() {
  std::lock_guard lk(spare_mu_);
  return spare_refill_due_locked();
}

std::uint64_t queue_dir::spare_refills() {
  std::lock_guard lk(spare_mu_);
  return spare_refills_;
}

void queue_dir::spare_loop() {
  base::name_this_thread("mxg-qspare");
  const std::string prefix = own_spare_prefix();
  std::unique_lock lk(spare_mu_);
  for (;;) {
    // Sleeps until the pool is below the low-water mark, then fills it to the target.
    spare_cv_.wait(lk, [&] { return spare_stop_ || spare_refill_due_locked(); });
    if (!spare_stop_) ++spare_refills_;
    while (!spare_stop_ && spares_.size() < opts_.spare_files) {
      std::string name = prefix + std::to_string(spare_seq_++);
      lk.unlock();
      int fd = ::open((tmp_prefix_ + name).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      int e = errno;
      lk.lock();
      if (fd >= 0) {
        spares_.emplace_back(fd, std::move(name));
      } else if (e != EEXIST) {  // EEXIST: a leftover of an earlier process: next name
        // Disk full, no inodes, ...: callers create their own files (and get the error).
        spdlog::warn("queue={} cannot create spare file tmp/{}: {}", opts_.dir.string(), name,
                     errno_text(e));
        spare_cv_.wait_for(lk, std::chrono::seconds(1), [&] { return spare_stop_; });
        break;
      }
    }
    if (spare_stop_) return;
  }
}

result<message_writer> queue_dir::begin() {
  if (auto sp = take_spare()) return message_writer(this, ids_.next(), sp->first, sp->second);
  for (int attempt = 0; attempt < kBeginAttempts; ++attempt) {
    queue_id id = ids_.next();
    std::string name = id.str() + std::string(kDataSuffix);
    fs::path p = opts_.dir / kTmpDir / name;
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return message_writer(this, std::move(id), fd, std::move(name));
    if (errno != EEXIST) return std::unexpected(io_fail(p, "cannot create", errno));
  }
  return fail(errc::internal, "queue: could not allocate a unique queue id");
}

void queue_dir::submit(std::unique_ptr<pending> p) {
  {
    std::lock_guard lk(sync_mu_);
    MXG_ASSERT(!sync_stop_);
    work_.push_back(sync_job{p.release(), false});
  }
  sync_cv_.notify_one();
}

void queue_dir::commit(message_writer msg, envelope env, commit_callback done) {
  MXG_ASSERT(msg.q_ == this && msg.fd_ >= 0);
  auto p = std::make_unique<pending>();
  if (auto r = msg.flush(); !r) p->err = r.error();
  if (msg.error_) p->err = msg.error_;
  p->id = msg.id_;
  p->data_fd = std::exchange(msg.fd_, -1);
  p->data_tmp = std::move(msg.tmp_name_);
  p->single = opts_.format == queue_format::single;
  env.id = p->id;
  env.size = msg.size_;
  p->env = std::move(env);
  p->done = std::move(done);
  submit(std::move(p));
}

queue_id queue_dir::commit(envelope env, std::string data, commit_callback done) {
  auto p = std::make_unique<pending>();
  p->id = ids_.next();
  env.id = p->id;
  env.size = data.size();
  p->env = std::move(env);
  p->data = std::move(data);
  p->open_data = true;
  p->single = opts_.format == queue_format::single;
  p->data_tmp = p->id.str() + std::string(kDataSuffix);
  p->done = std::move(done);
  queue_id id = p->id;
  submit(std::move(p));
  return id;
}

result<queue_id> queue_dir::store(envelope env, std::string_view data) {
  std::promise<result<queue_id>> prom;
  auto fut = prom.get_future();
  commit(std::move(env), std::string(data),
         [&prom](result<queue_id> r) { prom.set_value(std::move(r)); });
  return fut.get();
}

result<queue_id> queue_dir::store(message_writer msg, envelope env) {
  std::promise<result<queue_id>> prom;
  auto fut = prom.get_future();
  commit(std::move(msg), std::move(env),
         [&prom](result<queue_id> r) { prom.set_value(std::move(r)); });
  return fut.get();
}

commit_stats queue_dir::stats() const {
  std::lock_guard lk(stats_mu_);
  return stats_;
}

void queue_dir::prepare_one(pending& p) {
  // Paths as plain strings on the commit path: a std::filesystem join costs ~2,000
  // instructions (component parsing and allocations), ~10 of them per message.
  const std::string tmp_data = tmp_prefix_ + p.data_tmp;
  auto failed = [&](error e) { p.fail(std::move(e)); };
  // 1. Data (when the writer owns it) and control file under tmp/.
  if (p.open_data) {
    p.data_fd = ::open(tmp_data.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (p.data_fd < 0) return failed(io_fail(tmp_data, "cannot create", errno));
    auto r = write_all(p.data_fd, p.data);
    std::string().swap(p.data);
    if (!r) return failed(r.error());
  }
  if (auto sp = take_spare()) {
    p.ctl_fd = sp->first;
    p.ctl_tmp = std::move(sp->second);
  } else {
    p.ctl_tmp = p.id.str() + std::string(kCtlSuffix);
    const std::string tmp_ctl = tmp_prefix_ + p.ctl_tmp;
    p.ctl_fd = ::open(tmp_ctl.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (p.ctl_fd < 0) return failed(io_fail(tmp_ctl, "cannot create", errno));
  }
  if (auto r = write_all(p.ctl_fd, format_control(p.env)); !r) return failed(r.error());
  // 2. Start writeback of both files before run_first fsyncs them, so both files'
  //    blocks are allocated in the same journal transaction.
  if (opts_.fsync) {
    start_writeback(p.data_fd);
    start_writeback(p.ctl_fd);
  }
}

void queue_dir::publish_one(pending& p) {
  const std::string tmp_data = tmp_prefix_ + p.data_tmp;
  const std::string tmp_ctl = tmp_prefix_ + p.ctl_tmp;
  const std::string id = p.id.str();
  const std::string msg_data = msgs_prefix_ + id + std::string(kDataSuffix);
  const std::string msg_ctl = msgs_prefix_ + id + std::string(kCtlSuffix);
  auto failed = [&](error e) { p.fail(std::move(e)); };
  p.close_files();
  if (p.err) return;
  // 3. Data file first, then the control file that commits it.
  if (opts_.ops.rename(tmp_data.c_str(), msg_data.c_str(), true) != 0)
    return failed(io_fail(msg_data, "cannot rename into", errno));
  p.data_committed = true;
  if (opts_.ops.rename(tmp_ctl.c_str(), msg_ctl.c_str(), true) != 0)
    return failed(io_fail(msg_ctl, "cannot rename into", errno));
  p.ctl_committed = true;
}

void queue_dir::dir_sync_loop() {
  base::name_this_thread("mxg-qdirsync");
  std::vector<std::unique_ptr<pending>> batch;
  for (;;) {
    {
      std::unique_lock lk(ds_mu_);
      ds_cv_.wait(lk, [&] { return ds_stop_ || !ds_queue_.empty(); });
      if (ds_queue_.empty()) return;  // stopping and drained
      // Every message renamed since the last directory fsync, up to max_batch.
      while (!ds_queue_.empty() && batch.size() < opts_.max_batch) {
        batch.push_back(std::move(ds_queue_.front()));
        ds_queue_.pop_front();
      }
    }
    finish_round(batch);
    batch.clear();
  }
}

void queue_dir::finish_round(std::vector<std::unique_ptr<pending>>& batch) {
  auto tmp_data = [&](const pending& p) { return tmp_prefix_ + p.data_tmp; };
  auto tmp_ctl = [&](const pending& p) { return tmp_prefix_ + p.ctl_tmp; };

  // 4. One directory fsync for every message renamed since the last one.
  bool any = false;
  for (const auto& p : batch) any = any || p->ctl_committed || p->msg_committed;
  if (any) {
    if (auto r = sync_msgs_dir(); !r) {
      for (auto& p : batch) {
        if (p->single_concurrent)
          p->dir_sync_err = r.error();
        else if (!p->err)
          p->err = r.error();
      }
    }
  }
  {
    std::lock_guard lk(stats_mu_);
    ++stats_.rounds;
    stats_.max_batch = std::max<std::uint64_t>(stats_.max_batch, batch.size());
  }
  // Format B messages whose file fsync may still be running: the later side reports
  // (and counts them).
  std::erase_if(batch, [&](std::unique_ptr<pending>& p) {
    if (!p->single_concurrent) return false;
    finish_single(p.release());
    return true;
  });
  if (batch.empty()) return;

  // 5. Clean up the failed ones: nothing of them stays visible.
  bool undo = false;
  for (auto& pp : batch) {
    pending& p = *pp;
    if (!p.err) continue;
    if (p.ctl_committed) {
      ::unlink(control_path(p.id).c_str());
      undo = true;
    }
    if (p.data_committed) {
      ::unlink(data_path(p.id).c_str());
      undo = true;
    }
    if (p.msg_committed) {
      ::unlink(message_path(p.id).c_str());
      undo = true;
    }
    if (!p.ctl_tmp.empty()) ::unlink(tmp_ctl(p).c_str());
    if (!p.data_tmp.empty()) ::unlink(tmp_data(p).c_str());
  }
  if (undo) (void)sync_msgs_dir();

  std::size_t ok = 0;
  for (const auto& p : batch) ok += p->err ? 0 : 1;
  {
    std::lock_guard lk(stats_mu_);
    stats_.messages += ok;
    stats_.failures += batch.size() - ok;
  }

  // 6. Only now tell the sessions.
  for (auto& pp : batch) report(*pp);
}

// ---------------------------------------------------------------- scanner

fs::path queue_dir::data_path(const queue_id& id) const {
  return opts_.dir / kMessagesDir / (id.str() + std::string(kDataSuffix));
}

fs::path queue_dir::control_path(const queue_id& id) const {
  return opts_.dir / kMessagesDir / (id.str() + std::string(kCtlSuffix));
}

fs::path queue_dir::message_path(const queue_id& id) const {
  return opts_.dir / kMessagesDir / (id.str() + std::string(kMsgSuffix));
}

fs::path queue_dir::state_path(const queue_id& id) const {
  return opts_.dir / kMessagesDir / (id.str() + std::string(kStSuffix));
}

bool queue_dir::contains(const queue_id& id) const {
  return ::access(control_path(id).c_str(), F_OK) == 0 ||
         ::access(message_path(id).c_str(), F_OK) == 0;
}

// Both formats are read; the one this queue writes is tried first.
result<envelope> queue_dir::load(const queue_id& id) const {
  bool single_first = opts_.format == queue_format::single;
  auto r = single_first ? load_single(id, true) : load_split(id);
  if (r || r.error().code != errc::not_found) return r;
  return single_first ? load_split(id) : load_single(id, true);
}

result<envelope> queue_dir::load_single(const queue_id& id, bool with_state) const {
  const fs::path p = message_path(id);
  fd_closer f{::open(p.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT)
      return fail(errc::not_found, "no message " + id.str() + " in queue " + opts_.dir.string());
    return std::unexpected(io_fail(p, "cannot open", errno));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return std::unexpected(io_fail(p, "cannot stat", errno));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  auto bad = [&](const error& e) { return fail(errc::parse_error, p.string() + ": " + e.message); };
  if (size < kTrailerSize)
    return fail(errc::parse_error, p.string() + ": no end marker (file too short)");
  auto tail = pread_exact(f.fd, p, size - kTrailerSize, kTrailerSize);
  if (!tail) return std::unexpected(tail.error());
  auto t = parse_trailer(*tail);
  if (!t) return bad(t.error());
  if (t->id != id)
    return fail(errc::parse_error, p.string() + ": holds id " + t->id.str() + ", not its name");
  if (t->env_offset > size || t->env_length > size - t->env_offset ||
      t->env_length > kControlFileMax)
    return fail(errc::parse_error,
                p.string() + ": end marker: offset and length do not match the file size");
  auto text = pread_exact(f.fd, p, t->env_offset, t->env_length);
  if (!text) return std::unexpected(text.error());
  auto env = parse_message_envelope(*t, *text, size);
  if (!env) return bad(env.error());
  if (!with_state) return env;
  // The .st file, when there is one, is the message's current envelope.
  const fs::path sp = state_path(id);
  auto stext = read_file(sp, kControlFileMax);
  if (!stext) {
    if (stext.error().code == errc::not_found) return env;
    return std::unexpected(stext.error());
  }
  auto cur = parse_control(*stext);
  if (!cur) return fail(errc::parse_error, sp.string() + ": " + cur.error().message);
  if (cur->id != id || cur->size != env->size)
    return fail(errc::parse_error, sp.string() + ": id or size differ from " + p.string());
  return cur;
}

result<std::string> queue_dir::read_single_data(const queue_id& id) const {
  const fs::path p = message_path(id);
  fd_closer f{::open(p.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT) return fail(errc::not_found, "no such file " + p.string());
    return std::unexpected(io_fail(p, "cannot open", errno));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return std::unexpected(io_fail(p, "cannot stat", errno));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < kTrailerSize)
    return fail(errc::parse_error, p.string() + ": no end marker (file too short)");
  auto tail = pread_exact(f.fd, p, size - kTrailerSize, kTrailerSize);
  if (!tail) return std::unexpected(tail.error());
  auto t = parse_trailer(*tail);
  if (!t) return fail(errc::parse_error, p.string() + ": " + t.error().message);
  if (t->env_offset > size - kTrailerSize)
    return fail(errc::parse_error, p.string() + ": end marker: offset beyond the file");
  return pread_exact(f.fd, p, 0, static_cast<std::size_t>(t->env_offset));
}

result<envelope> queue_dir::load_split(const queue_id& id) const {
  auto text = read_file(control_path(id), kControlFileMax);
  if (!text) {
    if (text.error().code == errc::not_found)
      return fail(errc::not_found, "no message " + id.str() + " in queue " + opts_.dir.string());
    return std::unexpected(text.error());
  }
  auto env = parse_control(*text);
  if (!env) return fail(errc::parse_error, control_path(id).string() + ": " + env.error().message);
  if (env->id != id)
    return fail(errc::parse_error,
                control_path(id).string() + ": holds id " + env->id.str() + ", not its name");
  return env;
}

result<std::string> queue_dir::read_data(const queue_id& id) const {
  bool single_first = opts_.format == queue_format::single;
  auto r =
      single_first ? read_single_data(id) : read_file(data_path(id), static_cast<std::size_t>(-1));
  if (r || r.error().code != errc::not_found) return r;
  return single_first ? read_file(data_path(id), static_cast<std::size_t>(-1))
                      : read_single_data(id);
}

result<std::vector<listed_message>> queue_dir::list() const {
  auto names = list_dir(opts_.dir / kMessagesDir);
  if (!names) return std::unexpected(names.error());
  std::vector<listed_message> out;
  for (const auto& n : *names) {
    auto id = id_of(n, kCtlSuffix);
    if (!id) id = id_of(n, kMsgSuffix);
    if (!id) continue;
    out.push_back({*id, load(*id)});
  }
  return out;
}

result<std::vector<id_key>> queue_dir::ids() const {
  const fs::path dir = opts_.dir / kMessagesDir;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return std::unexpected(io_fail(dir, "cannot read directory", errno));
  std::vector<id_key> out;
  while (auto* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    static_assert(kCtlSuffix.size() == kMsgSuffix.size());
    if (n.size() != kQueueIdLength + kCtlSuffix.size() ||
        !(n.ends_with(kCtlSuffix) || n.ends_with(kMsgSuffix)))
      continue;
    std::string_view id = n.substr(0, kQueueIdLength);
    if (!queue_id::valid(id)) continue;
    id_key k;
    std::copy(id.begin(), id.end(), k.begin());
    out.push_back(k);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());  // an id in both formats
  return out;
}

result<recovery_report> queue_dir::recover() {
  recovery_report rep;
  const fs::path tmp = opts_.dir / kTmpDir;
  const fs::path msgs = opts_.dir / kMessagesDir;
  const fs::path corrupt = opts_.dir / kCorruptDir;

  // Interrupted writes: nothing in tmp/ was ever acknowledged.
  auto tmp_names = list_dir(tmp);
  if (!tmp_names) return std::unexpected(tmp_names.error());
  // This process's spare files (in the pool, or being created right now) stay. Those
  // of an earlier process that had the same pid stay too: empty, at most a pool's
  // worth, and the spare thread skips their names.
  const std::string own_spares = own_spare_prefix();
  for (const auto& n : *tmp_names) {
    if (n.starts_with(own_spares)) continue;
    if (::unlink((tmp / n).c_str()) == 0) {
      ++rep.tmp_removed;
      spdlog::info("queue={} removed unfinished temporary file tmp/{}", opts_.dir.string(), n);
    }
  }

  auto names = list_dir(msgs);
  if (!names) return std::unexpected(names.error());
  std::set<queue_id> datas, ctls, msgfiles, states;
  for (const auto& n : *names) {
    if (auto id = id_of(n, kDataSuffix)) {
      datas.insert(*id);
    } else if (auto id2 = id_of(n, kCtlSuffix)) {
      ctls.insert(*id2);
    } else if (auto id3 = id_of(n, kMsgSuffix)) {
      msgfiles.insert(*id3);
    } else if (auto id4 = id_of(n, kStSuffix)) {
      states.insert(*id4);
    } else {
      spdlog::warn("queue={} ignoring unknown file messages/{}", opts_.dir.string(),
                   escape_value(n));
    }
  }

  bool changed = rep.tmp_removed > 0;
  auto quarantine_files = [&](const queue_id& id, std::string_view main_suffix,
                              std::initializer_list<std::string_view> suffixes,
                              const std::string& why) {
    std::string reason = "messages/" + id.str() + std::string(main_suffix) + ": " + why;
    for (std::string_view suffix : suffixes) {
      std::string name = id.str() + std::string(suffix);
      fs::path from = msgs / name;
      fs::path to = corrupt / name;
      if (opts_.ops.rename(from.c_str(), to.c_str(), true) != 0 && errno == EEXIST) {
        to = corrupt / (name + "." + std::to_string(::time(nullptr)));
        (void)opts_.ops.rename(from.c_str(), to.c_str(), true);
      }
    }
    spdlog::error("qid={} queue={} moved to corrupt/: {}", id.str(), opts_.dir.string(), reason);
    rep.corrupt.push_back(std::move(reason));
    changed = true;
  };
  auto quarantine = [&](const queue_id& id, const std::string& why) {
    quarantine_files(id, kCtlSuffix, {kCtlSuffix, kDataSuffix}, why);
  };

  for (const auto& id : ctls) {
    auto env = load(id);
    if (!env) {
      quarantine(id, env.error().message);
      continue;
    }
    struct stat st {};
    if (::stat(data_path(id).c_str(), &st) != 0) {
      quarantine(id, "data file missing");
      continue;
    }
    if (static_cast<std::uint64_t>(st.st_size) != env->size) {
      quarantine(id, "data file has " + std::to_string(st.st_size) + " bytes, control file says " +
                         std::to_string(env->size));
      continue;
    }
    rep.messages.push_back(std::move(*env));
    ++rep.split_messages;
  }
  // Format B: a .msg file is resumed only with a valid end marker and envelope (and a
  // valid .st file when there is one); anything else goes to corrupt/ with its .st.
  for (const auto& id : msgfiles) {
    if (ctls.contains(id)) {
      quarantine_files(id, kMsgSuffix, {kMsgSuffix, kStSuffix},
                       "the same id is also queued as " + id.str() + std::string(kCtlSuffix));
      continue;
    }
    auto env = load_single(id, true);
    if (!env) {
      quarantine_files(id, kMsgSuffix, {kMsgSuffix, kStSuffix}, env.error().message);
      continue;
    }
    rep.messages.push_back(std::move(*env));
    ++rep.single_messages;
  }
  // State files whose .msg file is gone (removed first, or never committed): garbage.
  for (const auto& id : states) {
    if (msgfiles.contains(id)) continue;
    if (::unlink(state_path(id).c_str()) == 0) {
      ++rep.orphan_data_removed;
      changed = true;
      spdlog::info("qid={} queue={} removed state file without message file", id.str(),
                   opts_.dir.string());
    }
  }
  std::sort(rep.messages.begin(), rep.messages.end(),
            [](const envelope& a, const envelope& b) { return a.id < b.id; });
  if (opts_.format == queue_format::single && rep.split_messages > 0)
    spdlog::info(
        "queue={} holds {} message(s) in the split format (.data + .ctl): read and delivered "
        "as they are; new messages are written in the single format (.msg)",
        opts_.dir.string(), rep.split_messages);
  if (opts_.format == queue_format::split && rep.single_messages > 0)
    spdlog::info(
        "queue={} holds {} message(s) in the single format (.msg): read and delivered as they "
        "are; new messages are written in the split format (.data + .ctl)",
        opts_.dir.string(), rep.single_messages);
  // Data files whose control file never landed: the message was never acknowledged.
  for (const auto& id : datas) {
    if (ctls.contains(id)) continue;
    if (::unlink(data_path(id).c_str()) == 0) {
      ++rep.orphan_data_removed;
      changed = true;
      spdlog::info("qid={} queue={} removed data file without control file", id.str(),
                   opts_.dir.string());
    }
  }
  if (changed) {
    if (auto r = sync_dir(msgs); !r) return std::unexpected(r.error());
    if (!rep.corrupt.empty())
      if (auto r = sync_dir(corrupt); !r) return std::unexpected(r.error());
  }
  return rep;
}

// ---------------------------------------------------------------- one message

result<void> queue_dir::write_file_synced(const fs::path& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(io_fail(path, "cannot create", errno));
  auto r = write_all(fd, bytes);
  if (r) r = sync_fd(fd);
  ::close(fd);
  if (!r) ::unlink(path.c_str());
  return r;
}

result<void> queue_dir::update(const envelope& env) {
  std::lock_guard meta(meta_mu_);
  // Format A rewrites the control file; format B writes the .st file (the .msg file
  // holding the message and its first envelope is never rewritten).
  fs::path ctl = control_path(env.id);
  std::string_view suffix = kCtlSuffix;
  if (::access(ctl.c_str(), F_OK) != 0) {
    if (::access(message_path(env.id).c_str(), F_OK) != 0)
      return fail(errc::not_found,
                  "no message " + env.id.str() + " in queue " + opts_.dir.string());
    ctl = state_path(env.id);
    suffix = kStSuffix;
  }
  static std::atomic<unsigned> counter{0};
  fs::path tmp = opts_.dir / kTmpDir /
                 (env.id.str() + std::string(suffix) + "-u" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++));
  if (auto r = write_file_synced(tmp, format_control(env)); !r) return r;
  if (opts_.ops.rename(tmp.c_str(), ctl.c_str(), false) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(io_fail(ctl, "cannot rename onto", e));
  }
  return sync_msgs_dir();
}

result<envelope> queue_dir::hold(const queue_id& id) {
  std::lock_guard meta(meta_mu_);
  auto env = load(id);
  if (!env) return env;
  env->mode = delivery_mode::hold;
  if (auto r = update(*env); !r) return std::unexpected(r.error());
  spdlog::info("qid={} queue={} held", id.str(), opts_.dir.string());
  return env;
}

result<envelope> queue_dir::release(const queue_id& id, bool* was_quarantined) {
  std::lock_guard meta(meta_mu_);
  auto env = load(id);
  if (!env) return env;
  // A quarantined message keeps why it was held (report.hpp), in the same rewrite.
  bool quarantine = mark_quarantine_released(
      *env, std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  if (was_quarantined) *was_quarantined = quarantine;
  env->mode = delivery_mode::deliver;
  env->next_attempt.reset();
  for (auto& r : env->recipients) {
    if (r.status == rcpt_status::deferred) {
      r.status = rcpt_status::pending;
      r.next_attempt.reset();
    }
  }
  if (auto r = update(*env); !r) return std::unexpected(r.error());
  spdlog::info("qid={} queue={} released", id.str(), opts_.dir.string());
  return env;
}

// Turns a removed message's file into a spare (rename into tmp/, truncate) instead of
// unlinking it, when this process keeps a pool that has room: a delivered message's
// two inodes are reused by the next one, no inode is freed or allocated (see
// kSpareFilesDefault). Returns false when the caller should unlink.
bool queue_dir::recycle(const fs::path& file, bool must_exist, int& err) {
  err = 0;
  std::string name;
  {
    std::lock_guard lk(spare_mu_);
    // Up to twice the pool's target: the creating thread stops at the target, so
    // under steady delivery the recycled inodes are the ones used.
    if (opts_.spare_files == 0 || !spares_wanted_ || spare_stop_ ||
        spares_.size() >= 2 * opts_.spare_files)
      return false;
    name = own_spare_prefix() + std::to_string(spare_seq_++);
  }
  const fs::path to = opts_.dir / kTmpDir / name;
  if (opts_.ops.rename(file.c_str(), to.c_str(), true) != 0) {
    err = errno;
    return err == ENOENT && !must_exist;  // gone already: nothing to unlink either
  }
  int fd = ::open(to.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) {
    ::unlink(to.c_str());
    return true;
  }
  std::lock_guard lk(spare_mu_);
  spares_.emplace_back(fd, std::move(name));
  return true;
}

result<void> queue_dir::remove(const queue_id& id) {
  std::lock_guard meta(meta_mu_);
  if (::access(control_path(id).c_str(), F_OK) != 0 &&
      ::access(message_path(id).c_str(), F_OK) == 0) {
    // Format B: the .msg file first (that uncommits the message), then its .st file;
    // a crash in between leaves an orphan .st, which the start-up scan removes.
    int e = 0;
    if (!recycle(message_path(id), true, e)) {
      if (e == 0 && ::unlink(message_path(id).c_str()) != 0) e = errno;
      if (e == ENOENT)
        return fail(errc::not_found, "no message " + id.str() + " in queue " + opts_.dir.string());
      if (e != 0) return std::unexpected(io_fail(message_path(id), "cannot remove", e));
    }
    if (::unlink(state_path(id).c_str()) != 0 && errno != ENOENT)
      spdlog::warn("qid={} cannot remove state file: {}", id.str(), errno_text(errno));
    spdlog::info("qid={} queue={} deleted", id.str(), opts_.dir.string());
    return sync_msgs_dir();
  }
  // Control file first: that uncommits the message (an unlink or a rename out).
  int e = 0;
  if (!recycle(control_path(id), true, e)) {
    if (e == 0 && ::unlink(control_path(id).c_str()) != 0) e = errno;
    if (e == ENOENT)
      return fail(errc::not_found, "no message " + id.str() + " in queue " + opts_.dir.string());
    if (e != 0) return std::unexpected(io_fail(control_path(id), "cannot remove", e));
  }
  if (!recycle(data_path(id), false, e)) {
    if (e == 0 && ::unlink(data_path(id).c_str()) != 0) e = errno;
    if (e != 0 && e != ENOENT)
      spdlog::warn("qid={} cannot remove data file: {}", id.str(), errno_text(e));
  }
  spdlog::info("qid={} queue={} deleted", id.str(), opts_.dir.string());
  return sync_msgs_dir();
}

}  // namespace mxg::queue
