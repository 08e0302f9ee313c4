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
 * The socket is werift's own (its fd, read from Node's UDP handle). Writing to it beside libuv is safe
 * for datagrams: a send is atomic, the fd stays non-blocking, and a failed send (EAGAIN when the socket
 * buffer is full) is returned as -errno so the caller can hand that one packet to libuv's queue instead.
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

#define HEADROOM 64
#define CM_TAG 10
#define GCM_TAG 16

enum profile { AES_CM_128_HMAC_SHA1_80 = 1, AEAD_AES_128_GCM = 2 };

/* One SRTP session's sending state: the keys' cipher contexts, made once. */
typedef struct {
  enum profile profile;
  bool decrypt; /* a receiving session (unprotect): GCM's context is set up for decryption */
  EVP_CIPHER_CTX *cipher;
  uint8_t salt[14];
  SHA_CTX inner; /* SHA-1 after (authKey ^ ipad): RFC 2104's first block, hashed once */
  SHA_CTX outer; /* SHA-1 after (authKey ^ opad) */
} session;

static void session_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  session *s = data;
  EVP_CIPHER_CTX_free(s->cipher);
  OPENSSL_cleanse(s, sizeof *s);
  free(s);
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
  if (!ok) {
    session_free(env, s, NULL);
    return throw_error(env, "OpenSSL refused the SRTP key");
  }
  napi_value external;
  if (napi_create_external(env, s, session_free, NULL, &external) != napi_ok) {
    session_free(env, s, NULL);
    return throw_error(env, "napi_create_external failed");
  }
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

/* Protects rtp[0, length) in place (header of header_length bytes); the SRTP length, or 0 on failure. */
static size_t protect(session *s, uint8_t *rtp, size_t header_length, size_t length, uint32_t ssrc, uint32_t seq, uint32_t roc) {
  int out = 0;
  if (s->profile == AES_CM_128_HMAC_SHA1_80) {
    uint8_t iv[16];
    cm_iv(s, iv, ssrc, seq, roc);
    uint8_t *payload = rtp + header_length;
    if (EVP_EncryptInit_ex(s->cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(s->cipher, payload, &out, payload, (int)(length - header_length)) != 1) return 0;
    uint8_t digest[SHA_DIGEST_LENGTH];
    cm_mac(s, rtp, length, roc, digest);
    memcpy(rtp + length, digest, CM_TAG);
    return length + CM_TAG;
  }
  /* The header is the AAD (RFC 7714 8.2). */
  uint8_t iv[12];
  gcm_iv(s, iv, ssrc, seq, roc);
  uint8_t *payload = rtp + header_length;
  if (EVP_EncryptInit_ex(s->cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(s->cipher, NULL, &out, rtp, (int)header_length) != 1 ||
      EVP_EncryptUpdate(s->cipher, payload, &out, payload, (int)(length - header_length)) != 1 || EVP_EncryptFinal_ex(s->cipher, payload + out, &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_GET_TAG, GCM_TAG, rtp + length) != 1)
    return 0;
  return length + GCM_TAG;
}

/* The packet's arguments, shared by protect() and protectSend(): (session, buf, headerLength, length, ssrc, seq, roc). */
static int packet_args(napi_env env, napi_value *argv, session **s, uint8_t **rtp, uint32_t *header_length, uint32_t *length, uint32_t *ssrc, uint32_t *seq, uint32_t *roc) {
  uint8_t *buf;
  size_t buf_length;
  if (napi_get_value_external(env, argv[0], (void **)s) != napi_ok || !get_buffer(env, argv[1], &buf, &buf_length) || !get_u32(env, argv[2], header_length) ||
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

/*
 * protectSend(session, buf, headerLength, length, ssrc, seq, roc, fd, address): protects the packet
 * and sends it on `fd` to `address` (a sockaddr from address()); the SRTP length, or -errno when the
 * send failed (the packet is protected either way, so the caller can queue it elsewhere).
 */
static napi_value protect_send(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session *s;
  uint8_t *rtp, *address;
  size_t address_length;
  uint32_t header_length, length, ssrc, seq, roc, fd;
  if (argc < 9 || !packet_args(env, argv, &s, &rtp, &header_length, &length, &ssrc, &seq, &roc) || !get_u32(env, argv[7], &fd) ||
      !get_buffer(env, argv[8], &address, &address_length) || (address_length != sizeof(struct sockaddr_in) && address_length != sizeof(struct sockaddr_in6)))
    return throw_error(env, "protectSend: bad arguments");
  size_t size = protect(s, rtp, header_length, length, ssrc, seq & 0xffff, roc);
  if (size == 0) return throw_error(env, "OpenSSL failed to protect the packet");
  ssize_t sent;
  do sent = sendto((int)fd, rtp, size, 0, (const struct sockaddr *)address, (socklen_t)address_length);
  while (sent < 0 && errno == EINTR);
  return number(env, sent < 0 ? -(double)errno : (double)size);
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
  if (argc < 3 || napi_get_value_external(env, argv[0], (void **)&s) != napi_ok || !get_buffer(env, argv[1], &data, &length) || !get_u32(env, argv[2], &roc) || !s->decrypt)
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

/* address(host, port, ipv6Socket): a sockaddr for sendto; an IPv4 host on an IPv6 socket is v4-mapped. */
static napi_value make_address(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char host[64];
  size_t host_length;
  uint32_t port;
  bool ipv6_socket = false;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_length) != napi_ok || !get_u32(env, argv[1], &port) || port > 65535 ||
      napi_get_value_bool(env, argv[2], &ipv6_socket) != napi_ok)
    return throw_error(env, "address(host, port, ipv6Socket): bad arguments");
  char *zone = strchr(host, '%'); /* a link-local zone: not for the fast path */
  if (zone != NULL) return throw_error(env, "address: scoped IPv6 addresses are not supported");
  napi_value result;
  void *data;
  struct in_addr v4;
  struct in6_addr v6;
  if (!ipv6_socket && inet_pton(AF_INET, host, &v4) == 1) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = v4};
    napi_create_buffer_copy(env, sizeof a, &a, &data, &result);
    return result;
  }
  if (ipv6_socket && inet_pton(AF_INET, host, &v4) == 1) {
    memset(&v6, 0, sizeof v6);
    v6.s6_addr[10] = 0xff, v6.s6_addr[11] = 0xff;
    memcpy(&v6.s6_addr[12], &v4, 4);
  } else if (!ipv6_socket || inet_pton(AF_INET6, host, &v6) != 1) {
    return throw_error(env, "address: not an IP address of the socket's family");
  }
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = v6};
  napi_create_buffer_copy(env, sizeof a, &a, &data, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"session", NULL, make_session, NULL, NULL, NULL, napi_default, NULL},
      {"protect", NULL, protect_only, NULL, NULL, NULL, napi_default, NULL},
      {"protectSend", NULL, protect_send, NULL, NULL, NULL, napi_default, NULL},
      {"address", NULL, make_address, NULL, NULL, NULL, napi_default, NULL},
      {"unprotect", NULL, unprotect, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
