/*
 * Unit tests of the native fast path (runtime/transport/native/fastpath), built with
 * AddressSanitizer and UBSan by test/runtime/transport/native-fastpath.test.ts. Prints one line per failed check
 * and a closing "N checks, N failed"; exits 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath.h"

static int checks, failed;

#define CHECK(cond)                                                    \
  do {                                                                 \
    checks++;                                                          \
    if (!(cond)) {                                                     \
      failed++;                                                        \
      fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__, __LINE__, test_name, #cond); \
    }                                                                  \
  } while (0)

#define EQ(a, b) CHECK((long long)(a) == (long long)(b))
#define SELF_CHECK(t) EQ(fp_self_check(t), 0)

static const char* test_name = "";

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static fp_table* table(uint32_t allocs, uint32_t perms, uint32_t chans) {
  fp_limits lim = {allocs, perms, chans, 0x1234567890abcdefull};
  fp_table* t = fp_create(&lim);
  if (t == NULL) {
    fprintf(stderr, "fp_create failed\n");
    exit(2);
  }
  return t;
}

static int32_t alloc(fp_table* t, uint32_t listener, fp_addr client, int32_t fd, uint64_t expires) {
  fp_alloc_spec s;
  memset(&s, 0, sizeof s);
  s.listener = listener;
  s.client = client;
  s.relay_fd = fd;
  s.expires_ms = expires;
  memcpy(s.txid_prefix, "ABCDEFGH", 8);
  return fp_alloc_install(t, &s);
}

static int permit(fp_table* t, int32_t a, fp_addr peer, uint64_t expires) {
  fp_perm_spec s;
  memset(&s, 0, sizeof s);
  s.peer = peer;
  s.expires_ms = expires;
  s.any_port = 1;
  return fp_perm_install(t, a, &s);
}

/* ChannelData: number, declared length, `have` payload bytes of 'x', `extra` trailing bytes. */
static size_t channel_data(uint8_t* buf, uint16_t number, uint16_t declared, size_t have) {
  buf[0] = (uint8_t)(number >> 8);
  buf[1] = (uint8_t)number;
  buf[2] = (uint8_t)(declared >> 8);
  buf[3] = (uint8_t)declared;
  memset(buf + 4, 'x', have);
  return 4 + have;
}

static void put16(uint8_t* p, unsigned v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* A Send indication to `peer` carrying `payload`, plus an optional extra attribute type. */
static size_t send_indication(uint8_t* buf, const fp_addr* peer, const char* payload, unsigned extra_attr) {
  static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  size_t pos = 20;
  put16(buf, 0x0016);
  buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
  memcpy(buf + 8, txid, 12);
  size_t ip_len = peer->family == 4 ? 4 : 16;
  put16(buf + pos, 0x0012);
  put16(buf + pos + 2, (unsigned)(4 + ip_len));
  buf[pos + 4] = 0;
  buf[pos + 5] = peer->family == 4 ? 1 : 2;
  put16(buf + pos + 6, peer->port ^ 0x2112u);
  for (size_t k = 0; k < ip_len; k++) buf[pos + 8 + k] = peer->ip[k] ^ buf[4 + k];
  pos += 8 + ip_len;
  size_t n = strlen(payload);
  put16(buf + pos, 0x0013);
  put16(buf + pos + 2, (unsigned)n);
  memcpy(buf + pos + 4, payload, n);
  pos += 4 + n;
  while (pos % 4) buf[pos++] = 0;
  if (extra_attr) {
    put16(buf + pos, extra_attr);
    put16(buf + pos + 2, 0);
    pos += 4;
  }
  put16(buf + 2, (unsigned)(pos - 20));
  return pos;
}

static void test_install_lookup_remove(void) {
  test_name = "install/lookup/remove";
  fp_table* t = table(4, 8, 8);
  fp_addr client = fp_addr_v4(V4(198, 51, 100, 7), 40000);
  fp_addr peer = fp_addr_v4(V4(10, 0, 0, 5), 6000);
  int32_t a = alloc(t, 1, client, 33, 1000);
  CHECK(a >= 0);
  EQ(permit(t, a, peer, 1000), 0);
  EQ(fp_channel_bind(t, a, 0x4001, &peer, 1000), 0);
  SELF_CHECK(t);

  uint8_t buf[128];
  size_t n = channel_data(buf, 0x4001, 10, 10);
  fp_to_peer tp;
  EQ(fp_client_packet(t, 1, &client, buf, n, 5, &tp), FP_FORWARD);
  EQ(tp.reason, FP_OK);
  EQ(tp.alloc, a);
  EQ(tp.relay_fd, 33);
  CHECK(memcmp(&tp.peer, &peer, sizeof peer) == 0);
  EQ(tp.offset, 4);
  EQ(tp.length, 10);

  /* Another listener, another client port: no allocation. */
  EQ(fp_client_packet(t, 2, &client, buf, n, 5, &tp), FP_PUNT);
  EQ(tp.reason, FP_NO_ALLOCATION);
  fp_addr other = fp_addr_v4(V4(198, 51, 100, 7), 40001);
  EQ(fp_client_packet(t, 1, &other, buf, n, 5, &tp), FP_PUNT);
  EQ(tp.reason, FP_NO_ALLOCATION);

  /* Peer -> client over the bound channel: a 4-byte ChannelData header, no padding. */
  fp_to_client tc;
  EQ(fp_peer_packet(t, 33, &peer, 10, 5, &tc), FP_FORWARD);
  EQ(tc.frame, FP_CHANNEL_DATA);
  EQ(tc.listener, 1);
  CHECK(memcmp(&tc.client, &client, sizeof client) == 0);
  EQ(tc.head_len, 4);
  EQ(tc.pad, 0);
  CHECK(memcmp(tc.head, "\x40\x01\x00\x0a", 4) == 0);
  /* Unknown relay fd. */
  EQ(fp_peer_packet(t, 34, &peer, 10, 5, &tc), FP_PUNT);
  EQ(tc.reason, FP_NO_ALLOCATION);

  /* Unbinding: ChannelData punts, the peer's datagrams go as Data indications. */
  EQ(fp_channel_unbind(t, a, 0x4001), 0);
  EQ(fp_channel_unbind(t, a, 0x4001), -FP_ENOENT);
  EQ(fp_client_packet(t, 1, &client, buf, n, 5, &tp), FP_PUNT);
  EQ(tp.reason, FP_NO_CHANNEL);
  EQ(fp_peer_packet(t, 33, &peer, 10, 5, &tc), FP_FORWARD);
  EQ(tc.frame, FP_DATA_INDICATION);

  /* Removing the permission also removes channels to its IP. */
  EQ(fp_channel_bind(t, a, 0x4002, &peer, 1000), 0);
  EQ(fp_perm_remove(t, a, &peer), 0);
  EQ(fp_perm_remove(t, a, &peer), -FP_ENOENT);
  EQ(fp_channel_unbind(t, a, 0x4002), -FP_ENOENT);
  EQ(fp_peer_packet(t, 33, &peer, 10, 5, &tc), FP_PUNT);
  EQ(tc.reason, FP_NO_PERMISSION);
  SELF_CHECK(t);

  /* Removal, stale handles, slot reuse. */
  EQ(fp_alloc_remove(t, a), 0);
  EQ(fp_alloc_remove(t, a), -FP_ENOENT);
  EQ(permit(t, a, peer, 1000), -FP_ENOENT);
  EQ(fp_alloc_refresh(t, a, 2000), -FP_ENOENT);
  int32_t b = alloc(t, 1, client, 33, 1000);
  CHECK(b >= 0 && b != a);
  EQ(fp_alloc_remove(t, a), -FP_ENOENT);
  EQ(fp_alloc_remove(t, -1), -FP_ENOENT);
  EQ(fp_alloc_remove(t, 0x7fffffff), -FP_ENOENT);

  /* Duplicates and bad arguments. */
  EQ(alloc(t, 1, client, 40, 1000), -FP_EEXIST);
  EQ(alloc(t, 1, other, 33, 1000), -FP_EEXIST);
  EQ(alloc(t, 1, other, -1, 1000), -FP_EINVAL);
  fp_addr bad = client;
  bad.family = 5;
  EQ(alloc(t, 1, bad, 41, 1000), -FP_EINVAL);
  bad = client;
  bad.ip[7] = 1; /* IPv4 with bytes past its 4 */
  EQ(alloc(t, 1, bad, 41, 1000), -FP_EINVAL);
  EQ(fp_channel_bind(t, b, 0x3fff, &peer, 1000), -FP_EINVAL);
  EQ(fp_channel_bind(t, b, 0x5000, &peer, 1000), -FP_EINVAL);
  fp_perm_spec ps;
  memset(&ps, 0, sizeof ps);
  ps.peer = peer;
  ps.n_ranges = FP_MAX_RANGES + 1;
  EQ(fp_perm_install(t, b, &ps), -FP_EINVAL);
  ps.n_ranges = 1;
  ps.ranges[0][0] = 10;
  ps.ranges[0][1] = 9;
  EQ(fp_perm_install(t, b, &ps), -FP_EINVAL);
  SELF_CHECK(t);

  fp_stats st;
  fp_get_stats(t, &st);
  EQ(st.allocations, 1);
  EQ(st.permissions, 0);
  EQ(st.channels, 0);
  fp_destroy(t);

  fp_limits zero = {0, 1, 1, 0};
  CHECK(fp_create(&zero) == NULL);
  fp_limits huge = {(1u << 24) + 1, 1, 1, 0};
  CHECK(fp_create(&huge) == NULL);
}

static void test_channel_conflicts(void) {
  test_name = "channel conflicts";
  fp_table* t = table(2, 4, 4);
  fp_addr client = fp_addr_v4(V4(198, 51, 100, 7), 40000);
  fp_addr p1 = fp_addr_v4(V4(10, 0, 0, 5), 6000);
  fp_addr p2 = fp_addr_v4(V4(10, 0, 0, 5), 6001);
  int32_t a = alloc(t, 1, client, 3, 1000);
  EQ(fp_channel_bind(t, a, 0x4000, &p1, 100), 0);
  EQ(fp_channel_bind(t, a, 0x4000, &p1, 200), 0); /* refresh */
  EQ(fp_channel_bind(t, a, 0x4000, &p2, 200), -FP_ECONFLICT);
  EQ(fp_channel_bind(t, a, 0x4fff, &p1, 200), -FP_ECONFLICT);
  EQ(fp_channel_bind(t, a, 0x4fff, &p2, 200), 0);
  fp_stats st;
  fp_get_stats(t, &st);
  EQ(st.channels, 2);
  SELF_CHECK(t);
  fp_destroy(t);
}

static void test_expiry(void) {
  test_name = "expiry";
  fp_table* t = table(4, 8, 8);
  fp_addr client = fp_addr_v4(V4(198, 51, 100, 7), 40000);
  fp_addr peer = fp_addr_v4(V4(10, 0, 0, 5), 6000);
  int32_t a = alloc(t, 1, client, 3, 1000);
  EQ(permit(t, a, peer, 500), 0);
  EQ(fp_channel_bind(t, a, 0x4001, &peer, 300), 0);
  uint8_t buf[16];
  size_t n = channel_data(buf, 0x4001, 4, 4);
  fp_to_peer tp;
  fp_to_client tc;
  EQ(fp_client_packet(t, 1, &client, buf, n, 299, &tp), FP_FORWARD);
  EQ(fp_client_packet(t, 1, &client, buf, n, 300, &tp), FP_PUNT);
  EQ(tp.reason, FP_NO_CHANNEL);
  /* The expired channel leaves the peer's datagrams to Data indications while the permission lives. */
  EQ(fp_peer_packet(t, 3, &peer, 4, 300, &tc), FP_FORWARD);
  EQ(tc.frame, FP_DATA_INDICATION);
  EQ(fp_peer_packet(t, 3, &peer, 4, 500, &tc), FP_PUNT);
  EQ(tc.reason, FP_NO_PERMISSION);
  /* Refreshing brings them back. */
  EQ(fp_channel_bind(t, a, 0x4001, &peer, 900), 0);
  EQ(permit(t, a, peer, 900), 0);
  EQ(fp_client_packet(t, 1, &client, buf, n, 600, &tp), FP_FORWARD);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1000, &tp), FP_PUNT);
  EQ(tp.reason, FP_NO_ALLOCATION);
  EQ(fp_alloc_refresh(t, a, 2000), 0);
  EQ(fp_client_packet(t, 1, &client, buf, n, 899, &tp), FP_FORWARD);
  EQ(fp_peer_packet(t, 3, &peer, 4, 1999, &tc), FP_PUNT); /* the permission expired at 900 */

  /* Sweep: frees what expired, keeps the rest. */
  int32_t b = alloc(t, 2, client, 4, 100);
  EQ(permit(t, b, peer, 5000), 0);
  EQ(fp_sweep(t, 950), 1 + 1 + 1); /* b with its permission, a's channel (its permission expired at 900 too) */
  fp_stats st;
  fp_get_stats(t, &st);
  EQ(st.allocations, 1);
  EQ(st.permissions, 0);
  EQ(st.channels, 0);
  EQ(fp_sweep(t, 1999), 0);
  EQ(fp_sweep(t, 2000), 1);
  SELF_CHECK(t);
  fp_destroy(t);
}

static void test_withdraw(void) {
  test_name = "withdraw by CIDR";
  fp_table* t = table(4, 16, 16);
  fp_addr c1 = fp_addr_v4(V4(198, 51, 100, 7), 40000);
  fp_addr c2 = fp_addr_v4(V4(198, 51, 100, 8), 40000);
  int32_t a = alloc(t, 1, c1, 3, 1000);
  int32_t b = alloc(t, 2, c2, 4, 1000);
  fp_addr in = fp_addr_v4(V4(10, 0, 200, 1), 7000);
  fp_addr out1 = fp_addr_v4(V4(10, 1, 0, 1), 7000);
  fp_addr out2 = fp_addr_v4(V4(192, 168, 1, 1), 7000);
  uint8_t v6ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  fp_addr v6 = fp_addr_v6(v6ip, 7000);
  fp_addr peers[] = {in, out1, out2, v6};
  for (int i = 0; i < 4; i++) {
    EQ(permit(t, a, peers[i], 1000), 0);
    EQ(permit(t, b, peers[i], 1000), 0);
    EQ(fp_channel_bind(t, a, (uint16_t)(0x4000 + i), &peers[i], 1000), 0);
  }
  /* Listener 1's route narrows to 10.0.0.0/16: out1, out2 and the IPv6 peer go, with their channels. */
  fp_cidr keep = {fp_addr_v4(V4(10, 0, 0, 0), 0), 16};
  fp_filter f = {0, 0, 1, &keep, 1};
  EQ(fp_withdraw(t, &f), 3);
  SELF_CHECK(t);
  fp_to_client tc;
  EQ(fp_peer_packet(t, 3, &in, 4, 1, &tc), FP_FORWARD);
  EQ(tc.frame, FP_CHANNEL_DATA);
  EQ(fp_peer_packet(t, 3, &out1, 4, 1, &tc), FP_PUNT);
  EQ(tc.reason, FP_NO_PERMISSION);
  EQ(fp_peer_packet(t, 3, &v6, 4, 1, &tc), FP_PUNT);
  EQ(fp_channel_unbind(t, a, 0x4001), -FP_ENOENT);
  EQ(fp_channel_unbind(t, a, 0x4003), -FP_ENOENT);
  /* Listener 2 kept all four. */
  EQ(fp_peer_packet(t, 4, &out2, 4, 1, &tc), FP_FORWARD);
  EQ(fp_peer_packet(t, 4, &v6, 4, 1, &tc), FP_FORWARD);

  /* Any listener, inside: deny 2001:db8::/32. */
  fp_cidr deny = {fp_addr_v6(v6ip, 0), 32};
  fp_filter g = {1, 1, 0, &deny, 1};
  EQ(fp_withdraw(t, &g), 1);
  EQ(fp_peer_packet(t, 4, &v6, 4, 1, &tc), FP_PUNT);
  /* A prefix that is not on a byte boundary: 192.168.0.0/23 holds 192.168.1.1. */
  fp_cidr odd = {fp_addr_v4(V4(192, 168, 0, 0), 0), 23};
  fp_filter h = {1, 1, 0, &odd, 1};
  EQ(fp_withdraw(t, &h), 1);
  EQ(fp_peer_packet(t, 4, &out2, 4, 1, &tc), FP_PUNT);
  /* An empty keep-set withdraws everything of the listener; bad prefixes are refused. */
  fp_cidr bad = {fp_addr_v4(V4(10, 0, 0, 0), 0), 33};
  fp_filter k = {1, 0, 0, &bad, 1};
  EQ(fp_withdraw(t, &k), -FP_EINVAL);
  fp_filter all = {0, 0, 2, NULL, 0};
  EQ(fp_withdraw(t, &all), 2);
  fp_stats st;
  fp_get_stats(t, &st);
  EQ(st.permissions, 1);
  EQ(st.channels, 1);
  SELF_CHECK(t);
  fp_destroy(t);
}

static void test_capacity(void) {
  test_name = "capacity";
  fp_table* t = table(2, 3, 2);
  fp_addr peer = fp_addr_v4(V4(10, 0, 0, 5), 6000);
  int32_t a = alloc(t, 1, fp_addr_v4(V4(198, 51, 100, 1), 1), 3, 1000);
  int32_t b = alloc(t, 1, fp_addr_v4(V4(198, 51, 100, 2), 1), 4, 1000);
  CHECK(a >= 0 && b >= 0);
  EQ(alloc(t, 1, fp_addr_v4(V4(198, 51, 100, 3), 1), 5, 1000), -FP_EFULL);
  for (uint32_t i = 0; i < 3; i++) EQ(permit(t, a, fp_addr_v4(V4(10, 0, 0, 1 + i), 0), 1000), 0);
  EQ(permit(t, b, peer, 1000), -FP_EFULL);
  EQ(permit(t, a, fp_addr_v4(V4(10, 0, 0, 1), 0), 2000), 0); /* an update needs no room */
  EQ(fp_channel_bind(t, a, 0x4000, &peer, 1000), 0);
  EQ(fp_channel_bind(t, b, 0x4000, &peer, 1000), 0);
  EQ(fp_channel_bind(t, b, 0x4001, &peer, 1000), -FP_ECONFLICT);
  fp_addr p2 = fp_addr_v4(V4(10, 0, 0, 6), 6000);
  EQ(fp_channel_bind(t, b, 0x4001, &p2, 1000), -FP_EFULL);
  EQ(fp_alloc_remove(t, a), 0);
  EQ(permit(t, b, peer, 1000), 0);
  EQ(fp_channel_bind(t, b, 0x4001, &p2, 1000), 0);
  EQ(alloc(t, 1, fp_addr_v4(V4(198, 51, 100, 3), 1), 5, 1000) >= 0, 1);
  SELF_CHECK(t);
  fp_destroy(t);

  /* Churn against a shadow set: every lookup agrees after thousands of inserts and removals. */
  test_name = "churn";
  t = table(1, 64, 64);
  int32_t x = alloc(t, 1, fp_addr_v4(1, 1), 3, 1u << 30);
  uint8_t shadow[200] = {0};
  unsigned seed = 7;
  for (int step = 0; step < 20000; step++) {
    seed = seed * 1103515245u + 12345u;
    unsigned k = (seed >> 8) % 200;
    fp_addr p = fp_addr_v4(V4(10, 0, k / 100, k % 100), 0);
    if ((seed >> 20) & 1) {
      int r = permit(t, x, p, 1u << 30);
      if (r == 0) shadow[k] = 1;
      else EQ(r, -FP_EFULL);
    } else {
      EQ(fp_perm_remove(t, x, &p), shadow[k] ? 0 : -FP_ENOENT);
      shadow[k] = 0;
    }
    if (step % 997 == 0) SELF_CHECK(t);
  }
  for (unsigned k = 0; k < 200; k++) {
    fp_counters c;
    fp_addr p = fp_addr_v4(V4(10, 0, k / 100, k % 100), 0);
    EQ(fp_perm_counters(t, x, &p, &c), shadow[k] ? 0 : -FP_ENOENT);
  }
  SELF_CHECK(t);
  fp_destroy(t);
}

static void test_ports(void) {
  test_name = "port admission";
  fp_table* t = table(1, 2, 4);
  fp_addr client = fp_addr_v4(V4(198, 51, 100, 7), 40000);
  int32_t a = alloc(t, 1, client, 3, 1000);
  fp_perm_spec s;
  memset(&s, 0, sizeof s);
  s.peer = fp_addr_v4(V4(10, 0, 0, 5), 0);
  s.expires_ms = 1000;
  s.n_ranges = 2;
  s.ranges[0][0] = 5000, s.ranges[0][1] = 5999;
  s.ranges[1][0] = 7000, s.ranges[1][1] = 7000;
  s.n_blocked = 1;
  s.blocked[0] = 5500;
  EQ(fp_perm_install(t, a, &s), 0);
  fp_to_client tc;
  uint16_t ports[] = {4999, 5000, 5500, 5999, 6000, 7000, 7001};
  int want[] = {0, 1, 0, 1, 0, 1, 0};
  for (int i = 0; i < 7; i++) {
    fp_addr p = fp_addr_v4(V4(10, 0, 0, 5), ports[i]);
    EQ(fp_peer_packet(t, 3, &p, 4, 1, &tc), want[i] ? FP_FORWARD : FP_PUNT);
    if (!want[i]) EQ(tc.reason, FP_PORT_DENIED);
  }
  /* A channel to a port the admission no longer allows punts (a reload re-installed it narrower). */
  fp_addr p6000 = fp_addr_v4(V4(10, 0, 0, 5), 6000);
  EQ(fp_channel_bind(t, a, 0x4000, &p6000, 1000), 0);
  uint8_t buf[8];
  size_t n = channel_data(buf, 0x4000, 0, 0);
  fp_to_peer tp;
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_PORT_DENIED);
  s.n_ranges = 0;
  s.any_port = 1;
  EQ(fp_perm_install(t, a, &s), 0);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_FORWARD);
  EQ(tp.length, 0);
  /* A channel to port 0 (found by fuzzing): no peer is there, nothing goes out. */
  fp_addr p0 = fp_addr_v4(V4(10, 0, 0, 5), 0);
  EQ(fp_channel_bind(t, a, 0x4001, &p0, 1000), 0);
  n = channel_data(buf, 0x4001, 0, 0);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_PORT_DENIED);
  fp_destroy(t);
}

static void test_malformed(void) {
  test_name = "malformed ChannelData";
  fp_table* t = table(1, 2, 2);
  fp_addr client = fp_addr_v4(V4(198, 51, 100, 7), 40000);
  fp_addr peer = fp_addr_v4(V4(10, 0, 0, 5), 6000);
  int32_t a = alloc(t, 1, client, 3, 1000);
  EQ(permit(t, a, peer, 1000), 0);
  EQ(fp_channel_bind(t, a, 0x4000, &peer, 1000), 0);
  uint8_t buf[64];
  fp_to_peer tp;
  /* Short: 0 to 3 bytes. */
  channel_data(buf, 0x4000, 0, 0);
  for (size_t n = 0; n < 4; n++) {
    uint8_t* exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    EQ(fp_client_packet(t, 1, &client, exact, n, 1, &tp), FP_PUNT);
    EQ(tp.reason, n == 0 ? FP_NOT_DATA : FP_MALFORMED);
    free(exact);
  }
  /* Length past the end, by one and by a lot. */
  size_t n = channel_data(buf, 0x4000, 9, 8);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_MALFORMED);
  n = channel_data(buf, 0x4000, 0xffff, 8);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_MALFORMED);
  /* Padded (over UDP it may be) and unpadded both forward the declared length. */
  n = channel_data(buf, 0x4000, 5, 8);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_FORWARD);
  EQ(tp.length, 5);
  n = channel_data(buf, 0x4000, 5, 5);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_FORWARD);
  /* Numbers outside 0x4000..0x4fff: reserved (0x5000..0x7fff) is malformed, below is not ChannelData. */
  n = channel_data(buf, 0x5000, 4, 4);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_MALFORMED);
  n = channel_data(buf, 0x7fff, 4, 4);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_MALFORMED);
  n = channel_data(buf, 0x3fff, 4, 4);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_NOT_DATA);
  n = channel_data(buf, 0x8000, 4, 4);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_NOT_DATA);
  /* A bound-looking number that is not bound punts. */
  test_name = "uninstalled channel";
  n = channel_data(buf, 0x4abc, 4, 4);
  EQ(fp_client_packet(t, 1, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_NO_CHANNEL);
  EQ(tp.alloc, a);
  /* A STUN request punts without a lookup. */
  memset(buf, 0, 20);
  buf[1] = 0x03; /* Allocate request */
  EQ(fp_client_packet(t, 1, &client, buf, 20, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_NOT_DATA);

  fp_stats st;
  fp_get_stats(t, &st);
  EQ(st.forwarded, 2);
  EQ(st.punted[FP_MALFORMED], 3 + 2 + 2);
  EQ(st.punted[FP_NO_CHANNEL], 1);
  fp_destroy(t);
}

static void test_send_and_data_indications(void) {
  test_name = "Send and Data indications";
  fp_table* t = table(2, 4, 4);
  uint8_t cip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
  uint8_t pip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd};
  fp_addr client = fp_addr_v6(cip, 50000);
  fp_addr peer = fp_addr_v6(pip, 9000);
  int32_t a = alloc(t, 7, client, 9, 1000);
  EQ(permit(t, a, peer, 1000), 0);
  uint8_t buf[256];
  fp_to_peer tp;
  size_t n = send_indication(buf, &peer, "hello", 0);
  EQ(fp_client_packet(t, 7, &client, buf, n, 1, &tp), FP_FORWARD);
  CHECK(memcmp(&tp.peer, &peer, sizeof peer) == 0);
  EQ(tp.length, 5);
  CHECK(tp.offset + tp.length <= n && memcmp(buf + tp.offset, "hello", 5) == 0);
  /* An unknown attribute needs the full parser; a wrong length is malformed; port 0 is no peer. */
  n = send_indication(buf, &peer, "hello", 0x0022);
  EQ(fp_client_packet(t, 7, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_UNSUPPORTED);
  n = send_indication(buf, &peer, "hello", 0x8028);
  EQ(fp_client_packet(t, 7, &client, buf, n, 1, &tp), FP_FORWARD);
  n = send_indication(buf, &peer, "hello", 0);
  EQ(fp_client_packet(t, 7, &client, buf, n - 4, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_MALFORMED);
  fp_addr port0 = peer;
  port0.port = 0;
  n = send_indication(buf, &port0, "hello", 0);
  EQ(fp_client_packet(t, 7, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_PORT_DENIED);
  fp_addr stranger = fp_addr_v6(cip, 9000);
  n = send_indication(buf, &stranger, "hello", 0);
  EQ(fp_client_packet(t, 7, &client, buf, n, 1, &tp), FP_PUNT);
  EQ(tp.reason, FP_NO_PERMISSION);

  /* Data indication for an IPv6 peer: 48 bytes of header, 3 of padding for 5 of payload. */
  fp_to_client tc;
  EQ(fp_peer_packet(t, 9, &peer, 5, 1, &tc), FP_FORWARD);
  EQ(tc.frame, FP_DATA_INDICATION);
  EQ(tc.head_len, 48);
  EQ(tc.pad, 3);
  EQ(tc.listener, 7);
  const uint8_t* h = tc.head;
  EQ((h[0] << 8) | h[1], 0x0017);
  EQ((h[2] << 8) | h[3], 48 - 20 + 5 + 3);
  CHECK(memcmp(h + 4, "\x21\x12\xa4\x42", 4) == 0);
  CHECK(memcmp(h + 8, "ABCDEFGH", 8) == 0);
  CHECK(memcmp(h + 16, "\x00\x00\x00\x01", 4) == 0);
  EQ((h[20] << 8) | h[21], 0x0012);
  EQ((h[22] << 8) | h[23], 20);
  EQ(h[25], 2);
  EQ(((h[26] << 8) | h[27]) ^ 0x2112, 9000);
  uint8_t ip[16];
  for (int k = 0; k < 16; k++) ip[k] = h[28 + k] ^ h[4 + k];
  CHECK(memcmp(ip, pip, 16) == 0);
  EQ((h[44] << 8) | h[45], 0x0013);
  EQ((h[46] << 8) | h[47], 5);
  /* The counter moves on per indication. */
  EQ(fp_peer_packet(t, 9, &peer, 8, 1, &tc), FP_FORWARD);
  CHECK(memcmp(tc.head + 16, "\x00\x00\x00\x02", 4) == 0);
  EQ(tc.pad, 0);

  /* IPv4 peer: 36 bytes of header, the address XORed with the cookie. */
  fp_addr c4 = fp_addr_v4(V4(198, 51, 100, 7), 40000);
  fp_addr p4 = fp_addr_v4(V4(10, 0, 0, 5), 6000);
  int32_t b = alloc(t, 1, c4, 10, 1000);
  EQ(permit(t, b, p4, 1000), 0);
  EQ(fp_peer_packet(t, 10, &p4, 1, 1, &tc), FP_FORWARD);
  EQ(tc.head_len, 36);
  EQ(tc.pad, 3);
  CHECK(memcmp(tc.head + 24, "\x00\x01", 2) == 0);
  CHECK(memcmp(tc.head + 28, "\x2b\x12\xa4\x47", 4) == 0);
  /* A datagram too large for a Data indication's 16-bit length stays in JavaScript. */
  EQ(fp_peer_packet(t, 10, &p4, 65535, 1, &tc), FP_PUNT);
  EQ(tc.reason, FP_UNSUPPORTED);

  /* Counters, per allocation and per permission. */
  fp_counters c;
  EQ(fp_alloc_counters(t, a, &c), 0);
  EQ(c.to_peer_packets, 2);
  EQ(c.to_peer_bytes, 10);
  EQ(c.to_client_packets, 2);
  EQ(c.to_client_bytes, 13);
  EQ(fp_perm_counters(t, b, &p4, &c), 0);
  EQ(c.to_client_packets, 1);
  EQ(c.to_client_bytes, 1);
  EQ(fp_perm_counters(t, b, &peer, &c), -FP_ENOENT);
  /* Taking reads and zeroes: nothing is counted twice. */
  EQ(fp_alloc_take_counters(t, a, &c), 0);
  EQ(c.to_client_bytes, 13);
  EQ(fp_alloc_take_counters(t, a, &c), 0);
  EQ(c.to_client_bytes + c.to_client_packets + c.to_peer_bytes + c.to_peer_packets, 0);
  EQ(fp_perm_take_counters(t, b, &p4, &c), 0);
  EQ(c.to_client_packets, 1);
  EQ(fp_perm_counters(t, b, &p4, &c), 0);
  EQ(c.to_client_packets, 0);
  EQ(fp_peer_packet(t, 10, &p4, 3, 1, &tc), FP_FORWARD);
  EQ(fp_perm_take_counters(t, b, &p4, &c), 0);
  EQ(c.to_client_bytes, 3);
  EQ(fp_perm_take_counters(t, b, &peer, &c), -FP_ENOENT);
  EQ(fp_alloc_take_counters(t, -5, &c), -FP_ENOENT);
  SELF_CHECK(t);
  fp_destroy(t);
}

int main(void) {
  test_install_lookup_remove();
  test_channel_conflicts();
  test_expiry();
  test_withdraw();
  test_capacity();
  test_ports();
  test_malformed();
  test_send_and_data_indications();
  printf("%d checks, %d failed\n", checks, failed);
  return failed == 0 ? 0 : 1;
}
