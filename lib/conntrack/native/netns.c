/*
 * setns(2) for Node.js: the only system call the console needs that Node does not expose.
 * A netlink socket belongs to the network namespace of the thread that created it, so the
 * library switches the calling thread into a namespace, opens its socket, and switches back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
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

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "setns", NAPI_AUTO_LENGTH, js_setns, NULL, &fn);
  napi_set_named_property(env, exports, "setns", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
