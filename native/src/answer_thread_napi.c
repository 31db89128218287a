/* N-API bindings of the answer thread (the thread and its rules: answer_thread.c). */
#include "answer_thread.h"

#include "napi_helpers.h"

#include <fcntl.h>

static int fcntl_dupfd(int fd) {
  return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static const char *reason_names[L2_REASONS] = {"notOwned", "notRequest", "badDst", "malformed", "interfaceNotAllowed", "ownPacket", "badSender", "rateLimited"};

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  if (env == NULL || js_cb == NULL) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, js_cb, 0, NULL, NULL);
}

static int ans_stop(ans_t *p, int timeout_ms) {
  int r = ans_join(p, timeout_ms);
  pthread_mutex_lock(&p->mu);
  if (r == 0) {
    /* Ended: its dups go now, not when the handle is collected. */
    ans_close_sockets(p->socks, p->nsocks);
    p->socks = NULL;
    p->nsocks = 0;
    if (p->monitor_fd >= 0) close(p->monitor_fd);
    p->monitor_fd = -1;
    if (p->wake_fd >= 0) close(p->wake_fd);
    p->wake_fd = -1;
  }
  int release = !p->tsfn_released;
  /* Under the lock: a detached thread checks it before every call. */
  p->tsfn_released = 1;
  pthread_mutex_unlock(&p->mu);
  if (release) napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort);
  return r;
}

/* The callback is going away: released by ans_stop, or torn down with the environment. */
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  ans_t *p = data;
  ans_join(p, ANS_FINAL_JOIN_MS);
  pthread_mutex_lock(&p->mu);
  p->tsfn_released = 1;
  pthread_mutex_unlock(&p->mu);
  ans_unref(p);
}

static void ans_finalize(napi_env env, void *data, void *hint) {
  ans_t *p = data;
  ans_stop(p, ANS_FINAL_JOIN_MS);
  ans_unref(p);
}

/* The handle; `live`: the thread must still be running. */
static ans_t *get_ans(napi_env env, napi_value v, int live) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) {
    throw_type(env, "not an answer thread handle");
    return NULL;
  }
  ans_t *p = data;
  if (live && !p->running) {
    throw_type(env, "the answer thread is stopped");
    return NULL;
  }
  return p;
}

static napi_value AnsStart(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  napi_valuetype t;
  if (argc < 2 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) return throw_type(env, "ansStart(onEvent, options)");
  double cap, fwd_rate, fwd_burst, rate, burst;
  if (!get_number_prop(env, argv[1], "capacity", &cap, 1) || !get_number_prop(env, argv[1], "forwardRate", &fwd_rate, 1) ||
      !get_number_prop(env, argv[1], "forwardBurst", &fwd_burst, 1) || !get_number_prop(env, argv[1], "replyRate", &rate, 1) ||
      !get_number_prop(env, argv[1], "replyBurst", &burst, 1))
    return NULL;
  if (!(cap >= 1 && cap <= ANS_MAX_CAPACITY) || !(fwd_rate >= 0) || !(fwd_burst >= 1) || !(rate >= 0) || !(burst >= 0)) return throw_range(env, "answer thread options out of range");
  ans_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "calloc", ENOMEM);
  p->ring = calloc((size_t)cap, sizeof *p->ring);
  p->owned = l2_owned_new();
  p->limiter = l2_limiter_new(rate, burst, 4096);
  p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!p->ring || !p->owned || !p->limiter || p->wake_fd < 0) {
    int err = p->wake_fd < 0 ? errno : ENOMEM;
    const char *what = p->wake_fd < 0 ? "eventfd" : "calloc";
    if (p->wake_fd >= 0) close(p->wake_fd);
    free(p->ring);
    l2_owned_free(p->owned);
    l2_limiter_free(p->limiter);
    free(p);
    return throw_errno(env, what, err);
  }
  p->monitor_fd = -1;
  p->cap = (int)cap;
  p->fwd_rate = fwd_rate;
  p->fwd_burst = fwd_burst;
  p->fwd_tokens = fwd_burst;
  p->fwd_at = ans_now();
  pthread_mutex_init(&p->mu, NULL);
  napi_value name;
  napi_create_string_utf8(env, "ironlb answer thread", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, p, tsfn_finalize, NULL, call_js, &p->tsfn) != napi_ok) {
    p->refs = 1;
    ans_unref(p);
    return throw_type(env, "could not create the answer thread's callback");
  }
  p->refs = 2;
  /* The thread must not keep the process alive by itself. */
  napi_unref_threadsafe_function(env, p->tsfn);
  napi_value handle;
  if (napi_create_external(env, p, ans_finalize, NULL, &handle) != napi_ok) {
    p->refs = 1; /* the callback's finalizer frees it */
    ans_stop(p, ANS_FINAL_JOIN_MS);
    return throw_type(env, "could not create the answer thread handle");
  }
  int err = pthread_create(&p->thread, NULL, ans_main, p);
  if (err != 0) {
    ans_stop(p, ANS_FINAL_JOIN_MS); /* the handle's finalizer frees it */
    return throw_errno(env, "pthread_create", err);
  }
  p->running = 1;
  return handle;
}

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

static napi_value AnsSockets(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "ansSockets(handle, sockets, monitorFd)");
  ans_t *p = get_ans(env, argv[0], 1);
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

/* [{ip: Buffer of 4 or 16 bytes, ifindexes: number[] | null}] -> a new table (NULL: thrown). */
static l2_owned *get_owned(napi_env env, napi_value list) {
  uint32_t n = 0;
  if (napi_get_array_length(env, list, &n) != napi_ok) {
    throw_type(env, "owned must be an array");
    return NULL;
  }
  l2_owned *t = l2_owned_new();
  if (!t) {
    throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  int32_t *ifx = NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e, v;
    uint8_t *ip;
    size_t iplen;
    napi_get_element(env, list, i, &e);
    if (napi_get_named_property(env, e, "ip", &v) != napi_ok || !get_bytes(env, v, &ip, &iplen, "ip")) goto fail;
    if (iplen != 4 && iplen != 16) {
      throw_range(env, "ip must have 4 or 16 bytes");
      goto fail;
    }
    napi_value list_v;
    if (napi_get_named_property(env, e, "ifindexes", &list_v) != napi_ok) goto fail;
    int any = is_nullish(env, list_v);
    uint32_t k = 0;
    if (!any && napi_get_array_length(env, list_v, &k) != napi_ok) {
      throw_type(env, "ifindexes must be an array or null");
      goto fail;
    }
    free(ifx);
    ifx = calloc(k ? k : 1, sizeof *ifx);
    if (!ifx) {
      throw_errno(env, "calloc", ENOMEM);
      goto fail;
    }
    for (uint32_t j = 0; j < k; j++) {
      napi_get_element(env, list_v, j, &v);
      if (!get_int(env, v, &ifx[j], "ifindex")) goto fail;
    }
    if (l2_owned_set(t, iplen == 4 ? 4 : 6, ip, any ? NULL : ifx, k) != 0) {
      throw_errno(env, "l2_owned_set", ENOMEM);
      goto fail;
    }
  }
  free(ifx);
  return t;
fail:
  free(ifx);
  l2_owned_free(t);
  return NULL;
}

static napi_value AnsOwned(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "ansOwned(handle, owned)");
  ans_t *p = get_ans(env, argv[0], 1);
  if (!p) return NULL;
  l2_owned *t = get_owned(env, argv[1]);
  if (!t) return NULL;
  /* The thread uses the table only under the lock: from here on only the new one answers. */
  pthread_mutex_lock(&p->mu);
  l2_owned *old = p->owned;
  p->owned = t;
  pthread_mutex_unlock(&p->mu);
  l2_owned_free(old);
  return make_undefined(env);
}

static napi_value AnsLimit(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "ansLimit(handle, ratePerSecond, burst)");
  ans_t *p = get_ans(env, argv[0], 1);
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
static napi_value AnsEvents(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansEvents(handle)");
  ans_t *p = get_ans(env, argv[0], 0);
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

static napi_value AnsTake(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "ansTake(handle, buf, meta)");
  ans_t *p = get_ans(env, argv[0], 0);
  if (!p) return NULL;
  uint8_t *buf;
  size_t blen;
  if (!get_bytes(env, argv[1], &buf, &blen, "buf")) return NULL;
  bool is_ta = false;
  napi_is_typedarray(env, argv[2], &is_ta);
  napi_typedarray_type mtype = napi_int8_array;
  size_t mlen = 0;
  void *mp = NULL;
  if (is_ta) napi_get_typedarray_info(env, argv[2], &mtype, &mlen, &mp, NULL, NULL);
  if (mtype != napi_float64_array) return throw_type(env, "meta must be a Float64Array");
  double *meta = mp;
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

static napi_value AnsMonitorRearm(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansMonitorRearm(handle)");
  ans_t *p = get_ans(env, argv[0], 1);
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

static napi_value AnsStats(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansStats(handle)");
  ans_t *p = get_ans(env, argv[0], 0);
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
  set_double(env, out, "passes", (double)c[ANS_C_PASSES]);
  set_double(env, out, "ownedV4", (double)l2_owned_size(p->owned, 4));
  set_double(env, out, "ownedV6", (double)l2_owned_size(p->owned, 6));
  pthread_mutex_unlock(&p->mu);
  napi_set_named_property(env, out, "requests", requests);
  napi_set_named_property(env, out, "replies", replies);
  napi_set_named_property(env, out, "drops", drops);
  return out;
}

static napi_value AnsBeats(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansBeats(handle)");
  ans_t *p = get_ans(env, argv[0], 0);
  if (!p) return NULL;
  return make_int(env, (int64_t)atomic_load(&p->beats));
}

static napi_value AnsFence(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansFence(handle)");
  ans_t *p = get_ans(env, argv[0], 0);
  if (!p) return NULL;
  atomic_store(&p->fenced, 1);
  return make_undefined(env);
}

static napi_value AnsFault(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "ansFault(handle, 'exit' | 'wedge')");
  ans_t *p = get_ans(env, argv[0], 1);
  if (!p) return NULL;
  char name[16] = {0};
  size_t n = 0;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &n) != napi_ok) return throw_type(env, "fault must be a string");
  if (strcmp(name, "exit") == 0) atomic_store(&p->fault, ANS_FAULT_EXIT);
  else if (strcmp(name, "wedge") == 0) atomic_store(&p->fault, ANS_FAULT_WEDGE);
  else return throw_range(env, "fault must be 'exit' or 'wedge'");
  ans_wake(p);
  return make_undefined(env);
}

static napi_value AnsStop(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "ansStop(handle, timeoutMs)");
  ans_t *p = get_ans(env, argv[0], 0);
  if (!p) return NULL;
  int32_t ms;
  if (!get_int(env, argv[1], &ms, "timeoutMs")) return NULL;
  if (ms < 0 || ms > 60000) return throw_range(env, "timeoutMs out of range");
  napi_value r;
  napi_get_boolean(env, ans_stop(p, ms) == 0, &r);
  return r;
}

void answer_thread_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"ansStart", NULL, AnsStart, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansSockets", NULL, AnsSockets, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansOwned", NULL, AnsOwned, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansLimit", NULL, AnsLimit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansEvents", NULL, AnsEvents, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansTake", NULL, AnsTake, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansMonitorRearm", NULL, AnsMonitorRearm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansStats", NULL, AnsStats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansBeats", NULL, AnsBeats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansFence", NULL, AnsFence, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansFault", NULL, AnsFault, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansStop", NULL, AnsStop, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
