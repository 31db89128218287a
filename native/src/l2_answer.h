/* The layer-2 responder's answer path in C: exactly the decisions of src/protocol/l2-responder.ts
 * (answerArp, answerNdp, OwnedAddresses, isUnicastMac) and src/speaker/layer2/reply-limiter.ts
 * (ReplyLimiter), for a native responder thread. Pure: no I/O, no allocation per frame, never
 * reads frame[len] or beyond. Not thread-safe: one thread uses a table or a limiter at a time
 * (the thread swaps whole tables built by another). */
#ifndef IRONLB_L2_ANSWER_H
#define IRONLB_L2_ANSWER_H

#include <stddef.h>
#include <stdint.h>

/* Why a frame was not answered: L2_DROP_REASONS of src/protocol/l2-responder.ts, in that order,
 * from 1. The answer functions return the negated reason. */
enum {
  L2_NOT_OWNED = 1,
  L2_NOT_REQUEST,
  L2_BAD_DST,
  L2_MALFORMED,
  L2_INTERFACE_NOT_ALLOWED,
  L2_OWN_PACKET,
  L2_BAD_SENDER,
  L2_RATE_LIMITED,
  L2_REASONS = L2_RATE_LIMITED
};

/* `out` of the answer functions must hold this many bytes. */
#define L2_ANSWER_MAX 256

/* The addresses answered, each with the ifindexes it may be answered on. */
typedef struct l2_owned l2_owned;

l2_owned *l2_owned_new(void);
void l2_owned_free(l2_owned *t);
/* Adds or replaces `ip` (family 4: 4 bytes, 6: 16 bytes). `ifindexes` NULL: any interface;
 * otherwise its `n` entries (n may be 0: answered on none). 0, or -1 when out of memory (the table
 * is then unchanged; a family other than 4 or 6 also gets -1). The entries are copied. */
int l2_owned_set(l2_owned *t, int family, const uint8_t *ip, const int32_t *ifindexes, size_t n);
/* Whether `ip` (4 or 16 bytes by family) is in the table, on whatever interfaces. */
int l2_owned_contains(const l2_owned *t, int family, const uint8_t *ip);
/* Addresses of one family in the table. */
size_t l2_owned_size(const l2_owned *t, int family);

/* One received Ethernet frame `frame[0, len)` on the interface (ifindex, mac): the answer's length
 * (> 0), written to out[0, L2_ANSWER_MAX), or -reason. As answerArp / answerNdp. `out` must not
 * overlap `frame`; nothing is written to it when the frame is dropped. */
int l2_answer_arp(const uint8_t *frame, size_t len, int32_t ifindex, const uint8_t mac[6], const l2_owned *owned, uint8_t *out);
int l2_answer_ndp(const uint8_t *frame, size_t len, int32_t ifindex, const uint8_t mac[6], const l2_owned *owned, uint8_t *out);

/* Per-destination-MAC token buckets in a fixed table (ReplyLimiter). */
typedef struct l2_limiter l2_limiter;

/* `slots` is rounded up to a power of two; rate 0 (or less, or NaN): no limit. NULL when out of
 * memory or for more than 2^30 slots (where the TypeScript's rounding never ends). */
l2_limiter *l2_limiter_new(double rate_per_second, double burst, size_t slots);
void l2_limiter_free(l2_limiter *l);
/* New limits; every bucket starts full again (ReplyLimiter.setLimit). */
void l2_limiter_set(l2_limiter *l, double rate_per_second, double burst);
/* Takes one answer for the MAC at mac[0, 6) at now_ms (monotonic): 1 allowed, 0 over the limit. */
int l2_limiter_allow(l2_limiter *l, const uint8_t *mac, double now_ms);

#endif
