/*
 * udp-echo: the bench's echo peer. Every datagram goes back to its source, in recvmmsg/sendmmsg
 * batches. Prints {"port":N} once bound, and its counts as JSON when stopped (SIGTERM/SIGINT) or
 * after --max-ms.
 *
 *   udp-echo [--port 0] [--max-ms 1800000]
 */
#include "common.h"

#include <poll.h>

int main(int argc, char **argv) {
  long port = 0, max_ms = MAX_LIFETIME_MS;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) port = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--max-ms") && i + 1 < argc) max_ms = strtol(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "usage: udp-echo [--port N] [--max-ms N]\n");
      return 2;
    }
  }
  if (max_ms <= 0 || max_ms > MAX_LIFETIME_MS) max_ms = MAX_LIFETIME_MS;
  trap_stop_signals();
  int fd = udp_socket((uint16_t)port);
  printf("{\"port\":%u}\n", local_port(fd));
  fflush(stdout);

  static uint8_t bufs[BATCH][MAX_DGRAM];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
  unsigned long long received = 0, sent = 0, send_fail = 0, batches = 0;
  const uint64_t deadline = mono_ns() + (uint64_t)max_ms * 1000000ull;
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  while (!stop_flag && mono_ns() < deadline) {
    prepare_recv(msgs, iov, bufs, from, BATCH);
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) die("recvmmsg");
      poll(&pfd, 1, 100);
      continue;
    }
    received += (unsigned)n;
    batches++;
    /* echo: the same buffers, lengths and source addresses */
    for (int i = 0; i < n; i++) iov[i].iov_len = msgs[i].msg_len;
    int done = send_batch(fd, msgs, n, NULL);
    sent += (unsigned)done;
    send_fail += (unsigned)(n - done); /* full send buffer: a loss, counted */
  }
  printf("{\"received\":%llu,\"sent\":%llu,\"send_failed\":%llu,\"batches\":%llu}\n", received, sent,
         send_fail, batches);
  fflush(stdout);
  return 0;
}
