/*
 * ironlb_native: the few Linux socket calls Node cannot make by itself.
 *
 *   openPacketSocket(ifindex, ethertype, filter?) -> fd      AF_PACKET/SOCK_RAW, non-blocking
 *   recv(fd, buf, meta?) -> bytes | -1 (EAGAIN)               meta: Int32Array [pkttype, ifindex, proto]
 *   send(fd, buf, len?) -> bytes | -1 (EAGAIN/ENOBUFS)
 *   addMembership(fd, ifindex, mac) / dropMembership(...)    PACKET_MR_MULTICAST
 *   packetStats(fd) -> {packets, drops}                       PACKET_STATISTICS (resets)
 *   setRecvBuffer(fd, bytes) -> effective bytes               SO_RCVBUFFORCE, else SO_RCVBUF
 *   close(fd)
 *   setTcpMd5(fd, peerAddress, key)                           TCP_MD5SIG (empty key removes)
 *   pollReadable(fds, timeoutMs) -> readable fds              blocking ppoll(); fractional ms allowed
 *   createEventFd() / signalEventFd(fd) / drainEventFd(fd)    wake-up for a thread blocked in poll
 *   tcpConnect(peer, port, source, ttl, md5Key) -> fd         non-blocking connect, options set first
 *   tcpConnectResult(fd) -> 0 connected | 1 pending           throws the connect error
 *   openRouteMonitor() -> fd                                  NETLINK_ROUTE, link + address groups
 *   drainRouteMonitor(fd) -> messages read (-1: overrun)       non-blocking, reads all queued
 *   openUdpSocket(family, port, filter) -> fd                 heartbeats: filter attached before bind
 *   setSocketFilter(fd, filter)                               replaces a socket's classic BPF filter
 *   recvUdpBatch(fd, buf, slot, meta, addrs) -> count         recvmmsg, non-blocking, with sources
 *   sendUdp(fd, buf, address, port) -> bytes | -1             sendto
 *   socketDrops(fd) -> count                                  SO_MEMINFO drops (filter + queue full)
 *
 * All calls are synchronous. System call failures throw an Error whose message carries the errno
 * text and whose `code` is the errno name (e.g. "EPERM"); `errno` and `syscall` are set too.
 * Plain N-API (node_api.h), no global state: the module loads in worker threads. The heartbeat
 * pump (heartbeat_pump.c) and the layer-2 answer thread (answer_thread.c, its answer path in
 * l2_answer.c) are the addon's threads; v8_memory.cc its one call into V8's C++ API.
 */
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "napi_helpers.h"
#include "udp_batch.h"

/* heartbeat_pump.c */
void heartbeat_pump_register(napi_env env, napi_value exports);
/* answer_thread_napi.c */
void answer_thread_register(napi_env env, napi_value exports);
/* l2_answer_napi.c (tests only) */
void l2_answer_register(napi_env env, napi_value exports);
/* v8_memory.cc */
void v8_memory_register(napi_env env, napi_value exports);
/* file_pages_napi.c */
void file_pages_register(napi_env env, napi_value exports);

/* ------------------------------------------------------------------------------------------ */
/* packet sockets                                                                              */

/* filter: array of [code, jt, jf, k] (classic BPF). */
static int attach_filter(napi_env env, int fd, napi_value arr) {
  bool is_arr = false;
  napi_is_array(env, arr, &is_arr);
  if (!is_arr) {
    throw_type(env, "filter must be an array of [code, jt, jf, k]");
    return 0;
  }
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  if (n == 0 || n > BPF_MAXINSNS) {
    throw_range(env, "filter must have between 1 and 4096 instructions");
    return 0;
  }
  struct sock_filter *ins = calloc(n, sizeof *ins);
  if (!ins) {
    throw_errno(env, "calloc", ENOMEM);
    return 0;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value row;
    napi_get_element(env, arr, i, &row);
    bool row_arr = false;
    napi_is_array(env, row, &row_arr);
    uint32_t rn = 0;
    if (row_arr) napi_get_array_length(env, row, &rn);
    if (!row_arr || rn != 4) {
      free(ins);
      throw_type(env, "each filter instruction must be [code, jt, jf, k]");
      return 0;
    }
    uint32_t f[4];
    for (uint32_t j = 0; j < 4; j++) {
      napi_value e;
      napi_get_element(env, row, j, &e);
      if (!get_uint32(env, e, &f[j], "filter field")) {
        free(ins);
        return 0;
      }
    }
    if (f[0] > 0xffff || f[1] > 0xff || f[2] > 0xff) {
      free(ins);
      throw_range(env, "filter instruction field out of range");
      return 0;
    }
    ins[i].code = (uint16_t)f[0];
    ins[i].jt = (uint8_t)f[1];
    ins[i].jf = (uint8_t)f[2];
    ins[i].k = f[3];
  }
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = ins};
  int rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
  int err = errno;
  free(ins);
  if (rc < 0) {
    throw_errno(env, "setsockopt(SO_ATTACH_FILTER)", err);
    return 0;
  }
  return 1;
}

/* bind(), or close the socket and throw: the fd never leaks on a failed open. */
static napi_value bind_or_close(napi_env env, int fd, const struct sockaddr *sa, socklen_t len, const char *syscall) {
  if (bind(fd, sa, len) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, syscall, err);
  }
  return make_int(env, fd);
}

static napi_value OpenPacketSocket(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "openPacketSocket(ifindex, ethertype, filter?)");
  int32_t ifindex, ethertype;
  if (!get_int(env, argv[0], &ifindex, "ifindex")) return NULL;
  if (!get_int(env, argv[1], &ethertype, "ethertype")) return NULL;
  if (ifindex <= 0) return throw_range(env, "ifindex must be > 0");
  if (ethertype <= 0 || ethertype > 0xffff) return throw_range(env, "ethertype must be 1..65535");

  /* Protocol 0: the socket receives nothing until bind(), so the filter is in place before the
   * first packet can be queued. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET)", errno);

  if (argc >= 3 && !is_nullish(env, argv[2])) {
    if (!attach_filter(env, fd, argv[2])) {
      close(fd);
      return NULL;
    }
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)ethertype);
  sll.sll_ifindex = ifindex;
  return bind_or_close(env, fd, (struct sockaddr *)&sll, sizeof sll, "bind(AF_PACKET)");
}

static napi_value Recv(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "recv(fd, buffer, meta?)");
  int32_t fd;
  uint8_t *data;
  size_t len;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  if (!get_bytes(env, argv[1], &data, &len, "buffer")) return NULL;

  int32_t *meta = NULL;
  size_t meta_len = 0;
  if (argc >= 3 && !is_nullish(env, argv[2])) {
    bool is_ta = false;
    napi_is_typedarray(env, argv[2], &is_ta);
    napi_typedarray_type type = napi_uint8_array;
    void *p = NULL;
    napi_value ab;
    size_t off;
    if (is_ta) napi_get_typedarray_info(env, argv[2], &type, &meta_len, &p, &ab, &off);
    if (!is_ta || type != napi_int32_array) return throw_type(env, "meta must be an Int32Array");
    meta = (int32_t *)p;
  }

  struct sockaddr_ll sll;
  socklen_t sl;
  ssize_t n;
  do {
    sl = sizeof sll;
    memset(&sll, 0, sizeof sll);
    n = recvfrom(fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&sll, &sl);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_int(env, -1);
    return throw_errno(env, "recvfrom", errno);
  }
  if (meta) {
    if (meta_len > 0) meta[0] = sll.sll_pkttype;
    if (meta_len > 1) meta[1] = sll.sll_ifindex;
    if (meta_len > 2) meta[2] = ntohs(sll.sll_protocol);
  }
  return make_int(env, n);
}

static napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "send(fd, buffer, length?)");
  int32_t fd;
  uint8_t *data;
  size_t len;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  if (!get_bytes(env, argv[1], &data, &len, "buffer")) return NULL;
  if (argc >= 3 && !is_nullish(env, argv[2])) {
    int32_t l;
    if (!get_int(env, argv[2], &l, "length")) return NULL;
    if (l < 0 || (size_t)l > len) return throw_range(env, "length must be within the buffer");
    len = (size_t)l;
  }
  ssize_t n;
  do {
    n = send(fd, data, len, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return make_int(env, -1);
    return throw_errno(env, "send", errno);
  }
  return make_int(env, n);
}

static napi_value membership(napi_env env, napi_callback_info info, int opt, const char *name) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "membership(fd, ifindex, mac)");
  int32_t fd, ifindex;
  uint8_t *mac;
  size_t mlen;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  if (!get_int(env, argv[1], &ifindex, "ifindex")) return NULL;
  if (!get_bytes(env, argv[2], &mac, &mlen, "mac")) return NULL;
  if (mlen != 6) return throw_range(env, "mac must be 6 bytes");
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = ifindex;
  mr.mr_type = PACKET_MR_MULTICAST;
  mr.mr_alen = 6;
  memcpy(mr.mr_address, mac, 6);
  if (setsockopt(fd, SOL_PACKET, opt, &mr, sizeof mr) < 0) return throw_errno(env, name, errno);
  return make_undefined(env);
}

static napi_value AddMembership(napi_env env, napi_callback_info info) {
  return membership(env, info, PACKET_ADD_MEMBERSHIP, "setsockopt(PACKET_ADD_MEMBERSHIP)");
}

static napi_value DropMembership(napi_env env, napi_callback_info info) {
  return membership(env, info, PACKET_DROP_MEMBERSHIP, "setsockopt(PACKET_DROP_MEMBERSHIP)");
}

static napi_value PacketStats(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "packetStats(fd)");
  int32_t fd;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  struct tpacket_stats st;
  socklen_t sl = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) < 0)
    return throw_errno(env, "getsockopt(PACKET_STATISTICS)", errno);
  napi_value obj;
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "packets", make_int(env, st.tp_packets));
  napi_set_named_property(env, obj, "drops", make_int(env, st.tp_drops));
  return obj;
}

static napi_value SetRecvBuffer(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "setRecvBuffer(fd, bytes)");
  int32_t fd, bytes;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  if (!get_int(env, argv[1], &bytes, "bytes")) return NULL;
  if (bytes <= 0) return throw_range(env, "bytes must be > 0");
  /* FORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; fall back to the capped option. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) < 0)
      return throw_errno(env, "setsockopt(SO_RCVBUF)", errno);
  }
  int eff = 0;
  socklen_t sl = sizeof eff;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &eff, &sl) < 0) return throw_errno(env, "getsockopt(SO_RCVBUF)", errno);
  return make_int(env, eff);
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "close(fd)");
  int32_t fd;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  if (fd < 0) return throw_range(env, "fd must be >= 0");
  /* Linux closes the descriptor even when close() reports EINTR: never retry. */
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return make_undefined(env);
}

/* ------------------------------------------------------------------------------------------ */
/* TCP MD5 (RFC 2385)                                                                          */

static napi_value SetTcpMd5(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "setTcpMd5(fd, peerAddress, key)");
  int32_t fd;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;

  char addr[INET6_ADDRSTRLEN + 1];
  size_t alen = 0;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_string) return throw_type(env, "peerAddress must be a string");
  if (napi_get_value_string_utf8(env, argv[1], addr, sizeof addr, &alen) != napi_ok || alen >= sizeof addr - 1)
    return throw_type(env, "peerAddress is not an IP address");

  uint8_t keybuf[TCP_MD5SIG_MAXKEYLEN + 1];
  size_t klen = 0;
  napi_typeof(env, argv[2], &t);
  if (t == napi_string) {
    size_t full = 0;
    napi_get_value_string_utf8(env, argv[2], NULL, 0, &full);
    if (full > TCP_MD5SIG_MAXKEYLEN) return throw_range(env, "key must be at most 80 bytes");
    napi_get_value_string_utf8(env, argv[2], (char *)keybuf, sizeof keybuf, &klen);
  } else {
    uint8_t *kd;
    if (!get_bytes(env, argv[2], &kd, &klen, "key")) return NULL;
    if (klen > TCP_MD5SIG_MAXKEYLEN) return throw_range(env, "key must be at most 80 bytes");
    memcpy(keybuf, kd, klen);
  }

  /* The key's address family must match the socket's: an AF_INET6 socket talking to an IPv4
   * peer (dual-stack) needs the v4-mapped form. */
  int domain = 0;
  socklen_t dl = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) < 0)
    return throw_errno(env, "getsockopt(SO_DOMAIN)", errno);

  struct tcp_md5sig md;
  memset(&md, 0, sizeof md);
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, addr, &a4) == 1) {
    if (domain == AF_INET6) {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&md.tcpm_addr;
      s6->sin6_family = AF_INET6;
      s6->sin6_addr.s6_addr[10] = 0xff;
      s6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&s6->sin6_addr.s6_addr[12], &a4, 4);
    } else {
      struct sockaddr_in *s4 = (struct sockaddr_in *)&md.tcpm_addr;
      s4->sin_family = AF_INET;
      s4->sin_addr = a4;
    }
  } else if (inet_pton(AF_INET6, addr, &a6) == 1) {
    if (domain != AF_INET6) return throw_type(env, "an IPv6 peer needs an IPv6 socket");
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&md.tcpm_addr;
    s6->sin6_family = AF_INET6;
    s6->sin6_addr = a6;
  } else {
    return throw_type(env, "peerAddress is not an IP address");
  }
  md.tcpm_keylen = (uint16_t)klen;
  memcpy(md.tcpm_key, keybuf, klen);
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md, sizeof md) < 0)
    return throw_errno(env, "setsockopt(TCP_MD5SIG)", errno);
  return make_undefined(env);
}

/* ------------------------------------------------------------------------------------------ */
/* waiting                                                                                     */

static napi_value PollReadable(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "pollReadable(fds, timeoutMs)");
  bool is_arr = false;
  napi_is_array(env, argv[0], &is_arr);
  if (!is_arr) return throw_type(env, "fds must be an array of numbers");
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_number) return throw_type(env, "timeoutMs must be a number");
  double timeout_ms;
  napi_get_value_double(env, argv[1], &timeout_ms);

  uint32_t n = 0;
  napi_get_array_length(env, argv[0], &n);
  if (n > 4096) return throw_range(env, "too many fds");
  struct pollfd local[64];
  struct pollfd *pfd = n <= 64 ? local : calloc(n, sizeof *pfd);
  if (!pfd) return throw_errno(env, "calloc", ENOMEM);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    int32_t fd;
    napi_get_element(env, argv[0], i, &e);
    if (!get_int(env, e, &fd, "fd")) {
      if (pfd != local) free(pfd);
      return NULL;
    }
    pfd[i].fd = fd;
    pfd[i].events = POLLIN;
    pfd[i].revents = 0;
  }
  struct timespec ts, *tsp = NULL;
  if (timeout_ms >= 0) {
    double s = timeout_ms / 1000.0;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec < 0) ts.tv_nsec = 0;
    if (ts.tv_nsec > 999999999) ts.tv_nsec = 999999999;
    tsp = &ts;
  }
  int rc = ppoll(pfd, n, tsp, NULL);
  int err = errno;
  napi_value result;
  napi_create_array(env, &result);
  if (rc < 0 && err != EINTR) {
    if (pfd != local) free(pfd);
    return throw_errno(env, "ppoll", err);
  }
  uint32_t k = 0;
  for (uint32_t i = 0; rc > 0 && i < n; i++) {
    /* Errors and invalid fds are reported as readable so that the next read surfaces them. */
    if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) {
      napi_set_element(env, result, k++, make_int(env, pfd[i].fd));
    }
  }
  if (pfd != local) free(pfd);
  return result;
}

static napi_value CreateEventFd(napi_env env, napi_callback_info info) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "eventfd", errno);
  return make_int(env, fd);
}

static napi_value SignalEventFd(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "signalEventFd(fd)");
  int32_t fd;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  uint64_t one = 1;
  ssize_t n;
  do {
    n = write(fd, &one, sizeof one);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN) return throw_errno(env, "write(eventfd)", errno);
  return make_undefined(env);
}

static napi_value DrainEventFd(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "drainEventFd(fd)");
  int32_t fd;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  uint64_t v = 0;
  ssize_t n;
  do {
    n = read(fd, &v, sizeof v);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN) return make_int(env, 0);
    return throw_errno(env, "read(eventfd)", errno);
  }
  return make_int(env, (int64_t)v);
}

/* ------------------------------------------------------------------------------------------ */
/* Route monitor: link and address change notifications, so interface changes are seen at once */

static napi_value OpenRouteMonitor(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return throw_errno(env, "socket(AF_NETLINK)", errno);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  return bind_or_close(env, fd, (struct sockaddr *)&sa, sizeof sa, "bind(AF_NETLINK)");
}

/* The caller only needs to know that something changed (it rescans), so messages are counted,
 * not decoded. An overrun (ENOBUFS: notifications were lost) returns -1: rescan all the same. */
static napi_value DrainRouteMonitor(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "drainRouteMonitor(fd)");
  int32_t fd;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  char buf[8192];
  int64_t count = 0;
  int overrun = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      if (errno == ENOBUFS) {
        overrun = 1;
        continue;
      }
      return throw_errno(env, "recv(AF_NETLINK)", errno);
    }
    if (n == 0) break;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) count++;
  }
  return make_int(env, overrun ? -1 : count);
}

/* ------------------------------------------------------------------------------------------ */
/* BGP active open: a TCP socket with TTL, source address and TCP-MD5 set before connect()     */

static int parse_sockaddr(const char *text, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *len = sizeof *s4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    *len = sizeof *s6;
    return AF_INET6;
  }
  return -1;
}

static int get_ip_string(napi_env env, napi_value v, char *out, size_t cap) {
  napi_valuetype t;
  size_t n = 0;
  napi_typeof(env, v, &t);
  if (t != napi_string) return 0;
  if (napi_get_value_string_utf8(env, v, out, cap, &n) != napi_ok || n >= cap - 1) return 0;
  return 1;
}

/* tcpConnect(peerAddress, port, sourceAddress|null, ttl, md5Key|null) -> fd
 * Non-blocking, close-on-exec; connect() is started (EINPROGRESS); poll with tcpConnectResult. */
static napi_value TcpConnect(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS + 1];
  argc = MAX_ARGS + 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) return throw_type(env, "tcpConnect(peerAddress, port, sourceAddress, ttl, md5Key?)");
  char peer[INET6_ADDRSTRLEN + 1], src[INET6_ADDRSTRLEN + 1];
  if (!get_ip_string(env, argv[0], peer, sizeof peer)) return throw_type(env, "peerAddress is not an IP address");
  int32_t port, ttl;
  if (!get_int(env, argv[1], &port, "port")) return NULL;
  if (port < 1 || port > 65535) return throw_range(env, "port out of range");
  if (!get_int(env, argv[3], &ttl, "ttl")) return NULL;
  if (ttl < 0 || ttl > 255) return throw_range(env, "ttl out of range");
  struct sockaddr_storage pa;
  socklen_t palen;
  int family = parse_sockaddr(peer, port, &pa, &palen);
  if (family < 0) return throw_type(env, "peerAddress is not an IP address");

  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (ttl > 0) {
    int r = family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl)
                              : setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
    if (r < 0) { int e = errno; close(fd); return throw_errno(env, "setsockopt(TTL)", e); }
  }
  if (!is_nullish(env, argv[2])) {
    if (!get_ip_string(env, argv[2], src, sizeof src)) { close(fd); return throw_type(env, "sourceAddress is not an IP address"); }
    struct sockaddr_storage sa;
    socklen_t salen;
    if (parse_sockaddr(src, 0, &sa, &salen) != family) { close(fd); return throw_type(env, "sourceAddress family differs from peerAddress"); }
    if (bind(fd, (struct sockaddr *)&sa, salen) < 0) { int e = errno; close(fd); return throw_errno(env, "bind", e); }
  }
  if (argc > 4 && !is_nullish(env, argv[4])) {
    uint8_t *kd = NULL;
    size_t klen = 0;
    char kbuf[TCP_MD5SIG_MAXKEYLEN + 2];
    napi_valuetype t;
    napi_typeof(env, argv[4], &t);
    if (t == napi_string) {
      size_t full = 0;
      napi_get_value_string_utf8(env, argv[4], NULL, 0, &full);
      if (full > TCP_MD5SIG_MAXKEYLEN) { close(fd); return throw_range(env, "key must be at most 80 bytes"); }
      napi_get_value_string_utf8(env, argv[4], kbuf, sizeof kbuf, &klen);
      kd = (uint8_t *)kbuf;
    } else if (!get_bytes(env, argv[4], &kd, &klen, "md5Key")) {
      close(fd);
      return NULL;
    }
    if (klen > TCP_MD5SIG_MAXKEYLEN) { close(fd); return throw_range(env, "key must be at most 80 bytes"); }
    if (klen > 0) {
      struct tcp_md5sig md;
      memset(&md, 0, sizeof md);
      memcpy(&md.tcpm_addr, &pa, palen);
      md.tcpm_keylen = (uint16_t)klen;
      memcpy(md.tcpm_key, kd, klen);
      if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md, sizeof md) < 0) { int e = errno; close(fd); return throw_errno(env, "setsockopt(TCP_MD5SIG)", e); }
    }
  }
  if (connect(fd, (struct sockaddr *)&pa, palen) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return throw_errno(env, "connect", e);
  }
  return make_int(env, fd);
}

/* tcpConnectResult(fd) -> 0 connected, 1 still connecting; throws the connect error (SO_ERROR). */
static napi_value TcpConnectResult(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "tcpConnectResult(fd)");
  int32_t fd;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int n = poll(&p, 1, 0);
  if (n < 0) return throw_errno(env, "poll", errno);
  if (n == 0) return make_int(env, 1);
  int err = 0;
  socklen_t el = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) return throw_errno(env, "getsockopt(SO_ERROR)", errno);
  if (err != 0) return throw_errno(env, "connect", err);
  if (p.revents & (POLLERR | POLLHUP)) return throw_errno(env, "connect", ECONNRESET);
  return make_int(env, 0);
}


/* ------------------------------------------------------------------------------------------ */
/* Heartbeat UDP sockets (speaker membership): a kernel filter in front of the receive queue,   */
/* batched receive for a worker thread, drop counter. Separate from the packet-socket code.    */

/* openUdpSocket(family 4|6, port, filter) -> fd: non-blocking, close-on-exec, IPV6_V6ONLY for 6.
 * The filter is attached before bind(), so no datagram the filter refuses is ever queued. */
static napi_value OpenUdpSocket(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "openUdpSocket(family, port, filter)");
  int32_t family, port;
  if (!get_int(env, argv[0], &family, "family")) return NULL;
  if (!get_int(env, argv[1], &port, "port")) return NULL;
  if (family != 4 && family != 6) return throw_range(env, "family must be 4 or 6");
  if (port < 0 || port > 65535) return throw_range(env, "port out of range");
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return throw_errno(env, "socket(SOCK_DGRAM)", errno);
  if (family == 6) {
    int one = 1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, "setsockopt(IPV6_V6ONLY)", e);
    }
  }
  if (!attach_filter(env, fd, argv[2])) {
    close(fd);
    return NULL;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    s4->sin_addr.s_addr = htonl(INADDR_ANY);
    len = sizeof *s4;
  } else {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    s6->sin6_addr = in6addr_any;
    len = sizeof *s6;
  }
  return bind_or_close(env, fd, (struct sockaddr *)&ss, len, "bind(SOCK_DGRAM)");
}

/* setSocketFilter(fd, filter): replaces the socket's classic BPF filter (atomically, in the kernel). */
static napi_value SetSocketFilter(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "setSocketFilter(fd, filter)");
  int32_t fd;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  if (!attach_filter(env, fd, argv[1])) return NULL;
  return make_undefined(env);
}

#define UDP_BATCH_MAX 64
#define UDP_META_STRIDE 3
#define UDP_ADDR_STRIDE 16

/* recvUdpBatch(fd, buf, slotSize, meta: Int32Array, addrs: Uint8Array) -> count (0: none queued).
 * Datagram i lands in buf[i*slotSize, ...); meta[3i..3i+2] = [length (-1 if truncated), family
 * (4|6), source port]; addrs[16i..] = the source address bytes (4 for IPv4, 16 for IPv6). */
static napi_value RecvUdpBatch(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS + 1];
  argc = MAX_ARGS + 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5) return throw_type(env, "recvUdpBatch(fd, buf, slotSize, meta, addrs)");
  int32_t fd, slot;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  uint8_t *buf, *addrs;
  size_t blen, alen;
  if (!get_bytes(env, argv[1], &buf, &blen, "buf")) return NULL;
  if (!get_int(env, argv[2], &slot, "slotSize")) return NULL;
  if (slot <= 0) return throw_range(env, "slotSize must be > 0");
  bool is_ta = false;
  napi_is_typedarray(env, argv[3], &is_ta);
  if (!is_ta) return throw_type(env, "meta must be an Int32Array");
  napi_typedarray_type mtype;
  size_t mlen;
  void *mp;
  napi_value mab;
  size_t moff;
  napi_get_typedarray_info(env, argv[3], &mtype, &mlen, &mp, &mab, &moff);
  if (mtype != napi_int32_array) return throw_type(env, "meta must be an Int32Array");
  if (!get_bytes(env, argv[4], &addrs, &alen, "addrs")) return NULL;
  int32_t *meta = (int32_t *)mp;
  size_t n = blen / (size_t)slot;
  if (mlen / UDP_META_STRIDE < n) n = mlen / UDP_META_STRIDE;
  if (alen / UDP_ADDR_STRIDE < n) n = alen / UDP_ADDR_STRIDE;
  if (n > UDP_BATCH_MAX) n = UDP_BATCH_MAX;
  if (n == 0) return throw_range(env, "buffers too small for one datagram");
  struct mmsghdr msgs[UDP_BATCH_MAX];
  struct iovec iov[UDP_BATCH_MAX];
  struct sockaddr_storage from[UDP_BATCH_MAX];
  int r = recv_udp_batch(fd, buf, (size_t)slot, n, msgs, iov, from);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_int(env, 0);
    return throw_errno(env, "recvmmsg", errno);
  }
  for (int i = 0; i < r; i++) {
    int32_t *m = meta + i * UDP_META_STRIDE;
    uint8_t *a = addrs + i * UDP_ADDR_STRIDE;
    m[0] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)msgs[i].msg_len;
    if (from[i].ss_family == AF_INET) {
      struct sockaddr_in *s4 = (struct sockaddr_in *)&from[i];
      m[1] = 4;
      m[2] = ntohs(s4->sin_port);
      memcpy(a, &s4->sin_addr, 4);
    } else {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&from[i];
      m[1] = 6;
      m[2] = ntohs(s6->sin6_port);
      memcpy(a, &s6->sin6_addr, 16);
    }
  }
  return make_int(env, r);
}

/* sendUdp(fd, buf, address, port) -> bytes | -1 (EAGAIN/ENOBUFS); other errors throw. */
static napi_value SendUdp(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 4) return throw_type(env, "sendUdp(fd, buf, address, port)");
  int32_t fd, port;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  uint8_t *data;
  size_t len;
  if (!get_bytes(env, argv[1], &data, &len, "buf")) return NULL;
  char text[INET6_ADDRSTRLEN + 1];
  if (!get_ip_string(env, argv[2], text, sizeof text)) return throw_type(env, "address is not an IP address");
  if (!get_int(env, argv[3], &port, "port")) return NULL;
  if (port < 1 || port > 65535) return throw_range(env, "port out of range");
  struct sockaddr_storage ss;
  socklen_t sl;
  if (parse_sockaddr(text, port, &ss, &sl) < 0) return throw_type(env, "address is not an IP address");
  ssize_t n;
  do {
    n = sendto(fd, data, len, 0, (struct sockaddr *)&ss, sl);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return make_int(env, -1);
    return throw_errno(env, "sendto", errno);
  }
  return make_int(env, n);
}

/* socketDrops(fd) -> the kernel's drop count of this socket since it was opened (SO_MEMINFO,
 * SK_MEMINFO_DROPS): datagrams the filter refused plus those that found the queue full. */
static napi_value SocketDrops(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "socketDrops(fd)");
  int32_t fd;
  if (!get_int(env, argv[0], &fd, "fd")) return NULL;
  uint32_t mem[SK_MEMINFO_VARS];
  socklen_t ml = sizeof mem;
  memset(mem, 0, sizeof mem);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &ml) < 0) return throw_errno(env, "getsockopt(SO_MEMINFO)", errno);
  return make_int(env, (int64_t)mem[SK_MEMINFO_DROPS]);
}

/* ------------------------------------------------------------------------------------------ */

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"openPacketSocket", NULL, OpenPacketSocket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recv", NULL, Recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, Send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addMembership", NULL, AddMembership, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dropMembership", NULL, DropMembership, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetStats", NULL, PacketStats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setRecvBuffer", NULL, SetRecvBuffer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTcpMd5", NULL, SetTcpMd5, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollReadable", NULL, PollReadable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createEventFd", NULL, CreateEventFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"signalEventFd", NULL, SignalEventFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"drainEventFd", NULL, DrainEventFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpConnect", NULL, TcpConnect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpConnectResult", NULL, TcpConnectResult, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openRouteMonitor", NULL, OpenRouteMonitor, NULL, NULL, NULL, napi_enumerable, NULL},
      {"drainRouteMonitor", NULL, DrainRouteMonitor, NULL, NULL, NULL, napi_enumerable, NULL},
      /* heartbeat UDP sockets */
      {"openUdpSocket", NULL, OpenUdpSocket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setSocketFilter", NULL, SetSocketFilter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvUdpBatch", NULL, RecvUdpBatch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendUdp", NULL, SendUdp, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketDrops", NULL, SocketDrops, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  heartbeat_pump_register(env, exports);
  answer_thread_register(env, exports);
  l2_answer_register(env, exports);
  v8_memory_register(env, exports);
  file_pages_register(env, exports);
  return exports;
}
