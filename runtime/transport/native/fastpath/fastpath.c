/*
 * The fast path's tables and decisions (see fastpath.h for the contract).
 *
 * Entries live in three fixed pools (allocations, permissions, channels); free slots are kept on
 * stacks. Five open-addressing indexes find them: client (listener, address) -> allocation, relay
 * fd -> allocation, (allocation, peer IP) -> permission, (allocation, number) -> channel and
 * (allocation, peer address) -> channel. The indexes use linear probing at a load of at most 1/2,
 * store each entry's hash beside its reference, and delete by shifting the run back (no
 * tombstones, so probe runs never grow with churn). An allocation links its permissions and its
 * channels in two lists, so that removing it touches only its own entries.
 */
#include "fastpath.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(fp_addr) == 20, "fp_addr is compared as bytes: it must have no padding");

#define NIL 0xffffffffu
#define SLOT_BITS 24
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define GEN_MAX 127 /* handles stay positive int32 */

#define STUN_COOKIE 0x2112a442u
#define SEND_INDICATION 0x0016
#define DATA_INDICATION 0x0017
#define ATTR_XOR_PEER_ADDRESS 0x0012
#define ATTR_DATA 0x0013
#define ATTR_DONT_FRAGMENT 0x001a
#define ATTR_FINGERPRINT 0x8028

typedef struct slot {
  uint32_t hash;
  uint32_t ref; /* entry index + 1; 0: empty */
} slot;

typedef struct hindex {
  slot* s;
  uint32_t mask;
} hindex;

typedef struct alloc_e {
  uint8_t used;
  uint8_t gen;
  uint8_t txid[8];
  uint32_t listener;
  int32_t fd;
  uint32_t tx_counter;
  fp_addr client;
  uint64_t expires;
  fp_counters c;
  uint32_t perms; /* list heads */
  uint32_t chans;
} alloc_e;

typedef struct perm_e {
  uint8_t used;
  uint8_t any_port, n_ranges, n_blocked;
  uint32_t alloc; /* pool index */
  uint32_t prev, next;
  fp_addr ip; /* port 0 */
  uint64_t expires;
  uint16_t ranges[FP_MAX_RANGES][2];
  uint16_t blocked[FP_MAX_BLOCKED];
  fp_counters c;
} perm_e;

typedef struct chan_e {
  uint8_t used;
  uint16_t number;
  uint32_t alloc;
  uint32_t prev, next;
  fp_addr peer;
  uint64_t expires;
} chan_e;

typedef struct pool_free {
  uint32_t* stack;
  uint32_t n;
} pool_free;

struct fp_table {
  fp_limits lim;
  alloc_e* allocs;
  perm_e* perms;
  chan_e* chans;
  pool_free free_allocs, free_perms, free_chans;
  hindex by_client, by_fd, by_perm, by_chan_num, by_chan_peer;
  uint64_t forwarded;
  uint64_t punted[FP_REASONS];
};

/* ---- Addresses ------------------------------------------------------------------------------ */

fp_addr fp_addr_v4(uint32_t ip_host, uint16_t port) {
  fp_addr a;
  memset(&a, 0, sizeof a);
  a.family = 4;
  a.port = port;
  a.ip[0] = (uint8_t)(ip_host >> 24);
  a.ip[1] = (uint8_t)(ip_host >> 16);
  a.ip[2] = (uint8_t)(ip_host >> 8);
  a.ip[3] = (uint8_t)ip_host;
  return a;
}

fp_addr fp_addr_v6(const uint8_t ip[16], uint16_t port) {
  fp_addr a;
  memset(&a, 0, sizeof a);
  a.family = 6;
  a.port = port;
  memcpy(a.ip, ip, 16);
  return a;
}

static int addr_valid(const fp_addr* a) {
  if (a->zero != 0) return 0;
  if (a->family == 6) return 1;
  if (a->family != 4) return 0;
  for (int i = 4; i < 16; i++)
    if (a->ip[i] != 0) return 0;
  return 1;
}

static int addr_eq(const fp_addr* a, const fp_addr* b) {
  return memcmp(a, b, sizeof *a) == 0;
}

static fp_addr ip_only(const fp_addr* a) {
  fp_addr k = *a;
  k.port = 0;
  return k;
}

/* ---- Hashing -------------------------------------------------------------------------------- */

static inline uint64_t mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0x9e3779b97f4a7c15ull;
  return (h << 31) | (h >> 33);
}

static inline uint32_t finish(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return (uint32_t)h;
}

static inline uint64_t mix_addr(uint64_t h, const fp_addr* a) {
  uint64_t w0, w1;
  memcpy(&w0, a->ip, 8);
  memcpy(&w1, a->ip + 8, 8);
  h = mix(h, (uint64_t)a->family | ((uint64_t)a->port << 16));
  h = mix(h, w0);
  return mix(h, w1);
}

/* Each index mixes in its own tag, so equal keys in two indexes do not share a probe pattern. */
static uint32_t hash_client(const fp_table* t, uint32_t listener, const fp_addr* a) {
  return finish(mix_addr(mix(t->lim.seed, 0x100000000ull | listener), a));
}
static uint32_t hash_fd(const fp_table* t, int32_t fd) {
  return finish(mix(t->lim.seed, 0x200000000ull | (uint32_t)fd));
}
static uint32_t hash_perm(const fp_table* t, uint32_t alloc, const fp_addr* ip) {
  return finish(mix_addr(mix(t->lim.seed, 0x300000000ull | alloc), ip));
}
static uint32_t hash_chan_num(const fp_table* t, uint32_t alloc, uint16_t number) {
  return finish(mix(t->lim.seed, 0x400000000ull | ((uint64_t)number << 40) | alloc));
}
static uint32_t hash_chan_peer(const fp_table* t, uint32_t alloc, const fp_addr* peer) {
  return finish(mix_addr(mix(t->lim.seed, 0x500000000ull | alloc), peer));
}

/* ---- Indexes -------------------------------------------------------------------------------- */

static int index_init(hindex* x, uint32_t capacity) {
  uint32_t size = 8;
  while (size < 2 * (uint64_t)capacity) size <<= 1;
  x->s = calloc(size, sizeof *x->s);
  x->mask = size - 1;
  return x->s != NULL;
}

/* The caller checked that the key is absent and that the pool had room (so the load stays <= 1/2). */
static void index_insert(hindex* x, uint32_t hash, uint32_t entry) {
  uint32_t i = hash & x->mask;
  while (x->s[i].ref != 0) i = (i + 1) & x->mask;
  x->s[i].hash = hash;
  x->s[i].ref = entry + 1;
}

/* Removes `entry`, which is in the index under `hash`, and shifts the run behind it back. */
static void index_remove(hindex* x, uint32_t hash, uint32_t entry) {
  uint32_t i = hash & x->mask;
  while (x->s[i].ref != entry + 1) {
    if (x->s[i].ref == 0) return; /* not there: nothing to do (fp_self_check would say so) */
    i = (i + 1) & x->mask;
  }
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & x->mask;
    if (x->s[j].ref == 0) break;
    uint32_t home = x->s[j].hash & x->mask;
    /* The entry at j stays when its home lies cyclically in (i, j]. */
    int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    x->s[i] = x->s[j];
    i = j;
  }
  x->s[i].ref = 0;
  x->s[i].hash = 0;
}

/* Probes for `hash`; each candidate entry goes through the caller's comparison (macro below). */
#define INDEX_FIND(x, H, ENTRY_MATCHES)          \
  do {                                              \
    uint32_t i_ = (H) & (x)->mask;               \
    for (;;) {                                      \
      uint32_t ref_ = (x)->s[i_].ref;               \
      if (ref_ == 0) return NIL;                    \
      if ((x)->s[i_].hash == (H)) {              \
        uint32_t e = ref_ - 1;                      \
        if (ENTRY_MATCHES) return e;                \
      }                                             \
      i_ = (i_ + 1) & (x)->mask;                    \
    }                                               \
  } while (0)

static uint32_t find_client(const fp_table* t, uint32_t listener, const fp_addr* a) {
  uint32_t h = hash_client(t, listener, a);
  INDEX_FIND(&t->by_client, h, t->allocs[e].listener == listener && addr_eq(&t->allocs[e].client, a));
}
static uint32_t find_fd(const fp_table* t, int32_t fd) {
  uint32_t h = hash_fd(t, fd);
  INDEX_FIND(&t->by_fd, h, t->allocs[e].fd == fd);
}
static uint32_t find_perm(const fp_table* t, uint32_t alloc, const fp_addr* ip) {
  uint32_t h = hash_perm(t, alloc, ip);
  INDEX_FIND(&t->by_perm, h, t->perms[e].alloc == alloc && addr_eq(&t->perms[e].ip, ip));
}
static uint32_t find_chan_num(const fp_table* t, uint32_t alloc, uint16_t number) {
  uint32_t h = hash_chan_num(t, alloc, number);
  INDEX_FIND(&t->by_chan_num, h, t->chans[e].alloc == alloc && t->chans[e].number == number);
}
static uint32_t find_chan_peer(const fp_table* t, uint32_t alloc, const fp_addr* peer) {
  uint32_t h = hash_chan_peer(t, alloc, peer);
  INDEX_FIND(&t->by_chan_peer, h, t->chans[e].alloc == alloc && addr_eq(&t->chans[e].peer, peer));
}

/* ---- Pools ---------------------------------------------------------------------------------- */

static int pool_init(pool_free* f, uint32_t n) {
  f->stack = malloc((size_t)n * sizeof *f->stack);
  if (f->stack == NULL) return 0;
  /* Popped in ascending order: the first entries are the first used. */
  for (uint32_t i = 0; i < n; i++) f->stack[i] = n - 1 - i;
  f->n = n;
  return 1;
}

static uint32_t pool_pop(pool_free* f) {
  return f->n == 0 ? NIL : f->stack[--f->n];
}

static void pool_push(pool_free* f, uint32_t i) {
  f->stack[f->n++] = i;
}

/* ---- Create and destroy --------------------------------------------------------------------- */

void fp_destroy(fp_table* t) {
  if (t == NULL) return;
  free(t->allocs);
  free(t->perms);
  free(t->chans);
  free(t->free_allocs.stack);
  free(t->free_perms.stack);
  free(t->free_chans.stack);
  free(t->by_client.s);
  free(t->by_fd.s);
  free(t->by_perm.s);
  free(t->by_chan_num.s);
  free(t->by_chan_peer.s);
  free(t);
}

fp_table* fp_create(const fp_limits* lim) {
  if (lim == NULL) return NULL;
  /* Each index is sized at twice its pool, in uint32 slots. */
  if (lim->allocations == 0 || lim->allocations > (1u << SLOT_BITS)) return NULL;
  if (lim->permissions == 0 || lim->permissions > (1u << 28)) return NULL;
  if (lim->channels == 0 || lim->channels > (1u << 28)) return NULL;
  fp_table* t = calloc(1, sizeof *t);
  if (t == NULL) return NULL;
  t->lim = *lim;
  int ok = (t->allocs = calloc(lim->allocations, sizeof *t->allocs)) != NULL &&
           (t->perms = calloc(lim->permissions, sizeof *t->perms)) != NULL &&
           (t->chans = calloc(lim->channels, sizeof *t->chans)) != NULL &&
           pool_init(&t->free_allocs, lim->allocations) && pool_init(&t->free_perms, lim->permissions) &&
           pool_init(&t->free_chans, lim->channels) && index_init(&t->by_client, lim->allocations) &&
           index_init(&t->by_fd, lim->allocations) && index_init(&t->by_perm, lim->permissions) &&
           index_init(&t->by_chan_num, lim->channels) && index_init(&t->by_chan_peer, lim->channels);
  if (!ok) {
    fp_destroy(t);
    return NULL;
  }
  return t;
}

/* ---- Allocations ---------------------------------------------------------------------------- */

/* The pool index of a handle's allocation, or NIL when the handle is bad or stale. */
static uint32_t resolve(const fp_table* t, int32_t handle) {
  if (handle < 0) return NIL;
  uint32_t i = (uint32_t)handle & SLOT_MASK;
  uint32_t gen = (uint32_t)handle >> SLOT_BITS;
  if (i >= t->lim.allocations || !t->allocs[i].used || t->allocs[i].gen != gen) return NIL;
  return i;
}

int32_t fp_alloc_install(fp_table* t, const fp_alloc_spec* spec) {
  if (spec == NULL || !addr_valid(&spec->client) || spec->relay_fd < 0) return -FP_EINVAL;
  if (find_client(t, spec->listener, &spec->client) != NIL) return -FP_EEXIST;
  if (find_fd(t, spec->relay_fd) != NIL) return -FP_EEXIST;
  uint32_t i = pool_pop(&t->free_allocs);
  if (i == NIL) return -FP_EFULL;
  alloc_e* a = &t->allocs[i];
  uint8_t gen = a->gen >= GEN_MAX ? 1 : (uint8_t)(a->gen + 1);
  memset(a, 0, sizeof *a);
  a->used = 1;
  a->gen = gen;
  a->listener = spec->listener;
  a->client = spec->client;
  a->fd = spec->relay_fd;
  a->expires = spec->expires_ms;
  memcpy(a->txid, spec->txid_prefix, sizeof a->txid);
  a->perms = NIL;
  a->chans = NIL;
  index_insert(&t->by_client, hash_client(t, a->listener, &a->client), i);
  index_insert(&t->by_fd, hash_fd(t, a->fd), i);
  return (int32_t)(((uint32_t)gen << SLOT_BITS) | i);
}

int fp_alloc_refresh(fp_table* t, int32_t alloc, uint64_t expires_ms) {
  uint32_t i = resolve(t, alloc);
  if (i == NIL) return -FP_ENOENT;
  t->allocs[i].expires = expires_ms;
  return 0;
}

static void chan_free(fp_table* t, uint32_t c) {
  chan_e* ch = &t->chans[c];
  alloc_e* a = &t->allocs[ch->alloc];
  if (ch->prev != NIL) t->chans[ch->prev].next = ch->next;
  else a->chans = ch->next;
  if (ch->next != NIL) t->chans[ch->next].prev = ch->prev;
  index_remove(&t->by_chan_num, hash_chan_num(t, ch->alloc, ch->number), c);
  index_remove(&t->by_chan_peer, hash_chan_peer(t, ch->alloc, &ch->peer), c);
  ch->used = 0;
  pool_push(&t->free_chans, c);
}

/* Frees a permission; with_channels: also the channels bound to a peer at its IP. */
static void perm_free(fp_table* t, uint32_t p, int with_channels) {
  perm_e* pe = &t->perms[p];
  alloc_e* a = &t->allocs[pe->alloc];
  if (with_channels) {
    for (uint32_t c = a->chans; c != NIL;) {
      uint32_t next = t->chans[c].next;
      fp_addr ip = ip_only(&t->chans[c].peer);
      if (addr_eq(&ip, &pe->ip)) chan_free(t, c);
      c = next;
    }
  }
  if (pe->prev != NIL) t->perms[pe->prev].next = pe->next;
  else a->perms = pe->next;
  if (pe->next != NIL) t->perms[pe->next].prev = pe->prev;
  index_remove(&t->by_perm, hash_perm(t, pe->alloc, &pe->ip), p);
  pe->used = 0;
  pool_push(&t->free_perms, p);
}

static void alloc_free(fp_table* t, uint32_t i) {
  alloc_e* a = &t->allocs[i];
  while (a->chans != NIL) chan_free(t, a->chans);
  while (a->perms != NIL) perm_free(t, a->perms, 0);
  index_remove(&t->by_client, hash_client(t, a->listener, &a->client), i);
  index_remove(&t->by_fd, hash_fd(t, a->fd), i);
  a->used = 0; /* gen stays: the next install in this slot moves it on */
  pool_push(&t->free_allocs, i);
}

int fp_alloc_remove(fp_table* t, int32_t alloc) {
  uint32_t i = resolve(t, alloc);
  if (i == NIL) return -FP_ENOENT;
  alloc_free(t, i);
  return 0;
}

/* ---- Permissions ---------------------------------------------------------------------------- */

int fp_perm_install(fp_table* t, int32_t alloc, const fp_perm_spec* spec) {
  uint32_t i = resolve(t, alloc);
  if (i == NIL) return -FP_ENOENT;
  if (spec == NULL || !addr_valid(&spec->peer) || spec->n_ranges > FP_MAX_RANGES ||
      spec->n_blocked > FP_MAX_BLOCKED || spec->any_port > 1)
    return -FP_EINVAL;
  for (unsigned r = 0; r < spec->n_ranges; r++)
    if (spec->ranges[r][0] > spec->ranges[r][1]) return -FP_EINVAL;
  fp_addr ip = ip_only(&spec->peer);
  uint32_t p = find_perm(t, i, &ip);
  if (p == NIL) {
    p = pool_pop(&t->free_perms);
    if (p == NIL) return -FP_EFULL;
    perm_e* pe = &t->perms[p];
    memset(pe, 0, sizeof *pe);
    pe->used = 1;
    pe->alloc = i;
    pe->ip = ip;
    pe->prev = NIL;
    pe->next = t->allocs[i].perms;
    if (pe->next != NIL) t->perms[pe->next].prev = p;
    t->allocs[i].perms = p;
    index_insert(&t->by_perm, hash_perm(t, i, &ip), p);
  }
  perm_e* pe = &t->perms[p];
  pe->expires = spec->expires_ms;
  pe->any_port = spec->any_port;
  pe->n_ranges = spec->n_ranges;
  pe->n_blocked = spec->n_blocked;
  memcpy(pe->ranges, spec->ranges, sizeof pe->ranges);
  memcpy(pe->blocked, spec->blocked, sizeof pe->blocked);
  return 0;
}

int fp_perm_remove(fp_table* t, int32_t alloc, const fp_addr* peer) {
  uint32_t i = resolve(t, alloc);
  if (i == NIL || peer == NULL) return -FP_ENOENT;
  fp_addr ip = ip_only(peer);
  uint32_t p = find_perm(t, i, &ip);
  if (p == NIL) return -FP_ENOENT;
  perm_free(t, p, 1);
  return 0;
}

static int port_allowed(const perm_e* p, uint16_t port) {
  for (unsigned i = 0; i < p->n_blocked; i++)
    if (p->blocked[i] == port) return 0;
  if (p->any_port) return 1;
  for (unsigned i = 0; i < p->n_ranges; i++)
    if (port >= p->ranges[i][0] && port <= p->ranges[i][1]) return 1;
  return 0;
}

/* ---- Channels ------------------------------------------------------------------------------- */

int fp_channel_bind(fp_table* t, int32_t alloc, uint16_t number, const fp_addr* peer, uint64_t expires_ms) {
  uint32_t i = resolve(t, alloc);
  if (i == NIL) return -FP_ENOENT;
  if (number < FP_CHANNEL_MIN || number > FP_CHANNEL_MAX || peer == NULL || !addr_valid(peer))
    return -FP_EINVAL;
  uint32_t c = find_chan_num(t, i, number);
  if (c != NIL) {
    if (!addr_eq(&t->chans[c].peer, peer)) return -FP_ECONFLICT;
    t->chans[c].expires = expires_ms;
    return 0;
  }
  if (find_chan_peer(t, i, peer) != NIL) return -FP_ECONFLICT;
  c = pool_pop(&t->free_chans);
  if (c == NIL) return -FP_EFULL;
  chan_e* ch = &t->chans[c];
  memset(ch, 0, sizeof *ch);
  ch->used = 1;
  ch->number = number;
  ch->alloc = i;
  ch->peer = *peer;
  ch->expires = expires_ms;
  ch->prev = NIL;
  ch->next = t->allocs[i].chans;
  if (ch->next != NIL) t->chans[ch->next].prev = c;
  t->allocs[i].chans = c;
  index_insert(&t->by_chan_num, hash_chan_num(t, i, number), c);
  index_insert(&t->by_chan_peer, hash_chan_peer(t, i, peer), c);
  return 0;
}

int fp_channel_unbind(fp_table* t, int32_t alloc, uint16_t number) {
  uint32_t i = resolve(t, alloc);
  if (i == NIL) return -FP_ENOENT;
  uint32_t c = find_chan_num(t, i, number);
  if (c == NIL) return -FP_ENOENT;
  chan_free(t, c);
  return 0;
}

/* ---- Withdrawal and expiry ------------------------------------------------------------------ */

static int cidr_contains(const fp_cidr* c, const fp_addr* ip) {
  if (c->base.family != ip->family) return 0;
  unsigned bits = c->prefix;
  unsigned whole = bits / 8;
  if (memcmp(c->base.ip, ip->ip, whole) != 0) return 0;
  if (bits % 8 == 0) return 1;
  uint8_t mask = (uint8_t)(0xff00u >> (bits % 8));
  return (c->base.ip[whole] & mask) == (ip->ip[whole] & mask);
}

int32_t fp_withdraw(fp_table* t, const fp_filter* f) {
  if (f == NULL || (f->n_cidrs > 0 && f->cidrs == NULL)) return -FP_EINVAL;
  for (uint32_t k = 0; k < f->n_cidrs; k++) {
    const fp_cidr* c = &f->cidrs[k];
    if (!addr_valid(&c->base) || c->prefix > (c->base.family == 4 ? 32 : 128)) return -FP_EINVAL;
  }
  int32_t n = 0;
  for (uint32_t p = 0; p < t->lim.permissions; p++) {
    const perm_e* pe = &t->perms[p];
    if (!pe->used) continue;
    if (!f->any_listener && t->allocs[pe->alloc].listener != f->listener) continue;
    int in = 0;
    for (uint32_t k = 0; k < f->n_cidrs && !in; k++) in = cidr_contains(&f->cidrs[k], &pe->ip);
    if (in == (f->inside != 0)) {
      perm_free(t, p, 1);
      n++;
    }
  }
  return n;
}

uint32_t fp_sweep(fp_table* t, uint64_t now) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < t->lim.allocations; i++) {
    if (t->allocs[i].used && t->allocs[i].expires <= now) {
      alloc_free(t, i);
      n++;
    }
  }
  /* As the JavaScript tick does: an expired permission leaves its channels to their own expiry. */
  for (uint32_t p = 0; p < t->lim.permissions; p++) {
    if (t->perms[p].used && t->perms[p].expires <= now) {
      perm_free(t, p, 0);
      n++;
    }
  }
  for (uint32_t c = 0; c < t->lim.channels; c++) {
    if (t->chans[c].used && t->chans[c].expires <= now) {
      chan_free(t, c);
      n++;
    }
  }
  return n;
}

/* ---- Counters ------------------------------------------------------------------------------- */

int fp_alloc_counters(const fp_table* t, int32_t alloc, fp_counters* out) {
  uint32_t i = resolve(t, alloc);
  if (i == NIL || out == NULL) return -FP_ENOENT;
  *out = t->allocs[i].c;
  return 0;
}

int fp_alloc_take_counters(fp_table* t, int32_t alloc, fp_counters* out) {
  int rc = fp_alloc_counters(t, alloc, out);
  if (rc == 0) memset(&t->allocs[resolve(t, alloc)].c, 0, sizeof(fp_counters));
  return rc;
}

static uint32_t perm_of(const fp_table* t, int32_t alloc, const fp_addr* peer) {
  uint32_t i = resolve(t, alloc);
  if (i == NIL || peer == NULL) return NIL;
  fp_addr ip = ip_only(peer);
  return find_perm(t, i, &ip);
}

int fp_perm_counters(const fp_table* t, int32_t alloc, const fp_addr* peer, fp_counters* out) {
  uint32_t p = perm_of(t, alloc, peer);
  if (p == NIL || out == NULL) return -FP_ENOENT;
  *out = t->perms[p].c;
  return 0;
}

int fp_perm_take_counters(fp_table* t, int32_t alloc, const fp_addr* peer, fp_counters* out) {
  uint32_t p = perm_of(t, alloc, peer);
  if (p == NIL || out == NULL) return -FP_ENOENT;
  *out = t->perms[p].c;
  memset(&t->perms[p].c, 0, sizeof(fp_counters));
  return 0;
}

void fp_get_stats(const fp_table* t, fp_stats* out) {
  memset(out, 0, sizeof *out);
  out->allocations = t->lim.allocations - t->free_allocs.n;
  out->permissions = t->lim.permissions - t->free_perms.n;
  out->channels = t->lim.channels - t->free_chans.n;
  out->forwarded = t->forwarded;
  memcpy(out->punted, t->punted, sizeof out->punted);
}

/* ---- Decisions ------------------------------------------------------------------------------ */

static inline uint16_t be16(const uint8_t* p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t be32(const uint8_t* p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void put16(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static fp_verdict punt(fp_table* t, fp_reason why, fp_reason* out) {
  *out = why;
  t->punted[why]++;
  return FP_PUNT;
}

/* A live allocation's live permission for `peer` that admits its port, or the reason there is none. */
static fp_reason admit(const fp_table* t, uint32_t a, const fp_addr* peer, uint64_t now, uint32_t* perm) {
  fp_addr ip = ip_only(peer);
  uint32_t p = find_perm(t, a, &ip);
  if (p == NIL || t->perms[p].expires <= now) return FP_NO_PERMISSION;
  if (!port_allowed(&t->perms[p], peer->port)) return FP_PORT_DENIED;
  *perm = p;
  return FP_OK;
}

/* A Send indication's peer and DATA, the way runtime/turn/fast-path.ts reads them. */
static fp_reason parse_send(const uint8_t* d, size_t len, fp_addr* peer, uint32_t* off, uint32_t* dlen) {
  if (len < 20 || be32(d + 4) != STUN_COOKIE) return FP_MALFORMED;
  size_t body = be16(d + 2);
  if (20 + body != len || (body & 3) != 0) return FP_MALFORMED;
  size_t pos = 20, at_peer = 0, at_data = 0, data_len = 0;
  while (pos + 4 <= len) {
    uint16_t type = be16(d + pos);
    size_t l = be16(d + pos + 2);
    size_t v = pos + 4;
    if (l > len - v) return FP_MALFORMED;
    if (type == ATTR_XOR_PEER_ADDRESS) {
      if (at_peer == 0) {
        if (l < 4) return FP_MALFORMED;
        uint8_t fam = d[v + 1];
        if (!((fam == 1 && l == 8) || (fam == 2 && l == 20))) return FP_UNSUPPORTED;
        at_peer = v;
      }
    } else if (type == ATTR_DATA) {
      if (at_data == 0) {
        at_data = v;
        data_len = l;
      }
    } else if (type != ATTR_DONT_FRAGMENT && type != ATTR_FINGERPRINT) {
      return FP_UNSUPPORTED;
    }
    pos = v + ((l + 3) & ~(size_t)3);
  }
  if (at_peer == 0 || at_data == 0) return FP_MALFORMED;
  uint16_t port = be16(d + at_peer + 2) ^ (uint16_t)(STUN_COOKIE >> 16);
  if (d[at_peer + 1] == 1) {
    *peer = fp_addr_v4(be32(d + at_peer + 4) ^ STUN_COOKIE, port);
  } else {
    uint8_t ip[16];
    /* XORed with the magic cookie and the transaction id: the 16 bytes at d[4..20). */
    for (size_t k = 0; k < 16; k++) ip[k] = d[at_peer + 4 + k] ^ d[4 + k];
    *peer = fp_addr_v6(ip, port);
  }
  *off = (uint32_t)at_data;
  *dlen = (uint32_t)data_len;
  return FP_OK;
}

fp_verdict fp_client_packet(fp_table* t, uint32_t listener, const fp_addr* client, const uint8_t* data,
                            size_t len, uint64_t now, fp_to_peer* out) {
  memset(out, 0, sizeof *out);
  out->alloc = -1;
  out->relay_fd = -1;
  if (len == 0 || data == NULL) return punt(t, FP_NOT_DATA, &out->reason);
  fp_addr peer;
  uint32_t off, plen;
  uint16_t number = 0;
  int channel = (data[0] & 0xc0) == 0x40;
  if (channel) {
    /* ChannelData: number, length, payload; over UDP the padding may be there or not. */
    if (len < 4) return punt(t, FP_MALFORMED, &out->reason);
    number = be16(data);
    if (number > FP_CHANNEL_MAX) return punt(t, FP_MALFORMED, &out->reason);
    plen = be16(data + 2);
#ifdef PLANT_OOB
    /* Planted for the fuzzing test: lets the length run one byte past the datagram. */
    if (plen > len - 4 + 1) return punt(t, FP_MALFORMED, &out->reason);
#else
    if (plen > len - 4) return punt(t, FP_MALFORMED, &out->reason);
#endif
    off = 4;
  } else if ((data[0] & 0xc0) == 0 && len >= 20 && be16(data) == SEND_INDICATION) {
    fp_reason r = parse_send(data, len, &peer, &off, &plen);
    if (r != FP_OK) return punt(t, r, &out->reason);
  } else {
    return punt(t, FP_NOT_DATA, &out->reason);
  }

  uint32_t a = client == NULL ? NIL : find_client(t, listener, client);
  if (a == NIL || t->allocs[a].expires <= now) return punt(t, FP_NO_ALLOCATION, &out->reason);
  alloc_e* al = &t->allocs[a];
  out->alloc = (int32_t)(((uint32_t)al->gen << SLOT_BITS) | a);
  if (channel) {
    uint32_t c = find_chan_num(t, a, number);
    if (c == NIL || t->chans[c].expires <= now) return punt(t, FP_NO_CHANNEL, &out->reason);
    peer = t->chans[c].peer;
  }
  /* Port 0 is no peer: nothing can be sent to it (JavaScript drops it too). */
  if (peer.port == 0) return punt(t, FP_PORT_DENIED, &out->reason);
  uint32_t p;
  fp_reason r = admit(t, a, &peer, now, &p);
  if (r != FP_OK) return punt(t, r, &out->reason);

  out->reason = FP_OK;
  out->relay_fd = al->fd;
  out->peer = peer;
  out->offset = off;
  out->length = plen;
  al->c.to_peer_packets++;
  al->c.to_peer_bytes += plen;
  t->perms[p].c.to_peer_packets++;
  t->perms[p].c.to_peer_bytes += plen;
  t->forwarded++;
  return FP_FORWARD;
}

fp_verdict fp_peer_packet(fp_table* t, int32_t relay_fd, const fp_addr* peer, size_t len, uint64_t now,
                          fp_to_client* out) {
  memset(out, 0, sizeof *out);
  out->alloc = -1;
  uint32_t a = relay_fd < 0 ? NIL : find_fd(t, relay_fd);
  if (a == NIL || t->allocs[a].expires <= now) return punt(t, FP_NO_ALLOCATION, &out->reason);
  alloc_e* al = &t->allocs[a];
  out->alloc = (int32_t)(((uint32_t)al->gen << SLOT_BITS) | a);
  if (peer == NULL || !addr_valid(peer)) return punt(t, FP_NO_PERMISSION, &out->reason);
  uint32_t p;
  fp_reason r = admit(t, a, peer, now, &p);
  if (r != FP_OK) return punt(t, r, &out->reason);

  uint32_t c = find_chan_peer(t, a, peer);
  if (c != NIL && t->chans[c].expires > now) {
    if (len > 0xffff) return punt(t, FP_UNSUPPORTED, &out->reason);
    out->frame = FP_CHANNEL_DATA;
    put16(out->head, t->chans[c].number);
    put16(out->head + 2, (uint32_t)len);
    out->head_len = 4;
  } else {
    /* A Data indication: header, XOR-PEER-ADDRESS, DATA's own header; the payload follows. */
    int v6 = peer->family == 6;
    size_t attr_len = v6 ? 20 : 8;
    size_t head_len = 20 + 4 + attr_len + 4;
    size_t pad = (4 - (len & 3)) & 3;
    if (len > 0xffff || head_len - 20 + len + pad > 0xffff) return punt(t, FP_UNSUPPORTED, &out->reason);
    uint8_t* h = out->head;
    put16(h, DATA_INDICATION);
    put16(h + 2, (uint32_t)(head_len - 20 + len + pad));
    h[4] = (uint8_t)(STUN_COOKIE >> 24);
    h[5] = (uint8_t)(STUN_COOKIE >> 16);
    h[6] = (uint8_t)(STUN_COOKIE >> 8);
    h[7] = (uint8_t)STUN_COOKIE;
    memcpy(h + 8, al->txid, 8);
    al->tx_counter++;
    h[16] = (uint8_t)(al->tx_counter >> 24);
    h[17] = (uint8_t)(al->tx_counter >> 16);
    h[18] = (uint8_t)(al->tx_counter >> 8);
    h[19] = (uint8_t)al->tx_counter;
    put16(h + 20, ATTR_XOR_PEER_ADDRESS);
    put16(h + 22, (uint32_t)attr_len);
    h[24] = 0;
    h[25] = v6 ? 2 : 1;
    put16(h + 26, peer->port ^ (STUN_COOKIE >> 16));
    size_t ip_len = v6 ? 16 : 4;
    for (size_t k = 0; k < ip_len; k++) h[28 + k] = peer->ip[k] ^ h[4 + k];
    put16(h + 24 + attr_len, ATTR_DATA);
    put16(h + 26 + attr_len, (uint32_t)len);
    out->frame = FP_DATA_INDICATION;
    out->head_len = (uint8_t)head_len;
    out->pad = (uint8_t)pad;
  }
  out->reason = FP_OK;
  out->listener = al->listener;
  out->client = al->client;
  al->c.to_client_packets++;
  al->c.to_client_bytes += len;
  t->perms[p].c.to_client_packets++;
  t->perms[p].c.to_client_bytes += len;
  t->forwarded++;
  return FP_FORWARD;
}

/* ---- Self-check ----------------------------------------------------------------------------- */

#define CHECK(cond) \
  do {              \
    if (!(cond)) return __LINE__; \
  } while (0)

/* Every occupied slot refers to a used entry under its own hash, with no empty slot between the
 * entry's home and its slot (else a lookup would stop short of it); the count matches the pool. */
static int check_index(const fp_table* t, const hindex* x, int which, uint32_t used) {
  uint32_t n = 0;
  for (uint32_t s = 0; s <= x->mask; s++) {
    uint32_t ref = x->s[s].ref;
    if (ref == 0) continue;
    n++;
    uint32_t e = ref - 1;
    uint32_t h;
    switch (which) {
      case 0:
        CHECK(e < t->lim.allocations && t->allocs[e].used);
        h = hash_client(t, t->allocs[e].listener, &t->allocs[e].client);
        break;
      case 1:
        CHECK(e < t->lim.allocations && t->allocs[e].used);
        h = hash_fd(t, t->allocs[e].fd);
        break;
      case 2:
        CHECK(e < t->lim.permissions && t->perms[e].used);
        h = hash_perm(t, t->perms[e].alloc, &t->perms[e].ip);
        break;
      case 3:
        CHECK(e < t->lim.channels && t->chans[e].used);
        h = hash_chan_num(t, t->chans[e].alloc, t->chans[e].number);
        break;
      default:
        CHECK(e < t->lim.channels && t->chans[e].used);
        h = hash_chan_peer(t, t->chans[e].alloc, &t->chans[e].peer);
        break;
    }
    CHECK(h == x->s[s].hash);
    for (uint32_t k = h & x->mask; k != s; k = (k + 1) & x->mask) CHECK(x->s[k].ref != 0);
  }
  CHECK(n == used);
  return 0;
}

int fp_self_check(const fp_table* t) {
  fp_stats st;
  fp_get_stats(t, &st);
  int r;
  if ((r = check_index(t, &t->by_client, 0, st.allocations)) != 0) return r;
  if ((r = check_index(t, &t->by_fd, 1, st.allocations)) != 0) return r;
  if ((r = check_index(t, &t->by_perm, 2, st.permissions)) != 0) return r;
  if ((r = check_index(t, &t->by_chan_num, 3, st.channels)) != 0) return r;
  if ((r = check_index(t, &t->by_chan_peer, 4, st.channels)) != 0) return r;
  /* Each allocation's lists hold exactly the entries that point back at it. */
  uint32_t perms = 0, chans = 0;
  for (uint32_t i = 0; i < t->lim.allocations; i++) {
    const alloc_e* a = &t->allocs[i];
    if (!a->used) continue;
    CHECK(a->gen >= 1 && a->gen <= GEN_MAX);
    uint32_t prev = NIL;
    for (uint32_t p = a->perms; p != NIL; p = t->perms[p].next) {
      CHECK(p < t->lim.permissions && t->perms[p].used && t->perms[p].alloc == i);
      CHECK(t->perms[p].prev == prev && ++perms <= st.permissions);
      prev = p;
    }
    prev = NIL;
    for (uint32_t c = a->chans; c != NIL; c = t->chans[c].next) {
      CHECK(c < t->lim.channels && t->chans[c].used && t->chans[c].alloc == i);
      CHECK(t->chans[c].prev == prev && ++chans <= st.channels);
      prev = c;
    }
  }
  CHECK(perms == st.permissions && chans == st.channels);
  return 0;
}
