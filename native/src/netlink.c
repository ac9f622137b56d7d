/*
 * NetlinkSocket: a netlink datagram socket (rtnetlink, generic netlink) polled by libuv, the socket
 * layer under src/netlink (which encodes, batches and matches the messages itself).
 *
 * Why our own: the descriptor is ours, so options the kernel offers (NETLINK_NO_ENOBUFS on event
 * sockets, SO_RCVBUFFORCE for a large receive buffer where net.core.rmem_max is small, group
 * membership) are set on it directly; and a receive error, ENOBUFS above all (the kernel dropped
 * messages because the receive buffer was full), is handed to JavaScript as an error event to resync
 * from, never turned into a process abort.
 *
 *   new NetlinkSocket(protocol, onMessage(datagram), onError(err))
 *   .send(buffer)                  sendto() the kernel; throws an Error with the errno name as code
 *   .setOption(level, opt, value)  integer setsockopt
 *   .port()                        the port id the kernel bound us to
 *   .ref() / .unref() / .close()
 *
 * Sending is synchronous: the kernel handles a netlink request inside sendto(), so there is nothing
 * to wait for (its answers arrive on the receive side). Receiving reads every queued datagram when
 * the descriptor is readable, each into a Buffer of its exact size (peeked with MSG_TRUNC), at most
 * READS_PER_POLL per turn so a flood of events cannot starve the event loop. The socket keeps itself
 * alive (a strong reference) until close(), as a libuv handle does.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READS_PER_POLL 256

napi_value errno_error(napi_env env, int err, const char *step); /* bgp_socket.c */

typedef struct {
  napi_env env;
  int fd;
  uv_poll_t *poll;
  napi_ref self;            /* strong while open */
  napi_ref on_message;
  napi_ref on_error;
  napi_async_context async;
  int open;
} nl_socket;

static void poll_closed(uv_handle_t *h) { free(h); }

static void nl_close(nl_socket *s) {
  if (!s->open) return;
  s->open = 0;
  uv_poll_stop(s->poll);
  uv_close((uv_handle_t *)s->poll, poll_closed);
  s->poll = NULL;
  close(s->fd);
  s->fd = -1;
  napi_delete_reference(s->env, s->on_message);
  napi_delete_reference(s->env, s->on_error);
  napi_async_destroy(s->env, s->async);
  /* Let the object be collected now that nothing can call back into it. */
  uint32_t left;
  napi_reference_unref(s->env, s->self, &left);
}

static void nl_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  nl_socket *s = data;
  nl_close(s);
  napi_delete_reference(env, s->self);
  free(s);
}

/* Calls a JavaScript callback from libuv; an exception it throws becomes an uncaught exception. */
static void call_back(nl_socket *s, napi_ref fn_ref, napi_value arg) {
  napi_env env = s->env;
  napi_value fn, recv, ignored;
  napi_get_reference_value(env, fn_ref, &fn);
  napi_get_reference_value(env, s->self, &recv);
  if (napi_make_callback(env, s->async, recv, fn, 1, &arg, &ignored) == napi_pending_exception) {
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
    napi_fatal_exception(env, e);
  }
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  nl_socket *s = h->data;
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  if (status < 0) {
    /*
     * libuv reports POLLERR as UV_EBADF and stops the handle. On a netlink socket POLLERR means a
     * pending socket error, ENOBUFS after an overflow: take it (SO_ERROR clears it), report it, and
     * poll again; what was queued before the overflow is still there to read.
     */
    int pending = 0;
    socklen_t len = sizeof pending;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &pending, &len) < 0 || pending == 0) {
      call_back(s, s->on_error, errno_error(env, -status, "poll"));
      napi_close_handle_scope(env, scope);
      return;
    }
    call_back(s, s->on_error, errno_error(env, pending, "recvmsg"));
    if (!s->open || uv_poll_start(s->poll, UV_READABLE, on_readable) != 0) {
      napi_close_handle_scope(env, scope);
      return;
    }
  }
  for (int i = 0; i < READS_PER_POLL && s->open; i++) {
    ssize_t size;
    do size = recv(s->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT); while (size < 0 && errno == EINTR);
    if (size < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      /* ENOBUFS: messages were lost (the error is reported once, then reading goes on). */
      call_back(s, s->on_error, errno_error(env, errno, "recvmsg"));
      continue;
    }
    void *data;
    napi_value buf;
    if (napi_create_buffer(env, size > 0 ? (size_t)size : 1, &data, &buf) != napi_ok) break;
    ssize_t got;
    do got = recv(s->fd, data, size > 0 ? (size_t)size : 1, MSG_DONTWAIT); while (got < 0 && errno == EINTR);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      call_back(s, s->on_error, errno_error(env, errno, "recvmsg"));
      continue;
    }
    if ((size_t)got < (size_t)size) {
      /* Never shorter than peeked; if it were, hand out only what was read. */
      napi_value view;
      napi_create_buffer_copy(env, (size_t)got, data, NULL, &view);
      buf = view;
    }
    call_back(s, s->on_message, buf);
  }
  napi_close_handle_scope(env, scope);
}

static nl_socket *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  nl_socket *s = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok || napi_unwrap(env, self, (void **)&s) != napi_ok || s == NULL) {
    napi_throw_type_error(env, NULL, "NetlinkSocket: not a NetlinkSocket");
    return NULL;
  }
  if (!s->open) {
    napi_throw_error(env, "ERR_SOCKET_CLOSED", "NetlinkSocket: the socket is closed");
    return NULL;
  }
  return s;
}

static napi_value nl_new(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  napi_get_cb_info(env, info, &argc, argv, &self, NULL);
  int32_t protocol;
  napi_valuetype t1 = napi_undefined, t2 = napi_undefined;
  if (argc >= 3) { napi_typeof(env, argv[1], &t1); napi_typeof(env, argv[2], &t2); }
  if (argc < 3 || napi_get_value_int32(env, argv[0], &protocol) != napi_ok || t1 != napi_function || t2 != napi_function) {
    napi_throw_type_error(env, NULL, "NetlinkSocket(protocol, onMessage, onError): protocol a number, both callbacks functions");
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) { napi_throw(env, errno_error(env, errno, "socket(AF_NETLINK)")); return NULL; }
  struct sockaddr_nl local = { .nl_family = AF_NETLINK }; /* nl_pid 0: the kernel picks a free port */
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int e = errno;
    close(fd);
    napi_throw(env, errno_error(env, e, "bind(AF_NETLINK)"));
    return NULL;
  }
  uv_loop_t *loop;
  nl_socket *s = calloc(1, sizeof *s);
  uv_poll_t *poll = malloc(sizeof *poll);
  if (!s || !poll || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, poll, fd) != 0) {
    free(s);
    free(poll);
    close(fd);
    napi_throw_error(env, NULL, "NetlinkSocket: could not set up polling");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->poll = poll;
  poll->data = s;
  napi_value name;
  napi_create_string_utf8(env, "gsi_native.NetlinkSocket", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, self, name, &s->async);
  napi_create_reference(env, argv[1], 1, &s->on_message);
  napi_create_reference(env, argv[2], 1, &s->on_error);
  if (napi_wrap(env, self, s, nl_finalize, NULL, &s->self) != napi_ok) {
    uv_close((uv_handle_t *)poll, poll_closed);
    close(fd);
    free(s);
    napi_throw_error(env, NULL, "NetlinkSocket: napi_wrap failed");
    return NULL;
  }
  uint32_t refs;
  napi_reference_ref(env, s->self, &refs);
  s->open = 1;
  uv_poll_start(poll, UV_READABLE, on_readable);
  return self;
}

static napi_value nl_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  nl_socket *s = unwrap(env, info, &argc, argv);
  if (!s) return NULL;
  void *data = NULL;
  size_t length = 0;
  bool is_typed = false;
  if (argc >= 1) napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) { napi_throw_type_error(env, NULL, "NetlinkSocket.send(message): message must be a Buffer or Uint8Array"); return NULL; }
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &offset);
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  ssize_t r;
  do r = sendto(s->fd, data, length, 0, (struct sockaddr *)&kernel, sizeof kernel); while (r < 0 && errno == EINTR);
  if (r < 0) { napi_throw(env, errno_error(env, errno, "sendto(netlink)")); return NULL; }
  return NULL;
}

static napi_value nl_set_option(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  nl_socket *s = unwrap(env, info, &argc, argv);
  if (!s) return NULL;
  int32_t level, opt, value;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &level) != napi_ok || napi_get_value_int32(env, argv[1], &opt) != napi_ok ||
      napi_get_value_int32(env, argv[2], &value) != napi_ok) {
    napi_throw_type_error(env, NULL, "NetlinkSocket.setOption(level, option, value): three integers");
    return NULL;
  }
  if (setsockopt(s->fd, level, opt, &value, sizeof value) < 0) { napi_throw(env, errno_error(env, errno, "setsockopt")); return NULL; }
  return NULL;
}

static napi_value nl_port(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nl_socket *s = unwrap(env, info, &argc, NULL);
  if (!s) return NULL;
  struct sockaddr_nl local;
  socklen_t len = sizeof local;
  if (getsockname(s->fd, (struct sockaddr *)&local, &len) < 0) { napi_throw(env, errno_error(env, errno, "getsockname")); return NULL; }
  napi_value result;
  napi_create_uint32(env, local.nl_pid, &result);
  return result;
}

static napi_value nl_ref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nl_socket *s = unwrap(env, info, &argc, NULL);
  if (s) uv_ref((uv_handle_t *)s->poll);
  return NULL;
}

static napi_value nl_unref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nl_socket *s = unwrap(env, info, &argc, NULL);
  if (s) uv_unref((uv_handle_t *)s->poll);
  return NULL;
}

/* close() twice is allowed (the second does nothing). */
static napi_value nl_close_js(napi_env env, napi_callback_info info) {
  napi_value self;
  nl_socket *s = NULL;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  if (napi_unwrap(env, self, (void **)&s) == napi_ok && s) nl_close(s);
  return NULL;
}

napi_status define_netlink_socket(napi_env env, napi_value *cls) {
  napi_property_descriptor methods[] = {
    { "send", NULL, nl_send, NULL, NULL, NULL, napi_default, NULL },
    { "setOption", NULL, nl_set_option, NULL, NULL, NULL, napi_default, NULL },
    { "port", NULL, nl_port, NULL, NULL, NULL, napi_default, NULL },
    { "ref", NULL, nl_ref, NULL, NULL, NULL, napi_default, NULL },
    { "unref", NULL, nl_unref, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, nl_close_js, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_class(env, "NetlinkSocket", NAPI_AUTO_LENGTH, nl_new, NULL, sizeof methods / sizeof methods[0], methods, cls);
}
