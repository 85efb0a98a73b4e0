/*
 * fwd: the forwarder floor. The two legs of a relay with no TURN work: datagrams from a client on
 * the listener socket go out of that client's own relay socket to the fixed peer, and datagrams
 * from the peer on a relay socket go back to its client through the listener socket. One relay
 * socket per client address, learned from its first datagram (as an allocation would be).
 *
 * Compiled three times: FWD_MMSG=0 (fwd-plain: recvfrom/sendto, one datagram per system call),
 * FWD_MMSG=1 (fwd-mmsg: recvmmsg/sendmmsg; a listener batch is split per relay socket, the return
 * leg of all ready relay sockets goes out in one sendmmsg on the listener), and FWD_MMSG=1 with
 * FWD_CD=1 (fwd-mmsg-cd: the same with a relay's per-packet TURN work on ChannelData: the client
 * leg carries ChannelData frames, whose header is checked and whose channel is looked up in the
 * flow's bindings before the payload goes out bare; the return leg gets the header back. A
 * channel is bound on its first frame, as if a ChannelBind had installed it; driven by
 * `turn-blast --raw-channel`).
 *
 *   fwd-plain|fwd-mmsg --peer 127.0.0.1:PORT | --pairs  [--port 0] [--max-flows 1024] [--max-ms 1800000]
 *
 * --pairs: the client-to-client floor. Flows are paired in order of arrival (0 with 1, 2 with 3,
 * ...) and each flow's relay socket sends to its partner's relay socket instead of to a peer, as
 * two TURN clients relaying to each other's relayed address do. A datagram whose partner has not
 * arrived yet is dropped (and counted).
 *
 * Prints {"port":N} once bound, and its counts as JSON when stopped (SIGTERM/SIGINT) or after
 * --max-ms.
 */
#include "common.h"

#include <sys/epoll.h>

#ifndef FWD_MMSG
#error "compile with -DFWD_MMSG=0 or -DFWD_MMSG=1"
#endif
#ifndef FWD_CD
#define FWD_CD 0
#endif
#if FWD_CD && !FWD_MMSG
#error "FWD_CD needs FWD_MMSG=1"
#endif
#define BINDINGS 4 /* channel bindings per flow (FWD_CD) */

#define TABLE 4096 /* open-addressing slots, a power of two above 2 * max flows */
#define MAX_FLOWS 1024

struct flow {
  int fd;
  struct sockaddr_in client;
  struct sockaddr_in relay; /* this flow's relay socket address (the partner's peer in --pairs) */
  uint16_t channels[BINDINGS]; /* FWD_CD: bound channel numbers (0: free) */
};

static struct flow flows[MAX_FLOWS];
static int nflows = 0, max_flows = MAX_FLOWS;
static uint64_t keys[TABLE]; /* 0: empty; else (ip << 16 | port) + 1 */
static int slots[TABLE];
static int listener, ep;
static struct sockaddr_in peer;
static int pairs = 0;
static unsigned long long to_peer = 0, to_client = 0, dropped = 0, syscalls = 0;

static inline uint64_t key_of(const struct sockaddr_in *a) {
  return (((uint64_t)a->sin_addr.s_addr << 16) | a->sin_port) + 1;
}

/* The flow of a client address; a new relay socket for a new one; -1 when the table is full. */
static int flow_of(const struct sockaddr_in *a) {
  uint64_t k = key_of(a);
  uint32_t h = (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 52) & (TABLE - 1);
  for (int probe = 0; probe < TABLE; probe++, h = (h + 1) & (TABLE - 1)) {
    if (keys[h] == k) return slots[h];
    if (keys[h] == 0) {
      if (nflows >= max_flows) return -1;
      int f = nflows++;
      flows[f].fd = udp_socket(0);
      flows[f].client = *a;
      socklen_t rl = sizeof flows[f].relay;
      if (getsockname(flows[f].fd, (struct sockaddr *)&flows[f].relay, &rl) < 0) die("getsockname");
      struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)f + 1};
      if (epoll_ctl(ep, EPOLL_CTL_ADD, flows[f].fd, &ev) < 0) die("epoll_ctl");
      keys[h] = k;
      slots[h] = f;
      return f;
    }
  }
  return -1;
}

/* Where flow f's datagrams go: the peer, or in --pairs the partner's relay socket (NULL: not yet). */
static inline const struct sockaddr_in *dest_of(int f) {
  if (!pairs) return &peer;
  int p = f ^ 1;
  return p < nflows ? &flows[p].relay : NULL;
}

#if !FWD_MMSG

static uint8_t buf[MAX_DGRAM];

static void from_clients(void) {
  for (int i = 0; i < BATCH; i++) {
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(listener, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
    syscalls++;
    if (n < 0) return;
    int f = flow_of(&from);
    const struct sockaddr_in *to = f < 0 ? NULL : dest_of(f);
    if (!to) {
      dropped++;
      continue;
    }
    syscalls++;
    if (sendto(flows[f].fd, buf, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to) == n)
      to_peer++;
    else
      dropped++;
  }
}

static void from_peer(int f) {
  for (int i = 0; i < BATCH; i++) {
    ssize_t n = recv(flows[f].fd, buf, sizeof buf, MSG_DONTWAIT);
    syscalls++;
    if (n < 0) return;
    syscalls++;
    if (sendto(listener, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&flows[f].client,
               sizeof flows[f].client) == n)
      to_client++;
    else
      dropped++;
  }
}

static void flush_to_clients(void) {}

#else

static uint8_t in_bufs[BATCH][MAX_DGRAM];
static struct mmsghdr in_msgs[BATCH];
static struct iovec in_iov[BATCH];
static struct sockaddr_in in_from[BATCH];
static struct mmsghdr out_msgs[BATCH];
static struct iovec out_iov[BATCH];

/* The return leg: datagrams of every ready relay socket, sent in one sendmmsg on the listener. */
static uint8_t back_bufs[BATCH][MAX_DGRAM];
static struct mmsghdr back_msgs[BATCH];
static struct iovec back_iov[BATCH];
static int nback = 0;

static void send_all(int fd, struct mmsghdr *m, int n, unsigned long long *count) {
  int done = send_batch(fd, m, n, &syscalls);
  *count += (unsigned)done;
  dropped += (unsigned)(n - done);
}

#if FWD_CD
/* A ChannelData frame of flow f: header checked, channel looked up (bound on first sight). */
static int channel_data(int f, const uint8_t *b, size_t *off, size_t *len) {
  if (*len < 4 || (b[0] & 0xC0) != 0x40) return 0;
  uint16_t ch = (uint16_t)(b[0] << 8 | b[1]), dlen = (uint16_t)(b[2] << 8 | b[3]);
  if ((size_t)dlen + 4 > *len) return 0;
  uint16_t *c = flows[f].channels;
  int hit = 0;
  for (int i = 0; i < BINDINGS && !hit; i++) {
    if (c[i] == ch) hit = 1;
    else if (c[i] == 0) c[i] = ch, hit = 1;
  }
  if (!hit) return 0;
  *off = 4;
  *len = dlen;
  return 1;
}
#endif

static void from_clients(void) {
  prepare_recv(in_msgs, in_iov, in_bufs, in_from, BATCH);
  int n = recvmmsg(listener, in_msgs, BATCH, MSG_DONTWAIT, NULL);
  syscalls++;
  if (n <= 0) return;
  int flow_at[BATCH];
  size_t off[BATCH], len[BATCH];
  for (int i = 0; i < n; i++) {
    flow_at[i] = flow_of(&in_from[i]);
    off[i] = 0;
    len[i] = in_msgs[i].msg_len;
#if FWD_CD
    if (flow_at[i] >= 0 && !channel_data(flow_at[i], in_bufs[i], &off[i], &len[i])) flow_at[i] = -1;
#endif
  }
  /* one sendmmsg per relay socket, in order of first appearance; order within a flow is kept */
  for (int i = 0; i < n; i++) {
    int f = flow_at[i];
    if (f == -2) continue; /* already sent with its flow */
    const struct sockaddr_in *to = f < 0 ? NULL : dest_of(f);
    if (!to) {
      dropped++;
      continue;
    }
    int k = 0;
    for (int j = i; j < n; j++) {
      if (flow_at[j] != f) continue;
      out_iov[k].iov_base = in_bufs[j] + off[j];
      out_iov[k].iov_len = len[j];
      memset(&out_msgs[k].msg_hdr, 0, sizeof out_msgs[k].msg_hdr);
      out_msgs[k].msg_hdr.msg_iov = &out_iov[k];
      out_msgs[k].msg_hdr.msg_iovlen = 1;
      out_msgs[k].msg_hdr.msg_name = (void *)to;
      out_msgs[k].msg_hdr.msg_namelen = sizeof *to;
      k++;
      flow_at[j] = -2;
    }
    send_all(flows[f].fd, out_msgs, k, &to_peer);
  }
}

static void flush_to_clients(void) {
  if (nback > 0) send_all(listener, back_msgs, nback, &to_client);
  nback = 0;
}

static void from_peer(int f) {
  if (nback == BATCH) flush_to_clients();
  int room = BATCH - nback;
  for (int i = 0; i < room; i++) {
    struct mmsghdr *m = &back_msgs[nback + i];
    back_iov[nback + i].iov_base = back_bufs[nback + i] + 4 * FWD_CD; /* room for the header */
    back_iov[nback + i].iov_len = MAX_DGRAM - 4;
    memset(&m->msg_hdr, 0, sizeof m->msg_hdr);
    m->msg_hdr.msg_iov = &back_iov[nback + i];
    m->msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(flows[f].fd, back_msgs + nback, (unsigned)room, MSG_DONTWAIT, NULL);
  syscalls++;
  if (n <= 0) return;
  for (int i = nback; i < nback + n; i++) {
    back_iov[i].iov_len = back_msgs[i].msg_len;
#if FWD_CD
    uint8_t *h = back_bufs[i];
    h[0] = (uint8_t)(flows[f].channels[0] >> 8);
    h[1] = (uint8_t)flows[f].channels[0];
    h[2] = (uint8_t)(back_msgs[i].msg_len >> 8);
    h[3] = (uint8_t)back_msgs[i].msg_len;
    back_iov[i].iov_base = h;
    back_iov[i].iov_len += 4;
#endif
    back_msgs[i].msg_hdr.msg_name = &flows[f].client;
    back_msgs[i].msg_hdr.msg_namelen = sizeof flows[f].client;
  }
  nback += n;
}

#endif

int main(int argc, char **argv) {
  long port = 0, max_ms = MAX_LIFETIME_MS;
  const char *peer_s = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) port = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--peer") && i + 1 < argc) peer_s = argv[++i];
    else if (!strcmp(argv[i], "--pairs")) pairs = 1;
    else if (!strcmp(argv[i], "--max-flows") && i + 1 < argc) max_flows = (int)strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--max-ms") && i + 1 < argc) max_ms = strtol(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "usage: fwd --peer 127.0.0.1:PORT | --pairs [--port N] [--max-flows N] [--max-ms N]\n");
      return 2;
    }
  }
  if (!peer_s == !pairs) {
    fprintf(stderr, "fwd: give either --peer or --pairs\n");
    return 2;
  }
  if (max_flows <= 0 || max_flows > MAX_FLOWS) max_flows = MAX_FLOWS;
  if (max_ms <= 0 || max_ms > MAX_LIFETIME_MS) max_ms = MAX_LIFETIME_MS;
  if (peer_s) parse_addr(peer_s, &peer);
  trap_stop_signals();
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  listener = udp_socket((uint16_t)port);
  struct epoll_event lev = {.events = EPOLLIN, .data.u32 = 0};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev) < 0) die("epoll_ctl");
  printf("{\"port\":%u}\n", local_port(listener));
  fflush(stdout);

  const uint64_t deadline = mono_ns() + (uint64_t)max_ms * 1000000ull;
  struct epoll_event evs[64];
  while (!stop_flag && mono_ns() < deadline) {
    int n = epoll_wait(ep, evs, 64, 100);
    syscalls++;
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u32 == 0) from_clients();
      else from_peer((int)evs[i].data.u32 - 1);
    }
    flush_to_clients();
  }
  printf("{\"to_peer\":%llu,\"to_client\":%llu,\"dropped\":%llu,\"flows\":%d,\"syscalls\":%llu}\n", to_peer,
         to_client, dropped, nflows, syscalls);
  fflush(stdout);
  return 0;
}
