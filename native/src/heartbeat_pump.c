/*
 * The heartbeat pump: one native thread per speaker that receives the heartbeat datagrams and
 * sends the heartbeats the main thread signed ahead. Its JS side is
 * src/speaker/membership/heartbeat-pump.ts; before, this was a Worker thread, a second V8
 * isolate of ~8 MiB (docs/footprint.md).
 *
 *   pumpStart(onReadable, {ratePerSecond, burst, minGapMs, capacity, manualClockMs?}) -> handle
 *   pumpSockets(h, fds)          the UDP sockets to read (their fds stay the caller's)
 *   pumpSources(h, addresses)    the peers' addresses: all others are dropped (unknown source)
 *   pumpSchedule(h, peers)       [{fd, address, port, packets, offsetsMs}]: replaces the schedule
 *   pumpTake(h, buf, meta, addrs) -> n   moves queued datagrams out (layout below)
 *   pumpStats(h) -> {...}        cumulative counters
 *   pumpLimitedSources(h)        the sources rate-limited since the previous call
 *   pumpSetClock(h, ms) -> epoch manual clock (tests only: started with manualClockMs)
 *   pumpStop(h)                  stops and joins the thread (the finalizer does it too)
 *
 * What the thread does with a datagram, in this order, and nothing else:
 *   - a source that is no peer's: dropped (counted);
 *   - a token bucket per source address (ratePerSecond, burst): over it, dropped (counted, the
 *     source remembered for the next pumpStats), so a flood costs the main thread nothing;
 *   - longer than a slot (PUMP_SLOT): length -1 (the main thread counts it malformed);
 *   - queued with its arrival time (CLOCK_MONOTONIC ms, process.hrtime's clock). The queue holds
 *     `capacity` datagrams; when it is full the oldest is dropped (counted): a newer heartbeat of a
 *     peer supersedes an older one.
 * It parses nothing and holds no key: the main thread checks shape, names, key, replay and MAC
 * (heartbeat-admission.ts), at most ratePerSecond datagrams per second and peer.
 *
 * Sends (send-schedule.ts has the same rule in TypeScript): each peer's packets are due at
 * schedule time + offset; when any are due, the newest due one is sent and older due ones are
 * dropped (stale news after a stall); a packet due less than minGapMs after the last one sent to
 * that address is dropped too. A new schedule replaces the old one whole. When the main thread
 * stops signing, the sends stop once the signed packets are used up.
 *
 * pumpTake layout: datagram i in buf[i*1024 ...]; meta (Float64Array) [3i..3i+2] = length (-1 if
 * longer than a slot), family (4|6), arrival ms; addrs (Uint8Array) [16i..] = source address.
 */
#include "heartbeat_pump.h"
#include "udp_batch.h"

/* ---- time, sources -------------------------------------------------------------------------- */

PUMP_INTERNAL double pump_now(pump_t *p) {
  if (p->manual) return p->manual_now;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static uint32_t source_hash(uint8_t family, const uint8_t *addr) {
  uint32_t h = 2166136261u ^ family;
  int len = family == 4 ? 4 : 16;
  for (int i = 0; i < len; i++) h = (h ^ addr[i]) * 16777619u;
  return h;
}

PUMP_INTERNAL source_t *source_find(source_t *table, int slots, uint8_t family, const uint8_t *addr) {
  if (!table) return NULL;
  int len = family == 4 ? 4 : 16;
  for (uint32_t i = source_hash(family, addr) & (uint32_t)(slots - 1), probes = 0; probes < (uint32_t)slots; probes++, i = (i + 1) & (uint32_t)(slots - 1)) {
    source_t *s = &table[i];
    if (s->family == 0) return NULL;
    if (s->family == family && memcmp(s->addr, addr, (size_t)len) == 0) return s;
  }
  return NULL;
}

PUMP_INTERNAL source_t *source_insert(source_t *table, int slots, uint8_t family, const uint8_t *addr) {
  int len = family == 4 ? 4 : 16;
  for (uint32_t i = source_hash(family, addr) & (uint32_t)(slots - 1);; i = (i + 1) & (uint32_t)(slots - 1)) {
    source_t *s = &table[i];
    if (s->family == family && memcmp(s->addr, addr, (size_t)len) == 0) return s;
    if (s->family == 0) {
      s->family = family;
      memcpy(s->addr, addr, (size_t)len);
      return s;
    }
  }
}

/* The token bucket: refill for the time since the last datagram, then take one if there is one. */
static int bucket_take(source_t *s, double now, double rate, double burst) {
  double refill = (now - s->refilled_at) * rate / 1000.0;
  if (refill > 0) s->tokens = fmin(burst, s->tokens + refill);
  s->refilled_at = now;
  if (s->tokens < 1) return 0;
  s->tokens -= 1;
  return 1;
}

/* ---- the thread ------------------------------------------------------------------------------ */

static void notify_locked(pump_t *p) {
  if (p->count == 0 || p->notify_pending) return;
  p->notify_pending = 1;
  napi_call_threadsafe_function(p->tsfn, NULL, napi_tsfn_nonblocking);
}

static void admit_locked(pump_t *p, const uint8_t *data, ssize_t len, int truncated, const struct sockaddr_storage *from, double now) {
  uint8_t family;
  const uint8_t *addr;
  if (from->ss_family == AF_INET) {
    family = 4;
    addr = (const uint8_t *)&((const struct sockaddr_in *)from)->sin_addr;
  } else if (from->ss_family == AF_INET6) {
    family = 6;
    addr = (const uint8_t *)&((const struct sockaddr_in6 *)from)->sin6_addr;
  } else {
    return;
  }
  p->counters[C_RECEIVED]++;
  source_t *s = source_find(p->sources, p->source_slots, family, addr);
  if (!s) {
    p->counters[C_UNKNOWN]++;
    p->last_unknown[0] = family;
    memcpy(p->last_unknown + 1, addr, family == 4 ? 4 : 16);
    return;
  }
  if (!bucket_take(s, now, p->rate, p->burst)) {
    p->counters[C_LIMITED]++;
    s->limited = 1;
    p->last_limited[0] = s->family;
    memcpy(p->last_limited + 1, s->addr, 16);
    return;
  }
  if (p->count == p->cap) {
    p->head = (p->head + 1) % p->cap;
    p->count--;
    p->counters[C_OVERFLOW]++;
  }
  datagram_t *d = &p->ring[(p->head + p->count) % p->cap];
  p->count++;
  p->counters[C_QUEUED]++;
  d->family = family;
  memset(d->addr, 0, sizeof d->addr);
  memcpy(d->addr, addr, family == 4 ? 4 : 16);
  d->at = now;
  if (truncated) {
    p->counters[C_TRUNCATED]++;
    d->len = -1;
  } else {
    d->len = (int32_t)len;
    memcpy(d->data, data, (size_t)len);
  }
}

static void drain_socket(pump_t *p, int fd) {
  uint8_t(*bufs)[PUMP_SLOT] = p->rx;
  struct mmsghdr msgs[PUMP_BATCH];
  struct iovec iov[PUMP_BATCH];
  struct sockaddr_storage from[PUMP_BATCH];
  for (int batch = 0; batch < PUMP_DRAIN_BATCHES; batch++) {
    int r = recv_udp_batch(fd, &bufs[0][0], PUMP_SLOT, PUMP_BATCH, msgs, iov, from);
    if (r <= 0) return;
    pthread_mutex_lock(&p->mu);
    double now = pump_now(p);
    for (int i = 0; i < r; i++) admit_locked(p, bufs[i], msgs[i].msg_len, (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0, &from[i], now);
    notify_locked(p);
    pthread_mutex_unlock(&p->mu);
    if (r < PUMP_BATCH) return;
  }
}

/* Sends what is due (the rule in the header comment); returns when the next packet falls due. */
static double send_due_locked(pump_t *p, double now) {
  double next = INFINITY;
  for (int i = 0; i < p->npeers; i++) {
    peer_t *e = &p->peers[i];
    item_t *pick = NULL;
    while (e->next < e->n && e->items[e->next].due <= now) pick = &e->items[e->next++];
    if (e->next < e->n && e->items[e->next].due < next) next = e->items[e->next].due;
    if (!pick) continue;
    if (e->has_last && now - e->last_sent < p->min_gap) continue;
    e->has_last = 1;
    e->last_sent = now;
    ssize_t n;
    do {
      n = sendto(e->fd, pick->data, pick->len, MSG_DONTWAIT, (struct sockaddr *)&e->to, e->tolen);
    } while (n < 0 && errno == EINTR);
    p->counters[n == (ssize_t)pick->len ? C_SENT : C_SEND_FAILED]++;
  }
  return next;
}

PUMP_INTERNAL void *pump_main(void *arg) {
  pump_t *p = arg;
  struct pollfd pfds[1 + PUMP_MAX_FDS];
  for (;;) {
    pthread_mutex_lock(&p->mu);
    if (p->stop) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    double now = pump_now(p);
    double next = send_due_locked(p, now);
    p->counters[C_PASSES]++;
    p->seen_epoch = p->epoch;
    int n = 0;
    pfds[n++] = (struct pollfd){.fd = p->wake_fd, .events = POLLIN};
    for (int i = 0; i < p->nfds; i++) pfds[n++] = (struct pollfd){.fd = p->fds[i], .events = POLLIN};
    int manual = p->manual;
    pthread_mutex_unlock(&p->mu);
    /* With the manual clock time moves only by pumpSetClock, which wakes us. */
    double wait = manual || next == INFINITY ? PUMP_IDLE_WAIT_MS : fmin(PUMP_IDLE_WAIT_MS, fmax(0, next - now));
    struct timespec ts = {.tv_sec = (time_t)(wait / 1000), .tv_nsec = (long)(fmod(wait, 1000.0) * 1e6)};
    int r = ppoll(pfds, (nfds_t)n, &ts, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      pthread_mutex_lock(&p->mu);
      p->counters[C_POLL_ERRORS]++;
      pthread_mutex_unlock(&p->mu);
      struct timespec pause = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
      nanosleep(&pause, NULL);
      continue;
    }
    if (pfds[0].revents) {
      uint64_t v;
      while (read(p->wake_fd, &v, sizeof v) > 0) {
      }
    }
    for (int i = 1; i < n; i++) {
      if (pfds[i].revents & POLLNVAL) {
        /* Closed under us (the caller closes its sockets only after pumpStop): stop polling it
         * rather than spin on it. */
        pthread_mutex_lock(&p->mu);
        for (int j = 0; j < p->nfds; j++)
          if (p->fds[j] == pfds[i].fd) p->fds[j--] = p->fds[--p->nfds];
        p->counters[C_POLL_ERRORS]++;
        pthread_mutex_unlock(&p->mu);
      } else if (pfds[i].revents) {
        drain_socket(p, pfds[i].fd);
      }
    }
  }
}

PUMP_INTERNAL void pump_wake(pump_t *p) {
  uint64_t one = 1;
  ssize_t w = write(p->wake_fd, &one, sizeof one);
  (void)w;
}

PUMP_INTERNAL void free_peers(peer_t *peers, int n) {
  if (!peers) return;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < peers[i].n; j++) free(peers[i].items[j].data);
  free(peers);
}

/* Stops and joins the thread. */
PUMP_INTERNAL void pump_join(pump_t *p) {
  if (!p->running) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_mutex_unlock(&p->mu);
  pump_wake(p);
  pthread_join(p->thread, NULL);
  p->running = 0;
}

PUMP_INTERNAL void pump_unref(pump_t *p) {
  if (--p->refs > 0) return;
  close(p->wake_fd);
  free(p->sources);
  free_peers(p->peers, p->npeers);
  free(p->ring);
  pthread_mutex_destroy(&p->mu);
  free(p);
}
