/* The heartbeat pump's state, shared by its thread (heartbeat_pump.c) and its N-API bindings
 * (heartbeat_pump_napi.c). The rules are in heartbeat_pump.c's header comment. */
#ifndef IRONLB_HEARTBEAT_PUMP_H
#define IRONLB_HEARTBEAT_PUMP_H

#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PUMP_SLOT 1024
#define PUMP_MAX_FDS 4
#define PUMP_MAX_SOURCES 65536
#define PUMP_MAX_PEERS 65536
#define PUMP_MAX_PACKETS 16
#define PUMP_MAX_CAPACITY 65536
#define PUMP_BATCH 32
/* Batches read from one socket before looking at the others and at the sends. */
#define PUMP_DRAIN_BATCHES 16
/* Longest poll when nothing is due (the thread also wakes on every call that changes its state). */
#define PUMP_IDLE_WAIT_MS 1000

enum {
  C_RECEIVED,
  C_QUEUED,
  C_UNKNOWN,
  C_LIMITED,
  C_OVERFLOW,
  C_TRUNCATED,
  C_SENT,
  C_SEND_FAILED,
  C_POLL_ERRORS,
  C_PASSES,
  C_COUNT
};

typedef struct {
  uint8_t family; /* 0: empty slot */
  uint8_t addr[16];
  double tokens;
  double refilled_at;
  int limited; /* rate-limited since the last pumpStats */
} source_t;

typedef struct {
  int32_t len;
  uint8_t family;
  uint8_t addr[16];
  double at;
  uint8_t data[PUMP_SLOT];
} datagram_t;

typedef struct {
  double due;
  uint32_t len;
  uint8_t *data;
} item_t;

typedef struct {
  int fd;
  struct sockaddr_storage to;
  socklen_t tolen;
  int n, next;
  item_t items[PUMP_MAX_PACKETS];
  double last_sent;
  int has_last;
} peer_t;

typedef struct {
  pthread_mutex_t mu;
  pthread_t thread;
  int running;
  int stop;
  int wake_fd;
  int fds[PUMP_MAX_FDS];
  int nfds;
  source_t *sources; /* open addressing, size `source_slots` (a power of two) */
  int source_slots;
  peer_t *peers;
  int npeers;
  datagram_t *ring;
  int cap, head, count;
  double rate, burst, min_gap;
  int manual;
  double manual_now;
  /* Tests: every call that changes the state bumps `epoch`; a pass records the epoch it began with. */
  uint64_t epoch, seen_epoch;
  uint64_t counters[C_COUNT];
  uint8_t last_unknown[17]; /* family, address */
  uint8_t last_limited[17];
  napi_threadsafe_function tsfn;
  int tsfn_released;
  /* Freed when both the handle's finalizer and the callback's have run (either may come first at exit). */
  int refs;
  int notify_pending;
  uint8_t rx[PUMP_BATCH][PUMP_SLOT]; /* the thread's receive buffers */
} pump_t;

#define PUMP_INTERNAL __attribute__((visibility("hidden")))

/* heartbeat_pump.c: the thread and its rules. Callers hold p->mu where the name says _locked. */
PUMP_INTERNAL double pump_now(pump_t *p);
PUMP_INTERNAL source_t *source_find(source_t *table, int slots, uint8_t family, const uint8_t *addr);
PUMP_INTERNAL source_t *source_insert(source_t *table, int slots, uint8_t family, const uint8_t *addr);
PUMP_INTERNAL void *pump_main(void *arg);
PUMP_INTERNAL void pump_wake(pump_t *p);
PUMP_INTERNAL void free_peers(peer_t *peers, int n);
PUMP_INTERNAL void pump_join(pump_t *p);
PUMP_INTERNAL void pump_unref(pump_t *p);

#endif
