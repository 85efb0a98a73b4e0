/*
 * The relay's native fast path: the state of UDP allocations that JavaScript installed, and the
 * per-datagram decisions made from it. Plain C, no I/O, no clock, no Node-API: the caller reads
 * the sockets, passes the time in ms with every call, and sends what a decision says. Expiries and
 * `now` are on the caller's one clock (a monotonic one is best); nothing here reads a clock.
 *
 * JavaScript owns the state. It installs an allocation, its permissions and its channel bindings
 * here after it has granted them (the perimeter in policy/ decides), refreshes and removes them,
 * and withdraws what a narrowed route no longer admits. This side only checks what was installed,
 * treats anything past its expiry as absent, and answers PUNT for everything else: the caller then
 * hands the datagram to JavaScript exactly as without this module.
 *
 * Memory: fp_create() allocates every table once, sized by fp_limits; nothing allocates after it.
 * Not thread-safe: one table per relay thread, each driven by one thread.
 *
 * Every call checks its arguments (handles, lengths, channel numbers) and fails with a negative
 * FP_E* code rather than trusting them; no call reads outside the ranges it is given.
 */
#ifndef STUNNERD_FASTPATH_H
#define STUNNERD_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Errors, returned negated. */
enum {
  FP_EINVAL = 1,  /* a malformed argument: bad family, channel number out of range, ... */
  FP_ENOENT = 2,  /* no such allocation, permission or channel (or a stale handle) */
  FP_EEXIST = 3,  /* the client 5-tuple or the relay fd is already installed */
  FP_EFULL = 4,   /* the table is at its capacity: the caller keeps this one in JavaScript */
  FP_ECONFLICT = 5 /* the channel number or the peer is bound to something else */
};

/* An IPv4 or IPv6 transport address. ip is in network byte order; an IPv4 address takes ip[0..4)
 * and the rest stays zero. port is in host byte order. Build them with fp_addr_v4/fp_addr_v6. */
typedef struct fp_addr {
  uint8_t family; /* 4 or 6 */
  uint8_t zero;   /* always 0 (addresses are compared as bytes) */
  uint16_t port;
  uint8_t ip[16];
} fp_addr;

/* ip_host: the IPv4 address as a host-order uint32 (what udp-batch.c reports). */
fp_addr fp_addr_v4(uint32_t ip_host, uint16_t port);
fp_addr fp_addr_v6(const uint8_t ip[16], uint16_t port);

typedef struct fp_limits {
  uint32_t allocations; /* 1 .. 2^24 */
  uint32_t permissions; /* over all allocations */
  uint32_t channels;    /* over all allocations */
  uint64_t seed;        /* hash seed: random per table, so lookups cannot be steered into collisions */
} fp_limits;

typedef struct fp_table fp_table;

/* NULL when a limit is out of range or memory is short. */
fp_table* fp_create(const fp_limits* limits);
void fp_destroy(fp_table* t);

/* ---- Allocations ---------------------------------------------------------------------------- */

typedef struct fp_alloc_spec {
  uint32_t listener;       /* the caller's id of the listener socket the client talks to */
  fp_addr client;          /* the client's address as the listener sees it */
  int32_t relay_fd;        /* the allocation's relay socket (its own: one allocation per fd) */
  uint64_t expires_ms;     /* the allocation is absent from this time on */
  uint8_t txid_prefix[8];  /* Data indications' transaction id: these 8 bytes, then a counter */
} fp_alloc_spec;

/* A handle (>= 0) to name the allocation in later calls, or -FP_E*: -FP_EEXIST when the client
 * 5-tuple or the relay fd is taken (by an expired allocation too, until it is removed or swept).
 * Handles of removed allocations go stale: they fail with -FP_ENOENT, never reach a newer
 * allocation in the slot. */
int32_t fp_alloc_install(fp_table* t, const fp_alloc_spec* spec);
int fp_alloc_refresh(fp_table* t, int32_t alloc, uint64_t expires_ms);
/* Removes the allocation with its permissions and channels. */
int fp_alloc_remove(fp_table* t, int32_t alloc);

/* ---- Permissions ---------------------------------------------------------------------------- */

#define FP_MAX_RANGES 8
#define FP_MAX_BLOCKED 8

/* A permission for a peer IP (its port is ignored) and the peer ports the perimeter admits: any
 * port (any_port = 1), or those in ranges[] (inclusive); never one in blocked[] (the relay's own
 * listener ports). An admission with more ranges or blocked ports than fit stays in JavaScript. */
typedef struct fp_perm_spec {
  fp_addr peer;
  uint64_t expires_ms;
  uint8_t any_port;
  uint8_t n_ranges;
  uint8_t n_blocked;
  uint16_t ranges[FP_MAX_RANGES][2];
  uint16_t blocked[FP_MAX_BLOCKED];
} fp_perm_spec;

/* Installs the permission, or replaces the installed one for the same peer IP (a refresh, or a
 * new admission after a reload). */
int fp_perm_install(fp_table* t, int32_t alloc, const fp_perm_spec* spec);
/* Removes the permission and every channel bound to a peer at its IP (as turn/allocation.ts does). */
int fp_perm_remove(fp_table* t, int32_t alloc, const fp_addr* peer);

/* ---- Channels ------------------------------------------------------------------------------- */

#define FP_CHANNEL_MIN 0x4000
#define FP_CHANNEL_MAX 0x4fff

/* Binds number (FP_CHANNEL_MIN..FP_CHANNEL_MAX) to the peer transport address, or refreshes the
 * same binding. -FP_ECONFLICT when the number or the peer is bound otherwise: unbind it first. */
int fp_channel_bind(fp_table* t, int32_t alloc, uint16_t number, const fp_addr* peer, uint64_t expires_ms);
int fp_channel_unbind(fp_table* t, int32_t alloc, uint16_t number);

/* ---- Withdrawal and expiry ------------------------------------------------------------------ */

typedef struct fp_cidr {
  fp_addr base; /* its port is ignored */
  uint8_t prefix;
} fp_cidr;

/* Which permissions a hot reload withdraws: those of one listener (or of any), whose peer IP is
 * outside every CIDR of the set (inside = 0: the route narrowed to the set), or inside one of
 * them (inside = 1: the set is now denied). A CIDR matches only its own family. */
typedef struct fp_filter {
  uint8_t any_listener;
  uint8_t inside;
  uint32_t listener;
  const fp_cidr* cidrs;
  uint32_t n_cidrs;
} fp_filter;

/* Removes the matching permissions (and their channels, as fp_perm_remove). Returns how many
 * permissions went, or -FP_EINVAL for a bad filter (a prefix too long for its family). */
int32_t fp_withdraw(fp_table* t, const fp_filter* filter);

/* Frees every entry expired at now (expired entries already act as absent; this reclaims their
 * room). Returns how many allocations, permissions and channels went. */
uint32_t fp_sweep(fp_table* t, uint64_t now_ms);

/* ---- Counters ------------------------------------------------------------------------------- */

typedef struct fp_counters {
  uint64_t to_peer_packets, to_peer_bytes;     /* client -> peer, payload bytes */
  uint64_t to_client_packets, to_client_bytes; /* peer -> client, payload bytes */
} fp_counters;

/* What the fast path forwarded for an allocation, or for one of its permissions (which the caller
 * adds to the permission's cluster). */
int fp_alloc_counters(const fp_table* t, int32_t alloc, fp_counters* out);
int fp_perm_counters(const fp_table* t, int32_t alloc, const fp_addr* peer, fp_counters* out);
/* The same, and zeroes them: the caller adds what it took to its own stats, so that nothing is
 * counted twice. Removing an entry drops what was not taken: take before removing. */
int fp_alloc_take_counters(fp_table* t, int32_t alloc, fp_counters* out);
int fp_perm_take_counters(fp_table* t, int32_t alloc, const fp_addr* peer, fp_counters* out);

/* Why a datagram was punted (or FP_OK when it was forwarded). */
typedef enum fp_reason {
  FP_OK = 0,
  FP_NOT_DATA,       /* a STUN request or anything but ChannelData and Send indications */
  FP_MALFORMED,      /* ChannelData or a Send indication that does not parse */
  FP_UNSUPPORTED,    /* parses, but needs JavaScript (unknown attributes, sizes past 16 bits) */
  FP_NO_ALLOCATION,  /* no live allocation for this client 5-tuple or relay fd */
  FP_NO_CHANNEL,     /* the channel number is not bound, or its binding expired */
  FP_NO_PERMISSION,  /* no live permission for the peer IP */
  FP_PORT_DENIED,    /* the permission does not admit the peer's port (or the port is 0) */
  FP_REASONS
} fp_reason;

typedef struct fp_stats {
  uint32_t allocations, permissions, channels; /* installed now, live or expired */
  uint64_t forwarded;
  uint64_t punted[FP_REASONS]; /* by reason; punted[FP_OK] stays 0 */
} fp_stats;

void fp_get_stats(const fp_table* t, fp_stats* out);

/* ---- The decisions -------------------------------------------------------------------------- */

typedef enum fp_verdict { FP_PUNT = 0, FP_FORWARD = 1 } fp_verdict;

typedef struct fp_to_peer {
  fp_reason reason;
  int32_t alloc;    /* the allocation, when one was found (else -1) */
  int32_t relay_fd; /* send from this socket */
  fp_addr peer;     /* to this peer */
  uint32_t offset;  /* the payload: data[offset .. offset + length) */
  uint32_t length;
} fp_to_peer;

/* A datagram from `client` on `listener`. FP_FORWARD when it is ChannelData (RFC 8656 sec 12.4)
 * on a bound channel, or a Send indication (sec 11.4) with an IPv4 or IPv6 XOR-PEER-ADDRESS, for
 * a live allocation with a live permission that admits the peer's port: out says where the
 * payload goes. ChannelData over UDP may carry padding or not: the length field must fit the
 * datagram, and bytes after it are ignored. Anything else: FP_PUNT with out->reason. */
fp_verdict fp_client_packet(fp_table* t, uint32_t listener, const fp_addr* client, const uint8_t* data,
                            size_t len, uint64_t now_ms, fp_to_peer* out);

#define FP_MAX_HEAD 48 /* a Data indication's header for an IPv6 peer */

typedef enum fp_frame { FP_CHANNEL_DATA = 1, FP_DATA_INDICATION = 2 } fp_frame;

typedef struct fp_to_client {
  fp_reason reason;
  int32_t alloc;
  fp_frame frame;
  uint32_t listener; /* send from this listener */
  fp_addr client;    /* to this client */
  uint8_t head_len;  /* head[0..head_len), then the whole datagram, then pad zero bytes */
  uint8_t pad;
  uint8_t head[FP_MAX_HEAD];
} fp_to_client;

/* A datagram of `len` bytes from `peer` on the relay socket `relay_fd`. FP_FORWARD when its
 * allocation is live and a live permission admits the peer: as ChannelData when a channel is
 * bound to the peer (no padding, as over UDP), else as a Data indication (padded to 4 bytes).
 * The payload itself is not read. */
fp_verdict fp_peer_packet(fp_table* t, int32_t relay_fd, const fp_addr* peer, size_t len, uint64_t now_ms,
                          fp_to_client* out);

/* Checks every index against the entries (tests and fuzzing): 0, or a line number in fastpath.c
 * where an invariant fails. */
int fp_self_check(const fp_table* t);

#ifdef __cplusplus
}
#endif

#endif
