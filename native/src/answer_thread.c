/*
 * The answer thread: the layer-2 responder's packet path on a native thread of the addon instead
 * of a Worker (a second V8 isolate of ~8 MiB, docs/footprint.md). Its JS side is
 * src/speaker/layer2/native-responder-host.ts, where the rest of the responder (sockets, filters,
 * memberships, the conflict guard, the audits, gratuitous bursts, probes) runs on the main
 * thread, which is never on the path of an answer.
 *
 *   ansStart(onEvent, {capacity, forwardRate, forwardBurst, replyRate, replyBurst}) -> handle
 *   ansSockets(h, [{fd, ifindex, mac, kind}], monitorFd)  the packet sockets and the route
 *                              monitor to poll; the thread polls its own dup()s of them, so the
 *                              caller closes its fds whenever it likes
 *   ansOwned(h, [{ip, ifindexes}])  the addresses answered (replaces the table whole, at once)
 *   ansLimit(h, rate, burst)   the per-destination answer limit (resets every bucket)
 *   ansEvents(h) -> {monitor, exited}  what happened since onEvent was last called
 *   ansTake(h, buf, meta) -> n  forwarded frames: frame i in buf[i*1536 ...]; meta (Float64Array)
 *                              [4i..4i+3] = length, ifindex, kind (0 ARP, 1 NDP), arrival ms
 *   ansMonitorRearm(h)         the caller drained the route monitor: poll it again
 *   ansStats(h) -> {...}       cumulative counters
 *   ansBeats(h) -> n           loop passes (wraps): the main thread's proof of progress
 *   ansFence(h)                never send again (a thread given up)
 *   ansAnswerFor(h, ms)        answer for `ms` more, and not after that until called again: the
 *                              main thread calls it on a timer, so a wedged main loop stops the
 *                              answers before the peers take its addresses over
 *   ansFault(h, 'exit'|'wedge') tests only: end the loop, or spin in it without beating
 *   ansStop(h, timeoutMs) -> boolean  stops and joins the thread (false: it did not end in time; it
 *                              is then fenced, detached and left alone)
 *
 * Per frame, in this order:
 *   - our own outgoing frames (PACKET_OUTGOING): counted as a request and an ownPacket drop;
 *   - the answer: l2_answer_arp / l2_answer_ndp (l2_answer.c, the same decisions as
 *     src/protocol/l2-responder.ts) from the owned table; an answer goes out on the socket the
 *     request came in on, unless its destination MAC is over the per-destination limit
 *     (ReplyLimiter) or the thread is fenced;
 *   - a frame the conflict guard or the audits can learn from (worth_forwarding) is also passed to
 *     the main thread, within one token bucket for all frames (forwardRate, forwardBurst), so a
 *     flood costs the main thread a bounded share; the queue holds `capacity` frames and drops the
 *     oldest when full. A client's request for an address answered here is not passed on.
 * The main thread learns of frames, of a readable route monitor and of the thread's end through
 * `onEvent`, called through an unreferenced thread-safe function.
 */
#include "answer_thread.h"

ANS_INTERNAL double ans_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void notify_locked(ans_t *p) {
  if (p->notify_pending || p->tsfn_released) return;
  p->notify_pending = 1;
  napi_call_threadsafe_function(p->tsfn, NULL, napi_tsfn_nonblocking);
}

/* One token for forwarding a frame to the main thread (one bucket for all sources). */
static int forward_take_locked(ans_t *p, double now) {
  double refill = (now - p->fwd_at) * p->fwd_rate / 1000.0;
  if (refill > 0) p->fwd_tokens = fmin(p->fwd_burst, p->fwd_tokens + refill);
  p->fwd_at = now;
  if (p->fwd_tokens < 1) return 0;
  p->fwd_tokens -= 1;
  return 1;
}

static void forward_locked(ans_t *p, const ans_socket_t *s, const uint8_t *frame, size_t len, double now) {
  if (len > ANS_SLOT) {
    p->counters[ANS_C_FORWARD_TOO_LONG]++;
    return;
  }
  if (!forward_take_locked(p, now)) {
    p->counters[ANS_C_FORWARD_LIMITED]++;
    return;
  }
  if (p->count == p->cap) {
    p->head = (p->head + 1) % p->cap;
    p->count--;
    p->counters[ANS_C_QUEUE_FULL]++;
  }
  ans_frame_t *f = &p->ring[(p->head + p->count) % p->cap];
  p->count++;
  p->counters[ANS_C_FORWARDED]++;
  f->len = (int32_t)len;
  f->ifindex = s->ifindex;
  f->kind = s->kind;
  f->at = now;
  memcpy(f->data, frame, len);
  notify_locked(p);
}

/*
 * Whether the main thread's conflict guard or audit listener can learn anything from a frame (what
 * they read: the sender of an ARP frame, the target of a Neighbor Advertisement): not from a
 * client's ARP request for an address we answer (its sender is the client), nor from a
 * solicitation. So a flood of requests for our addresses costs the main thread nothing, and never
 * crowds out the replies the audits and the guard wait for. Everything else goes: ARP replies and
 * requests of other shapes (VLAN-tagged, for an address we do not answer, from one of ours), NAs.
 */
static int worth_forwarding(const ans_socket_t *s, const uint8_t *f, size_t len, const l2_owned *owned) {
  if (s->kind == ANS_KIND_NDP) return len >= 55 && f[12] == 0x86 && f[13] == 0xdd && f[54] == 136;
  if (len < 42 || f[12] != 0x08 || f[13] != 0x06) return 1;
  if (f[20] != 0 || f[21] != 1) return 1; /* not a request */
  static const uint8_t zero[4] = {0, 0, 0, 0};
  const uint8_t *sender = f + 28, *target = f + 38;
  if (memcmp(sender, zero, 4) == 0) return !l2_owned_contains(owned, 4, target); /* a probe */
  return !(l2_owned_contains(owned, 4, target) && !l2_owned_contains(owned, 4, sender));
}

/* The main thread has not extended the answer deadline in time: its loop is stalled or wedged,
 * and its peers may be taking the addresses over (see ansAnswerFor). */
static int answers_expired(ans_t *p, double now_ms) {
  long long until = atomic_load(&p->answer_until_us);
  return until != 0 && (long long)(now_ms * 1000.0) > until;
}

/* Reads and answers what one socket has queued, up to ANS_RECV_BUDGET frames. */
static void service_locked(ans_t *p, const ans_socket_t *s) {
  for (int i = 0; i < ANS_RECV_BUDGET; i++) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n;
    do {
      n = recvfrom(s->fd, p->rx, sizeof p->rx, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      /* ENETDOWN after the link went down, and the like: the socket stays usable. */
      if (errno != EAGAIN && errno != EWOULDBLOCK) p->counters[ANS_C_RECV_ERRORS]++;
      return;
    }
    size_t len = (size_t)n;
    p->counters[s->kind == ANS_KIND_ARP ? ANS_C_REQUESTS_ARP : ANS_C_REQUESTS_NDP]++;
    if (from.sll_pkttype == PACKET_OUTGOING) {
      p->counters[ANS_C_DROPS + L2_OWN_PACKET - 1]++;
      continue;
    }
    double now = ans_now();
    int r = s->kind == ANS_KIND_ARP ? l2_answer_arp(p->rx, len, s->ifindex, s->mac, p->owned, p->tx)
                                    : l2_answer_ndp(p->rx, len, s->ifindex, s->mac, p->owned, p->tx);
    /* The answer's Ethernet destination (bytes 0-5) is the source it is limited by. */
    if (r > 0 && !l2_limiter_allow(p->limiter, p->tx, now)) r = -L2_RATE_LIMITED;
    if (r < 0) {
      p->counters[ANS_C_DROPS - r - 1]++;
    } else if (atomic_load(&p->fenced)) {
      p->counters[ANS_C_FENCED]++;
    } else if (answers_expired(p, now)) {
      p->counters[ANS_C_WITHHELD]++;
    } else {
      ssize_t w;
      do {
        w = send(s->fd, p->tx, (size_t)r, MSG_DONTWAIT);
      } while (w < 0 && errno == EINTR);
      if (w == r) p->counters[s->kind == ANS_KIND_ARP ? ANS_C_REPLIES_ARP : ANS_C_REPLIES_NDP]++;
      else p->counters[ANS_C_SEND_FAILURES]++;
    }
    if (worth_forwarding(s, p->rx, len, p->owned)) forward_locked(p, s, p->rx, len, now);
    else p->counters[ANS_C_NOT_FORWARDED]++;
  }
}

static const ans_socket_t *find_socket_locked(ans_t *p, int fd) {
  for (int i = 0; i < p->nsocks; i++)
    if (p->socks[i].fd == fd) return &p->socks[i];
  return NULL;
}

/* A test's wedge: no beats, no answers, until asked to stop. */
static void wedge(ans_t *p) {
  struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000 * 1000};
  while (!atomic_load(&p->stop)) nanosleep(&pause, NULL);
}

ANS_INTERNAL void *ans_main(void *arg) {
  ans_t *p = arg;
  struct pollfd pfds[2 + ANS_MAX_SOCKETS];
  for (;;) {
    atomic_fetch_add(&p->beats, 1);
    if (atomic_load(&p->stop)) break;
    int fault = atomic_load(&p->fault);
    if (fault == ANS_FAULT_WEDGE) {
      wedge(p);
      break;
    }
    if (fault == ANS_FAULT_EXIT) break;
    pthread_mutex_lock(&p->mu);
    p->counters[ANS_C_PASSES]++;
    int n = 0;
    pfds[n++] = (struct pollfd){.fd = p->wake_fd, .events = POLLIN};
    if (p->monitor_fd >= 0 && !p->monitor_pending) pfds[n++] = (struct pollfd){.fd = p->monitor_fd, .events = POLLIN};
    for (int i = 0; i < p->nsocks; i++) pfds[n++] = (struct pollfd){.fd = p->socks[i].fd, .events = POLLIN};
    pthread_mutex_unlock(&p->mu);
    struct timespec ts = {.tv_sec = 0, .tv_nsec = ANS_IDLE_WAIT_MS * 1000L * 1000L};
    int r = ppoll(pfds, (nfds_t)n, &ts, NULL);
    if (r < 0) {
      struct timespec pause = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
      if (errno != EINTR) nanosleep(&pause, NULL);
      continue;
    }
    if (pfds[0].revents) {
      uint64_t v;
      while (read(p->wake_fd, &v, sizeof v) > 0) {
      }
    }
    pthread_mutex_lock(&p->mu);
    for (int i = 1; i < n; i++) {
      if (!pfds[i].revents) continue;
      /* The set may have changed while we polled: only an fd of the current set is read (a
       * number closed and reused meanwhile for something else is not in it). */
      if (pfds[i].fd == p->monitor_fd && !p->monitor_pending) {
        p->monitor_pending = 1;
        notify_locked(p);
        continue;
      }
      const ans_socket_t *s = find_socket_locked(p, pfds[i].fd);
      if (s) service_locked(p, s);
    }
    pthread_mutex_unlock(&p->mu);
  }
  pthread_mutex_lock(&p->mu);
  p->exited = 1;
  p->notify_pending = 0;
  notify_locked(p);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

ANS_INTERNAL void ans_wake(ans_t *p) {
  if (p->wake_fd < 0) return;
  uint64_t one = 1;
  ssize_t w = write(p->wake_fd, &one, sizeof one);
  (void)w;
}

ANS_INTERNAL void ans_close_sockets(ans_socket_t *socks, int n) {
  if (!socks) return;
  for (int i = 0; i < n; i++) close(socks[i].fd);
  free(socks);
}

ANS_INTERNAL int ans_join(ans_t *p, int timeout_ms) {
  if (!p->running) return 0;
  atomic_store(&p->stop, 1);
  ans_wake(p);
  /* The loop returns within one poll (100 ms); a thread that does not in time is wedged: it is
   * detached, fenced, and its memory never freed, rather than hang the caller. */
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  long ns = deadline.tv_nsec + (long)(timeout_ms % 1000) * 1000000L;
  deadline.tv_sec += timeout_ms / 1000 + ns / 1000000000L;
  deadline.tv_nsec = ns % 1000000000L;
  if (pthread_timedjoin_np(p->thread, NULL, &deadline) != 0) {
    atomic_store(&p->fenced, 1);
    pthread_detach(p->thread);
    p->leaked = 1;
    p->running = 0;
    return -1;
  }
  p->running = 0;
  return 0;
}

ANS_INTERNAL void ans_unref(ans_t *p) {
  if (--p->refs > 0 || p->leaked) return;
  if (p->wake_fd >= 0) close(p->wake_fd);
  ans_close_sockets(p->socks, p->nsocks);
  if (p->monitor_fd >= 0) close(p->monitor_fd);
  l2_owned_free(p->owned);
  l2_limiter_free(p->limiter);
  free(p->ring);
  pthread_mutex_destroy(&p->mu);
  free(p);
}
