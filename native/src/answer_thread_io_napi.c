/* N-API bindings of the answer thread: what goes in (sockets, the owned table, the limit) and
 * what comes out (events, frames, counters). Its lifecycle is in answer_thread_napi.c. */
#include "answer_thread.h"

#include "napi_helpers.h"

#include <fcntl.h>

static int fcntl_dupfd(int fd) {
  return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static const char *reason_names[L2_REASONS] = {"notOwned", "notRequest", "badDst", "malformed", "interfaceNotAllowed", "ownPacket", "badSender", "rateLimited"};

static int get_socket(napi_env env, napi_value obj, ans_socket_t *s) {
  napi_value v;
  int32_t fd, ifindex, kind;
  uint8_t *mac;
  size_t maclen;
  if (napi_get_named_property(env, obj, "fd", &v) != napi_ok || !get_int(env, v, &fd, "fd")) return 0;
  if (napi_get_named_property(env, obj, "ifindex", &v) != napi_ok || !get_int(env, v, &ifindex, "ifindex")) return 0;
  if (napi_get_named_property(env, obj, "kind", &v) != napi_ok || !get_int(env, v, &kind, "kind")) return 0;
  if (napi_get_named_property(env, obj, "mac", &v) != napi_ok || !get_bytes(env, v, &mac, &maclen, "mac")) return 0;
  if (maclen != 6 || (kind != ANS_KIND_ARP && kind != ANS_KIND_NDP) || fd < 0) {
    throw_range(env, "a socket needs fd >= 0, a 6-byte mac and kind 0 (ARP) or 1 (NDP)");
    return 0;
  }
  s->fd = fcntl_dupfd(fd);
  if (s->fd < 0) {
    throw_errno(env, "dup", errno);
    return 0;
  }
  s->ifindex = ifindex;
  s->kind = kind;
  memcpy(s->mac, mac, 6);
  return 1;
}

ANS_INTERNAL napi_value AnsSockets(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "ansSockets(handle, sockets, monitorFd)");
  ans_t *p = ans_get(env, argv[0], 1);
  if (!p) return NULL;
  uint32_t n = 0;
  int32_t monitor;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok) return throw_type(env, "sockets must be an array");
  if (n > ANS_MAX_SOCKETS) return throw_range(env, "too many sockets");
  if (!check_number(env, argv[2], "monitorFd")) return NULL;
  napi_get_value_int32(env, argv[2], &monitor);
  ans_socket_t *socks = calloc(n ? n : 1, sizeof *socks);
  if (!socks) return throw_errno(env, "calloc", ENOMEM);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[1], i, &v);
    if (!get_socket(env, v, &socks[i])) {
      ans_close_sockets(socks, (int)i);
      return NULL;
    }
  }
  int monitor_dup = monitor >= 0 ? fcntl_dupfd(monitor) : -1;
  if (monitor >= 0 && monitor_dup < 0) {
    int err = errno;
    ans_close_sockets(socks, (int)n);
    return throw_errno(env, "dup", err);
  }
  pthread_mutex_lock(&p->mu);
  ans_socket_t *old = p->socks;
  int old_n = p->nsocks;
  int old_monitor = p->monitor_fd;
  p->socks = socks;
  p->nsocks = (int)n;
  p->monitor_fd = monitor_dup;
  p->monitor_pending = 0;
  pthread_mutex_unlock(&p->mu);
  ans_wake(p);
  /* The thread reads only fds of the current set, so the old ones may go now. */
  ans_close_sockets(old, old_n);
  if (old_monitor >= 0) close(old_monitor);
  return make_undefined(env);
}

/* l2_answer_napi.c: fills a table from [{ip, ifindexes}]; 0: thrown. */
int l2_fill_owned(napi_env env, napi_value arr, l2_owned *t);

ANS_INTERNAL napi_value AnsOwned(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "ansOwned(handle, owned)");
  ans_t *p = ans_get(env, argv[0], 1);
  if (!p) return NULL;
  l2_owned *t = l2_owned_new();
  if (!t) return throw_errno(env, "l2_owned_new", ENOMEM);
  if (!l2_fill_owned(env, argv[1], t)) {
    l2_owned_free(t);
    return NULL;
  }
  /* The thread uses the table only under the lock: from here on only the new one answers. */
  pthread_mutex_lock(&p->mu);
  l2_owned *old = p->owned;
  p->owned = t;
  pthread_mutex_unlock(&p->mu);
  l2_owned_free(old);
  return make_undefined(env);
}

ANS_INTERNAL napi_value AnsLimit(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "ansLimit(handle, ratePerSecond, burst)");
  ans_t *p = ans_get(env, argv[0], 1);
  if (!p) return NULL;
  double rate, burst;
  if (!check_number(env, argv[1], "ratePerSecond") || !check_number(env, argv[2], "burst")) return NULL;
  napi_get_value_double(env, argv[1], &rate);
  napi_get_value_double(env, argv[2], &burst);
  pthread_mutex_lock(&p->mu);
  l2_limiter_set(p->limiter, rate, burst);
  pthread_mutex_unlock(&p->mu);
  return make_undefined(env);
}

static void set_bool(napi_env env, napi_value obj, const char *name, int b) {
  napi_value v;
  napi_get_boolean(env, b != 0, &v);
  napi_set_named_property(env, obj, name, v);
}

/* What happened since onEvent was last called; the next frame or event calls it again. */
ANS_INTERNAL napi_value AnsEvents(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansEvents(handle)");
  ans_t *p = ans_get(env, argv[0], 0);
  if (!p) return NULL;
  napi_value out;
  napi_create_object(env, &out);
  pthread_mutex_lock(&p->mu);
  p->notify_pending = 0;
  set_bool(env, out, "monitor", p->monitor_pending);
  set_bool(env, out, "exited", p->exited);
  set_bool(env, out, "frames", p->count > 0);
  pthread_mutex_unlock(&p->mu);
  return out;
}

ANS_INTERNAL napi_value AnsTake(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "ansTake(handle, buf, meta)");
  ans_t *p = ans_get(env, argv[0], 0);
  if (!p) return NULL;
  uint8_t *buf;
  size_t blen;
  if (!get_bytes(env, argv[1], &buf, &blen, "buf")) return NULL;
  double *meta;
  size_t mlen;
  if (!get_f64(env, argv[2], &meta, &mlen, "meta")) return NULL;
  size_t room = blen / ANS_SLOT;
  if (mlen / 4 < room) room = mlen / 4;
  if (room == 0) return throw_range(env, "buffers too small for one frame");
  pthread_mutex_lock(&p->mu);
  size_t n = 0;
  for (; n < room && p->count > 0; n++) {
    ans_frame_t *f = &p->ring[p->head];
    memcpy(buf + n * ANS_SLOT, f->data, (size_t)f->len);
    meta[4 * n] = f->len;
    meta[4 * n + 1] = f->ifindex;
    meta[4 * n + 2] = f->kind;
    meta[4 * n + 3] = f->at;
    p->head = (p->head + 1) % p->cap;
    p->count--;
  }
  pthread_mutex_unlock(&p->mu);
  return make_int(env, (int64_t)n);
}

ANS_INTERNAL napi_value AnsMonitorRearm(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansMonitorRearm(handle)");
  ans_t *p = ans_get(env, argv[0], 1);
  if (!p) return NULL;
  pthread_mutex_lock(&p->mu);
  p->monitor_pending = 0;
  pthread_mutex_unlock(&p->mu);
  ans_wake(p);
  return make_undefined(env);
}

static void set_double(napi_env env, napi_value obj, const char *name, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  napi_set_named_property(env, obj, name, v);
}

ANS_INTERNAL napi_value AnsStats(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansStats(handle)");
  ans_t *p = ans_get(env, argv[0], 0);
  if (!p) return NULL;
  napi_value out, requests, replies, drops;
  napi_create_object(env, &out);
  napi_create_object(env, &requests);
  napi_create_object(env, &replies);
  napi_create_object(env, &drops);
  pthread_mutex_lock(&p->mu);
  uint64_t *c = p->counters;
  set_double(env, requests, "arp", (double)c[ANS_C_REQUESTS_ARP]);
  set_double(env, requests, "ndp", (double)c[ANS_C_REQUESTS_NDP]);
  set_double(env, replies, "arp", (double)c[ANS_C_REPLIES_ARP]);
  set_double(env, replies, "ndp", (double)c[ANS_C_REPLIES_NDP]);
  for (int r = 0; r < L2_REASONS; r++) set_double(env, drops, reason_names[r], (double)c[ANS_C_DROPS + r]);
  set_double(env, out, "sendFailures", (double)c[ANS_C_SEND_FAILURES]);
  set_double(env, out, "recvErrors", (double)c[ANS_C_RECV_ERRORS]);
  set_double(env, out, "forwarded", (double)c[ANS_C_FORWARDED]);
  set_double(env, out, "notForwarded", (double)c[ANS_C_NOT_FORWARDED]);
  set_double(env, out, "forwardLimited", (double)c[ANS_C_FORWARD_LIMITED]);
  set_double(env, out, "forwardTooLong", (double)c[ANS_C_FORWARD_TOO_LONG]);
  set_double(env, out, "queueFull", (double)c[ANS_C_QUEUE_FULL]);
  set_double(env, out, "fenced", (double)c[ANS_C_FENCED]);
  set_double(env, out, "withheld", (double)c[ANS_C_WITHHELD]);
  set_double(env, out, "passes", (double)c[ANS_C_PASSES]);
  set_double(env, out, "ownedV4", (double)l2_owned_size(p->owned, 4));
  set_double(env, out, "ownedV6", (double)l2_owned_size(p->owned, 6));
  pthread_mutex_unlock(&p->mu);
  napi_set_named_property(env, out, "requests", requests);
  napi_set_named_property(env, out, "replies", replies);
  napi_set_named_property(env, out, "drops", drops);
  return out;
}
