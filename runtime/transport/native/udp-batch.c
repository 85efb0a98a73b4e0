/*
 * Batched UDP I/O for the relay's hot path (Linux, IPv4), as a Node-API module.
 *
 * Node hands JavaScript one datagram per callback, and each costs a 64 KiB allocation, a fresh
 * ArrayBuffer, an address object with two strings and a JS entry: about half of the relay's CPU.
 * After Node delivers the first datagram of a wake-up, the relay drains the rest of the socket's
 * queue here with one recvmmsg() into a reused arena and gets lengths and numeric source
 * addresses back in an Int32Array. Sends go out with one sendto()/sendmsg() each, from a buffer
 * range to a numeric address, without the string address Node parses per datagram.
 *
 * Every function is synchronous and non-blocking (MSG_DONTWAIT), keeps no state between calls
 * (the relay threads of Node >= 22 each load this module) and checks every range it is given
 * against the buffer it points into.
 *
 * Build: npm run native (see runtime/transport/native/build.ts); the result is committed under prebuilt/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define MAX_BATCH 64

/* Throws a TypeError and returns NULL from the calling function. */
#define REQUIRE(cond, msg)                                   \
  do {                                                       \
    if (!(cond)) {                                           \
      napi_throw_type_error(env, "ERR_UDP_BATCH_ARG", msg); \
      return NULL;                                           \
    }                                                        \
  } while (0)

static int get_i32(napi_env env, napi_value v, int32_t* out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static int get_u32(napi_env env, napi_value v, uint32_t* out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static int get_bytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer) return 0;
  void* p = NULL;
  if (napi_get_buffer_info(env, v, &p, len) != napi_ok) return 0;
  *data = p;
  return 1;
}

static int get_i32_array(napi_env env, napi_value v, int32_t** data, size_t* count) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  void* p = NULL;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, count, &p, &ab, &offset) != napi_ok) return 0;
  if (type != napi_int32_array) return 0;
  *data = p;
  return 1;
}

static napi_value int_result(napi_env env, int32_t n) {
  napi_value r;
  napi_create_int32(env, n, &r);
  return r;
}

static void fill_v4(struct sockaddr_in* sa, uint32_t ip, int32_t port) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_addr.s_addr = htonl(ip);
  sa->sin_port = htons((uint16_t)port);
}

/*
 * recv(fd, arena, meta, slots, slotSize) -> n >= 0 datagrams, or -errno.
 * Datagram i lands at arena[i * slotSize]; meta[3i] = its length (-1 if it did not fit and was
 * truncated), meta[3i + 1] = source IPv4 address (uint32 as int32), meta[3i + 2] = source port.
 * 0 when the queue is empty.
 */
static napi_value Recv(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  REQUIRE(argc == 5, "recv(fd, arena, meta, slots, slotSize)");
  int32_t fd, slots, slot_size;
  uint8_t* arena;
  size_t arena_len, meta_count;
  int32_t* meta;
  REQUIRE(get_i32(env, argv[0], &fd) && fd >= 0, "fd must be a descriptor");
  REQUIRE(get_bytes(env, argv[1], &arena, &arena_len), "arena must be a Buffer");
  REQUIRE(get_i32_array(env, argv[2], &meta, &meta_count), "meta must be an Int32Array");
  REQUIRE(get_i32(env, argv[3], &slots) && slots > 0 && slots <= MAX_BATCH, "slots must be 1..64");
  REQUIRE(get_i32(env, argv[4], &slot_size) && slot_size > 0, "slotSize must be positive");
  REQUIRE((size_t)slots * (size_t)slot_size <= arena_len, "arena is smaller than slots * slotSize");
  REQUIRE((size_t)slots * 3 <= meta_count, "meta needs 3 entries per slot");

  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct sockaddr_in from[MAX_BATCH];
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)slots);
  for (int i = 0; i < slots; i++) {
    iov[i].iov_base = arena + (size_t)i * (size_t)slot_size;
    iov[i].iov_len = (size_t)slot_size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  int n;
  do n = recvmmsg(fd, msgs, (unsigned)slots, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return int_result(env, (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno);
  for (int i = 0; i < n; i++) {
    const struct msghdr* h = &msgs[i].msg_hdr;
    int ok = (h->msg_flags & MSG_TRUNC) == 0 && h->msg_namelen == sizeof(struct sockaddr_in) &&
             from[i].sin_family == AF_INET;
    meta[3 * i] = ok ? (int32_t)msgs[i].msg_len : -1;
    meta[3 * i + 1] = (int32_t)ntohl(from[i].sin_addr.s_addr);
    meta[3 * i + 2] = ntohs(from[i].sin_port);
  }
  return int_result(env, n);
}

/*
 * send(fd, buf, start, length, ip, port) -> 0, or -errno (-EAGAIN: the socket buffer is full;
 * -EINVAL: port 0).
 * sendChannel(fd, channel, buf, start, length, ip, port): the same with a 4-byte ChannelData
 * header (channel number, length) in front, gathered into one datagram.
 */
static napi_value send_common(napi_env env, napi_callback_info info, int with_channel) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t want = with_channel ? 7 : 6;
  REQUIRE(argc == want, with_channel ? "sendChannel(fd, channel, buf, start, length, ip, port)"
                                     : "send(fd, buf, start, length, ip, port)");
  napi_value* a = argv;
  int32_t fd, channel = 0, start, length, port;
  uint32_t ip;
  uint8_t* buf;
  size_t buf_len;
  REQUIRE(get_i32(env, *a++, &fd) && fd >= 0, "fd must be a descriptor");
  if (with_channel)
    REQUIRE(get_i32(env, *a++, &channel) && channel >= 0 && channel <= 0xffff, "channel must be 0..65535");
  REQUIRE(get_bytes(env, *a++, &buf, &buf_len), "buf must be a Buffer");
  REQUIRE(get_i32(env, *a++, &start) && start >= 0, "start must be >= 0");
  REQUIRE(get_i32(env, *a++, &length) && length >= 0 && length <= 0xffff, "length must be 0..65535");
  REQUIRE((size_t)start + (size_t)length <= buf_len, "start + length is past the end of buf");
  REQUIRE(get_u32(env, *a++, &ip), "ip must be a uint32");
  REQUIRE(get_i32(env, *a++, &port) && port >= 0 && port <= 0xffff, "port must be 0..65535");
  /* Port 0 comes from the wire, not from a bug: no peer is there, so the datagram is lost. */
  if (port == 0) return int_result(env, -EINVAL);

  struct sockaddr_in to;
  fill_v4(&to, ip, port);
  uint8_t head[4] = {(uint8_t)(channel >> 8), (uint8_t)channel, (uint8_t)(length >> 8), (uint8_t)length};
  struct iovec iov[2];
  int n = 0;
  if (with_channel) {
    iov[n].iov_base = head;
    iov[n++].iov_len = 4;
  }
  iov[n].iov_base = buf + start;
  iov[n++].iov_len = (size_t)length;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = iov;
  msg.msg_iovlen = (size_t)n;
  ssize_t r;
  do r = sendmsg(fd, &msg, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r < 0) return int_result(env, errno == EWOULDBLOCK ? -EAGAIN : -errno);
  return int_result(env, 0);
}

static napi_value Send(napi_env env, napi_callback_info info) {
  return send_common(env, info, 0);
}

static napi_value SendChannel(napi_env env, napi_callback_info info) {
  return send_common(env, info, 1);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"recv", NULL, Recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, Send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendChannel", NULL, SendChannel, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value version;
  napi_create_int32(env, 1, &version);
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_set_named_property(env, exports, "version", version);
  napi_value eagain;
  napi_create_int32(env, -EAGAIN, &eagain);
  napi_set_named_property(env, exports, "EAGAIN", eagain);
  return exports;
}
