/*
 * libFuzzer target for the native fast path (runtime/transport/native/fastpath): each input is a
 * program of table operations and datagrams, run against a fresh table under AddressSanitizer and
 * UBSan. Every datagram is copied into a heap buffer of exactly its length, and every payload the
 * fast path says to forward is read in full, so a parser that lets a length run past the datagram
 * is an ASan report, not a silent over-read. After each operation the tables' own invariants are
 * checked (fp_self_check), every answer is checked against the contract of fastpath.h, and every
 * result and decision against a reference model: the same state in arrays searched linearly (so a
 * permission that outlives its withdrawal, or a channel used past its expiry, is a finding).
 *
 * Input: two bytes of limits, then operations, each an opcode byte and its operands (see
 * run_op); a missing byte reads as 0. Addresses come from a small pool (one byte each: family,
 * one of 8 IPs, one of 16 ports) so that operations meet each other's keys often.
 * fuzz/native/make-corpus.ts writes the committed seeds in this encoding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath.h"

typedef struct reader {
  const uint8_t* p;
  size_t n;
} reader;

static uint8_t u8(reader* r) {
  if (r->n == 0) return 0;
  r->n--;
  return *r->p++;
}

static uint16_t u16(reader* r) {
  uint16_t hi = u8(r);
  return (uint16_t)((hi << 8) | u8(r));
}

static uint32_t u32(reader* r) {
  uint32_t hi = u16(r);
  return (hi << 16) | u16(r);
}

/* bit 7: IPv6; bits 4..6: which IP; bits 0..3: port (0, or 5001..5015). */
static fp_addr addr(reader* r) {
  uint8_t b = u8(r);
  unsigned which = (b >> 4) & 7;
  uint16_t port = (b & 15) ? (uint16_t)(5000 + (b & 15)) : 0;
  if (b & 0x80) {
    uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8};
    ip[5] = (uint8_t)(which >> 1); /* two IPs per /48, so CIDRs of /40../48 split them */
    ip[15] = (uint8_t)(which + 1);
    return fp_addr_v6(ip, port);
  }
  return fp_addr_v4(0xc0000200u | (which >> 1) << 4 | (which + 1), port);
}

static void fail(const char* what) {
  fprintf(stderr, "fastpath contract broken: %s\n", what);
  abort();
}

#define EXPECT(cond)      \
  do {                    \
    if (!(cond)) fail(#cond); \
  } while (0)

/* What the model expects. FUZZ_NO_MODEL leaves memory safety, the invariants and the contract:
 * the planted-bug test uses it to show that AddressSanitizer alone finds an over-read. */
#ifdef FUZZ_NO_MODEL
#define MEXPECT(cond) ((void)sizeof(cond)) /* not evaluated */
#else
#define MEXPECT(cond) EXPECT(cond)
#endif

/* Reads what the caller would send: every byte of the payload slice. */
static volatile uint8_t sink;
static void touch_payload(const uint8_t* data, const fp_to_peer* tp) {
  uint8_t x = 0;
  for (uint32_t i = 0; i < tp->length; i++) x ^= data[tp->offset + i];
  sink = x;
}

static int32_t handles[8];
static uint64_t now;

/*
 * The reference model: the same state in plain arrays searched linearly, so obviously right that
 * the hash tables are checked against it. Every call's result, and every decision (verdict,
 * reason, where it goes), must be the model's.
 */
#define M_MAX 64
typedef struct m_alloc {
  int used;
  int32_t handle;
  uint32_t listener;
  fp_addr client;
  int32_t fd;
  uint64_t expires;
  fp_counters c;
} m_alloc;
typedef struct m_perm {
  int used;
  int32_t alloc;
  fp_addr ip;
  fp_perm_spec spec;
  fp_counters c;
} m_perm;
typedef struct m_chan {
  int used;
  int32_t alloc;
  uint16_t number;
  fp_addr peer;
  uint64_t expires;
} m_chan;
static struct {
  fp_limits lim;
  m_alloc allocs[M_MAX];
  m_perm perms[M_MAX];
  m_chan chans[M_MAX];
} m;

static int same(const fp_addr* a, const fp_addr* b) {
  return memcmp(a, b, sizeof *a) == 0;
}
static fp_addr ip_of(const fp_addr* a) {
  fp_addr k = *a;
  k.port = 0;
  return k;
}
static unsigned m_count(int kind) {
  unsigned n = 0;
  for (int i = 0; i < M_MAX; i++)
    n += kind == 0 ? m.allocs[i].used : kind == 1 ? m.perms[i].used : m.chans[i].used;
  return n;
}
static m_alloc* m_resolve(int32_t h) {
  for (int i = 0; i < M_MAX; i++)
    if (m.allocs[i].used && m.allocs[i].handle == h) return &m.allocs[i];
  return NULL;
}
static m_perm* m_perm_of(int32_t alloc, const fp_addr* peer) {
  fp_addr ip = ip_of(peer);
  for (int i = 0; i < M_MAX; i++)
    if (m.perms[i].used && m.perms[i].alloc == alloc && same(&m.perms[i].ip, &ip)) return &m.perms[i];
  return NULL;
}
static m_chan* m_chan_num(int32_t alloc, uint16_t number) {
  for (int i = 0; i < M_MAX; i++)
    if (m.chans[i].used && m.chans[i].alloc == alloc && m.chans[i].number == number) return &m.chans[i];
  return NULL;
}
static m_chan* m_chan_peer(int32_t alloc, const fp_addr* peer) {
  for (int i = 0; i < M_MAX; i++)
    if (m.chans[i].used && m.chans[i].alloc == alloc && same(&m.chans[i].peer, peer)) return &m.chans[i];
  return NULL;
}
/* A free entry of one of the model's arrays (each entry starts with its `used`), within the limit. */
static void* m_free_slot(void* base, size_t size, unsigned in_use, uint32_t limit) {
  if (in_use >= limit) return NULL;
  for (int i = 0; i < M_MAX; i++) {
    int* used = (int*)((char*)base + (size_t)i * size);
    if (!*used) return used;
  }
  return NULL;
}
/* Removes a permission; with_channels: and the channels to its IP. */
static void m_perm_drop(m_perm* p, int with_channels) {
  if (with_channels)
    for (int i = 0; i < M_MAX; i++) {
      fp_addr ip = ip_of(&m.chans[i].peer);
      if (m.chans[i].used && m.chans[i].alloc == p->alloc && same(&ip, &p->ip)) m.chans[i].used = 0;
    }
  p->used = 0;
}
static void m_alloc_drop(m_alloc* a) {
  for (int i = 0; i < M_MAX; i++) {
    if (m.perms[i].used && m.perms[i].alloc == a->handle) m.perms[i].used = 0;
    if (m.chans[i].used && m.chans[i].alloc == a->handle) m.chans[i].used = 0;
  }
  a->used = 0;
}
static int m_port_ok(const fp_perm_spec* s, uint16_t port) {
  for (unsigned i = 0; i < s->n_blocked; i++)
    if (s->blocked[i] == port) return 0;
  if (s->any_port) return 1;
  for (unsigned i = 0; i < s->n_ranges; i++)
    if (port >= s->ranges[i][0] && port <= s->ranges[i][1]) return 1;
  return 0;
}
/* The model's permission check for a live allocation: FP_OK or why not. */
static fp_reason m_admit(int32_t alloc, const fp_addr* peer) {
  m_perm* p = m_perm_of(alloc, peer);
  if (p == NULL || p->spec.expires_ms <= now) return FP_NO_PERMISSION;
  return m_port_ok(&p->spec, peer->port) ? FP_OK : FP_PORT_DENIED;
}
static int m_cidr_has(const fp_cidr* c, const fp_addr* ip) {
  if (c->base.family != ip->family) return 0;
  for (unsigned bit = 0; bit < c->prefix; bit++) {
    unsigned mask = 0x80u >> (bit % 8);
    if ((c->base.ip[bit / 8] & mask) != (ip->ip[bit / 8] & mask)) return 0;
  }
  return 1;
}

/* What the model expects of a client datagram, once it parsed as ChannelData (number != 0) or
 * as a Send indication to `peer`. */
static void m_expect_client(fp_verdict v, const fp_to_peer* tp, uint32_t listener, const fp_addr* client,
                            uint16_t number, fp_addr peer) {
  m_alloc* a = NULL;
  for (int i = 0; i < M_MAX && a == NULL; i++)
    if (m.allocs[i].used && m.allocs[i].listener == listener && same(&m.allocs[i].client, client))
      a = &m.allocs[i];
  fp_reason want = FP_OK;
  if (a == NULL || a->expires <= now) {
    want = FP_NO_ALLOCATION;
  } else {
    if (number != 0) {
      m_chan* c = m_chan_num(a->handle, number);
      if (c == NULL || c->expires <= now) want = FP_NO_CHANNEL;
      else peer = c->peer;
    }
    if (want == FP_OK && peer.port == 0) want = FP_PORT_DENIED;
    if (want == FP_OK) want = m_admit(a->handle, &peer);
  }
  MEXPECT(tp->reason == want);
  MEXPECT((v == FP_FORWARD) == (want == FP_OK));
  if (v == FP_FORWARD && want == FP_OK) {
    MEXPECT(tp->alloc == a->handle && tp->relay_fd == a->fd && same(&tp->peer, &peer));
    m_perm* p = m_perm_of(a->handle, &peer);
    a->c.to_peer_packets++;
    a->c.to_peer_bytes += tp->length;
    p->c.to_peer_packets++;
    p->c.to_peer_bytes += tp->length;
  }
}

static int32_t pick(reader* r) {
  uint8_t b = u8(r);
  if (b >= 0xf8) return (int32_t)u32(r); /* a forged handle */
  return handles[b & 7];
}

static fp_verdict client_packet(fp_table* t, uint32_t listener, const fp_addr* client, const uint8_t* src,
                                size_t len, fp_to_peer* tp) {
  /* An exact-size copy: one byte past it is outside the heap block. */
  uint8_t* data = malloc(len ? len : 1);
  if (data == NULL) abort();
  if (len) memcpy(data, src, len);
  fp_verdict v = fp_client_packet(t, listener, client, data, len, now, tp);
  if (v == FP_FORWARD) {
    EXPECT(tp->reason == FP_OK && tp->alloc >= 0 && tp->relay_fd >= 0);
    EXPECT(tp->peer.family == 4 || tp->peer.family == 6);
    EXPECT(tp->peer.port != 0);
    touch_payload(data, tp);
    EXPECT((size_t)tp->offset + tp->length <= len);
  } else {
    EXPECT(v == FP_PUNT && tp->reason > FP_OK && tp->reason < FP_REASONS);
  }
  free(data);
  return v;
}

static void put16(uint8_t* p, unsigned v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void op_install(fp_table* t, reader* r) {
  fp_alloc_spec s;
  memset(&s, 0, sizeof s);
  s.listener = u8(r) & 3;
  s.client = addr(r);
  s.relay_fd = 3 + (u8(r) & 7);
  s.expires_ms = now + u16(r);
  memcpy(s.txid_prefix, "fuzzfuzz", 8);
  unsigned slot = u8(r) & 7;
  int32_t h = fp_alloc_install(t, &s);
  int want = 0;
  for (int i = 0; i < M_MAX; i++) {
    const m_alloc* a = &m.allocs[i];
    if (a->used && ((a->listener == s.listener && same(&a->client, &s.client)) || a->fd == s.relay_fd))
      want = -FP_EEXIST;
  }
  m_alloc* free_slot = m_free_slot(m.allocs, sizeof m.allocs[0], m_count(0), m.lim.allocations);
  if (want == 0 && free_slot == NULL) want = -FP_EFULL;
  if (want != 0) {
    MEXPECT(h == want);
    return;
  }
  MEXPECT(h >= 0 && m_resolve(h) == NULL);
  *free_slot = (m_alloc){1, h, s.listener, s.client, s.relay_fd, s.expires_ms, {0, 0, 0, 0}};
  handles[slot] = h;
}

static void op_perm_install(fp_table* t, reader* r) {
  fp_perm_spec s;
  memset(&s, 0, sizeof s);
  int32_t h = pick(r);
  s.peer = addr(r);
  s.expires_ms = now + u16(r);
  uint8_t shape = u8(r);
  s.any_port = shape & 1;
  s.n_ranges = (uint8_t)((shape >> 1) % (FP_MAX_RANGES + 2));
  s.n_blocked = (uint8_t)((shape >> 5) % 4);
  for (unsigned i = 0; i < s.n_ranges && i < FP_MAX_RANGES; i++) {
    s.ranges[i][0] = (uint16_t)(5000 + (u8(r) & 15));
    s.ranges[i][1] = (uint16_t)(5000 + (u8(r) & 15));
  }
  for (unsigned i = 0; i < s.n_blocked; i++) s.blocked[i] = (uint16_t)(5000 + (u8(r) & 15));
  int rc = fp_perm_install(t, h, &s);
  int bad = s.n_ranges > FP_MAX_RANGES;
  for (unsigned i = 0; i < s.n_ranges && i < FP_MAX_RANGES; i++) bad |= s.ranges[i][0] > s.ranges[i][1];
  if (m_resolve(h) == NULL) {
    MEXPECT(rc == -FP_ENOENT);
  } else if (bad) {
    MEXPECT(rc == -FP_EINVAL);
  } else {
    m_perm* p = m_perm_of(h, &s.peer);
    if (p != NULL) { /* an update keeps the counters */
      MEXPECT(rc == 0);
      p->spec = s;
      return;
    }
    p = m_free_slot(m.perms, sizeof m.perms[0], m_count(1), m.lim.permissions);
    if (p == NULL) {
      MEXPECT(rc == -FP_EFULL);
      return;
    }
    MEXPECT(rc == 0);
    *p = (m_perm){1, h, ip_of(&s.peer), s, {0, 0, 0, 0}};
  }
}

static void op_channel_bind(fp_table* t, reader* r) {
  int32_t h = pick(r);
  uint8_t b = u8(r);
  uint16_t number = (b & 0x80) ? u16(r) : (uint16_t)(0x4000 + (b & 7));
  fp_addr p = addr(r);
  uint64_t expires = now + u16(r);
  int rc = fp_channel_bind(t, h, number, &p, expires);
  if (m_resolve(h) == NULL) {
    MEXPECT(rc == -FP_ENOENT);
    return;
  }
  if (number < FP_CHANNEL_MIN || number > FP_CHANNEL_MAX) {
    MEXPECT(rc == -FP_EINVAL);
    return;
  }
  m_chan* by_num = m_chan_num(h, number);
  if (by_num != NULL) {
    MEXPECT(rc == (same(&by_num->peer, &p) ? 0 : -FP_ECONFLICT));
    if (rc == 0) by_num->expires = expires;
    return;
  }
  if (m_chan_peer(h, &p) != NULL) {
    MEXPECT(rc == -FP_ECONFLICT);
    return;
  }
  m_chan* c = m_free_slot(m.chans, sizeof m.chans[0], m_count(2), m.lim.channels);
  if (c == NULL) {
    MEXPECT(rc == -FP_EFULL);
    return;
  }
  MEXPECT(rc == 0);
  *c = (m_chan){1, h, number, p, expires};
}

static void op_withdraw(fp_table* t, reader* r) {
  fp_cidr cidrs[3];
  uint8_t shape = u8(r);
  fp_filter f;
  memset(&f, 0, sizeof f);
  f.n_cidrs = shape % 4;
  f.inside = (shape >> 2) & 1;
  f.any_listener = (shape >> 3) & 1;
  f.listener = (shape >> 4) & 3;
  int bad = 0;
  for (unsigned i = 0; i < f.n_cidrs; i++) {
    cidrs[i].base = addr(r);
    cidrs[i].prefix = (uint8_t)(u8(r) % 140);
    bad |= cidrs[i].prefix > (cidrs[i].base.family == 4 ? 32 : 128);
  }
  f.cidrs = f.n_cidrs ? cidrs : NULL;
  int32_t n = fp_withdraw(t, &f);
  if (bad) {
    MEXPECT(n == -FP_EINVAL);
    return;
  }
  int32_t want = 0;
  for (int i = 0; i < M_MAX; i++) {
    m_perm* p = &m.perms[i];
    if (!p->used || (!f.any_listener && m_resolve(p->alloc)->listener != f.listener)) continue;
    int in = 0;
    for (unsigned k = 0; k < f.n_cidrs; k++) in |= m_cidr_has(&cidrs[k], &p->ip);
    if (in == (int)f.inside) {
      m_perm_drop(p, 1);
      want++;
    }
  }
  MEXPECT(n == want);
}

static void op_sweep(fp_table* t) {
  uint32_t want = 0;
  for (int i = 0; i < M_MAX; i++)
    if (m.allocs[i].used && m.allocs[i].expires <= now) {
      m_alloc_drop(&m.allocs[i]);
      want++;
    }
  for (int i = 0; i < M_MAX; i++)
    if (m.perms[i].used && m.perms[i].spec.expires_ms <= now) {
      m_perm_drop(&m.perms[i], 0);
      want++;
    }
  for (int i = 0; i < M_MAX; i++)
    if (m.chans[i].used && m.chans[i].expires <= now) {
      m.chans[i].used = 0;
      want++;
    }
  MEXPECT(fp_sweep(t, now) == want);
}

static void op_channel_data(fp_table* t, reader* r) {
  uint32_t listener = u8(r) & 3;
  fp_addr c = addr(r);
  uint8_t nb = u8(r);
  uint16_t number = (nb & 0x80) ? u16(r) : (uint16_t)(0x4000 + (nb & 7));
  size_t have = u8(r);
  int delta = (int8_t)u8(r);
  uint8_t buf[4 + 255];
  long declared = (long)have + delta;
  if (declared < 0) declared = 0;
  if (declared > 0xffff) declared = 0xffff;
  put16(buf, number);
  put16(buf + 2, (unsigned)declared);
  memset(buf + 4, 0xab, have);
  fp_to_peer tp;
  fp_verdict v = client_packet(t, listener, &c, buf, 4 + have, &tp);
  if (number == 0x0016 && 4 + have >= 20) {
    return; /* reads as a Send indication: the contract checks only */
  } else if (number < 0x4000 || number > 0x7fff) {
    MEXPECT(tp.reason == FP_NOT_DATA);
  } else if (number > FP_CHANNEL_MAX || (size_t)declared > have) {
    MEXPECT(tp.reason == FP_MALFORMED);
  } else {
    fp_addr unused;
    memset(&unused, 0, sizeof unused);
    m_expect_client(v, &tp, listener, &c, number, unused);
    if (v == FP_FORWARD) MEXPECT(tp.offset == 4 && tp.length == (uint32_t)declared);
  }
}

static void op_send_indication(fp_table* t, reader* r) {
  uint32_t listener = u8(r) & 3;
  fp_addr c = addr(r);
  fp_addr p = addr(r);
  size_t dlen = u8(r) & 63;
  uint8_t shape = u8(r);
  static const uint16_t extra[4] = {0, 0x001a, 0x8028, 0x0022};
  uint8_t buf[20 + 24 + 4 + 64 + 4];
  memset(buf, 0, sizeof buf);
  put16(buf, 0x0016);
  buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
  for (int i = 8; i < 20; i++) buf[i] = (uint8_t)i;
  size_t pos = 20, ip_len = p.family == 4 ? 4 : 16;
  put16(buf + pos, 0x0012);
  put16(buf + pos + 2, (unsigned)(4 + ip_len));
  buf[pos + 5] = p.family == 4 ? 1 : 2;
  put16(buf + pos + 6, p.port ^ 0x2112u);
  for (size_t k = 0; k < ip_len; k++) buf[pos + 8 + k] = p.ip[k] ^ buf[4 + k];
  pos += 8 + ip_len;
  put16(buf + pos, 0x0013);
  put16(buf + pos + 2, (unsigned)dlen);
  size_t data_at = pos + 4;
  pos += 4 + ((dlen + 3) & ~(size_t)3);
  if (extra[shape & 3]) {
    put16(buf + pos, extra[shape & 3]);
    pos += 4;
  }
  /* shape bits 2..7: damage the length field or cut the datagram short; 0: well formed. */
  unsigned body = (unsigned)(pos - 20) + ((shape >> 2) & 7) - ((shape >> 5) & 3);
  put16(buf + 2, body);
  size_t cut = (shape & 0x80) ? pos - (shape & 3) : pos;
  fp_to_peer tp;
  fp_verdict v = client_packet(t, listener, &c, buf, cut, &tp);
  /* Damaged (the two changes to the length field may cancel out, so look at the bytes): the
   * length no longer matches the datagram, which the parser checks first. */
  if (body != pos - 20 || cut != pos) {
    MEXPECT(tp.reason == FP_MALFORMED);
    return;
  }
  if (extra[shape & 3] == 0x0022) {
    MEXPECT(tp.reason == FP_UNSUPPORTED);
    return;
  }
  m_expect_client(v, &tp, listener, &c, 0, p);
  if (v == FP_FORWARD) MEXPECT(tp.offset == data_at && tp.length == dlen);
}

static void op_peer_packet(fp_table* t, reader* r) {
  int32_t fd = 3 + (u8(r) & 7);
  fp_addr p = addr(r);
  size_t len = u16(r);
  if (len & 0x8000) len = 0x10000 - 36 + (len & 7); /* near the 16-bit limits */
  fp_to_client tc;
  fp_verdict v = fp_peer_packet(t, fd, &p, len, now, &tc);
  if (v == FP_FORWARD) {
    EXPECT(tc.reason == FP_OK && tc.alloc >= 0 && tc.pad < 4);
    if (tc.frame == FP_CHANNEL_DATA) EXPECT(tc.head_len == 4 && tc.pad == 0);
    else EXPECT(tc.frame == FP_DATA_INDICATION && (tc.head_len == 36 || tc.head_len == 48));
    EXPECT(((tc.head[2] << 8) | tc.head[3]) ==
           (int)(tc.frame == FP_CHANNEL_DATA ? len : tc.head_len - 20 + len + tc.pad));
  } else {
    EXPECT(v == FP_PUNT && tc.reason > FP_OK && tc.reason < FP_REASONS);
  }
  m_alloc* a = NULL;
  for (int i = 0; i < M_MAX && a == NULL; i++)
    if (m.allocs[i].used && m.allocs[i].fd == fd) a = &m.allocs[i];
  fp_reason want = (a == NULL || a->expires <= now) ? FP_NO_ALLOCATION : m_admit(a->handle, &p);
  m_chan* c = want == FP_OK ? m_chan_peer(a->handle, &p) : NULL;
  int channel = c != NULL && c->expires > now;
  if (want == FP_OK) {
    size_t head = channel ? 4 : p.family == 4 ? 36 : 48;
    size_t total = channel ? len : head - 20 + len + ((4 - (len & 3)) & 3);
    if (len > 0xffff || total > 0xffff) want = FP_UNSUPPORTED;
  }
  MEXPECT(tc.reason == want && (v == FP_FORWARD) == (want == FP_OK));
  if (v == FP_FORWARD && want == FP_OK) {
    MEXPECT(tc.alloc == a->handle && tc.listener == a->listener && same(&tc.client, &a->client));
    MEXPECT(tc.frame == (channel ? FP_CHANNEL_DATA : FP_DATA_INDICATION));
    if (channel) MEXPECT(((tc.head[0] << 8) | tc.head[1]) == c->number);
    m_perm* mp = m_perm_of(a->handle, &p);
    a->c.to_client_packets++;
    a->c.to_client_bytes += len;
    mp->c.to_client_packets++;
    mp->c.to_client_bytes += len;
  }
}

static void run_op(fp_table* t, reader* r) {
  uint8_t op = u8(r) % 16;
  switch (op) {
    case 0:
      op_install(t, r);
      break;
    case 1:
    case 15: { /* an allocation goes, with everything of it */
      int32_t h = pick(r);
      m_alloc* a = m_resolve(h);
      MEXPECT(fp_alloc_remove(t, h) == (a ? 0 : -FP_ENOENT));
      if (a) m_alloc_drop(a);
      break;
    }
    case 2: {
      int32_t h = pick(r);
      uint64_t expires = now + u16(r);
      m_alloc* a = m_resolve(h);
      MEXPECT(fp_alloc_refresh(t, h, expires) == (a ? 0 : -FP_ENOENT));
      if (a) a->expires = expires;
      break;
    }
    case 3:
      op_perm_install(t, r);
      break;
    case 4: {
      int32_t h = pick(r);
      fp_addr p = addr(r);
      m_perm* mp = m_resolve(h) ? m_perm_of(h, &p) : NULL;
      MEXPECT(fp_perm_remove(t, h, &p) == (mp ? 0 : -FP_ENOENT));
      if (mp) m_perm_drop(mp, 1);
      break;
    }
    case 5:
      op_channel_bind(t, r);
      break;
    case 6: {
      int32_t h = pick(r);
      uint16_t number = (uint16_t)(0x4000 + (u8(r) & 7));
      m_chan* c = m_resolve(h) ? m_chan_num(h, number) : NULL;
      MEXPECT(fp_channel_unbind(t, h, number) == (c ? 0 : -FP_ENOENT));
      if (c) c->used = 0;
      break;
    }
    case 7:
      op_withdraw(t, r);
      break;
    case 8:
      op_sweep(t);
      break;
    case 9:
      now += (uint64_t)u8(r) * 16;
      break;
    case 10: { /* a raw datagram from a client: the model does not parse it, but what is */
      uint32_t listener = u8(r) & 3; /* forwarded must be its client's, with a live permission */
      fp_addr c = addr(r);
      size_t len = u8(r);
      if (len > r->n) len = r->n;
      fp_to_peer tp;
      fp_verdict v = client_packet(t, listener, &c, r->p, len, &tp);
      r->p += len;
      r->n -= len;
      if (v != FP_FORWARD) break;
      m_alloc* a = m_resolve(tp.alloc);
      MEXPECT(a != NULL && a->expires > now && a->listener == listener && same(&a->client, &c));
      MEXPECT(a != NULL && m_admit(a->handle, &tp.peer) == FP_OK);
      m_perm* mp = a ? m_perm_of(a->handle, &tp.peer) : NULL;
      if (mp != NULL) {
        a->c.to_peer_packets++;
        a->c.to_peer_bytes += tp.length;
        mp->c.to_peer_packets++;
        mp->c.to_peer_bytes += tp.length;
      }
      break;
    }
    case 11:
      op_channel_data(t, r);
      break;
    case 12:
      op_send_indication(t, r);
      break;
    case 13:
      op_peer_packet(t, r);
      break;
    default: { /* 14: counters (read, or taken), and stats */
      fp_counters c;
      int32_t h = pick(r);
      fp_addr p = addr(r);
      int take = u8(r) & 1;
      m_alloc* a = m_resolve(h);
      m_perm* mp = a ? m_perm_of(h, &p) : NULL;
      int rc = take ? fp_alloc_take_counters(t, h, &c) : fp_alloc_counters(t, h, &c);
      MEXPECT(rc == (a ? 0 : -FP_ENOENT));
      if (a) {
        MEXPECT(memcmp(&c, &a->c, sizeof c) == 0);
        if (take) memset(&a->c, 0, sizeof a->c);
      }
      rc = take ? fp_perm_take_counters(t, h, &p, &c) : fp_perm_counters(t, h, &p, &c);
      MEXPECT(rc == (mp ? 0 : -FP_ENOENT));
      if (mp) {
        MEXPECT(memcmp(&c, &mp->c, sizeof c) == 0);
        if (take) memset(&mp->c, 0, sizeof mp->c);
      }
      fp_stats st;
      fp_get_stats(t, &st);
      MEXPECT(st.allocations == m_count(0) && st.permissions == m_count(1) && st.channels == m_count(2));
      break;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reader r = {data, size};
  uint8_t l0 = u8(&r), l1 = u8(&r);
  /* At most 8 allocations, 32 permissions and 32 channels: within the model's arrays. */
  fp_limits lim = {1u + (l0 & 7), 1u + (l0 >> 3), 1u + (l1 & 31), 0x5eed5eed5eedull};
  fp_table* t = fp_create(&lim);
  if (t == NULL) abort();
  for (int i = 0; i < 8; i++) handles[i] = -1;
  memset(&m, 0, sizeof m);
  m.lim = lim;
  now = 1000;
  for (int ops = 0; r.n > 0 && ops < 256; ops++) {
    run_op(t, &r);
    int line = fp_self_check(t);
    if (line != 0) {
      fprintf(stderr, "fp_self_check failed at fastpath.c:%d\n", line);
      abort();
    }
  }
  fp_destroy(t);
  return 0;
}
