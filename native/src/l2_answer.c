/* The layer-2 responder's answer path (l2_answer.h): a line-for-line port of answerArp, answerNdp,
 * OwnedAddresses and isUnicastMac (src/protocol/l2-responder.ts, with locateArp/writeArpReply of
 * arp.ts, decodeNdpFrame/peekSolicitationTarget/writeNeighborAdvertisement of ndp.ts, the option
 * parser of ndp-options.ts and the checksum of icmpv6.ts), and of ReplyLimiter
 * (src/speaker/layer2/reply-limiter.ts). Every check is made in the TypeScript's order, so that a
 * frame is dropped for the same reason; test/unit/net/l2-answer-native*.test.ts compares the two. */
#include "l2_answer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* ---- the owned table: one open-addressing table per family (linear probing, no deletion) ---- */

typedef struct {
  uint8_t ip[16]; /* family 4: the first 4 bytes */
  int32_t *ifindexes; /* sorted, no duplicates; NULL when any or none */
  uint32_t n;
  uint8_t used, any;
} slot_t;

typedef struct {
  slot_t *slots;
  size_t cap, count; /* cap: 0 or a power of two; count <= cap * 3 / 4 */
} table_t;

struct l2_owned {
  table_t t4, t6;
};

static uint32_t mix32(uint32_t h) { /* murmur3's finalizer: pool addresses are consecutive */
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

static uint32_t hash_ip(const uint8_t *ip, size_t n) {
  uint32_t h = 0;
  for (size_t i = 0; i < n; i += 4) h = mix32(h ^ rd32(ip + i)) + 0x9e3779b9u;
  return h;
}

/* The slot holding `ip`, or the empty slot where it would go. The table has a free slot. */
static slot_t *probe(const table_t *t, const uint8_t *ip, size_t n) {
  size_t mask = t->cap - 1;
  for (size_t i = hash_ip(ip, n) & mask;; i = (i + 1) & mask) {
    slot_t *s = &t->slots[i];
    if (!s->used || memcmp(s->ip, ip, n) == 0) return s;
  }
}

static int grow(table_t *t, size_t n) {
  size_t cap = t->cap ? t->cap * 2 : 16;
  slot_t *slots = calloc(cap, sizeof *slots);
  if (!slots) return -1;
  table_t next = {slots, cap, t->count};
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].used) *probe(&next, t->slots[i].ip, n) = t->slots[i];
  free(t->slots);
  *t = next;
  return 0;
}

l2_owned *l2_owned_new(void) { return calloc(1, sizeof(l2_owned)); }

void l2_owned_free(l2_owned *o) {
  if (!o) return;
  table_t *ts[2] = {&o->t4, &o->t6};
  for (int k = 0; k < 2; k++) {
    for (size_t i = 0; i < ts[k]->cap; i++) free(ts[k]->slots[i].ifindexes);
    free(ts[k]->slots);
  }
  free(o);
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* A family other than 4 or 6 (or a NULL table or address) is refused with -1 too. */
int l2_owned_set(l2_owned *o, int family, const uint8_t *ip, const int32_t *ifindexes, size_t n) {
  if (!o || !ip || (family != 4 && family != 6)) return -1;
  table_t *t = family == 4 ? &o->t4 : &o->t6;
  size_t len = family == 4 ? 4 : 16;
  if ((t->count + 1) * 4 > t->cap * 3 && grow(t, len) < 0) return -1;
  int32_t *copy = NULL;
  uint32_t m = 0;
  if (ifindexes && n > 0) {
    if (n > UINT32_MAX || !(copy = malloc(n * sizeof *copy))) return -1;
    memcpy(copy, ifindexes, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, cmp_i32);
    for (size_t i = 0; i < n; i++)
      if (m == 0 || copy[m - 1] != copy[i]) copy[m++] = copy[i];
  }
  slot_t *s = probe(t, ip, len);
  if (!s->used) {
    memcpy(s->ip, ip, len);
    s->used = 1;
    t->count++;
  }
  free(s->ifindexes);
  s->ifindexes = copy;
  s->n = m;
  s->any = ifindexes == NULL;
  return 0;
}

size_t l2_owned_size(const l2_owned *o, int family) {
  if (!o) return 0;
  return family == 4 ? o->t4.count : family == 6 ? o->t6.count : 0;
}

int l2_owned_contains(const l2_owned *o, int family, const uint8_t *ip) {
  if (!o || (family != 4 && family != 6)) return 0;
  const table_t *t = family == 4 ? &o->t4 : &o->t6;
  return t->count > 0 && probe(t, ip, family == 4 ? 4 : 16)->used;
}

/* OwnedAddresses.checkV4/checkV6 with verdict(): 0 ('ok'), L2_NOT_OWNED or L2_INTERFACE_NOT_ALLOWED. */
static int check(const table_t *t, const uint8_t *ip, size_t len, int32_t ifindex) {
  if (t->count == 0) return L2_NOT_OWNED;
  const slot_t *s = probe(t, ip, len);
  if (!s->used) return L2_NOT_OWNED;
  if (s->any) return 0;
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->ifindexes[mid] == ifindex) return 0;
    if (s->ifindexes[mid] < ifindex) lo = mid + 1;
    else hi = mid;
  }
  return L2_INTERFACE_NOT_ALLOWED;
}

/* ---- helpers of l2-responder.ts, address.ts and ndp.ts ---------------------------------------- */

static const uint8_t BROADCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, UNSPECIFIED[16];
static const uint8_t ALL_NODES_MAC[6] = {0x33, 0x33, 0, 0, 0, 1};
static const uint8_t ALL_NODES_IP[16] = {0xff, 0x02, [15] = 1};

/* isUnicastMac: the group bit clear, and not all zeros. */
static int is_unicast_mac(const uint8_t *b) {
  if (b[0] & 0x01) return 0;
  for (int i = 0; i < 6; i++)
    if (b[i] != 0) return 1;
  return 0;
}

/* isSolicitedNodeMulticastOf(destination, target): ff02::1:ffXX:XXXX of the target's low 24 bits. */
static int is_solicited_node_of(const uint8_t *d, const uint8_t *target) {
  if (d[0] != 0xff || d[1] != 0x02) return 0;
  for (int i = 2; i < 11; i++)
    if (d[i] != 0) return 0;
  return d[11] == 0x01 && d[12] == 0xff && d[13] == target[13] && d[14] == target[14] && d[15] == target[15];
}

static uint64_t sum16(const uint8_t *b, size_t n, uint64_t acc) {
  size_t i = 0;
  for (; i + 1 < n; i += 2) acc += rd16(b + i);
  if (i < n) acc += (uint32_t)b[i] << 8;
  return acc;
}

/* icmpv6Checksum: a message whose checksum field is filled in sums to 0. */
static uint32_t icmpv6_checksum(const uint8_t *src, const uint8_t *dst, const uint8_t *m, size_t n) {
  uint64_t acc = sum16(src, 16, 0);
  acc = sum16(dst, 16, acc);
  acc += (n >> 16) + (n & 0xffff) + 58;
  acc = sum16(m, n, acc);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >> 16);
  return ~(uint32_t)acc & 0xffff;
}

/* ---- ARP ------------------------------------------------------------------------------------- */

int l2_answer_arp(const uint8_t *f, size_t len, int32_t ifindex, const uint8_t mac[6], const l2_owned *owned, uint8_t *out) {
  /* locateArp: at most one 802.1Q tag; any result but a body at 14 is malformed, except that a
   * bad operation (checked before the body's length) is notRequest. */
  if (len < 14) return -L2_MALFORMED;
  size_t at = 12;
  uint32_t type = rd16(f + at);
  if (type == 0x8100) {
    if (len < 18) return -L2_MALFORMED;
    at += 4;
    type = rd16(f + at);
  }
  if (type != 0x0806) return -L2_MALFORMED;
  at += 2;
  if (len - at < 8) return -L2_MALFORMED;
  if (rd16(f + at) != 1 || rd16(f + at + 2) != 0x0800 || f[at + 4] != 6 || f[at + 5] != 4) return -L2_MALFORMED;
  uint32_t op = rd16(f + at + 6);
  if (op != 1 && op != 2) return -L2_NOT_REQUEST;
  if (len - at < 28 || at != 14) return -L2_MALFORMED;
  /* answerArp */
  if (op != 1) return -L2_NOT_REQUEST;
  int v = check(&owned->t4, f + 38, 4, ifindex);
  if (v) return -v;
  if (memcmp(f + 6, mac, 6) == 0) return -L2_OWN_PACKET;
  if (memcmp(f, BROADCAST, 6) != 0 && memcmp(f, mac, 6) != 0) return -L2_BAD_DST;
  if (!is_unicast_mac(f + 22) || !is_unicast_mac(f + 6)) return -L2_BAD_SENDER;
  /* writeArpReply, padded to 60 */
  static const uint8_t fixed[8] = {0, 1, 0x08, 0x00, 6, 4, 0, 2};
  memcpy(out, f + 22, 6);
  memcpy(out + 6, mac, 6);
  out[12] = 0x08;
  out[13] = 0x06;
  memcpy(out + 14, fixed, 8);
  memcpy(out + 22, mac, 6);
  memcpy(out + 28, f + 38, 4);
  memcpy(out + 32, f + 22, 6);
  memcpy(out + 38, f + 28, 4);
  memset(out + 42, 0, 18);
  return 60;
}

/* ---- NDP ------------------------------------------------------------------------------------- */

/* decodeNdpFrame, reduced to what answerNdp uses: 0 or a drop reason. Fills the IPv6 header's
 * offset, the ICMPv6 message and the first Source Link-Layer Address option (NULL when none). */
static int decode_ndp(const uint8_t *f, size_t len, const uint8_t **ip, const uint8_t **msg, const uint8_t **slla) {
  if (len < 14) return L2_MALFORMED;
  size_t p = 14;
  uint32_t type = rd16(f + 12);
  if (type == 0x8100) {
    if (len < 18) return L2_MALFORMED;
    type = rd16(f + 16);
    p = 18;
  }
  if (type != 0x86dd) return L2_MALFORMED;
  if (len - p < 40) return L2_MALFORMED;
  const uint8_t *h = f + p, *src = h + 8, *dst = h + 24, *m = h + 40;
  if (h[0] >> 4 != 6) return L2_MALFORMED;
  size_t mlen = rd16(h + 4);
  if (mlen > len - p - 40) return L2_MALFORMED;
  if (h[6] != 58) return L2_NOT_REQUEST;
  /* decodeIcmpv6 */
  if (mlen < 4 || icmpv6_checksum(src, dst, m, mlen) != 0) return L2_MALFORMED;
  if (m[0] != 135 && m[0] != 136) return L2_NOT_REQUEST;
  if (h[7] != 255) return L2_MALFORMED;
  /* decodeNdpMessage and readOptions: every option is parsed before anything is decided */
  if (m[1] != 0 || mlen < 24 || m[8] == 0xff) return L2_MALFORMED;
  const uint8_t *first = NULL;
  for (size_t o = 24; o < mlen;) {
    if (mlen - o < 2) return L2_MALFORMED;
    uint32_t kind = m[o], units = m[o + 1];
    o += 2;
    if (units == 0 || units * 8 - 2 > mlen - o) return L2_MALFORMED;
    if (kind == 1 && units == 1 && !first) first = m + o;
    o += units * 8 - 2;
  }
  if (src[0] == 0xff) return L2_MALFORMED;
  if (m[0] == 135 && memcmp(src, UNSPECIFIED, 16) == 0 && (!is_solicited_node_of(dst, m + 8) || first)) return L2_MALFORMED;
  if (m[0] == 136 && (m[4] & 0x40) && dst[0] == 0xff) return L2_MALFORMED;
  *ip = h;
  *msg = m;
  *slla = first;
  return 0;
}

int l2_answer_ndp(const uint8_t *f, size_t len, int32_t ifindex, const uint8_t mac[6], const l2_owned *owned, uint8_t *out) {
  /* peekSolicitationTarget: ownership first, from the fixed offsets of an untagged NS */
  if (len >= 78 && rd16(f + 12) == 0x86dd && f[20] == 58 && f[54] == 135) {
    int v = check(&owned->t6, f + 62, 16, ifindex);
    if (v) return -v;
  }
  const uint8_t *h = NULL, *m = NULL, *slla = NULL;
  int r = decode_ndp(f, len, &h, &m, &slla);
  if (r) return -r;
  if (m[0] != 135) return -L2_NOT_REQUEST;
  const uint8_t *src = h + 8, *dst = h + 24, *target = m + 8;
  int v = check(&owned->t6, target, 16, ifindex);
  if (v) return -v;
  if (memcmp(f + 6, mac, 6) == 0) return -L2_OWN_PACKET;
  int multicast = is_solicited_node_of(dst, target);
  if (!multicast && memcmp(dst, target, 16) != 0) return -L2_BAD_DST;
  int eth_ok = multicast ? f[0] == 0x33 && f[1] == 0x33 && memcmp(f + 2, dst + 12, 4) == 0 : memcmp(f, mac, 6) == 0;
  if (!eth_ok) return -L2_BAD_DST;
  int dad = memcmp(src, UNSPECIFIED, 16) == 0;
  const uint8_t *reply_to = dad ? ALL_NODES_MAC : slla ? slla : f + 6;
  if (!is_unicast_mac(f + 6) || (!dad && !is_unicast_mac(reply_to))) return -L2_BAD_SENDER;
  /* writeNeighborAdvertisement: Ethernet, IPv6 (payload 32, hop limit 255), NA + TLLA option */
  static const uint8_t ip_head[8] = {0x60, 0, 0, 0, 0, 32, 58, 255};
  const uint8_t *to = dad ? ALL_NODES_IP : src;
  memcpy(out, reply_to, 6);
  memcpy(out + 6, mac, 6);
  out[12] = 0x86;
  out[13] = 0xdd;
  memcpy(out + 14, ip_head, 8);
  memcpy(out + 22, target, 16);
  memcpy(out + 38, to, 16);
  uint8_t *na = out + 54;
  memset(na, 0, 8);
  na[0] = 136;
  na[4] = dad ? 0x20 : 0x60; /* Solicited unless DAD, Override */
  memcpy(na + 8, target, 16);
  na[24] = 2;
  na[25] = 1;
  memcpy(na + 26, mac, 6);
  uint32_t sum = icmpv6_checksum(target, to, na, 32);
  na[2] = (uint8_t)(sum >> 8);
  na[3] = (uint8_t)sum;
  return 86;
}

/* ---- ReplyLimiter ---------------------------------------------------------------------------- */

struct l2_limiter {
  double rate, burst;
  uint32_t mask;
  double *tokens, *stamps; /* stamps: -INFINITY for a slot never used since the last set */
};

/* More than 2^30 slots: NULL (the TypeScript's int32 rounding never ends there). */
l2_limiter *l2_limiter_new(double rate_per_second, double burst, size_t slots) {
  if (slots > ((size_t)1 << 30)) return NULL;
  size_t n = 1;
  while (n < slots) n <<= 1;
  l2_limiter *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->tokens = calloc(n, sizeof(double));
  l->stamps = malloc(n * sizeof(double));
  if (!l->tokens || !l->stamps) {
    l2_limiter_free(l);
    return NULL;
  }
  l->mask = (uint32_t)(n - 1);
  l2_limiter_set(l, rate_per_second, burst);
  return l;
}

void l2_limiter_free(l2_limiter *l) {
  if (!l) return;
  free(l->tokens);
  free(l->stamps);
  free(l);
}

void l2_limiter_set(l2_limiter *l, double rate_per_second, double burst) {
  l->rate = rate_per_second;
  l->burst = burst;
  for (size_t i = 0; i <= l->mask; i++) l->stamps[i] = -INFINITY;
}

/* Plain IEEE doubles in the TypeScript's order (the build has -ffp-contract=off); Math.max(0, x)
 * is written out because fmax() would turn a NaN into 0 where Math.max keeps it. */
int l2_limiter_allow(l2_limiter *l, const uint8_t *mac, double now_ms) {
  if (!(l->rate > 0)) return 1;
  uint32_t h = 0x811c9dc5u; /* FNV-1a */
  for (int i = 0; i < 6; i++) h = (h ^ mac[i]) * 0x01000193u;
  uint32_t slot = (h ^ (h >> 16)) & l->mask;
  double last = l->stamps[slot], t;
  if (last == -INFINITY) {
    t = l->burst;
  } else {
    double d = now_ms - last;
    double elapsed = isnan(d) ? d : d > 0 ? d : 0;
    t = l->tokens[slot] + (elapsed * l->rate) / 1000;
  }
  if (t > l->burst) t = l->burst;
  l->stamps[slot] = now_ms;
  if (t < 1) {
    l->tokens[slot] = t;
    return 0;
  }
  l->tokens[slot] = t - 1;
  return 1;
}
