/*
 * Shared helpers of the bench's C programs (turn-blast, udp-echo, fwd): clocks, addresses, socket
 * options, bounded run time. Loopback only: every address given must be 127.0.0.0/8.
 */
#ifndef BENCH_NATIVE_COMMON_H
#define BENCH_NATIVE_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Batch size of recvmmsg/sendmmsg everywhere. */
#define BATCH 64
/* Largest datagram handled (the payload flag is capped below this). */
#define MAX_DGRAM 2048

/*
 * Points the n receive headers at their buffers (and at from[i] for the source address, when from
 * is not NULL), reset for the next recvmmsg.
 */
static inline void prepare_recv(struct mmsghdr *m, struct iovec *iov, uint8_t (*bufs)[MAX_DGRAM],
                                struct sockaddr_in *from, int n) {
  for (int i = 0; i < n; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = MAX_DGRAM;
    memset(&m[i].msg_hdr, 0, sizeof m[i].msg_hdr);
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
    if (from) {
      m[i].msg_hdr.msg_name = &from[i];
      m[i].msg_hdr.msg_namelen = sizeof from[i];
    }
  }
}

/*
 * Sends m[0..n) in as many sendmmsg calls as the socket takes without blocking, and returns how
 * many went out: the rest met a full send buffer (a loss the caller counts). Each call is counted
 * in *calls when it is not NULL.
 */
static inline int send_batch(int fd, struct mmsghdr *m, int n, unsigned long long *calls) {
  int done = 0;
  while (done < n) {
    int k = sendmmsg(fd, m + done, (unsigned)(n - done), MSG_DONTWAIT);
    if (calls) (*calls)++;
    if (k <= 0) {
      if (k < 0 && errno == EINTR) continue;
      break;
    }
    done += k;
  }
  return done;
}
/* Hard cap on any program's lifetime, whatever the flags say. */
#define MAX_LIFETIME_MS (30 * 60 * 1000)

static inline uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void die(const char *what) {
  fprintf(stderr, "error: %s: %s\n", what, errno ? strerror(errno) : "invalid");
  exit(2);
}

/* "127.0.0.1:3478" -> sockaddr; refuses anything off loopback. */
static inline void parse_addr(const char *s, struct sockaddr_in *out) {
  char host[64];
  const char *colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) {
    errno = 0;
    die("address must be host:port");
  }
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  long port = strtol(colon + 1, NULL, 10);
  if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &out->sin_addr) != 1) {
    errno = 0;
    die("bad address");
  }
  if ((ntohl(out->sin_addr.s_addr) >> 24) != 127) {
    errno = 0;
    die("only loopback addresses (127.0.0.0/8) are allowed");
  }
  out->sin_port = htons((uint16_t)port);
}

/* A non-blocking UDP socket bound to 127.0.0.1:port (0: any free port), with big buffers. */
static inline int udp_socket(uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int size = 4 << 20;
  /* FORCE passes rmem_max when privileged; the plain option is the fallback */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  return fd;
}

static inline uint16_t local_port(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) die("getsockname");
  return ntohs(a.sin_port);
}

static volatile sig_atomic_t stop_flag = 0;

static void on_stop(int sig) {
  (void)sig;
  stop_flag = 1;
}

static inline void trap_stop_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
}

/* CPU time (utime + stime, all threads) of a process from /proc, in µs; -1 if gone. */
static inline long long proc_cpu_us(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  p += 2; /* field 3 */
  unsigned long long ut = 0, st = 0;
  /* fields 3..13 skipped, then utime (14) and stime (15) */
  if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  long hz = sysconf(_SC_CLK_TCK);
  return (long long)((ut + st) * (1000000ull / (unsigned long long)hz));
}

#endif
