/* N-API bindings of the heartbeat pump (the thread and its rules: heartbeat_pump.c). */
#include "heartbeat_pump.h"

#include "napi_helpers.h"

static const char *counter_names[C_COUNT] = {"received", "queued", "unknownSource", "rateLimited", "overflow",
                                             "truncated", "sent", "sendFailed", "pollErrors", "passes"};

/* ---- N-API ------------------------------------------------------------------------------------ */

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  if (env == NULL || js_cb == NULL) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, js_cb, 0, NULL, NULL);
}

static void pump_stop(pump_t *p) {
  pump_join(p);
  if (p->tsfn_released) return;
  p->tsfn_released = 1;
  napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort);
}

/* The callback is going away: released by pump_stop, or torn down with the environment (at exit,
 * before or after the handle's finalizer). The thread must not call it any more. */
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  pump_t *p = data;
  pump_join(p);
  p->tsfn_released = 1;
  pump_unref(p);
}

static void pump_finalize(napi_env env, void *data, void *hint) {
  pump_t *p = data;
  pump_stop(p);
  pump_unref(p);
}

static pump_t *get_pump(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) {
    throw_type(env, "not a heartbeat pump handle");
    return NULL;
  }
  pump_t *p = data;
  if (!p->running) {
    throw_type(env, "the heartbeat pump is stopped");
    return NULL;
  }
  return p;
}

static napi_value PumpStart(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  napi_valuetype t;
  if (argc < 2 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) return throw_type(env, "pumpStart(onReadable, options)");
  double rate, burst, gap, cap, manual = 0;
  if (!get_number_prop(env, argv[1], "ratePerSecond", &rate, 1) || !get_number_prop(env, argv[1], "burst", &burst, 1) ||
      !get_number_prop(env, argv[1], "minGapMs", &gap, 1) || !get_number_prop(env, argv[1], "capacity", &cap, 1))
    return NULL;
  int has_manual = get_number_prop(env, argv[1], "manualClockMs", &manual, 0);
  if (!has_manual) return NULL;
  if (!(rate >= 0) || !(burst >= 1) || !(gap >= 0) || !(cap >= 1 && cap <= PUMP_MAX_CAPACITY)) return throw_range(env, "pump options out of range");
  pump_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "calloc", ENOMEM);
  p->ring = calloc((size_t)cap, sizeof *p->ring);
  if (!p->ring) {
    free(p);
    return throw_errno(env, "calloc", ENOMEM);
  }
  p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p->wake_fd < 0) {
    int err = errno;
    free(p->ring);
    free(p);
    return throw_errno(env, "eventfd", err);
  }
  p->cap = (int)cap;
  p->rate = rate;
  p->burst = burst;
  p->min_gap = gap;
  p->manual = has_manual == 1;
  p->manual_now = manual;
  pthread_mutex_init(&p->mu, NULL);
  napi_value name;
  napi_create_string_utf8(env, "ironlb heartbeat pump", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, p, tsfn_finalize, NULL, call_js, &p->tsfn) != napi_ok) {
    p->refs = 1;
    pump_unref(p);
    return throw_type(env, "could not create the pump's callback");
  }
  p->refs = 2;
  /* The pump must not keep the process alive by itself. */
  napi_unref_threadsafe_function(env, p->tsfn);
  napi_value handle;
  if (napi_create_external(env, p, pump_finalize, NULL, &handle) != napi_ok) {
    p->refs = 1; /* the callback's finalizer frees it */
    pump_stop(p);
    return throw_type(env, "could not create the pump handle");
  }
  int err = pthread_create(&p->thread, NULL, pump_main, p);
  if (err != 0) {
    pump_stop(p); /* the handle's finalizer frees it */
    return throw_errno(env, "pthread_create", err);
  }
  p->running = 1;
  return handle;
}

static napi_value PumpSockets(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "pumpSockets(handle, fds)");
  pump_t *p = get_pump(env, argv[0]);
  if (!p) return NULL;
  uint32_t n = 0;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok) return throw_type(env, "fds must be an array");
  if (n > PUMP_MAX_FDS) return throw_range(env, "too many sockets");
  int fds[PUMP_MAX_FDS];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[1], i, &v);
    if (!get_int(env, v, &fds[i], "fd")) return NULL;
  }
  pthread_mutex_lock(&p->mu);
  memcpy(p->fds, fds, sizeof fds[0] * n);
  p->nfds = (int)n;
  p->epoch++;
  pthread_mutex_unlock(&p->mu);
  pump_wake(p);
  return make_undefined(env);
}

static int get_address(napi_env env, napi_value v, uint8_t *family, uint8_t addr[16]) {
  char text[INET6_ADDRSTRLEN + 1];
  size_t n = 0;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  memset(addr, 0, 16);
  if (t == napi_string && napi_get_value_string_utf8(env, v, text, sizeof text, &n) == napi_ok && n < sizeof text - 1) {
    if (inet_pton(AF_INET, text, addr) == 1) {
      *family = 4;
      return 1;
    }
    if (inet_pton(AF_INET6, text, addr) == 1) {
      *family = 6;
      return 1;
    }
  }
  throw_type(env, "not an IP address");
  return 0;
}

static napi_value PumpSources(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "pumpSources(handle, addresses)");
  pump_t *p = get_pump(env, argv[0]);
  if (!p) return NULL;
  uint32_t n = 0;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok) return throw_type(env, "addresses must be an array");
  if (n > PUMP_MAX_SOURCES) return throw_range(env, "too many sources");
  int slots = 16;
  while (slots < 2 * (int)n) slots *= 2;
  source_t *table = calloc((size_t)slots, sizeof *table);
  if (!table) return throw_errno(env, "calloc", ENOMEM);
  uint8_t family, addr[16];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[1], i, &v);
    if (!get_address(env, v, &family, addr)) {
      free(table);
      return NULL;
    }
    source_insert(table, slots, family, addr);
  }
  pthread_mutex_lock(&p->mu);
  /* A peer that stays keeps its bucket; a new one starts with a full burst. */
  double now = pump_now(p);
  for (int i = 0; i < slots; i++) {
    source_t *s = &table[i];
    if (s->family == 0) continue;
    source_t *old = source_find(p->sources, p->source_slots, s->family, s->addr);
    if (old) {
      s->tokens = old->tokens;
      s->refilled_at = old->refilled_at;
      s->limited = old->limited;
    } else {
      s->tokens = p->burst;
      s->refilled_at = now;
    }
  }
  source_t *old_table = p->sources;
  p->sources = table;
  p->source_slots = slots;
  p->epoch++;
  pthread_mutex_unlock(&p->mu);
  free(old_table);
  return make_undefined(env);
}

static int get_peer(napi_env env, napi_value obj, peer_t *e, double now) {
  napi_value v;
  int32_t fd, port;
  napi_get_named_property(env, obj, "fd", &v);
  if (!get_int(env, v, &fd, "fd")) return 0;
  napi_get_named_property(env, obj, "port", &v);
  if (!get_int(env, v, &port, "port")) return 0;
  if (port < 1 || port > 65535) {
    throw_range(env, "port out of range");
    return 0;
  }
  uint8_t family, addr[16];
  napi_get_named_property(env, obj, "address", &v);
  if (!get_address(env, v, &family, addr)) return 0;
  memset(&e->to, 0, sizeof e->to);
  if (family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&e->to;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    memcpy(&s4->sin_addr, addr, 4);
    e->tolen = sizeof *s4;
  } else {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&e->to;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    memcpy(&s6->sin6_addr, addr, 16);
    e->tolen = sizeof *s6;
  }
  e->fd = fd;
  napi_value packets, offsets;
  uint32_t np = 0, no = 0;
  napi_get_named_property(env, obj, "packets", &packets);
  napi_get_named_property(env, obj, "offsetsMs", &offsets);
  if (napi_get_array_length(env, packets, &np) != napi_ok || napi_get_array_length(env, offsets, &no) != napi_ok || np != no) {
    throw_type(env, "packets and offsetsMs must be arrays of one length");
    return 0;
  }
  if (np > PUMP_MAX_PACKETS) {
    throw_range(env, "too many packets for one peer");
    return 0;
  }
  for (uint32_t i = 0; i < np; i++) {
    napi_value pv, ov;
    napi_get_element(env, packets, i, &pv);
    napi_get_element(env, offsets, i, &ov);
    uint8_t *data;
    size_t len;
    double off;
    if (!get_bytes(env, pv, &data, &len, "packet")) return 0;
    napi_valuetype t;
    napi_typeof(env, ov, &t);
    if (t != napi_number) {
      throw_type(env, "offsetsMs must hold numbers");
      return 0;
    }
    napi_get_value_double(env, ov, &off);
    e->items[i].data = malloc(len ? len : 1);
    if (!e->items[i].data) {
      throw_errno(env, "malloc", ENOMEM);
      return 0;
    }
    memcpy(e->items[i].data, data, len);
    e->items[i].len = (uint32_t)len;
    e->items[i].due = now + off;
    e->n = (int)i + 1;
  }
  return 1;
}

static napi_value PumpSchedule(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "pumpSchedule(handle, peers)");
  pump_t *p = get_pump(env, argv[0]);
  if (!p) return NULL;
  uint32_t n = 0;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok) return throw_type(env, "peers must be an array");
  if (n > PUMP_MAX_PEERS) return throw_range(env, "too many peers");
  peer_t *peers = calloc(n ? n : 1, sizeof *peers);
  if (!peers) return throw_errno(env, "calloc", ENOMEM);
  pthread_mutex_lock(&p->mu);
  double now = pump_now(p);
  pthread_mutex_unlock(&p->mu);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[1], i, &v);
    if (!get_peer(env, v, &peers[i], now)) {
      free_peers(peers, (int)n);
      return NULL;
    }
  }
  pthread_mutex_lock(&p->mu);
  /* The last send to an address that stays scheduled still counts for the minimum gap. */
  for (uint32_t i = 0; i < n; i++)
    for (int j = 0; j < p->npeers; j++) {
      peer_t *old = &p->peers[j];
      if (old->has_last && old->tolen == peers[i].tolen && memcmp(&old->to, &peers[i].to, old->tolen) == 0) {
        peers[i].has_last = 1;
        peers[i].last_sent = old->last_sent;
        break;
      }
    }
  peer_t *old_peers = p->peers;
  int old_n = p->npeers;
  p->peers = peers;
  p->npeers = (int)n;
  p->epoch++;
  pthread_mutex_unlock(&p->mu);
  pump_wake(p);
  free_peers(old_peers, old_n);
  return make_undefined(env);
}

static napi_value PumpTake(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 4) return throw_type(env, "pumpTake(handle, buf, meta, addrs)");
  pump_t *p = get_pump(env, argv[0]);
  if (!p) return NULL;
  uint8_t *buf, *addrs;
  size_t blen, alen;
  if (!get_bytes(env, argv[1], &buf, &blen, "buf") || !get_bytes(env, argv[3], &addrs, &alen, "addrs")) return NULL;
  double *meta;
  size_t mlen;
  if (!get_f64(env, argv[2], &meta, &mlen, "meta")) return NULL;
  size_t room = blen / PUMP_SLOT;
  if (mlen / 3 < room) room = mlen / 3;
  if (alen / 16 < room) room = alen / 16;
  if (room == 0) return throw_range(env, "buffers too small for one datagram");
  pthread_mutex_lock(&p->mu);
  size_t n = 0;
  for (; n < room && p->count > 0; n++) {
    datagram_t *d = &p->ring[p->head];
    if (d->len > 0) memcpy(buf + n * PUMP_SLOT, d->data, (size_t)d->len);
    meta[3 * n] = d->len;
    meta[3 * n + 1] = d->family;
    meta[3 * n + 2] = d->at;
    memcpy(addrs + 16 * n, d->addr, 16);
    p->head = (p->head + 1) % p->cap;
    p->count--;
  }
  /* Empty now: the next datagram calls onReadable again. */
  if (p->count == 0) p->notify_pending = 0;
  pthread_mutex_unlock(&p->mu);
  return make_int(env, (int64_t)n);
}

static napi_value address_value(napi_env env, const uint8_t *family_addr) {
  if (family_addr[0] == 0) return make_undefined(env);
  char text[INET6_ADDRSTRLEN];
  inet_ntop(family_addr[0] == 4 ? AF_INET : AF_INET6, family_addr + 1, text, sizeof text);
  napi_value v;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value PumpStats(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "pumpStats(handle)");
  pump_t *p = get_pump(env, argv[0]);
  if (!p) return NULL;
  napi_value out;
  napi_create_object(env, &out);
  pthread_mutex_lock(&p->mu);
  for (int i = 0; i < C_COUNT; i++) {
    napi_value v;
    napi_create_double(env, (double)p->counters[i], &v);
    napi_set_named_property(env, out, counter_names[i], v);
  }
  napi_value v;
  napi_create_double(env, (double)p->epoch, &v);
  napi_set_named_property(env, out, "epoch", v);
  napi_create_double(env, (double)p->seen_epoch, &v);
  napi_set_named_property(env, out, "seenEpoch", v);
  napi_set_named_property(env, out, "lastUnknownFrom", address_value(env, p->last_unknown));
  napi_set_named_property(env, out, "lastLimitedFrom", address_value(env, p->last_limited));
  pthread_mutex_unlock(&p->mu);
  return out;
}

/* pumpLimitedSources(h) -> the sources rate-limited since the previous call. */
static napi_value PumpLimitedSources(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "pumpLimitedSources(handle)");
  pump_t *p = get_pump(env, argv[0]);
  if (!p) return NULL;
  napi_value limited;
  napi_create_array(env, &limited);
  pthread_mutex_lock(&p->mu);
  uint32_t k = 0;
  for (int i = 0; i < p->source_slots; i++) {
    source_t *s = &p->sources[i];
    if (s->family == 0 || !s->limited) continue;
    uint8_t fa[17] = {s->family};
    memcpy(fa + 1, s->addr, 16);
    napi_set_element(env, limited, k++, address_value(env, fa));
    s->limited = 0;
  }
  pthread_mutex_unlock(&p->mu);
  return limited;
}

static napi_value PumpSetClock(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "pumpSetClock(handle, ms)");
  pump_t *p = get_pump(env, argv[0]);
  if (!p) return NULL;
  if (!p->manual) return throw_type(env, "the pump was not started with a manual clock");
  double ms;
  if (napi_get_value_double(env, argv[1], &ms) != napi_ok) return throw_type(env, "ms must be a number");
  pthread_mutex_lock(&p->mu);
  p->manual_now = ms;
  uint64_t epoch = ++p->epoch;
  pthread_mutex_unlock(&p->mu);
  pump_wake(p);
  return make_int(env, (int64_t)epoch);
}

static napi_value PumpStop(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "pumpStop(handle)");
  void *data = NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || !data) return throw_type(env, "not a heartbeat pump handle");
  pump_stop(data);
  return make_undefined(env);
}

void heartbeat_pump_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"pumpStart", NULL, PumpStart, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pumpSockets", NULL, PumpSockets, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pumpSources", NULL, PumpSources, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pumpSchedule", NULL, PumpSchedule, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pumpTake", NULL, PumpTake, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pumpStats", NULL, PumpStats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pumpLimitedSources", NULL, PumpLimitedSources, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pumpSetClock", NULL, PumpSetClock, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pumpStop", NULL, PumpStop, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
