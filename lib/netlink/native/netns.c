/*
 * The two things the console needs that neither Node nor the npm package `netlink` provides:
 * - setns(2): a netlink socket belongs to the network namespace of the thread that created it, so the
 *   library switches the calling thread into a namespace, opens its socket, and switches back;
 * - a blocking netlink socket read with read(2) on the libuv thread pool. For events: `netlink` 0.3.0 aborts
 *   the process when the kernel reports ENOBUFS on an idle socket (libuv turns POLLERR into UV_EBADF), while a
 *   pool read just returns ENOBUFS. For dumps: the kernel builds each dump chunk inside recvmsg, so reading on
 *   a pool thread moves that work off the main thread and overlaps it with decoding;
 * - readDump: many dump datagrams read back to back by one pool job. The kernel fills the next 32 KiB chunk of a
 *   dump only inside the recvmsg that takes the previous one, so a round trip to the main thread per chunk
 *   (~8,000 of them for a million entries) leaves the kernel idle between chunks; one job reads until its
 *   buffer is nearly full or the dump has ended, as a plain C loop would;
 * - readEvents: the same for event datagrams, every one already queued taken by one pool job.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, int err) {
  napi_value msg, code, error, errno_value;
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, "ESETNS", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

/* setns(fd): join the network namespace behind fd (CLONE_NEWNET only). */
static napi_value js_setns(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "setns(fd): fd must be a number");
    return NULL;
  }
  if (setns(fd, CLONE_NEWNET) != 0) return throw_errno(env, errno);
  return NULL;
}

static int get_int_arg(napi_env env, napi_value value, int32_t *out) {
  return napi_get_value_int32(env, value, out) == napi_ok;
}

/*
 * openSocket(protocol, receiveBufferBytes, groups[], readTimeoutMs) -> fd
 * A blocking NETLINK socket bound to the given multicast groups. SO_RCVBUFFORCE (root) may exceed
 * net.core.rmem_max; without the privilege SO_RCVBUF applies, capped by the kernel.
 */
static napi_value js_open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t protocol, rcvbuf, timeout_ms;
  uint32_t ngroups;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || !get_int_arg(env, argv[0], &protocol) || !get_int_arg(env, argv[1], &rcvbuf) ||
      napi_get_array_length(env, argv[2], &ngroups) != napi_ok || !get_int_arg(env, argv[3], &timeout_ms)) {
    napi_throw_type_error(env, NULL, "openSocket(protocol, receiveBufferBytes, groups, readTimeoutMs)");
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) return throw_errno(env, errno);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err);
  }
  struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof(addr));
  addr.nl_family = AF_NETLINK;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err);
  }
  for (uint32_t i = 0; i < ngroups; i++) {
    napi_value item;
    int32_t group;
    if (napi_get_element(env, argv[2], i, &item) != napi_ok || !get_int_arg(env, item, &group) ||
        setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
      int err = errno ? errno : EINVAL;
      close(fd);
      return throw_errno(env, err);
    }
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

/* receiveBufferSize(fd) -> the SO_RCVBUF the kernel granted. */
static napi_value js_receive_buffer_size(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  int size = 0;
  socklen_t len = sizeof(size);
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_int_arg(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "receiveBufferSize(fd)");
    return NULL;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len) != 0) return throw_errno(env, errno);
  napi_value result;
  napi_create_int32(env, size, &result);
  return result;
}

/* The kernel's dump datagrams are at most 32 KiB (SKB_WITH_OVERHEAD(32768)); a read is offered twice that. */
#define DUMP_READ_BYTES (64 * 1024)

/*
 * Event datagrams are one message each (a few hundred bytes); a read is offered EVENT_READ_BYTES, more than the
 * largest (an event skb is at most NLMSG_GOODSIZE, one page).
 */
#define EVENT_READ_BYTES (16 * 1024)

/* One readDump or readEvents job: the caller's buffer filled on a pool thread, then its callback called. */
typedef struct {
  napi_async_work work;
  napi_ref buffer_ref;
  napi_ref callback_ref;
  int fd;
  int is_dump;
  uint32_t seq;
  uint8_t *data;
  size_t capacity;
  size_t used;
  uint32_t datagrams;
  int err;
  int ended;
} socket_read;

/* Whether the datagram at p (n bytes, whole netlink messages) holds NLMSG_DONE or NLMSG_ERROR for seq. */
static int ends_dump(const uint8_t *p, size_t n, uint32_t seq) {
  size_t at = 0;
  while (n - at >= sizeof(struct nlmsghdr)) {
    const struct nlmsghdr *h = (const struct nlmsghdr *)(p + at);
    if (h->nlmsg_len < sizeof(struct nlmsghdr) || h->nlmsg_len > n - at) return 0;
    if (h->nlmsg_seq == seq && (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)) return 1;
    at += NLMSG_ALIGN(h->nlmsg_len);
  }
  return 0;
}

/* On a pool thread: datagrams appended to the buffer until less than one read fits, the dump ends, or an error. */
static void dump_read_execute(napi_env env, void *data) {
  socket_read *r = data;
  (void)env;
  while (r->capacity - r->used >= DUMP_READ_BYTES) {
    ssize_t n = recv(r->fd, r->data + r->used, DUMP_READ_BYTES, MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      r->err = errno;
      return;
    }
    if (n > DUMP_READ_BYTES) {
      r->err = EMSGSIZE;
      return;
    }
    if (n == 0) continue;
    int ended = ends_dump(r->data + r->used, (size_t)n, r->seq);
    r->used += NLMSG_ALIGN((size_t)n);
    if (ended) {
      r->ended = 1;
      return;
    }
  }
}

/*
 * On a pool thread: the first recv blocks (until an event or the socket's read timeout), the following ones take
 * what is already queued (MSG_DONTWAIT) until the buffer is nearly full, the queue is empty, or recv fails. One
 * job per burst instead of one per event: a round trip to the main thread per datagram (10,000 a second under
 * churn) cost more than decoding them, and the socket's queue grew until the kernel dropped events.
 */
static void event_read_execute(napi_env env, void *data) {
  socket_read *r = data;
  (void)env;
  while (r->capacity - r->used >= EVENT_READ_BYTES) {
    ssize_t n = recv(r->fd, r->data + r->used, EVENT_READ_BYTES, MSG_TRUNC | (r->datagrams ? MSG_DONTWAIT : 0));
    if (n < 0) {
      if (errno == EINTR) continue;
      /* An empty queue after some datagrams is the end of this burst, not an error. */
      if (r->datagrams && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      r->err = errno;
      return;
    }
    if (n > EVENT_READ_BYTES) {
      /* Truncated: skipped (its bytes are not whole messages), reported once the burst is delivered. */
      r->err = EMSGSIZE;
      return;
    }
    if (n == 0) continue;
    r->used += NLMSG_ALIGN((size_t)n);
    r->datagrams++;
  }
}

/* On the main thread: callback(errno, bytes) for events, callback(errno, bytes, ended) for a dump. */
static void socket_read_complete(napi_env env, napi_status status, void *data) {
  socket_read *r = data;
  napi_value callback, global, argv[3];
  napi_get_reference_value(env, r->callback_ref, &callback);
  napi_get_global(env, &global);
  napi_create_int32(env, status == napi_cancelled ? ECANCELED : r->err, &argv[0]);
  napi_create_uint32(env, (uint32_t)r->used, &argv[1]);
  napi_get_boolean(env, r->ended, &argv[2]);
  size_t argc = r->is_dump ? 3 : 2;
  napi_delete_reference(env, r->buffer_ref);
  napi_delete_reference(env, r->callback_ref);
  napi_delete_async_work(env, r->work);
  free(r);
  napi_call_function(env, global, callback, argc, argv, NULL);
}

/*
 * The arguments (fd, Uint8Array, [seq,] callback) checked and one job queued: the dump's form has seq, the events'
 * form does not. Throws a TypeError naming the call's usage when they do not fit.
 */
static napi_value queue_socket_read(napi_env env, napi_callback_info info, int is_dump, const char *name,
                                    const char *usage, napi_async_execute_callback execute) {
  size_t expected = is_dump ? 4 : 3, argc = 4;
  napi_value argv[4], resource_name;
  int32_t fd;
  uint32_t seq = 0;
  napi_typedarray_type type;
  size_t length, offset;
  void *base;
  napi_value arraybuffer;
  napi_valuetype callback_type;
  bool is_typedarray = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_value callback = argv[expected - 1];
  if (argc < expected || !get_int_arg(env, argv[0], &fd) || napi_is_typedarray(env, argv[1], &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &base, &arraybuffer, &offset) != napi_ok || type != napi_uint8_array ||
      (is_dump && napi_get_value_uint32(env, argv[2], &seq) != napi_ok) || napi_typeof(env, callback, &callback_type) != napi_ok ||
      callback_type != napi_function) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  socket_read *r = calloc(1, sizeof(*r));
  if (!r) return throw_errno(env, ENOMEM);
  r->fd = fd;
  r->is_dump = is_dump;
  r->seq = seq;
  r->data = base;
  r->capacity = length;
  napi_create_reference(env, argv[1], 1, &r->buffer_ref);
  napi_create_reference(env, callback, 1, &r->callback_ref);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  napi_create_async_work(env, NULL, resource_name, execute, socket_read_complete, r, &r->work);
  napi_queue_async_work(env, r->work);
  return NULL;
}

/*
 * readDump(fd, buffer, seq, callback(errno, bytes, ended)): reads dump datagrams into buffer (a Uint8Array) on the
 * thread pool, back to back, until less than 64 KiB of it is left, a datagram holds NLMSG_DONE or NLMSG_ERROR for
 * seq (ended), or recv fails (errno; EAGAIN after the socket's read timeout). bytes: how much of buffer is filled,
 * whole datagrams only. The buffer must not be touched until the callback.
 */
static napi_value js_read_dump(napi_env env, napi_callback_info info) {
  return queue_socket_read(env, info, 1, "readDump", "readDump(fd, Uint8Array, seq, callback)", dump_read_execute);
}

/*
 * readEvents(fd, buffer, callback(errno, bytes)): multicast datagrams read into buffer (a Uint8Array) on the
 * thread pool: the first waits, then every one already queued, until less than 16 KiB of it is left. bytes: whole
 * datagrams, each padded to 4 bytes. errno (0 = none) is what stopped the reading: ENOBUFS (the kernel dropped
 * events; the bytes before it are good), EAGAIN (the read timeout passed with nothing queued), or a failure.
 * The buffer must not be touched until the callback.
 */
static napi_value js_read_events(napi_env env, napi_callback_info info) {
  return queue_socket_read(env, info, 0, "readEvents", "readEvents(fd, Uint8Array, callback)", event_read_execute);
}

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "setns", js_setns);
  export_function(env, exports, "openSocket", js_open_socket);
  export_function(env, exports, "receiveBufferSize", js_receive_buffer_size);
  export_function(env, exports, "readDump", js_read_dump);
  export_function(env, exports, "readEvents", js_read_events);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
