// cares_resolver.cpp: c-ares driven by asio (see cares_resolver.hpp).
// Event-loop contract of c-ares 1.18: ares_init_options with ARES_OPT_SOCK_STATE_CB
// reports every socket it opens (read/write interest) and closes (0, 0) *before*
// closing it; we watch each with a non-owning stream_descriptor and call
// ares_process_fd(channel, fd, ...) when it is ready, and ares_process_fd(BAD, BAD)
// when ares_timeout() expires, which runs the retry/timeout logic.
// Query callbacks never resume the caller inline: the completion is posted, so a
// caller may start queries or destroy the resolver from its continuation.
#include "dns/cares_resolver.hpp"

#include <ares.h>

#include <asio/async_result.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <sys/random.h>

#include <mutex>
#include <random>

#include "dns/wire.hpp"
#include "net/ip_address.hpp"

namespace mxg::dns {

struct cares_resolver::pending {
  virtual ~pending() = default;
  virtual void complete(answer a) = 0;
  cares_resolver* owner = nullptr;
  std::string name;
  rrtype type = rrtype::a;
  std::uint16_t id = 0;
};

namespace {
template <typename Handler>
struct pending_impl final : cares_resolver::pending {
  Handler handler;
  asio::any_io_executor ex;
  pending_impl(Handler h, asio::any_io_executor e) : handler(std::move(h)), ex(std::move(e)) {}
  void complete(answer a) override {
    auto hex = asio::get_associated_executor(handler, ex);
    asio::post(
        hex, [h = std::move(handler), a = std::move(a)]() mutable { std::move(h)(std::move(a)); });
  }
};

void library_init() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}
}  // namespace

struct cares_resolver::socket_watch {
  explicit socket_watch(asio::any_io_executor ex, int fd) : desc(ex, fd), fd(fd) {}
  asio::posix::stream_descriptor desc;
  int fd;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;  // an async_wait is pending
  bool closed = false;
};

result<std::string> server_to_csv(std::string_view s) {
  std::string host(s), port = "53";
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos)
      return fail(errc::invalid_argument, "missing ] in " + std::string(s));
    host = std::string(s.substr(1, close - 1));
    auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return fail(errc::invalid_argument, "expected :PORT after ] in " + std::string(s));
      port = std::string(rest.substr(1));
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    auto colon = s.find(':');
    host = std::string(s.substr(0, colon));
    port = std::string(s.substr(colon + 1));
  }
  auto ip = net::ip_address::parse(host);
  if (!ip)
    return fail(errc::invalid_argument, "DNS server must be an IP address: " + std::string(s));
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) == 0 ||
      std::stoi(port) > 65535)
    return fail(errc::invalid_argument, "bad port in DNS server " + std::string(s));
  return ip->is_v6() ? "[" + ip->to_string() + "]:" + port : ip->to_string() + ":" + port;
}

cares_resolver::cares_resolver(asio::any_io_executor ex)
    : ex_(std::move(ex)), timer_(ex_), alive_(std::make_shared<bool>(true)) {}

result<std::unique_ptr<cares_resolver>> cares_resolver::create(asio::any_io_executor ex,
                                                               cares_options opts) {
  library_init();
  if (opts.tries < 1) return fail(errc::invalid_argument, "DNS tries must be at least 1");
  if (opts.timeout.count() < 1) return fail(errc::invalid_argument, "DNS timeout must be positive");
  if (opts.servers.size() > static_cast<std::size_t>(kDnsMaxServers))
    return fail(errc::invalid_argument, "too many DNS servers");
  std::string csv;
  for (const auto& s : opts.servers) {
    auto c = server_to_csv(s);
    if (!c) return std::unexpected(c.error());
    if (!csv.empty()) csv += ',';
    csv += *c;
  }
  std::unique_ptr<cares_resolver> r(new cares_resolver(std::move(ex)));
  ares_options o{};
  o.sock_state_cb = &cares_resolver::sock_state_cb;
  o.sock_state_cb_data = r.get();
  o.timeout = static_cast<int>(opts.timeout.count());  // with ARES_OPT_TIMEOUTMS: ms
  o.tries = opts.tries;
  o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  // "b": DNS only, never /etc/hosts (SPF must see what the world sees).
  char lookups[] = "b";
  o.lookups = lookups;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
             ARES_OPT_LOOKUPS;
  ares_channel ch = nullptr;
  if (int rc = ares_init_options(&ch, &o, mask); rc != ARES_SUCCESS)
    return fail(errc::io_error, std::string("c-ares init: ") + ares_strerror(rc));
  r->channel_ = ch;
  if (!csv.empty()) {
    if (int rc = ares_set_servers_ports_csv(ch, csv.c_str()); rc != ARES_SUCCESS)
      return fail(errc::invalid_argument,
                  std::string("c-ares servers ") + csv + ": " + ares_strerror(rc));
  }
  return r;
}

cares_resolver::~cares_resolver() {
  destroying_ = true;
  *alive_ = false;
  // Calls on_answer(ARES_EDESTRUCTION) for every query in flight and sock_state_cb(fd,0,0)
  // for every open socket; both are handled without touching freed state.
  if (channel_) ares_destroy(channel_);
  for (auto& [fd, w] : sockets_) {
    w->closed = true;
    w->desc.release();
  }
  sockets_.clear();
}

asio::awaitable<answer> cares_resolver::query(std::string name, rrtype type) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(answer)>(
      [this, &name, type, ex](auto handler) {
        using H = decltype(handler);
        auto* p = new pending_impl<H>(std::move(handler), ex);
        p->owner = this;
        p->name = normalize_name(name);
        p->type = type;
        start(p);
      },
      asio::use_awaitable);
}

void cares_resolver::start(pending* p) {
  if (destroying_) {
    p->complete(answer{status::servfail, {}, 0, 0, "resolver shut down", {}});
    delete p;
    return;
  }
  // The query message is built here, not by ares_query: ares_query takes a C string and
  // reads '\\' escapes and '.' in it (c-ares 1.18 ares_create_query), so a name with a
  // NUL, a '\\' or other odd octets (SPF macro expansion, RFC 7208 7.3) would reach the
  // wire changed. ares_send takes the message as it is and keeps its id.
  std::uint16_t id = 0;
  do {
    id = random_id();
  } while (ids_in_flight_.count(id) != 0);  // c-ares matches answers by id
  auto msg = encode_query(p->name, p->type, id);
  if (!msg) {
    p->complete(answer{status::servfail, {}, 0, 0, "bad query name: " + msg.error().message, {}});
    delete p;
    return;
  }
  p->id = id;
  ids_in_flight_.insert(id);
  ++in_flight_;
  ares_send(channel_, msg->data(), static_cast<int>(msg->size()), &on_answer, p);
  update_timer();
}

std::uint16_t cares_resolver::random_id() {
  // The id is half of the defence against forged answers (see cares_resolver.hpp): from
  // the kernel's CSPRNG, like c-ares' own ids.
  std::uint16_t id = 0;
  if (getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) {
    static std::random_device rd;
    id = static_cast<std::uint16_t>(rd());
  }
  return id;
}

void cares_resolver::on_answer(void* arg, int st, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<pending> p(static_cast<pending*>(arg));
  cares_resolver* self = p->owner;
  --self->in_flight_;
  self->ids_in_flight_.erase(p->id);
  answer a;
  switch (st) {
    case ARES_SUCCESS:
    case ARES_ENODATA:
    case ARES_ENOTFOUND:
      if (abuf && alen > 0) {
        a = decode_response({abuf, static_cast<std::size_t>(alen)}, p->name, p->type);
      } else {
        a.st = st == ARES_ENOTFOUND ? status::nxdomain : status::nodata;
      }
      break;
    case ARES_ETIMEOUT:
      a.st = status::timeout;
      a.detail = "no answer from the DNS servers in time";
      break;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      a.st = status::servfail;
      a.detail = "resolver shut down";
      break;
    default:
      a.st = status::servfail;
      a.detail = ares_strerror(st);
      if (abuf && alen > 0) a.wire_size = static_cast<std::size_t>(alen);
      break;
  }
  p->complete(std::move(a));
}

void cares_resolver::sock_state_cb(void* data, int fd, int readable, int writable) {
  static_cast<cares_resolver*>(data)->on_socket_state(fd, readable != 0, writable != 0);
}

void cares_resolver::on_socket_state(int fd, bool readable, bool writable) {
  auto it = sockets_.find(fd);
  if (!readable && !writable) {  // c-ares is about to close fd
    if (it != sockets_.end()) {
      it->second->closed = true;
      it->second->desc.release();  // cancels pending waits; c-ares owns and closes the fd
      sockets_.erase(it);
    }
    return;
  }
  if (destroying_) return;
  if (it == sockets_.end())
    it = sockets_.emplace(fd, std::make_shared<socket_watch>(ex_, fd)).first;
  it->second->want_read = readable;
  it->second->want_write = writable;
  arm(it->second);
}

void cares_resolver::arm(const std::shared_ptr<socket_watch>& w) {
  if (w->closed) return;
  if (w->want_read && !w->reading) {
    w->reading = true;
    w->desc.async_wait(asio::posix::descriptor_base::wait_read,
                       [this, w, alive = alive_](std::error_code ec) {
                         w->reading = false;
                         if (!*alive || w->closed || ec) return;
                         process(w->fd, ARES_SOCKET_BAD);
                         if (*alive) arm(w);
                       });
  }
  if (w->want_write && !w->writing) {
    w->writing = true;
    w->desc.async_wait(asio::posix::descriptor_base::wait_write,
                       [this, w, alive = alive_](std::error_code ec) {
                         w->writing = false;
                         if (!*alive || w->closed || ec) return;
                         process(ARES_SOCKET_BAD, w->fd);
                         if (*alive) arm(w);
                       });
  }
}

void cares_resolver::process(int read_fd, int write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  update_timer();
}

void cares_resolver::update_timer() {
  if (destroying_) return;
  timeval tv{};
  timeval* t = ares_timeout(channel_, nullptr, &tv);
  if (!t) {
    if (timer_armed_) timer_.cancel();
    timer_armed_ = false;
    return;
  }
  auto due = std::chrono::steady_clock::now() + std::chrono::seconds(t->tv_sec) +
             std::chrono::microseconds(t->tv_usec);
  // An armed timer that fires no later than needed is kept: when it fires,
  // ares_process_fd handles what is due and we re-arm for the next deadline.
  if (timer_armed_ && timer_.expiry() <= due) return;
  timer_armed_ = true;
  timer_.expires_at(due);
  timer_.async_wait([this, alive = alive_](std::error_code ec) {
    if (ec || !*alive) return;
    timer_armed_ = false;
    process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  });
}

}  // namespace mxg::dns
