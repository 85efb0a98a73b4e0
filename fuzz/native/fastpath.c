/*
 * libFuzzer target for the native fast path (runtime/transport/native/fastpath): each input is a
 * program of table operations and datagrams, run against a fresh table under AddressSanitizer and
 * UBSan. Every datagram is copied into a heap buffer of exactly its length, and every payload the
 * fast path says to forward is read in full, so a parser that lets a length run past the datagram
 * is an ASan report, not a silent over-read. After each operation the tables' own invariants are
 * checked (fp_self_check), and every answer is checked against the contract of fastpath.h.
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

/* Reads what the caller would send: every byte of the payload slice. */
static volatile uint8_t sink;
static void touch_payload(const uint8_t* data, const fp_to_peer* tp) {
  uint8_t x = 0;
  for (uint32_t i = 0; i < tp->length; i++) x ^= data[tp->offset + i];
  sink = x;
}

static int32_t handles[8];
static uint64_t now;

static int32_t pick(reader* r) {
  uint8_t b = u8(r);
  if (b >= 0xf8) return (int32_t)u32(r); /* a forged handle */
  return handles[b & 7];
}

static int valid_error(int rc) {
  return rc == -FP_EINVAL || rc == -FP_ENOENT || rc == -FP_EEXIST || rc == -FP_EFULL || rc == -FP_ECONFLICT;
}

static void client_packet(fp_table* t, uint32_t listener, const fp_addr* client, const uint8_t* src, size_t len) {
  /* An exact-size copy: one byte past it is outside the heap block. */
  uint8_t* data = malloc(len ? len : 1);
  if (data == NULL) return;
  if (len) memcpy(data, src, len);
  fp_to_peer tp;
  fp_verdict v = fp_client_packet(t, listener, client, data, len, now, &tp);
  if (v == FP_FORWARD) {
    EXPECT(tp.reason == FP_OK && tp.alloc >= 0 && tp.relay_fd >= 0);
    EXPECT(tp.peer.family == 4 || tp.peer.family == 6);
    EXPECT(tp.peer.port != 0);
    touch_payload(data, &tp);
    EXPECT((size_t)tp.offset + tp.length <= len);
  } else {
    EXPECT(v == FP_PUNT && tp.reason > FP_OK && tp.reason < FP_REASONS);
  }
  free(data);
}

static void put16(uint8_t* p, unsigned v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void run_op(fp_table* t, reader* r) {
  uint8_t op = u8(r) % 16;
  int rc = 0;
  switch (op) {
    case 0: { /* install an allocation into handles[slot] */
      fp_alloc_spec s;
      memset(&s, 0, sizeof s);
      s.listener = u8(r) & 3;
      s.client = addr(r);
      s.relay_fd = 3 + (u8(r) & 7);
      s.expires_ms = now + u16(r);
      memcpy(s.txid_prefix, "fuzzfuzz", 8);
      unsigned slot = u8(r) & 7;
      int32_t h = fp_alloc_install(t, &s);
      if (h >= 0) handles[slot] = h;
      else EXPECT(valid_error(h));
      break;
    }
    case 1:
      rc = fp_alloc_remove(t, pick(r));
      break;
    case 2: {
      int32_t h = pick(r);
      rc = fp_alloc_refresh(t, h, now + u16(r));
      break;
    }
    case 3: { /* install a permission, sometimes with too many ranges or blocked ports */
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
      rc = fp_perm_install(t, h, &s);
      break;
    }
    case 4: {
      int32_t h = pick(r);
      fp_addr p = addr(r);
      rc = fp_perm_remove(t, h, &p);
      break;
    }
    case 5: { /* bind a channel: mostly 0x4000..0x4007, sometimes any number */
      int32_t h = pick(r);
      uint8_t b = u8(r);
      uint16_t number = (b & 0x80) ? u16(r) : (uint16_t)(0x4000 + (b & 7));
      fp_addr p = addr(r);
      rc = fp_channel_bind(t, h, number, &p, now + u16(r));
      break;
    }
    case 6: {
      int32_t h = pick(r);
      rc = fp_channel_unbind(t, h, (uint16_t)(0x4000 + (u8(r) & 7)));
      break;
    }
    case 7: { /* withdraw by up to 3 CIDRs, some with prefixes too long for their family */
      fp_cidr cidrs[3];
      uint8_t shape = u8(r);
      fp_filter f;
      memset(&f, 0, sizeof f);
      f.n_cidrs = shape % 4;
      f.inside = (shape >> 2) & 1;
      f.any_listener = (shape >> 3) & 1;
      f.listener = (shape >> 4) & 3;
      for (unsigned i = 0; i < f.n_cidrs; i++) {
        cidrs[i].base = addr(r);
        cidrs[i].prefix = (uint8_t)(u8(r) % 140);
      }
      f.cidrs = f.n_cidrs ? cidrs : NULL;
      int32_t n = fp_withdraw(t, &f);
      EXPECT(n >= 0 || n == -FP_EINVAL);
      break;
    }
    case 8:
      fp_sweep(t, now);
      break;
    case 9:
      now += (uint64_t)u8(r) * 16;
      break;
    case 10: { /* a raw datagram from a client */
      uint32_t listener = u8(r) & 3;
      fp_addr c = addr(r);
      size_t len = u8(r);
      if (len > r->n) len = r->n;
      client_packet(t, listener, &c, r->p, len);
      r->p += len;
      r->n -= len;
      break;
    }
    case 11: { /* ChannelData: a number, a payload, and a length field off by a signed delta */
      uint32_t listener = u8(r) & 3;
      fp_addr c = addr(r);
      uint8_t nb = u8(r);
      uint16_t number = (nb & 0x80) ? u16(r) : (uint16_t)(0x4000 + (nb & 7));
      size_t have = u8(r);
      int delta = (int8_t)u8(r);
      uint8_t buf[4 + 255 + 3];
      long declared = (long)have + delta;
      if (declared < 0) declared = 0;
      put16(buf, number);
      put16(buf + 2, (unsigned)(declared > 0xffff ? 0xffff : declared));
      memset(buf + 4, 0xab, have);
      client_packet(t, listener, &c, buf, 4 + have);
      break;
    }
    case 12: { /* a Send indication: peer, data, an optional extra attribute, a length fix-up */
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
      pos += 4 + ((dlen + 3) & ~(size_t)3);
      if (extra[shape & 3]) {
        put16(buf + pos, extra[shape & 3]);
        pos += 4;
      }
      put16(buf + 2, (unsigned)(pos - 20) + ((shape >> 2) & 7) - ((shape >> 5) & 7));
      size_t cut = (shape & 0x80) ? pos - (shape & 3) : pos;
      client_packet(t, listener, &c, buf, cut);
      break;
    }
    case 13: { /* a datagram from a peer on a relay socket */
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
      break;
    }
    case 14: {
      fp_counters c;
      int32_t h = pick(r);
      fp_addr p = addr(r);
      int a = fp_alloc_counters(t, h, &c);
      int b = fp_perm_counters(t, h, &p, &c);
      EXPECT((a == 0 || a == -FP_ENOENT) && (b == 0 || b == -FP_ENOENT));
      fp_stats st;
      fp_get_stats(t, &st);
      break;
    }
    default: { /* 15: everything of one allocation goes */
      rc = fp_alloc_remove(t, pick(r));
      break;
    }
  }
  EXPECT(rc == 0 || valid_error(rc));
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reader r = {data, size};
  uint8_t l0 = u8(&r), l1 = u8(&r);
  fp_limits lim = {1u + (l0 & 7), 1u + (l0 >> 3), 1u + (l1 & 31), 0x5eed5eed5eedull};
  fp_table* t = fp_create(&lim);
  if (t == NULL) abort();
  for (int i = 0; i < 8; i++) handles[i] = -1;
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
