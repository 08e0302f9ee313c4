/*
 * The optional native accelerator of the relay's send fast path (src/rtc/fast-send/native-accelerator.ts
 * loads it; the JavaScript path in src/media/srtp-cipher.ts is the fallback and the reference: both are
 * tested for byte-identical output, test/relay/native-fast-send.test.ts).
 *
 * One call protects a forwarded RTP packet with SRTP in place and writes it to the subscriber's UDP
 * socket (and another unprotects a publisher's incoming packet, src/rtc/srtp-receive.ts): what costs the JavaScript path most under load (the relay's profile at 150 subscribers: libuv's
 * send request with its wrap object 26%, the keystream's cipher call 13%, two hashes with hex strings
 * 7%) becomes a counter-mode AES through OpenSSL, HMAC-SHA1 from precomputed pad states and one sendto.
 *
 * It links against nothing: OpenSSL and N-API are the symbols of the node binary that loads it (Node's
 * headers, include/node, ship with the npm "node" package scripts/bootstrap.sh installs). Built by
 * packages/relay/scripts/build-native.mjs; no node-gyp (it would download headers).
 *
 * Buffer layout, as the JavaScript path's: the RTP packet at buf[64, 64 + length), room for the tag
 * after it. The 64 bytes before are unused here (the JavaScript HMAC writes its inner pad there).
 *
 * The socket is werift's own (its fd, read from Node's UDP handle), duplicated once per destination so
 * that a descriptor number werift closes (and the kernel hands out again) is never written to: the
 * duplicate keeps the same socket, its port and its queue, until the destination is closed. Writing to
 * it beside libuv is safe for datagrams: a send is atomic and the socket stays non-blocking.
 *
 * The sender thread (queueSend): protection and the sendto of forwarded packets run on a thread of
 * their own, one per Node environment, fed through a ring of copies. The relay's event loop then only
 * writes headers and copies packets; a keyframe to 150 subscribers (about 4,500 sends) no longer holds
 * it for tens of milliseconds, and signaling, timers and the next packets are not queued behind it
 * (bench: event-loop delay p99 98 -> 10 ms and added latency p99 68 -> 32 ms at 150 subscribers, and
 * less CPU per packet, the sends running back to back). Per destination the order is the order of the
 * calls (one FIFO). The thread never waits on one socket: a send the socket buffer refuses (EAGAIN)
 * is dropped and counted, as a router drops a datagram (the subscriber's NACK brings it back). When
 * the ring is full (the thread some 50 ms behind) queueSend waits up to 2 ms for room, then drops the
 * packet the same way, so the event loop is never held longer.
 */
#define NAPI_VERSION 8
#define OPENSSL_SUPPRESS_DEPRECATED
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <unistd.h>

#define HEADROOM 64
#define CM_TAG 10
#define GCM_TAG 16

enum profile { AES_CM_128_HMAC_SHA1_80 = 1, AEAD_AES_128_GCM = 2 };

/* Type tags of the module's Externals: a session passed where a destination belongs (or the reverse) is refused, not misread. */
static const napi_type_tag SESSION_TAG = {0x5f1c2d9a8e7b4c31ULL, 0x9d4e2a7c6b1f8e05ULL};
static const napi_type_tag DESTINATION_TAG = {0x2b7e9c4d1a6f3e82ULL, 0x7c3a1e9d5b2f4a60ULL};

static bool tagged(napi_env env, napi_value v, const napi_type_tag *tag, void **out) {
  bool ok = false;
  return napi_check_object_type_tag(env, v, tag, &ok) == napi_ok && ok && napi_get_value_external(env, v, out) == napi_ok;
}

/* One SRTP session's sending state: the keys' cipher contexts, made once. */
typedef struct {
  enum profile profile;
  bool decrypt; /* a receiving session (unprotect): GCM's context is set up for decryption */
  EVP_CIPHER_CTX *cipher;         /* the event loop's: protect(), protectSend(), unprotect() */
  EVP_CIPHER_CTX *thread_cipher;  /* the sender thread's copy (a context is used by one thread at a time) */
  atomic_int refs;                /* the External's, and one per queued packet */
  uint8_t salt[14];
  SHA_CTX inner; /* SHA-1 after (authKey ^ ipad): RFC 2104's first block, hashed once */
  SHA_CTX outer; /* SHA-1 after (authKey ^ opad) */
} session;

static void session_release(session *s) {
  if (atomic_fetch_sub(&s->refs, 1) != 1) return;
  EVP_CIPHER_CTX_free(s->cipher);
  EVP_CIPHER_CTX_free(s->thread_cipher);
  OPENSSL_cleanse(s, sizeof *s);
  free(s);
}

static void session_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  session_release(data);
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, "ERR_SFU_NATIVE", message);
  return NULL;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) { return napi_get_value_uint32(env, v, out) == napi_ok; }

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *length) {
  return napi_get_buffer_info(env, v, (void **)data, length) == napi_ok;
}

/* session(profile, key, salt, authKey, receiving): an External holding the cipher state of one SRTP session and direction. */
static napi_value make_session(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t profile;
  uint8_t *key, *salt, *auth = NULL;
  size_t key_length, salt_length, auth_length = 0;
  if (argc < 3 || !get_u32(env, argv[0], &profile) || !get_buffer(env, argv[1], &key, &key_length) || !get_buffer(env, argv[2], &salt, &salt_length))
    return throw_error(env, "session(profile, key, salt, authKey?): bad arguments");
  if (key_length != 16) return throw_error(env, "an SRTP session key is 16 bytes");
  bool receiving = false;
  if (argc >= 5 && napi_get_value_bool(env, argv[4], &receiving) != napi_ok) return throw_error(env, "session: receiving is a boolean");
  session *s = calloc(1, sizeof *s);
  if (s == NULL) return throw_error(env, "out of memory");
  s->profile = profile;
  s->decrypt = receiving;
  atomic_init(&s->refs, 1);
  s->cipher = EVP_CIPHER_CTX_new();
  int ok = s->cipher != NULL;
  if (profile == AES_CM_128_HMAC_SHA1_80) {
    if (argc < 4 || !get_buffer(env, argv[3], &auth, &auth_length) || auth_length > SHA_CBLOCK || salt_length != 14) {
      session_free(env, s, NULL);
      return throw_error(env, "AES-CM SRTP needs a 14-byte salt and an auth key");
    }
    memcpy(s->salt, salt, 14);
    ok = ok && EVP_EncryptInit_ex(s->cipher, EVP_aes_128_ctr(), NULL, key, NULL) == 1;
    uint8_t ipad[SHA_CBLOCK], opad[SHA_CBLOCK];
    memset(ipad, 0x36, sizeof ipad);
    memset(opad, 0x5c, sizeof opad);
    for (size_t i = 0; i < auth_length; i++) {
      ipad[i] ^= auth[i];
      opad[i] ^= auth[i];
    }
    SHA1_Init(&s->inner);
    SHA1_Update(&s->inner, ipad, sizeof ipad);
    SHA1_Init(&s->outer);
    SHA1_Update(&s->outer, opad, sizeof opad);
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
  } else if (profile == AEAD_AES_128_GCM) {
    if (salt_length < 12) {
      session_free(env, s, NULL);
      return throw_error(env, "AEAD-AES-GCM SRTP needs a 12-byte salt");
    }
    memcpy(s->salt, salt, 12); /* werift derives 14 bytes; the IV uses the first 12 */
    ok = ok && (receiving ? EVP_DecryptInit_ex(s->cipher, EVP_aes_128_gcm(), NULL, key, NULL) : EVP_EncryptInit_ex(s->cipher, EVP_aes_128_gcm(), NULL, key, NULL)) == 1;
  } else {
    session_free(env, s, NULL);
    return throw_error(env, "unknown SRTP profile");
  }
  if (ok && !receiving) {
    s->thread_cipher = EVP_CIPHER_CTX_new();
    ok = s->thread_cipher != NULL && EVP_CIPHER_CTX_copy(s->thread_cipher, s->cipher) == 1;
  }
  if (!ok) {
    session_free(env, s, NULL);
    return throw_error(env, "OpenSSL refused the SRTP key");
  }
  napi_value external;
  if (napi_create_external(env, s, session_free, NULL, &external) != napi_ok) {
    session_free(env, s, NULL);
    return throw_error(env, "napi_create_external failed");
  }
  napi_type_tag_object(env, external, &SESSION_TAG);
  return external;
}

static void put32(uint8_t *at, uint32_t v) {
  at[0] = v >> 24;
  at[1] = v >> 16;
  at[2] = v >> 8;
  at[3] = v;
}

/* The length of the RTP header (fixed part, CSRCs, extension block) of data[0, end), or 0 (RFC 3550 5.1). */
static size_t rtp_header_length(const uint8_t *data, size_t end) {
  if (end < 12 || data[0] >> 6 != 2) return 0;
  size_t length = 12 + (size_t)(data[0] & 0x0f) * 4;
  if (data[0] & 0x10) {
    if (length + 4 > end) return 0;
    length += 4 + (size_t)((data[length + 2] << 8) | data[length + 3]) * 4;
  }
  return length <= end ? length : 0;
}

/* IV = salt·2^16 XOR ssrc·2^64 XOR index·2^16 (RFC 3711 4.1.1); CTR mode counts the low 16 bits. */
static void cm_iv(const session *s, uint8_t iv[16], uint32_t ssrc, uint32_t seq, uint32_t roc) {
  memset(iv, 0, 16);
  memcpy(iv, s->salt, 14);
  iv[4] ^= ssrc >> 24, iv[5] ^= ssrc >> 16, iv[6] ^= ssrc >> 8, iv[7] ^= ssrc;
  iv[8] ^= roc >> 24, iv[9] ^= roc >> 16, iv[10] ^= roc >> 8, iv[11] ^= roc;
  iv[12] ^= seq >> 8, iv[13] ^= seq;
}

/* IV = (00 00 || SSRC || ROC || SEQ) XOR salt (RFC 7714 8.1). */
static void gcm_iv(const session *s, uint8_t iv[12], uint32_t ssrc, uint32_t seq, uint32_t roc) {
  iv[0] = 0, iv[1] = 0;
  put32(iv + 2, ssrc);
  put32(iv + 6, roc);
  iv[10] = seq >> 8, iv[11] = seq;
  for (int i = 0; i < 12; i++) iv[i] ^= s->salt[i];
}

/* HMAC-SHA1 of packet[0, length) and then the rollover counter (RFC 3711 4.2), from the pad states. */
static void cm_mac(const session *s, const uint8_t *packet, size_t length, uint32_t roc, uint8_t digest[SHA_DIGEST_LENGTH]) {
  uint8_t roc_bytes[4];
  put32(roc_bytes, roc);
  SHA_CTX ctx = s->inner;
  SHA1_Update(&ctx, packet, length);
  SHA1_Update(&ctx, roc_bytes, 4);
  SHA1_Final(digest, &ctx);
  ctx = s->outer;
  SHA1_Update(&ctx, digest, SHA_DIGEST_LENGTH);
  SHA1_Final(digest, &ctx);
}

/* Protects rtp[0, length) in place (header of header_length bytes) with `cipher`, one of the session's two; the SRTP length, or 0 on failure. */
static size_t protect_with(const session *s, EVP_CIPHER_CTX *cipher, uint8_t *rtp, size_t header_length, size_t length, uint32_t ssrc, uint32_t seq, uint32_t roc) {
  int out = 0;
  if (s->profile == AES_CM_128_HMAC_SHA1_80) {
    uint8_t iv[16];
    cm_iv(s, iv, ssrc, seq, roc);
    uint8_t *payload = rtp + header_length;
    if (EVP_EncryptInit_ex(cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(cipher, payload, &out, payload, (int)(length - header_length)) != 1) return 0;
    uint8_t digest[SHA_DIGEST_LENGTH];
    cm_mac(s, rtp, length, roc, digest);
    memcpy(rtp + length, digest, CM_TAG);
    return length + CM_TAG;
  }
  /* The header is the AAD (RFC 7714 8.2). */
  uint8_t iv[12];
  gcm_iv(s, iv, ssrc, seq, roc);
  uint8_t *payload = rtp + header_length;
  if (EVP_EncryptInit_ex(cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(cipher, NULL, &out, rtp, (int)header_length) != 1 ||
      EVP_EncryptUpdate(cipher, payload, &out, payload, (int)(length - header_length)) != 1 || EVP_EncryptFinal_ex(cipher, payload + out, &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_GET_TAG, GCM_TAG, rtp + length) != 1)
    return 0;
  return length + GCM_TAG;
}

static size_t protect(session *s, uint8_t *rtp, size_t header_length, size_t length, uint32_t ssrc, uint32_t seq, uint32_t roc) {
  return protect_with(s, s->cipher, rtp, header_length, length, ssrc, seq, roc);
}

/* The packet's arguments, shared by protect() and protectSend(): (session, buf, headerLength, length, ssrc, seq, roc). */
static int packet_args(napi_env env, napi_value *argv, session **s, uint8_t **rtp, uint32_t *header_length, uint32_t *length, uint32_t *ssrc, uint32_t *seq, uint32_t *roc) {
  uint8_t *buf;
  size_t buf_length;
  if (!tagged(env, argv[0], &SESSION_TAG, (void **)s) || !get_buffer(env, argv[1], &buf, &buf_length) || !get_u32(env, argv[2], header_length) ||
      !get_u32(env, argv[3], length) || !get_u32(env, argv[4], ssrc) || !get_u32(env, argv[5], seq) || !get_u32(env, argv[6], roc))
    return 0;
  /* The tag goes after the packet: the buffer must hold HEADROOM + length + the longest tag. */
  if ((*s)->decrypt || *header_length < 12 || *header_length > *length || (size_t)*length + HEADROOM + GCM_TAG > buf_length) return 0;
  *rtp = buf + HEADROOM;
  return 1;
}

static napi_value number(napi_env env, double v) {
  napi_value result;
  napi_create_double(env, v, &result);
  return result;
}

/* protect(session, buf, headerLength, length, ssrc, seq, roc): the SRTP packet's length (at buf[64]). */
static napi_value protect_only(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session *s;
  uint8_t *rtp;
  uint32_t header_length, length, ssrc, seq, roc;
  if (argc < 7 || !packet_args(env, argv, &s, &rtp, &header_length, &length, &ssrc, &seq, &roc)) return throw_error(env, "protect: bad arguments");
  size_t size = protect(s, rtp, header_length, length, ssrc, seq & 0xffff, roc);
  if (size == 0) return throw_error(env, "OpenSSL failed to protect the packet");
  return number(env, (double)size);
}

/* Departure times kept per destination (a power of two): more than a subscriber's feedback ever looks back. */
#define DEPARTURES 4096

static uint64_t monotonic_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* A duplicate of fd (close-on-exec: a child process started by the relay does not inherit it). */
static int fcntl_dup(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 0); }

/* Where a subscriber's packets go: a duplicate of werift's socket descriptor, and the peer's address. */
typedef struct {
  int fd;
  socklen_t address_length;
  struct sockaddr_in6 address; /* or a sockaddr_in in its first bytes */
  atomic_int fd_refs;          /* the owner's (until closeDestination or the finalizer), and one per queued packet: fd closes at 0 */
  atomic_int refs;             /* the External's (until its finalizer), and one per queued packet: freed at 0 */
  atomic_bool owned;
  /* When each transport-wide seq left (the sender thread writes, departures() reads): CLOCK_MONOTONIC µs, and the seq it is for. */
  _Atomic uint32_t departed_us[DEPARTURES];
  _Atomic uint32_t departed_seq[DEPARTURES]; /* seq + 1; 0: none */
} destination;

static void destination_release_fd(destination *d) {
  if (atomic_fetch_sub(&d->fd_refs, 1) == 1) close(d->fd);
}

static void destination_release(destination *d) {
  if (atomic_fetch_sub(&d->refs, 1) == 1) free(d);
}

/* The owner gives the descriptor up, once: closeDestination() or, failing that, the garbage collector. */
static void destination_disown(destination *d) {
  bool owned = true;
  if (atomic_compare_exchange_strong(&d->owned, &owned, false)) destination_release_fd(d);
}

static void destination_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  destination_disown(data);
  destination_release(data);
}

/* Sends the SRTP packet rtp[0, size) to d: 0, or the errno (EAGAIN: the socket buffer is full, dropped as a router drops it). */
static int send_datagram(destination *d, const uint8_t *rtp, size_t size) {
  for (;;) {
    ssize_t sent = sendto(d->fd, rtp, size, 0, (const struct sockaddr *)&d->address, d->address_length);
    if (sent >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

/* ---- The sender thread: one per Node environment (its instance data), started at the first queueSend. ---- */

#define RING_SLOTS 8192
#define SLOT_BYTES 1536 /* an RTP packet the relay forwards fits (its MTU is 1200 bytes), with the tag */

typedef struct {
  session *s;
  destination *d;
  int32_t transport_seq; /* -1: none */
  uint32_t header_length, length, ssrc, seq, roc;
  uint8_t rtp[SLOT_BYTES];
} job;

typedef struct {
  job *ring;
  atomic_uint head; /* written by the event loop's thread only */
  atomic_uint tail; /* written by the sender thread only */
  atomic_bool sleeping, stopping, started;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  atomic_ullong sent, failed;
} sender;

static void run_job(sender *q, job *j) {
  size_t size = protect_with(j->s, j->s->thread_cipher, j->rtp, j->header_length, j->length, j->ssrc, j->seq, j->roc);
  if (size == 0 || send_datagram(j->d, j->rtp, size) != 0) {
    atomic_fetch_add(&q->failed, 1);
  } else {
    atomic_fetch_add(&q->sent, 1);
    if (j->transport_seq >= 0) {
      unsigned i = (unsigned)j->transport_seq & (DEPARTURES - 1);
      atomic_store_explicit(&j->d->departed_seq[i], 0, memory_order_relaxed);
      atomic_store_explicit(&j->d->departed_us[i], (uint32_t)monotonic_us(), memory_order_release);
      atomic_store_explicit(&j->d->departed_seq[i], (uint32_t)j->transport_seq + 1, memory_order_release);
    }
  }
  session_release(j->s);
  destination_release_fd(j->d);
  destination_release(j->d);
}

static void *sender_main(void *arg) {
  sender *q = arg;
  for (;;) {
    unsigned tail = atomic_load(&q->tail);
    while (tail != atomic_load(&q->head)) {
      run_job(q, &q->ring[tail % RING_SLOTS]);
      atomic_store(&q->tail, ++tail);
    }
    pthread_mutex_lock(&q->lock);
    atomic_store(&q->sleeping, true);
    /* Dekker with queue_send: it stores head then reads sleeping; this stores sleeping then reads head. */
    while (atomic_load(&q->tail) == atomic_load(&q->head) && !atomic_load(&q->stopping)) pthread_cond_wait(&q->wake, &q->lock);
    atomic_store(&q->sleeping, false);
    bool stop = atomic_load(&q->stopping) && atomic_load(&q->tail) == atomic_load(&q->head);
    pthread_mutex_unlock(&q->lock);
    if (stop) return NULL;
  }
}

static void sender_wake(sender *q) {
  if (!atomic_load(&q->sleeping)) return;
  pthread_mutex_lock(&q->lock);
  pthread_cond_signal(&q->wake);
  pthread_mutex_unlock(&q->lock);
}

/* The thread sends what is queued, then ends; a later queueSend starts it again. */
static void sender_stop(sender *q) {
  if (!atomic_load(&q->started)) return;
  pthread_mutex_lock(&q->lock);
  atomic_store(&q->stopping, true);
  pthread_cond_signal(&q->wake);
  pthread_mutex_unlock(&q->lock);
  pthread_join(q->thread, NULL);
  atomic_store(&q->stopping, false);
  atomic_store(&q->started, false);
}

/* The environment is going away. */
static void sender_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sender *q = data;
  sender_stop(q);
  pthread_mutex_destroy(&q->lock);
  pthread_cond_destroy(&q->wake);
  free(q->ring);
  free(q);
}

static sender *sender_of(napi_env env) {
  sender *q = NULL;
  if (napi_get_instance_data(env, (void **)&q) != napi_ok || q == NULL) return NULL;
  if (!atomic_load(&q->started)) {
    if (q->ring == NULL) q->ring = malloc(sizeof(job) * RING_SLOTS); /* pages are touched as the ring is used */
    if (q->ring == NULL || pthread_create(&q->thread, NULL, sender_main, q) != 0) return NULL;
    atomic_store(&q->started, true);
  }
  return q;
}

/*
 * (session, buf, headerLength, length, ssrc, seq, roc, destination[, transportSeq]): the arguments of
 * protectSend and queueSend, read once; `transport_seq` NULL: none taken, else -1 when absent.
 */
static int send_args(napi_env env, napi_callback_info info, session **s, uint8_t **rtp, uint32_t *header_length, uint32_t *length, uint32_t *ssrc, uint32_t *seq,
                     uint32_t *roc, destination **d, int32_t *transport_seq) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 8 || !packet_args(env, argv, s, rtp, header_length, length, ssrc, seq, roc) || !tagged(env, argv[7], &DESTINATION_TAG, (void **)d) ||
      !atomic_load(&(*d)->owned))
    return 0;
  if (transport_seq == NULL) return 1;
  *transport_seq = -1;
  return argc < 9 || (napi_get_value_int32(env, argv[8], transport_seq) == napi_ok && *transport_seq <= 0xffff);
}

/*
 * protectSend(session, buf, headerLength, length, ssrc, seq, roc, destination): protects the packet and
 * sends it now, on this thread; the SRTP length, or -errno when the send failed (the packet is
 * protected either way, at buf[64]).
 */
static napi_value protect_send(napi_env env, napi_callback_info info) {
  session *s;
  destination *d;
  uint8_t *rtp;
  uint32_t header_length, length, ssrc, seq, roc;
  if (!send_args(env, info, &s, &rtp, &header_length, &length, &ssrc, &seq, &roc, &d, NULL)) return throw_error(env, "protectSend: bad arguments");
  size_t size = protect(s, rtp, header_length, length, ssrc, seq & 0xffff, roc);
  if (size == 0) return throw_error(env, "OpenSSL failed to protect the packet");
  int error = send_datagram(d, rtp, size);
  return number(env, error ? -(double)error : (double)size);
}

/*
 * queueSend(session, buf, headerLength, length, ssrc, seq, roc, destination, transportSeq): as
 * protectSend, on the sender thread, which notes when the packet carrying transport-wide seq
 * `transportSeq` (-1: none) left, for departures(): the packet is copied (buf is free again on return) and the SRTP length it will have
 * is returned; -EAGAIN when the ring stayed full for 2 ms (the packet dropped and counted).
 */
static napi_value queue_send(napi_env env, napi_callback_info info) {
  session *s;
  destination *d;
  uint8_t *rtp;
  uint32_t header_length, length, ssrc, seq, roc;
  int32_t transport_seq;
  if (!send_args(env, info, &s, &rtp, &header_length, &length, &ssrc, &seq, &roc, &d, &transport_seq) || length + GCM_TAG > SLOT_BYTES)
    return throw_error(env, "queueSend: bad arguments");
  sender *q = sender_of(env);
  if (q == NULL) return throw_error(env, "queueSend: the sender thread could not start");
  unsigned head = atomic_load(&q->head);
  if (head - atomic_load(&q->tail) >= RING_SLOTS) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
      sender_wake(q);
      sched_yield();
      clock_gettime(CLOCK_MONOTONIC, &now);
      if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) > 2000000L) {
        atomic_fetch_add(&q->failed, 1);
        return number(env, -(double)EAGAIN);
      }
    } while (head - atomic_load(&q->tail) >= RING_SLOTS);
  }
  job *j = &q->ring[head % RING_SLOTS];
  atomic_fetch_add(&s->refs, 1);
  atomic_fetch_add(&d->refs, 1);
  atomic_fetch_add(&d->fd_refs, 1);
  j->s = s;
  j->d = d;
  j->transport_seq = transport_seq < 0 ? -1 : transport_seq;
  j->header_length = header_length, j->length = length, j->ssrc = ssrc, j->seq = seq & 0xffff, j->roc = roc;
  memcpy(j->rtp, rtp, length);
  atomic_store(&q->head, head + 1);
  sender_wake(q);
  return number(env, (double)(length + (s->profile == AEAD_AES_128_GCM ? GCM_TAG : CM_TAG)));
}

/* flush(timeoutMs?): whether every packet queued so far has been sent (or failed), waiting up to timeoutMs (default: as long as it takes). */
static napi_value flush(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double timeout_ms = -1;
  if (argc >= 1) napi_get_value_double(env, argv[0], &timeout_ms);
  sender *q = NULL;
  napi_get_instance_data(env, (void **)&q);
  bool drained = true;
  if (q != NULL && atomic_load(&q->started)) {
    uint64_t deadline = timeout_ms >= 0 ? monotonic_us() + (uint64_t)(timeout_ms * 1000) : UINT64_MAX;
    while (atomic_load(&q->tail) != atomic_load(&q->head)) {
      if (monotonic_us() > deadline) {
        drained = false;
        break;
      }
      sender_wake(q);
      sched_yield();
    }
  }
  napi_value result;
  napi_get_boolean(env, drained, &result);
  return result;
}

/*
 * departures(destination, seqs, out): for each transport-wide seq in `seqs` (an Int32Array), when the
 * sender thread sent it, in CLOCK_MONOTONIC ms, into `out` (a Float64Array as long), or -1 when it has
 * no record of it (not sent by the thread, not sent yet, or overwritten since).
 */
static napi_value departures(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  destination *d;
  napi_typedarray_type seq_type, out_type;
  size_t count, out_count;
  void *seq_data, *out_data;
  if (argc < 3 || !tagged(env, argv[0], &DESTINATION_TAG, (void **)&d) ||
      napi_get_typedarray_info(env, argv[1], &seq_type, &count, &seq_data, NULL, NULL) != napi_ok || seq_type != napi_int32_array ||
      napi_get_typedarray_info(env, argv[2], &out_type, &out_count, &out_data, NULL, NULL) != napi_ok || out_type != napi_float64_array || out_count < count)
    return throw_error(env, "departures(destination, Int32Array, Float64Array): bad arguments");
  const int32_t *seqs = seq_data;
  double *out = out_data;
  uint64_t now_full = monotonic_us();
  uint32_t now = (uint32_t)now_full;
  for (size_t k = 0; k < count; k++) {
    out[k] = -1;
    if (seqs[k] < 0 || seqs[k] > 0xffff) continue;
    unsigned i = (unsigned)seqs[k] & (DEPARTURES - 1);
    if (atomic_load_explicit(&d->departed_seq[i], memory_order_acquire) != (uint32_t)seqs[k] + 1) continue;
    uint32_t at = atomic_load_explicit(&d->departed_us[i], memory_order_acquire);
    if (atomic_load_explicit(&d->departed_seq[i], memory_order_acquire) != (uint32_t)seqs[k] + 1) continue; /* rewritten meanwhile */
    /* The 32-bit µs clock wraps every 71 minutes; a departure the feedback asks about is seconds old at
       most, and one the thread wrote after `now` was read is "now". Older than 10 s: a stale record. */
    int32_t ago = (int32_t)(now - at);
    if (ago < 0) ago = 0;
    if (ago > 10000000) continue;
    out[k] = (double)(now_full - (uint64_t)ago) / 1000.0;
  }
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

/* monotonicMs(): CLOCK_MONOTONIC in ms, the clock of departures() (performance.now() minus a constant). */
static napi_value monotonic_ms(napi_env env, napi_callback_info info) {
  (void)info;
  return number(env, (double)monotonic_us() / 1000.0);
}

/* stop(): sends what is queued and ends the sender thread (before the process exits: exit does not wait for it). */
static napi_value stop(napi_env env, napi_callback_info info) {
  (void)info;
  sender *q = NULL;
  napi_get_instance_data(env, (void **)&q);
  if (q != NULL) sender_stop(q);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

/* sendCounts(): { sent, failed }: datagrams the sender thread sent, and those it could not (socket errors). */
static napi_value send_counts(napi_env env, napi_callback_info info) {
  (void)info;
  sender *q = NULL;
  napi_get_instance_data(env, (void **)&q);
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "sent", number(env, q ? (double)atomic_load(&q->sent) : 0));
  napi_set_named_property(env, result, "failed", number(env, q ? (double)atomic_load(&q->failed) : 0));
  return result;
}

/*
 * unprotect(session, data, roc): the RTP packet inside SRTP packet `data` (a new Buffer) whose rollover
 * counter the caller estimated (RFC 3711 3.3.1), or null when it is not an SRTP packet of this session
 * or fails authentication. `session` must be a receiving one.
 */
static napi_value unprotect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session *s;
  uint8_t *data;
  size_t length;
  uint32_t roc;
  napi_value null_value;
  napi_get_null(env, &null_value);
  if (argc < 3 || !tagged(env, argv[0], &SESSION_TAG, (void **)&s) || !get_buffer(env, argv[1], &data, &length) || !get_u32(env, argv[2], &roc) || !s->decrypt)
    return throw_error(env, "unprotect: bad arguments");
  size_t tag = s->profile == AEAD_AES_128_GCM ? GCM_TAG : CM_TAG;
  if (length < tag) return null_value;
  size_t end = length - tag;
  size_t header = rtp_header_length(data, end);
  if (header == 0) return null_value;
  uint32_t ssrc = (uint32_t)data[8] << 24 | (uint32_t)data[9] << 16 | (uint32_t)data[10] << 8 | data[11];
  uint32_t seq = (uint32_t)data[2] << 8 | data[3];
  napi_value result;
  uint8_t *plain;
  if (napi_create_buffer(env, end, (void **)&plain, &result) != napi_ok) return throw_error(env, "out of memory");
  memcpy(plain, data, header);
  int out = 0;
  if (s->profile == AES_CM_128_HMAC_SHA1_80) {
    uint8_t digest[SHA_DIGEST_LENGTH];
    cm_mac(s, data, end, roc, digest);
    if (CRYPTO_memcmp(digest, data + end, CM_TAG) != 0) return null_value;
    uint8_t iv[16];
    cm_iv(s, iv, ssrc, seq, roc);
    if (EVP_EncryptInit_ex(s->cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(s->cipher, plain + header, &out, data + header, (int)(end - header)) != 1)
      return throw_error(env, "OpenSSL failed to decrypt the packet");
    return result;
  }
  uint8_t iv[12];
  gcm_iv(s, iv, ssrc, seq, roc);
  if (EVP_DecryptInit_ex(s->cipher, NULL, NULL, NULL, iv) != 1 || EVP_DecryptUpdate(s->cipher, NULL, &out, data, (int)header) != 1 ||
      EVP_DecryptUpdate(s->cipher, plain + header, &out, data + header, (int)(end - header)) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_SET_TAG, GCM_TAG, data + end) != 1)
    return throw_error(env, "OpenSSL failed to decrypt the packet");
  if (EVP_DecryptFinal_ex(s->cipher, plain + header + out, &out) != 1) return null_value; /* the tag did not verify */
  return result;
}

/*
 * destination(fd, host, port, ipv6Socket): where packets for host:port leave from socket `fd` (an
 * External: a duplicate of fd and the sockaddr; an IPv4 host on an IPv6 socket is v4-mapped). Given up
 * with closeDestination(); its descriptor closes once the packets queued for it are sent.
 */
static napi_value make_destination(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char host[64];
  size_t host_length;
  uint32_t fd, port;
  bool ipv6_socket = false;
  if (argc < 4 || !get_u32(env, argv[0], &fd) || napi_get_value_string_utf8(env, argv[1], host, sizeof host, &host_length) != napi_ok || !get_u32(env, argv[2], &port) ||
      port > 65535 || napi_get_value_bool(env, argv[3], &ipv6_socket) != napi_ok)
    return throw_error(env, "destination(fd, host, port, ipv6Socket): bad arguments");
  if (strchr(host, '%') != NULL) return throw_error(env, "destination: scoped IPv6 addresses are not supported"); /* a link-local zone */
  struct sockaddr_in6 address;
  socklen_t address_length;
  memset(&address, 0, sizeof address);
  struct in_addr v4;
  if (!ipv6_socket && inet_pton(AF_INET, host, &v4) == 1) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = v4};
    memcpy(&address, &a, sizeof a);
    address_length = sizeof a;
  } else {
    struct in6_addr v6;
    if (ipv6_socket && inet_pton(AF_INET, host, &v4) == 1) {
      memset(&v6, 0, sizeof v6);
      v6.s6_addr[10] = 0xff, v6.s6_addr[11] = 0xff;
      memcpy(&v6.s6_addr[12], &v4, 4);
    } else if (!ipv6_socket || inet_pton(AF_INET6, host, &v6) != 1) {
      return throw_error(env, "destination: not an IP address of the socket's family");
    }
    address.sin6_family = AF_INET6, address.sin6_port = htons((uint16_t)port), address.sin6_addr = v6;
    address_length = sizeof address;
  }
  destination *d = calloc(1, sizeof *d);
  if (d == NULL) return throw_error(env, "out of memory");
  d->fd = fcntl_dup((int)fd);
  if (d->fd < 0) {
    free(d);
    return throw_error(env, "destination: the socket's descriptor could not be duplicated");
  }
  d->address = address;
  d->address_length = address_length;
  atomic_init(&d->refs, 1);
  atomic_init(&d->fd_refs, 1);
  atomic_init(&d->owned, true);
  napi_value external;
  if (napi_create_external(env, d, destination_finalize, NULL, &external) != napi_ok) {
    destination_finalize(env, d, NULL);
    return throw_error(env, "napi_create_external failed");
  }
  napi_type_tag_object(env, external, &DESTINATION_TAG);
  return external;
}

/* closeDestination(destination): no more packets for it; its descriptor closes after the queued ones. */
static napi_value close_destination(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  destination *d;
  if (argc < 1 || !tagged(env, argv[0], &DESTINATION_TAG, (void **)&d)) return throw_error(env, "closeDestination: bad arguments");
  destination_disown(d);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"session", NULL, make_session, NULL, NULL, NULL, napi_default, NULL},
      {"protect", NULL, protect_only, NULL, NULL, NULL, napi_default, NULL},
      {"protectSend", NULL, protect_send, NULL, NULL, NULL, napi_default, NULL},
      {"queueSend", NULL, queue_send, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, flush, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL},
      {"departures", NULL, departures, NULL, NULL, NULL, napi_default, NULL},
      {"monotonicMs", NULL, monotonic_ms, NULL, NULL, NULL, napi_default, NULL},
      {"sendCounts", NULL, send_counts, NULL, NULL, NULL, napi_default, NULL},
      {"destination", NULL, make_destination, NULL, NULL, NULL, napi_default, NULL},
      {"closeDestination", NULL, close_destination, NULL, NULL, NULL, napi_default, NULL},
      {"unprotect", NULL, unprotect, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  napi_set_named_property(env, exports, "queueLimit", number(env, SLOT_BYTES - GCM_TAG)); /* the longest RTP packet queueSend takes */
  sender *q = calloc(1, sizeof *q);
  if (q == NULL || pthread_mutex_init(&q->lock, NULL) != 0 || pthread_cond_init(&q->wake, NULL) != 0 ||
      napi_set_instance_data(env, q, sender_finalize, NULL) != napi_ok) {
    free(q);
    napi_throw_error(env, "ERR_SFU_NATIVE", "fast_send: could not set up the sender");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
