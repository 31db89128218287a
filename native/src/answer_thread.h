/* The answer thread's state, shared by the thread (answer_thread.c) and its N-API bindings
 * (answer_thread_napi.c). The rules are in answer_thread.c's header comment. */
#ifndef IRONLB_ANSWER_THREAD_H
#define IRONLB_ANSWER_THREAD_H

#include <node_api.h>

#include <errno.h>
#include <linux/if_packet.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "l2_answer.h"

/* Packet sockets (two per interface: ARP and NDP). */
#define ANS_MAX_SOCKETS 512
/* A forwarded frame: a full Ethernet frame with a VLAN tag fits; longer ones are not forwarded. */
#define ANS_SLOT 1536
#define ANS_MAX_CAPACITY 4096
/* The receive buffer: frames longer than a slot are still answered (as the worker's 4 KiB buffer). */
#define ANS_RX 4096
/* Frames read from one socket before looking at the others (the worker's RECV_BUDGET). */
#define ANS_RECV_BUDGET 256
/* Longest poll: the loop beats at least this often (MAX_POLL_WAIT_MS of responder-messages.ts). */
#define ANS_IDLE_WAIT_MS 100

enum { ANS_KIND_ARP = 0, ANS_KIND_NDP = 1 };

/* Counters; the drops are indexed by reason (l2_answer.h) from ANS_C_DROPS. */
enum {
  ANS_C_REQUESTS_ARP,
  ANS_C_REQUESTS_NDP,
  ANS_C_REPLIES_ARP,
  ANS_C_REPLIES_NDP,
  ANS_C_DROPS,
  ANS_C_SEND_FAILURES = ANS_C_DROPS + L2_REASONS,
  ANS_C_RECV_ERRORS,
  ANS_C_FORWARDED,
  ANS_C_NOT_FORWARDED,
  ANS_C_FORWARD_LIMITED,
  ANS_C_FORWARD_TOO_LONG,
  ANS_C_QUEUE_FULL,
  ANS_C_FENCED,
  ANS_C_WITHHELD,
  ANS_C_PASSES,
  ANS_C_COUNT
};

enum { ANS_FAULT_NONE, ANS_FAULT_EXIT, ANS_FAULT_WEDGE };

typedef struct {
  int fd; /* our dup of the caller's socket */
  int32_t ifindex;
  uint8_t mac[6];
  int kind;
} ans_socket_t;

typedef struct {
  int32_t len;
  int32_t ifindex;
  int32_t kind;
  double at;
  uint8_t data[ANS_SLOT];
} ans_frame_t;

typedef struct {
  pthread_mutex_t mu;
  pthread_t thread;
  int running;
  atomic_int stop;
  atomic_int fenced;
  /* Answers go out only until this CLOCK_MONOTONIC time (µs), which the main thread keeps moving
   * forward (ansAnswerFor); 0: no such deadline (until the first ansAnswerFor). */
  atomic_llong answer_until_us;
  atomic_int fault;
  atomic_uint beats;
  int exited;
  int wake_fd;
  ans_socket_t *socks;
  int nsocks;
  int monitor_fd; /* our dup, -1: none */
  int monitor_pending;
  l2_owned *owned;
  l2_limiter *limiter;
  double fwd_rate, fwd_burst, fwd_tokens, fwd_at;
  ans_frame_t *ring;
  int cap, head, count;
  uint64_t counters[ANS_C_COUNT];
  napi_threadsafe_function tsfn;
  int tsfn_released;
  /* Freed when both the handle's finalizer and the callback's have run (either may come first at exit). */
  int refs;
  int notify_pending;
  /* A thread that did not stop when asked (a wedge): its memory is never freed. */
  int leaked;
  uint8_t rx[ANS_RX];
  uint8_t tx[L2_ANSWER_MAX];
} ans_t;

#define ANS_INTERNAL __attribute__((visibility("hidden")))

ANS_INTERNAL double ans_now(void);
ANS_INTERNAL void *ans_main(void *arg);
ANS_INTERNAL void ans_wake(ans_t *p);
ANS_INTERNAL void ans_close_sockets(ans_socket_t *socks, int n);
/* Stops the thread; 0 when it has ended, -1 when it did not within timeout_ms (it is then fenced and detached). */
ANS_INTERNAL int ans_join(ans_t *p, int timeout_ms);
/* The join timeout of the finalizers. */
#define ANS_FINAL_JOIN_MS 2000
ANS_INTERNAL void ans_unref(ans_t *p);

/* answer_thread_napi.c: the handle (`live`: the thread must still be running); NULL: thrown. */
ANS_INTERNAL ans_t *ans_get(napi_env env, napi_value v, int live);
/* answer_thread_io_napi.c */
ANS_INTERNAL napi_value AnsSockets(napi_env env, napi_callback_info info);
ANS_INTERNAL napi_value AnsOwned(napi_env env, napi_callback_info info);
ANS_INTERNAL napi_value AnsLimit(napi_env env, napi_callback_info info);
ANS_INTERNAL napi_value AnsEvents(napi_env env, napi_callback_info info);
ANS_INTERNAL napi_value AnsTake(napi_env env, napi_callback_info info);
ANS_INTERNAL napi_value AnsMonitorRearm(napi_env env, napi_callback_info info);
ANS_INTERNAL napi_value AnsStats(napi_env env, napi_callback_info info);

#endif
