/*
 * The two things the console needs that neither Node nor the npm package `netlink` provides:
 * - setns(2): a netlink socket belongs to the network namespace of the thread that created it, so the
 *   library switches the calling thread into a namespace, opens its socket, and switches back;
 * - a blocking netlink socket read with read(2) on the libuv thread pool. For events: `netlink` 0.3.0 aborts
 *   the process when the kernel reports ENOBUFS on an idle socket (libuv turns POLLERR into UV_EBADF), while a
 *   pool read just returns ENOBUFS. For dumps: the kernel builds each dump chunk inside recvmsg, so reading on
 *   a pool thread moves that work off the main thread and overlaps it with decoding.
 */
#define _GNU_SOURCE
#include <errno.h>
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

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "setns", js_setns);
  export_function(env, exports, "openSocket", js_open_socket);
  export_function(env, exports, "receiveBufferSize", js_receive_buffer_size);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
