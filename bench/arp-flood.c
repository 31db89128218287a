// ARP request flood for bench:arp (built with gcc at bench time into a temporary directory).
//
//   arp-flood IFINDEX DST_MAC RATE SECONDS TARGET_PREFIX
//
// Sends ARP requests on IFINDEX (an AF_PACKET socket; run inside the attacker namespace), paced
// to RATE frames/s for SECONDS, in sendmmsg() batches. Each request asks for TARGET_PREFIX.x with
// x cycling 128..254 (addresses nobody owns in the bench), from a different locally administered
// sender MAC (02:fl:...) each time, to DST_MAC (ff:ff:ff:ff:ff:ff for a broadcast flood).
// Prints "sent N elapsed_ms" on exit. Always bounded by SECONDS (and the caller's `timeout`).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s IFINDEX DST_MAC RATE SECONDS TARGET_PREFIX\n", argv[0]);
    return 2;
  }
  int ifindex = atoi(argv[1]);
  unsigned dst[6];
  if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &dst[0], &dst[1], &dst[2], &dst[3], &dst[4], &dst[5]) != 6) return 2;
  double rate = atof(argv[3]);
  double seconds = atof(argv[4]);
  struct in_addr prefix;
  char pfx[32];
  snprintf(pfx, sizeof pfx, "%s.0", argv[5]);
  if (inet_pton(AF_INET, pfx, &prefix) != 1 || rate <= 0 || seconds <= 0) return 2;

  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6, .sll_protocol = htons(ETH_P_ARP)};
  for (int i = 0; i < 6; i++) to.sll_addr[i] = (unsigned char)dst[i];

  static unsigned char frames[BATCH][60];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    unsigned char *f = frames[i];
    memset(f, 0, 60);
    for (int j = 0; j < 6; j++) f[j] = (unsigned char)dst[j];
    f[12] = 0x08, f[13] = 0x06;             // ARP
    f[14] = 0x00, f[15] = 0x01;             // Ethernet
    f[16] = 0x08, f[17] = 0x00;             // IPv4
    f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;  // request
    f[28] = 198, f[29] = 51, f[30] = 100, f[31] = 66;  // sender IP: the attacker's
    iov[i].iov_base = f;
    iov[i].iov_len = 60;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }

  uint64_t sent = 0;
  uint32_t seq = 0;
  double start = now_ms();
  double end = start + seconds * 1000;
  for (;;) {
    double t = now_ms();
    if (t >= end) break;
    uint64_t due = (uint64_t)((t - start) * rate / 1000);
    if (due <= sent) {
      usleep(200);
      continue;
    }
    int n = due - sent > BATCH ? BATCH : (int)(due - sent);
    for (int i = 0; i < n; i++, seq++) {
      unsigned char *f = frames[i];
      // source MAC = sender hardware address = 02:f1:<seq>
      f[6] = 0x02, f[7] = 0xf1, f[8] = seq >> 24, f[9] = seq >> 16, f[10] = seq >> 8, f[11] = seq;
      memcpy(f + 22, f + 6, 6);
      memcpy(f + 38, &prefix, 3);
      f[41] = 128 + seq % 127;
    }
    int r = sendmmsg(fd, msgs, n, 0);
    if (r > 0) sent += r;
    else usleep(100); // queue full: let it drain
  }
  printf("sent %llu elapsed_ms %.0f\n", (unsigned long long)sent, now_ms() - start);
  close(fd);
  return 0;
}
