/*
 * gsi_native: the socket work Node's net API cannot do for BGP (Linux only), and the addon's entry
 * point (init, at the end, registers every function of every source file).
 *
 * - RFC 2385 TCP-MD5 (TCP_MD5SIG): the key must be on the socket before the SYN leaves for an
 *   outgoing connection, and on the listening socket for incoming ones (per peer address).
 * - RFC 5082 GTSM / multihop TTL on the very first packet: IP_TTL/IP_MINTTL (or the IPv6 hop
 *   options) set before connect(), so that a peer enforcing a minimum TTL accepts our SYN.
 * - SO_BINDTODEVICE before bind()/connect(): a session to the Transit Gateway runs inside the
 *   gateway's VRF, so its socket must route through the VRF device (the kernel then uses the VRF's
 *   table for the SYN and everything after). A listener bound to a device accepts only connections
 *   that arrive through it; it must be bound before bind() so that listeners on the same port in
 *   other VRFs do not conflict.
 *
 * connect(opts) creates the socket, sets the options, binds the local address if given, and
 * connects (blocking, on a libuv worker thread, bounded by SO_SNDTIMEO); it resolves with a
 * connected non-blocking descriptor for `new net.Socket({ fd })`, or rejects with an Error whose
 * `code` is the errno name (ECONNREFUSED, ETIMEDOUT, ENODEV, ...).
 * listen(opts) returns a bound, listening, non-blocking descriptor for `net.Server.listen({ fd })`.
 * boundDevice(fd) reads SO_BINDTODEVICE back ('' when unbound).
 * setMd5(fd, address, key) sets or (empty key) removes a peer's key on an existing socket, e.g.
 * the listener's descriptor.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef IP_MINTTL
#define IP_MINTTL 21
#endif
#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif

#define CHECK(env, call)                                            \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      napi_throw_error((env), NULL, "N-API call failed: " #call);   \
      return NULL;                                                  \
    }                                                               \
  } while (0)

/* Parses "a.b.c.d" or an IPv6 literal into a sockaddr_storage with the port. 0 on success. */
static int parse_addr(const char *text, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
    return 0;
  }
  return -1;
}

/* Sets (keylen > 0) or deletes (keylen 0) the TCP-MD5 key for `peer` on `fd`. Returns errno or 0. */
static int set_md5(int fd, const struct sockaddr_storage *peer, const char *key, size_t keylen) {
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  memcpy(&sig.tcpm_addr, peer, sizeof sig.tcpm_addr);
  if (keylen > TCP_MD5SIG_MAXKEYLEN) return EINVAL;
  sig.tcpm_keylen = (uint16_t)keylen;
  memcpy(sig.tcpm_key, key, keylen);
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) < 0) return errno;
  return 0;
}

static int set_ttl(int fd, int family, int ttl, int minttl) {
  if (ttl > 0) {
    int r = family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl)
                               : setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    if (r < 0) return errno;
  }
  if (minttl > 0) {
    int r = family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, &minttl, sizeof minttl)
                               : setsockopt(fd, IPPROTO_IP, IP_MINTTL, &minttl, sizeof minttl);
    if (r < 0) return errno;
  }
  return 0;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  struct sockaddr_storage remote;
  socklen_t remote_len;
  struct sockaddr_storage local;
  socklen_t local_len;
  int has_local;
  char key[TCP_MD5SIG_MAXKEYLEN + 1];
  size_t keylen;
  int ttl;
  int minttl;
  int timeout_ms;
  char device[IFNAMSIZ];
  int fd;
  int err;
  const char *step;
} connect_job;

static void connect_execute(napi_env env, void *data) {
  (void)env;
  connect_job *j = data;
  int family = j->remote.ss_family;
  j->fd = -1;
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) { j->err = errno; j->step = "socket"; return; }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (j->keylen > 0) {
    int e = set_md5(fd, &j->remote, j->key, j->keylen);
    if (e) { j->err = e; j->step = "setsockopt(TCP_MD5SIG)"; close(fd); return; }
  }
  int e = set_ttl(fd, family, j->ttl, j->minttl);
  if (e) { j->err = e; j->step = "setsockopt(TTL)"; close(fd); return; }
  if (j->device[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, j->device, (socklen_t)strlen(j->device)) < 0) {
    j->err = errno; j->step = "setsockopt(SO_BINDTODEVICE)"; close(fd); return;
  }
  if (j->has_local) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&j->local, j->local_len) < 0) { j->err = errno; j->step = "bind"; close(fd); return; }
  }
  struct timeval tv = { j->timeout_ms / 1000, (j->timeout_ms % 1000) * 1000 };
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&j->remote, j->remote_len) < 0) {
    /* SO_SNDTIMEO makes a timed-out connect() fail with EINPROGRESS. */
    j->err = errno == EINPROGRESS ? ETIMEDOUT : errno;
    j->step = "connect";
    close(fd);
    return;
  }
  struct timeval zero = { 0, 0 };
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  j->fd = fd;
  j->err = 0;
}

napi_value errno_error(napi_env env, int err, const char *step) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", step, strerror(err));
  napi_value code, message, error;
  const char *name = strerrorname_np(err);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_value errnoValue;
  napi_create_int32(env, err, &errnoValue);
  napi_set_named_property(env, error, "errno", errnoValue);
  return error;
}

static void connect_complete(napi_env env, napi_status status, void *data) {
  connect_job *j = data;
  if (status != napi_ok) {
    napi_value e = errno_error(env, ECANCELED, "connect");
    napi_reject_deferred(env, j->deferred, e);
  } else if (j->err) {
    napi_reject_deferred(env, j->deferred, errno_error(env, j->err, j->step));
  } else {
    napi_value fd;
    napi_create_int32(env, j->fd, &fd);
    napi_resolve_deferred(env, j->deferred, fd);
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

static int get_string(napi_env env, napi_value obj, const char *name, char *out, size_t cap, size_t *len) {
  napi_value v;
  bool has = false;
  napi_has_named_property(env, obj, name, &has);
  if (!has) return 0;
  napi_get_named_property(env, obj, name, &v);
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return 0;
  if (t != napi_string) return -1;
  size_t n = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &n);
  if (n >= cap) return -2;
  napi_get_value_string_utf8(env, v, out, cap, &n);
  if (len) *len = n;
  return 1;
}

static int get_int(napi_env env, napi_value obj, const char *name, int dflt) {
  napi_value v;
  bool has = false;
  napi_has_named_property(env, obj, name, &has);
  if (!has) return dflt;
  napi_get_named_property(env, obj, name, &v);
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number) return dflt;
  int32_t r;
  napi_get_value_int32(env, v, &r);
  return r;
}

/* connect({ remoteAddress, remotePort, localAddress?, localPort?, md5Key?, ttl?, minTtl?, timeoutMs? }) */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) { napi_throw_type_error(env, NULL, "connect(options): options required"); return NULL; }
  connect_job *j = calloc(1, sizeof *j);
  if (!j) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  char addr[64];
  if (get_string(env, argv[0], "remoteAddress", addr, sizeof addr, NULL) != 1 ||
      parse_addr(addr, get_int(env, argv[0], "remotePort", 179), &j->remote, &j->remote_len) != 0) {
    free(j);
    napi_throw_type_error(env, NULL, "connect: remoteAddress must be an IPv4 or IPv6 address");
    return NULL;
  }
  int lr = get_string(env, argv[0], "localAddress", addr, sizeof addr, NULL);
  int lport = get_int(env, argv[0], "localPort", 0);
  if (lr == 1 || lport != 0) {
    const char *any = j->remote.ss_family == AF_INET6 ? "::" : "0.0.0.0";
    if (parse_addr(lr == 1 ? addr : any, lport, &j->local, &j->local_len) != 0 || j->local.ss_family != j->remote.ss_family) {
      free(j);
      napi_throw_type_error(env, NULL, "connect: localAddress must be an address of the same family as remoteAddress");
      return NULL;
    }
    j->has_local = 1;
  }
  int kr = get_string(env, argv[0], "md5Key", j->key, sizeof j->key, &j->keylen);
  if (kr < 0) {
    free(j);
    napi_throw_range_error(env, NULL, "connect: md5Key must be a string of at most 80 bytes (TCP_MD5SIG_MAXKEYLEN)");
    return NULL;
  }
  if (get_string(env, argv[0], "bindDevice", j->device, sizeof j->device, NULL) < 0) {
    free(j);
    napi_throw_range_error(env, NULL, "connect: bindDevice must be a device name of at most 15 bytes (IFNAMSIZ)");
    return NULL;
  }
  j->ttl = get_int(env, argv[0], "ttl", 0);
  j->minttl = get_int(env, argv[0], "minTtl", 0);
  j->timeout_ms = get_int(env, argv[0], "timeoutMs", 30000);
  napi_value promise, name;
  CHECK(env, napi_create_promise(env, &j->deferred, &promise));
  CHECK(env, napi_create_string_utf8(env, "gsi_native.connect", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_create_async_work(env, NULL, name, connect_execute, connect_complete, j, &j->work));
  CHECK(env, napi_queue_async_work(env, j->work));
  return promise;
}

/* listen({ address?, port, bindDevice?, backlog? }): a listening non-blocking descriptor, or throws. */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) { napi_throw_type_error(env, NULL, "listen(options): options required"); return NULL; }
  char addr[64] = "::";
  if (get_string(env, argv[0], "address", addr, sizeof addr, NULL) < 0) {
    napi_throw_type_error(env, NULL, "listen: address must be an IPv4 or IPv6 address");
    return NULL;
  }
  int port = get_int(env, argv[0], "port", -1);
  if (port < 0 || port > 65535) { napi_throw_range_error(env, NULL, "listen: port must be an integer 0..65535"); return NULL; }
  struct sockaddr_storage ss;
  socklen_t len;
  if (parse_addr(addr, port, &ss, &len) != 0) { napi_throw_type_error(env, NULL, "listen: address must be an IPv4 or IPv6 address"); return NULL; }
  char device[IFNAMSIZ] = "";
  if (get_string(env, argv[0], "bindDevice", device, sizeof device, NULL) < 0) {
    napi_throw_range_error(env, NULL, "listen: bindDevice must be a device name of at most 15 bytes (IFNAMSIZ)");
    return NULL;
  }
  int backlog = get_int(env, argv[0], "backlog", 511);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
  if (fd < 0) { napi_throw(env, errno_error(env, errno, "socket")); return NULL; }
  int one = 1, zero = 0;
  const char *step = NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) step = "setsockopt(SO_REUSEADDR)";
  /* '::' accepts IPv4 peers too (as v4-mapped addresses), as Node's own listeners do. */
  else if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0) step = "setsockopt(IPV6_V6ONLY)";
  else if (device[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)strlen(device)) < 0) step = "setsockopt(SO_BINDTODEVICE)";
  else if (bind(fd, (struct sockaddr *)&ss, len) < 0) step = "bind";
  else if (listen(fd, backlog) < 0) step = "listen";
  if (step) {
    int e = errno;
    close(fd);
    napi_throw(env, errno_error(env, e, step));
    return NULL;
  }
  napi_value result;
  CHECK(env, napi_create_int32(env, fd, &result));
  return result;
}

/* boundDevice(fd): the SO_BINDTODEVICE name, '' when the socket is not bound to a device. */
static napi_value js_bound_device(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) { napi_throw_type_error(env, NULL, "boundDevice: fd must be a descriptor"); return NULL; }
  char device[IFNAMSIZ + 1] = "";
  socklen_t len = IFNAMSIZ;
  if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, &len) < 0) { napi_throw(env, errno_error(env, errno, "getsockopt(SO_BINDTODEVICE)")); return NULL; }
  device[len < IFNAMSIZ ? len : IFNAMSIZ] = 0;
  napi_value result;
  CHECK(env, napi_create_string_utf8(env, device, NAPI_AUTO_LENGTH, &result));
  return result;
}

/* setMd5(fd, address, key): key '' removes it. Throws an Error with the errno name as code. */
static napi_value js_set_md5(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) { napi_throw_type_error(env, NULL, "setMd5(fd, address, key)"); return NULL; }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) { napi_throw_type_error(env, NULL, "setMd5: fd must be a descriptor"); return NULL; }
  char addr[64];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, argv[1], addr, sizeof addr, &n) != napi_ok) { napi_throw_type_error(env, NULL, "setMd5: address must be a string"); return NULL; }
  struct sockaddr_storage ss;
  socklen_t len;
  if (parse_addr(addr, 0, &ss, &len) != 0) { napi_throw_type_error(env, NULL, "setMd5: address must be an IPv4 or IPv6 address"); return NULL; }
  char key[TCP_MD5SIG_MAXKEYLEN + 2];
  size_t keylen = 0;
  if (napi_get_value_string_utf8(env, argv[2], key, sizeof key, &keylen) != napi_ok || keylen > TCP_MD5SIG_MAXKEYLEN) {
    napi_throw_range_error(env, NULL, "setMd5: key must be a string of at most 80 bytes");
    return NULL;
  }
  /* A dual-stack listener sees IPv4 peers as v4-mapped IPv6: key them that way too. */
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  if (ss.ss_family == AF_INET && getsockname(fd, (struct sockaddr *)&local, &local_len) == 0 && local.ss_family == AF_INET6) {
    struct sockaddr_in v4 = *(struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    memset(&ss, 0, sizeof ss);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr.s6_addr[10] = 0xff;
    v6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&v6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
  }
  int e = set_md5(fd, &ss, key, keylen);
  if (e) { napi_throw(env, errno_error(env, e, "setsockopt(TCP_MD5SIG)")); return NULL; }
  return NULL;
}

napi_value js_huge_buffer(napi_env env, napi_callback_info info); /* huge_pages.c */
napi_value js_discard_buffer(napi_env env, napi_callback_info info);
napi_value js_reserve_buffer(napi_env env, napi_callback_info info);
napi_value js_advise_huge(napi_env env, napi_callback_info info);
napi_status define_netlink_socket(napi_env env, napi_value *cls); /* netlink.c */

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  CHECK(env, napi_create_function(env, "hugeBuffer", NAPI_AUTO_LENGTH, js_huge_buffer, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "hugeBuffer", fn));
  CHECK(env, napi_create_function(env, "reserveBuffer", NAPI_AUTO_LENGTH, js_reserve_buffer, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "reserveBuffer", fn));
  CHECK(env, napi_create_function(env, "adviseHuge", NAPI_AUTO_LENGTH, js_advise_huge, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "adviseHuge", fn));
  CHECK(env, napi_create_function(env, "discardBuffer", NAPI_AUTO_LENGTH, js_discard_buffer, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "discardBuffer", fn));
  CHECK(env, napi_create_function(env, "connect", NAPI_AUTO_LENGTH, js_connect, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "connect", fn));
  CHECK(env, napi_create_function(env, "setMd5", NAPI_AUTO_LENGTH, js_set_md5, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "setMd5", fn));
  CHECK(env, napi_create_function(env, "listen", NAPI_AUTO_LENGTH, js_listen, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "listen", fn));
  CHECK(env, napi_create_function(env, "boundDevice", NAPI_AUTO_LENGTH, js_bound_device, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "boundDevice", fn));
  CHECK(env, define_netlink_socket(env, &fn));
  CHECK(env, napi_set_named_property(env, exports, "NetlinkSocket", fn));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
