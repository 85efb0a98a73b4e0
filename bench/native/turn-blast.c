/*
 * turn-blast: a TURN load generator that does not saturate before the server does.
 *
 * Setup (TURN mode): per flow, one UDP socket connected to the server; Allocate (the 401
 * realm/nonce exchange, then long-term credentials with MESSAGE-INTEGRITY, RFC 8656/8489),
 * CreatePermission and ChannelBind (channel 0x4000) for the peer. No refreshes: runs are short.
 * Then ChannelData goes out with sendmmsg and the echoes come back with recvmmsg; the payload
 * carries its send time, so latency needs no per-packet state. At the end Refresh(lifetime 0)
 * releases the allocations.
 *
 * --raw: no TURN at all; plain UDP payloads to --server (a forwarder floor, bench/native/fwd.c),
 * so floors and servers see the same payload sizes (a TURN server's client leg adds the 4-byte
 * ChannelData header, as it does in a real relay). --raw-channel: no TURN setup either, but the
 * datagrams are ChannelData frames (channel 0x4000), for the floor that parses them (fwd-mmsg-cd).
 *
 * Load shapes (the packets a flow sends; every one crosses the server twice through the echo peer):
 *   --window W  closed loop: W packets in flight per flow, each echo sends the next;
 *   --rate R    open loop: R packets/s over all flows, paced in batches;
 *   neither     flat out: a batch per flow per loop, as fast as the sockets take them.
 * Sending stops after --warmup-ms + --duration-ms; --drain-ms later the run ends. The measured
 * window is the --duration-ms after the warm-up: counts, latency, and, for every --cpu-pid (the
 * server's processes), CPU time from /proc (utime + stime), so that µs per relayed packet comes
 * from the same instants as the packet counts.
 *
 * Prints one JSON object on stdout. Exit status 0 when it ran, 1 when setup failed, 2 on misuse.
 *
 *   turn-blast --server 127.0.0.1:3478 [--peer 127.0.0.1:PORT] [--user U --pass P] [--raw]
 *              [--flows 10] [--payload 172] [--window W | --rate R] [--warmup-ms 500]
 *              [--duration-ms 2000] [--drain-ms 300] [--cpu-pid PID]... [--peer-pid PID]
 */
#include "common.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/resource.h>

#define MAX_FLOWS 1024
#define MAX_PIDS 8
#define CHANNEL 0x4000
#define MAGIC 0x2112A442u
#define HIST_US (1 << 17) /* latency histogram: 1 µs buckets up to 131 ms, the rest clamped */

enum { A_USERNAME = 0x0006, A_MI = 0x0008, A_ERROR = 0x0009, A_CHANNEL = 0x000C, A_LIFETIME = 0x000D,
       A_PEER = 0x0012, A_REALM = 0x0014, A_NONCE = 0x0015, A_RELAYED = 0x0016, A_TRANSPORT = 0x0019 };
enum { M_ALLOCATE = 0x003, M_REFRESH = 0x004, M_PERMISSION = 0x008, M_CHANNEL_BIND = 0x009 };
#define SUCCESS(m) ((m) | 0x0100)
#define ERROR(m) ((m) | 0x0110)

static struct {
  struct sockaddr_in server, peer;
  int have_peer, raw, raw_channel, flows, payload, window;
  long rate, warmup_ms, duration_ms, drain_ms;
  const char *user, *pass;
  int cpu_pids[MAX_PIDS], ncpu, peer_pid;
} o = {.flows = 10, .payload = 172, .warmup_ms = 500, .duration_ms = 2000, .drain_ms = 300,
       .user = "user", .pass = "pass"};

static int fds[MAX_FLOWS];
static char realm[256], nonce[512];
static uint8_t key[16];
static unsigned hist[HIST_US];

/* ------------------------------------------------------------------ STUN messages */

struct msg {
  uint8_t b[1500];
  size_t len;
  uint8_t txid[12];
};

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void msg_init(struct msg *m, uint16_t type) {
  m->len = 20;
  put16(m->b, type);
  put16(m->b + 2, 0);
  uint32_t magic = htonl(MAGIC);
  memcpy(m->b + 4, &magic, 4);
  for (int i = 0; i < 12; i++) m->txid[i] = (uint8_t)(rand() & 0xff);
  memcpy(m->b + 8, m->txid, 12);
}

static void msg_attr(struct msg *m, uint16_t type, const void *v, size_t n) {
  size_t padded = (n + 3) & ~(size_t)3;
  if (m->len + 4 + padded > sizeof m->b) {
    errno = 0;
    die("STUN message too long");
  }
  put16(m->b + m->len, type);
  put16(m->b + m->len + 2, (uint16_t)n);
  memcpy(m->b + m->len + 4, v, n);
  memset(m->b + m->len + 4 + n, 0, padded - n);
  m->len += 4 + padded;
  put16(m->b + 2, (uint16_t)(m->len - 20));
}

static void msg_xor_addr(struct msg *m, uint16_t type, const struct sockaddr_in *a) {
  uint8_t v[8] = {0, 0x01};
  put16(v + 2, (uint16_t)(ntohs(a->sin_port) ^ (MAGIC >> 16)));
  uint32_t x = a->sin_addr.s_addr ^ htonl(MAGIC);
  memcpy(v + 4, &x, 4);
  msg_attr(m, type, v, sizeof v);
}

/* USERNAME, REALM, NONCE, then MESSAGE-INTEGRITY over everything before it. */
static void msg_auth(struct msg *m) {
  msg_attr(m, A_USERNAME, o.user, strlen(o.user));
  msg_attr(m, A_REALM, realm, strlen(realm));
  msg_attr(m, A_NONCE, nonce, strlen(nonce));
  put16(m->b + 2, (uint16_t)(m->len - 20 + 24)); /* the length covers MESSAGE-INTEGRITY itself */
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned maclen = 0;
  HMAC(EVP_sha1(), key, sizeof key, m->b, m->len, mac, &maclen);
  msg_attr(m, A_MI, mac, 20);
}

/* The value of an attribute of a received message, or NULL. */
static const uint8_t *find_attr(const uint8_t *b, size_t n, uint16_t type, size_t *alen) {
  size_t off = 20;
  while (off + 4 <= n) {
    uint16_t t = get16(b + off), l = get16(b + off + 2);
    if (off + 4 + l > n) return NULL;
    if (t == type) {
      *alen = l;
      return b + off + 4;
    }
    off += 4 + (((size_t)l + 3) & ~(size_t)3);
  }
  return NULL;
}

static void copy_str_attr(const uint8_t *b, size_t n, uint16_t type, char *out, size_t cap) {
  size_t l = 0;
  const uint8_t *v = find_attr(b, n, type, &l);
  if (!v) return;
  if (l >= cap) l = cap - 1;
  memcpy(out, v, l);
  out[l] = 0;
}

static int error_code(const uint8_t *b, size_t n) {
  size_t l = 0;
  const uint8_t *v = find_attr(b, n, A_ERROR, &l);
  return v && l >= 4 ? (v[2] & 7) * 100 + v[3] : 0;
}

/* Sends a request and waits for its answer: retransmits every 250 ms, 8 tries. Returns its type. */
static int transact(int fd, const struct msg *m, uint8_t *resp, size_t cap, size_t *rlen) {
  for (int attempt = 0; attempt < 8; attempt++) {
    if (send(fd, m->b, m->len, 0) < 0 && errno != EAGAIN) die("send");
    uint64_t until = mono_ns() + 250000000ull;
    for (uint64_t now = mono_ns(); now < until; now = mono_ns()) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      if (poll(&p, 1, (int)((until - now) / 1000000 + 1)) <= 0) continue;
      ssize_t n = recv(fd, resp, cap, MSG_DONTWAIT);
      if (n < 20 || memcmp(resp + 8, m->txid, 12) != 0) continue; /* stray datagram */
      *rlen = (size_t)n;
      return get16(resp);
    }
  }
  return -1;
}

/* An authenticated request; a 438 (stale nonce) or 401 takes the new nonce and tries once more. */
static int auth_request(int fd, struct msg *m, uint16_t method, void (*attrs)(struct msg *), uint8_t *resp,
                        size_t *rlen) {
  for (int tries = 0; tries < 2; tries++) {
    msg_init(m, method);
    attrs(m);
    msg_auth(m);
    int t = transact(fd, m, resp, 1500, rlen);
    if (t == ERROR(method) && (error_code(resp, *rlen) == 438 || error_code(resp, *rlen) == 401)) {
      copy_str_attr(resp, *rlen, A_NONCE, nonce, sizeof nonce);
      continue;
    }
    return t;
  }
  return -1;
}

static void attrs_allocate(struct msg *m) {
  const uint8_t udp[4] = {17, 0, 0, 0};
  msg_attr(m, A_TRANSPORT, udp, 4);
}
static void attrs_permission(struct msg *m) { msg_xor_addr(m, A_PEER, &o.peer); }
static void attrs_channel(struct msg *m) {
  uint8_t ch[4] = {0};
  put16(ch, CHANNEL);
  msg_attr(m, A_CHANNEL, ch, 4);
  msg_xor_addr(m, A_PEER, &o.peer);
}
static void attrs_release(struct msg *m) {
  const uint8_t zero[4] = {0};
  msg_attr(m, A_LIFETIME, zero, 4);
}

static void set_key(void) {
  char in[1024];
  int n = snprintf(in, sizeof in, "%s:%s:%s", o.user, realm, o.pass);
  unsigned l = 0;
  EVP_Digest(in, (size_t)n, key, &l, EVP_md5(), NULL);
}

/* Allocate, CreatePermission, ChannelBind on one flow; 0 or a message on stderr and -1. */
static int setup_flow(int i) {
  struct msg m;
  uint8_t resp[1500];
  size_t rlen = 0;
  int fd = fds[i];
  if (!realm[0]) {
    msg_init(&m, M_ALLOCATE);
    attrs_allocate(&m);
    int t = transact(fd, &m, resp, sizeof resp, &rlen);
    if (t != ERROR(M_ALLOCATE) || error_code(resp, rlen) != 401) {
      fprintf(stderr, "flow %d: unauthenticated Allocate: expected 401, got type 0x%04x code %d\n", i, t,
              t < 0 ? 0 : error_code(resp, rlen));
      return -1;
    }
    copy_str_attr(resp, rlen, A_REALM, realm, sizeof realm);
    copy_str_attr(resp, rlen, A_NONCE, nonce, sizeof nonce);
    set_key();
  }
  int t = auth_request(fd, &m, M_ALLOCATE, attrs_allocate, resp, &rlen);
  if (t != SUCCESS(M_ALLOCATE)) {
    fprintf(stderr, "flow %d: Allocate failed: type 0x%04x code %d\n", i, t, t < 0 ? 0 : error_code(resp, rlen));
    return -1;
  }
  t = auth_request(fd, &m, M_PERMISSION, attrs_permission, resp, &rlen);
  if (t != SUCCESS(M_PERMISSION)) {
    fprintf(stderr, "flow %d: CreatePermission failed: type 0x%04x code %d\n", i, t,
            t < 0 ? 0 : error_code(resp, rlen));
    return -1;
  }
  t = auth_request(fd, &m, M_CHANNEL_BIND, attrs_channel, resp, &rlen);
  if (t != SUCCESS(M_CHANNEL_BIND)) {
    fprintf(stderr, "flow %d: ChannelBind failed: type 0x%04x code %d\n", i, t, t < 0 ? 0 : error_code(resp, rlen));
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ the load */

struct snap {
  uint64_t t;
  unsigned long long sent, recv;
  long long server_us, peer_us, self_us;
};

static unsigned long long sent = 0, recvd = 0, send_blocked = 0, bad = 0, syscalls = 0;
static int recording = 0;

static long long self_cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + (long long)ru.ru_stime.tv_sec * 1000000 +
         ru.ru_stime.tv_usec;
}

static void take(struct snap *s) {
  s->t = mono_ns();
  s->sent = sent;
  s->recv = recvd;
  s->server_us = 0;
  for (int i = 0; i < o.ncpu; i++) {
    long long c = proc_cpu_us(o.cpu_pids[i]);
    s->server_us = c < 0 || s->server_us < 0 ? -1 : s->server_us + c;
  }
  s->peer_us = o.peer_pid ? proc_cpu_us(o.peer_pid) : -1;
  s->self_us = self_cpu_us();
}

static uint8_t tmpl[MAX_DGRAM];
static size_t frame_len, hdr_len;
static uint8_t out_bufs[BATCH][MAX_DGRAM];
static struct mmsghdr out_msgs[BATCH];
static struct iovec out_iov[BATCH];

/* Sends k fresh frames on flow f (k <= BATCH); returns how many the socket took. */
static int send_fresh(int f, int k) {
  uint64_t now = mono_ns();
  for (int i = 0; i < k; i++) {
    memcpy(out_bufs[i], tmpl, frame_len);
    memcpy(out_bufs[i] + hdr_len, &now, 8);
    out_iov[i].iov_base = out_bufs[i];
    out_iov[i].iov_len = frame_len;
    memset(&out_msgs[i].msg_hdr, 0, sizeof out_msgs[i].msg_hdr);
    out_msgs[i].msg_hdr.msg_iov = &out_iov[i];
    out_msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int done = send_batch(fds[f], out_msgs, k, &syscalls);
  send_blocked += (unsigned)(k - done);
  sent += (unsigned)done;
  return done;
}

static uint8_t in_bufs[BATCH][MAX_DGRAM];
static struct mmsghdr in_msgs[BATCH];
static struct iovec in_iov[BATCH];

/* Drains flow f; with echo_back, every valid echo goes out again at once (the closed loop). */
static void drain_flow(int f, int echo_back) {
  for (int rounds = 0; rounds < 16; rounds++) {
    prepare_recv(in_msgs, in_iov, in_bufs, NULL, BATCH);
    int n = recvmmsg(fds[f], in_msgs, BATCH, MSG_DONTWAIT, NULL);
    syscalls++;
    if (n <= 0) return;
    uint64_t now = mono_ns();
    int k = 0;
    for (int i = 0; i < n; i++) {
      size_t len = in_msgs[i].msg_len;
      const uint8_t *b = in_bufs[i];
      if (len < hdr_len + 8 || (hdr_len && (b[0] & 0xC0) != 0x40)) {
        bad++; /* not ours (a STUN message, a stray frame) */
        continue;
      }
      recvd++;
      if (recording) {
        uint64_t ts;
        memcpy(&ts, b + hdr_len, 8);
        uint64_t us = now > ts ? (now - ts) / 1000 : 0;
        hist[us < HIST_US ? us : HIST_US - 1]++;
      }
      if (echo_back) {
        memcpy(in_bufs[i] + hdr_len, &now, 8);
        out_iov[k].iov_base = in_bufs[i];
        out_iov[k].iov_len = frame_len;
        memset(&out_msgs[k].msg_hdr, 0, sizeof out_msgs[k].msg_hdr);
        out_msgs[k].msg_hdr.msg_iov = &out_iov[k];
        out_msgs[k].msg_hdr.msg_iovlen = 1;
        k++;
      }
    }
    int done = send_batch(fds[f], out_msgs, k, &syscalls);
    send_blocked += (unsigned)(k - done);
    sent += (unsigned)done;
    if (n < BATCH) return;
  }
}

static double pct(unsigned long long total, double q) {
  if (total == 0) return -1;
  unsigned long long want = (unsigned long long)(q * (double)total), acc = 0;
  for (int i = 0; i < HIST_US; i++) {
    acc += hist[i];
    if (acc > want) return i;
  }
  return HIST_US - 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: turn-blast --server 127.0.0.1:PORT [--peer 127.0.0.1:PORT] [--user U] [--pass P] [--raw | --raw-channel]\n"
          "                  [--flows N] [--payload B] [--window W | --rate R] [--warmup-ms N] [--duration-ms N]\n"
          "                  [--drain-ms N] [--cpu-pid PID]... [--peer-pid PID]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int have_server = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--raw")) {
      o.raw = 1;
      continue;
    }
    if (!strcmp(a, "--raw-channel")) {
      o.raw = o.raw_channel = 1;
      continue;
    }
    if (!v) usage();
    i++;
    if (!strcmp(a, "--server")) parse_addr(v, &o.server), have_server = 1;
    else if (!strcmp(a, "--peer")) parse_addr(v, &o.peer), o.have_peer = 1;
    else if (!strcmp(a, "--user")) o.user = v;
    else if (!strcmp(a, "--pass")) o.pass = v;
    else if (!strcmp(a, "--flows")) o.flows = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--payload")) o.payload = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--window")) o.window = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--rate")) o.rate = strtol(v, NULL, 10);
    else if (!strcmp(a, "--warmup-ms")) o.warmup_ms = strtol(v, NULL, 10);
    else if (!strcmp(a, "--duration-ms")) o.duration_ms = strtol(v, NULL, 10);
    else if (!strcmp(a, "--drain-ms")) o.drain_ms = strtol(v, NULL, 10);
    else if (!strcmp(a, "--cpu-pid") && o.ncpu < MAX_PIDS) o.cpu_pids[o.ncpu++] = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--peer-pid")) o.peer_pid = (int)strtol(v, NULL, 10);
    else usage();
  }
  if (!have_server || (!o.raw && !o.have_peer)) usage();
  if (o.flows < 1 || o.flows > MAX_FLOWS || o.payload < 8 || o.payload > MAX_DGRAM - 4 || o.window < 0 ||
      o.window > 4096 || o.rate < 0 || (o.window && o.rate) || o.warmup_ms < 0 || o.duration_ms <= 0 ||
      o.drain_ms < 0 || o.warmup_ms + o.duration_ms + o.drain_ms > MAX_LIFETIME_MS)
    usage();
  srand((unsigned)mono_ns() ^ (unsigned)getpid());
  trap_stop_signals();

  for (int i = 0; i < o.flows; i++) {
    fds[i] = udp_socket(0);
    if (connect(fds[i], (struct sockaddr *)&o.server, sizeof o.server) < 0) die("connect");
  }
  uint64_t t_setup = mono_ns();
  if (!o.raw)
    for (int i = 0; i < o.flows; i++)
      if (setup_flow(i) < 0) {
        printf("{\"error\":\"setup failed on flow %d (see stderr)\"}\n", i);
        return 1;
      }
  double setup_ms = (double)(mono_ns() - t_setup) / 1e6;

  /* the frame: [ChannelData header] payload, the payload starting with the send time */
  hdr_len = o.raw && !o.raw_channel ? 0 : 4;
  frame_len = hdr_len + (size_t)o.payload;
  memset(tmpl, 0xab, sizeof tmpl);
  if (hdr_len) {
    put16(tmpl, CHANNEL);
    put16(tmpl + 2, (uint16_t)o.payload);
  }

  struct pollfd *pfds = calloc((size_t)o.flows, sizeof *pfds);
  if (!pfds) die("calloc");
  for (int i = 0; i < o.flows; i++) pfds[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};

  const uint64_t t0 = mono_ns();
  const uint64_t m_start = t0 + (uint64_t)o.warmup_ms * 1000000ull;
  const uint64_t send_end = m_start + (uint64_t)o.duration_ms * 1000000ull;
  const uint64_t hard_end = send_end + (uint64_t)o.drain_ms * 1000000ull;
  struct snap s0 = {0}, s1 = {0};
  int started = 0, ended = 0, rr = 0;
  if (o.window)
    for (int f = 0; f < o.flows; f++)
      for (int left = o.window; left > 0;) left -= send_fresh(f, left < BATCH ? left : BATCH) ?: left;
  /* at --rate, wake up for batches of about 100 µs worth of packets */
  const long quantum = o.rate > 10000 ? o.rate / 10000 : 1;
  for (uint64_t now = mono_ns(); now < hard_end && !stop_flag; now = mono_ns()) {
    if (!started && now >= m_start) {
      take(&s0);
      started = recording = 1;
    }
    if (!ended && now >= send_end) {
      take(&s1);
      ended = 1;
      recording = 0;
    }
    const int sending = now < send_end;
    long timeout_ns = 10000000; /* 10 ms: a phase boundary is never missed by more */
    if (sending && o.rate) {
      long long due = (long long)((double)(now - t0) * (double)o.rate / 1e9) - (long long)sent - (long long)send_blocked;
      if (due >= quantum || (due > 0 && o.rate <= 10000)) {
        long long per = (due + o.flows - 1) / o.flows;
        for (int k = 0; k < o.flows && due > 0; k++, rr = (rr + 1) % o.flows) {
          int n = (int)(per < due ? per : due);
          if (n > BATCH) n = BATCH;
          send_fresh(rr, n);
          due -= n;
        }
        timeout_ns = 0;
      } else {
        timeout_ns = (long)((double)(quantum - (due > 0 ? due : 0)) * 1e9 / (double)o.rate);
      }
    } else if (sending && !o.window) {
      for (int f = 0; f < o.flows; f++) send_fresh(f, BATCH);
      timeout_ns = 0;
    }
    uint64_t next = !started ? m_start : !ended ? send_end : hard_end;
    if (next > now && (long)(next - now) < timeout_ns) timeout_ns = (long)(next - now);
    struct timespec ts = {.tv_sec = 0, .tv_nsec = timeout_ns};
    int r = ppoll(pfds, (nfds_t)o.flows, &ts, NULL);
    syscalls++;
    if (r <= 0) continue;
    for (int f = 0; f < o.flows; f++)
      if (pfds[f].revents & POLLIN) drain_flow(f, o.window && sending);
  }
  if (!started) take(&s0);
  if (!ended) take(&s1);

  /* release the allocations; one try each, answers not awaited beyond a short bound */
  if (!o.raw)
    for (int i = 0; i < o.flows; i++) {
      struct msg m;
      msg_init(&m, M_REFRESH);
      attrs_release(&m);
      msg_auth(&m);
      send(fds[i], m.b, m.len, MSG_DONTWAIT);
    }

  const double secs = (double)(s1.t - s0.t) / 1e9;
  const unsigned long long w_recv = s1.recv - s0.recv, w_sent = s1.sent - s0.sent;
  const unsigned long long relayed = 2 * w_recv; /* each echo crossed the server twice */
  const unsigned long long lost = sent > recvd ? sent - recvd : 0;
  const long long srv = s0.server_us >= 0 && s1.server_us >= 0 && o.ncpu ? s1.server_us - s0.server_us : -1;
  const long long peer = s0.peer_us >= 0 && s1.peer_us >= 0 ? s1.peer_us - s0.peer_us : -1;
  printf("{\"mode\":\"%s\",\"flows\":%d,\"payload\":%d,\"window\":%d,\"rate\":%ld,",
         o.raw_channel ? "raw-channel" : o.raw ? "raw" : "turn",
         o.flows, o.payload, o.window, o.rate);
  printf("\"setup_ms\":%.1f,\"duration_s\":%.4f,\"sent\":%llu,\"received\":%llu,\"lost\":%llu,\"loss_pct\":%.4f,",
         setup_ms, secs, sent, recvd, lost, sent ? 100.0 * (double)lost / (double)sent : 0.0);
  printf("\"send_blocked\":%llu,\"bad\":%llu,\"window_sent\":%llu,\"window_received\":%llu,", send_blocked, bad,
         w_sent, w_recv);
  printf("\"echoes_per_s\":%.1f,\"relayed_per_s\":%.1f,", (double)w_recv / secs, (double)relayed / secs);
  if (srv >= 0)
    printf("\"server_cpu_us\":%lld,\"server_cores\":%.4f,\"cpu_us_per_pkt\":%.4f,", srv, (double)srv / 1e6 / secs,
           relayed ? (double)srv / (double)relayed : -1.0);
  if (peer >= 0) printf("\"peer_cores\":%.4f,", (double)peer / 1e6 / secs);
  printf("\"generator_cores\":%.4f,\"syscalls\":%llu,", (double)(s1.self_us - s0.self_us) / 1e6 / secs, syscalls);
  unsigned long long n = 0;
  for (int i = 0; i < HIST_US; i++) n += hist[i];
  printf("\"latency_us\":{\"samples\":%llu,\"p50\":%.0f,\"p99\":%.0f,\"p999\":%.0f}}\n", n, pct(n, 0.5),
         pct(n, 0.99), pct(n, 0.999));
  return 0;
}
