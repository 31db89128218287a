/* One recvmmsg() of up to `n` datagrams into `n` slots of `slot` bytes from `buf`, non-blocking,
 * retried on EINTR: shared by recvUdpBatch (ironlb_native.c) and the heartbeat pump's thread.
 * Returns recvmmsg's result (-1 with errno set when nothing was read). */
#ifndef IRONLB_UDP_BATCH_H
#define IRONLB_UDP_BATCH_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

static inline int recv_udp_batch(int fd, uint8_t *buf, size_t slot, size_t n, struct mmsghdr *msgs, struct iovec *iov, struct sockaddr_storage *from) {
  memset(msgs, 0, sizeof msgs[0] * n);
  for (size_t i = 0; i < n; i++) {
    iov[i].iov_base = buf + i * slot;
    iov[i].iov_len = slot;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  int r;
  do {
    r = recvmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT, NULL);
  } while (r < 0 && errno == EINTR);
  return r;
}

#endif
