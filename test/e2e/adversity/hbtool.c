/*
 * hbtool: the attacker of the heartbeat adversity tests (test/e2e/heartbeat-*.test.ts).
 * Built by the tests with gcc; runs as root inside a test namespace.
 *
 *   hbtool flood FILE   send the datagrams listed in FILE round robin, as fast as this machine
 *                       allows, until SIGTERM/SIGINT (bound it with `timeout 10`); prints the count
 *   hbtool send FILE    send each listed datagram once
 *   hbtool relay CAPIF INJIF FROM TO NEWDST NEWMAC
 *                       on-path relay (run in the switch namespace): every IPv4/UDP frame from FROM
 *                       to TO seen on bridge port CAPIF is re-addressed to NEWDST/NEWMAC and sent out
 *                       of bridge port INJIF, until SIGTERM; prints the count
 *
 * FILE lines: "SRC DST PORT SEQ_OFFSET HEXPAYLOAD". SRC may be any address (spoofed: raw socket,
 * IP_HDRINCL). SEQ_OFFSET >= 0: the big-endian u64 at that payload offset is incremented on every
 * send, so that every datagram claims a fresh sequence number; -1 leaves the payload as is.
 * IPv4 only (the lab's heartbeats are IPv4). UDP checksum 0 (none), allowed for IPv4.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TEMPLATES 64
#define MAX_PAYLOAD 1400
#define BATCH 64

struct tmpl {
  struct sockaddr_in dst;
  uint8_t pkt[sizeof(struct iphdr) + sizeof(struct udphdr) + MAX_PAYLOAD];
  size_t len;
  int seq_off; /* offset in pkt, -1 none */
  uint64_t seq;
};

static volatile sig_atomic_t stop_flag = 0;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static uint16_t csum(const void *data, size_t len) {
  const uint8_t *p = data;
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += (uint32_t)(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static int load(const char *file, struct tmpl *t, int max) {
  FILE *f = fopen(file, "r");
  if (!f) { perror(file); exit(2); }
  char src[64], dst[64], *hex = malloc(2 * MAX_PAYLOAD + 2);
  int port, off, n = 0;
  while (n < max && fscanf(f, "%63s %63s %d %d %2801s", src, dst, &port, &off, hex) == 5) {
    struct tmpl *x = &t[n];
    memset(x, 0, sizeof *x);
    size_t plen = strlen(hex) / 2;
    if (plen > MAX_PAYLOAD) { fprintf(stderr, "payload too long\n"); exit(2); }
    uint8_t *payload = x->pkt + sizeof(struct iphdr) + sizeof(struct udphdr);
    for (size_t i = 0; i < plen; i++) payload[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    struct iphdr *ip = (struct iphdr *)x->pkt;
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->id = htons((uint16_t)(n + 1));
    if (inet_pton(AF_INET, src, &ip->saddr) != 1 || inet_pton(AF_INET, dst, &ip->daddr) != 1) { fprintf(stderr, "bad address\n"); exit(2); }
    struct udphdr *udp = (struct udphdr *)(x->pkt + sizeof(struct iphdr));
    udp->source = htons((uint16_t)port);
    udp->dest = htons((uint16_t)port);
    udp->len = htons((uint16_t)(sizeof(struct udphdr) + plen));
    udp->check = 0;
    x->len = sizeof(struct iphdr) + sizeof(struct udphdr) + plen;
    ip->tot_len = htons((uint16_t)x->len); /* the kernel fills in the IP checksum */
    x->dst.sin_family = AF_INET;
    x->dst.sin_addr.s_addr = ip->daddr;
    x->seq_off = off >= 0 ? (int)(sizeof(struct iphdr) + sizeof(struct udphdr)) + off : -1;
    if (x->seq_off >= 0) {
      if ((size_t)off + 8 > plen) { fprintf(stderr, "sequence offset out of range\n"); exit(2); }
      for (int i = 0; i < 8; i++) x->seq = x->seq << 8 | x->pkt[x->seq_off + i];
    }
    n++;
  }
  fclose(f);
  free(hex);
  if (n == 0) { fprintf(stderr, "no datagrams in %s\n", file); exit(2); }
  return n;
}

static void bump(struct tmpl *x) {
  if (x->seq_off < 0) return;
  uint64_t v = ++x->seq;
  for (int i = 7; i >= 0; i--) { x->pkt[x->seq_off + i] = (uint8_t)v; v >>= 8; }
}

static int raw_socket(void) {
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* IPPROTO_RAW implies IP_HDRINCL */
  if (fd < 0) { perror("socket(SOCK_RAW)"); exit(2); }
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  return fd;
}

static int cmd_send(const char *file, int flood) {
  static struct tmpl t[MAX_TEMPLATES];
  int n = load(file, t, MAX_TEMPLATES);
  int fd = raw_socket();
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  /* One copy of every packet per batch slot: sendmmsg sends them in one system call. */
  static uint8_t bufs[BATCH][sizeof(struct iphdr) + sizeof(struct udphdr) + MAX_PAYLOAD];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  uint64_t sent = 0, failed = 0;
  double t0 = now_s();
  int next = 0;
  do {
    int count = flood ? BATCH : n;
    for (int i = 0; i < count; i++) {
      struct tmpl *x = &t[next];
      next = (next + 1) % n;
      bump(x);
      memcpy(bufs[i], x->pkt, x->len);
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = x->len;
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &x->dst;
      msgs[i].msg_hdr.msg_namelen = sizeof x->dst;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int done = 0;
    while (done < count && !stop_flag) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(count - done), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS || errno == EAGAIN) { failed++; done++; continue; }
        perror("sendmmsg");
        return 1;
      }
      done += r;
      sent += (uint64_t)r;
    }
  } while (flood && !stop_flag);
  double dt = now_s() - t0;
  printf("{\"sent\":%llu,\"failed\":%llu,\"seconds\":%.3f,\"rate\":%.0f}\n", (unsigned long long)sent, (unsigned long long)failed, dt, dt > 0 ? (double)sent / dt : 0.0);
  fflush(stdout);
  return 0;
}

/* ETH_P_ALL: on a bridge port, only the taps that see every frame run before the bridge consumes it. */
static int packet_socket(const char *ifname) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) { perror("socket(AF_PACKET)"); exit(2); }
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)if_nametoindex(ifname)};
  if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror(ifname); exit(2); }
  return fd;
}

static int cmd_relay(char **argv) {
  int cap = packet_socket(argv[0]);
  int inj = packet_socket(argv[1]);
  struct in_addr from, to, newdst;
  unsigned mac[6];
  if (inet_pton(AF_INET, argv[2], &from) != 1 || inet_pton(AF_INET, argv[3], &to) != 1 || inet_pton(AF_INET, argv[4], &newdst) != 1 ||
      sscanf(argv[5], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
    fprintf(stderr, "bad relay arguments\n");
    return 2;
  }
  struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: recv returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  struct sockaddr_ll out = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = (int)if_nametoindex(argv[1]), .sll_halen = 6};
  for (int i = 0; i < 6; i++) out.sll_addr[i] = (uint8_t)mac[i];
  uint8_t frame[2048];
  uint64_t relayed = 0;
  printf("{\"relaying\":true}\n");
  fflush(stdout);
  while (!stop_flag) {
    struct sockaddr_ll from_ll;
    socklen_t fl = sizeof from_ll;
    ssize_t n = recvfrom(cap, frame, sizeof frame, 0, (struct sockaddr *)&from_ll, &fl);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("recvfrom");
      return 1;
    }
    if (from_ll.sll_pkttype == PACKET_OUTGOING || n < (ssize_t)(14 + sizeof(struct iphdr) + sizeof(struct udphdr))) continue;
    if (frame[12] != 0x08 || frame[13] != 0x00) continue; /* IPv4 only */
    struct iphdr *ip = (struct iphdr *)(frame + 14);
    if (ip->protocol != IPPROTO_UDP || ip->saddr != from.s_addr || ip->daddr != to.s_addr) continue;
    struct udphdr *udp = (struct udphdr *)(frame + 14 + ip->ihl * 4);
    for (int i = 0; i < 6; i++) frame[i] = (uint8_t)mac[i];
    ip->daddr = newdst.s_addr;
    ip->check = 0;
    ip->check = htons(csum(ip, (size_t)ip->ihl * 4));
    udp->check = 0;
    if (sendto(inj, frame, (size_t)n, 0, (struct sockaddr *)&out, sizeof out) == n) relayed++;
  }
  printf("{\"relayed\":%llu}\n", (unsigned long long)relayed);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "flood") == 0) return cmd_send(argv[2], 1);
  if (argc == 3 && strcmp(argv[1], "send") == 0) return cmd_send(argv[2], 0);
  if (argc == 8 && strcmp(argv[1], "relay") == 0) return cmd_relay(argv + 2);
  fprintf(stderr, "usage: hbtool flood FILE | send FILE | relay CAPIF INJIF FROM TO NEWDST NEWMAC\n");
  return 2;
}
