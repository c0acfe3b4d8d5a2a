/* Shared helpers of the liboffload C tests: checks that name the failing line,
 * a reference Internet checksum, and frame builders. */
#ifndef OFFLOAD_TEST_COMMON_H
#define OFFLOAD_TEST_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

#define CHECK_RESULT(expr, want)                                                 \
    do {                                                                         \
        uint32_t got_ = (uint32_t)(expr);                                        \
        if (got_ != (uint32_t)(want)) {                                          \
            char msg_[256];                                                      \
            size_t n_ = 0;                                                       \
            if (offload_result_message(got_, msg_, sizeof msg_, &n_) != OFFLOAD_RESULT_OK) \
                strcpy(msg_, "?");                                               \
            fprintf(stderr, "%s:%d: %s returned %u (%s), want %s (%u)\n", __FILE__, \
                    __LINE__, #expr, got_, msg_, #want, (uint32_t)(want));       \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

/* RFC 1071 written out independently of the library, to check it against. */
static inline uint16_t ref_fold(uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static inline uint32_t ref_add(uint32_t sum, const uint8_t *p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    return sum;
}

enum udp_fill { UDP_CORRECT, UDP_CORRUPT, UDP_OFFLOAD_PENDING };

/* Ethernet + IPv4 + UDP with `payload` bytes; returns the frame length.
 * `frame` must hold 14 + 20 + 8 + payload bytes. */
static inline size_t build_udp_frame(uint8_t *frame, size_t payload, enum udp_fill fill) {
    size_t ip_len = 20 + 8 + payload, udp_len = 8 + payload;
    memset(frame, 0, 14 + ip_len);
    memcpy(frame, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
    uint8_t *ip = frame + 14, *udp = ip + 20;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(ip_len >> 8);
    ip[3] = (uint8_t)ip_len;
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    uint16_t ipsum = (uint16_t)~ref_fold(ref_add(0, ip, 20));
    ip[10] = (uint8_t)(ipsum >> 8);
    ip[11] = (uint8_t)ipsum;
    udp[0] = 0x30; udp[1] = 0x39; /* 12345 */
    udp[2] = 0x00; udp[3] = 0x35; /* 53 */
    udp[4] = (uint8_t)(udp_len >> 8);
    udp[5] = (uint8_t)udp_len;
    for (size_t i = 0; i < payload; i++)
        udp[8 + i] = (uint8_t)(i * 7 + 1);
    uint32_t pseudo = ref_add(0, ip + 12, 8) + 17 + (uint32_t)udp_len;
    uint16_t field;
    if (fill == UDP_OFFLOAD_PENDING) {
        field = ref_fold(pseudo);
    } else {
        field = (uint16_t)~ref_fold(ref_add(pseudo, udp, udp_len));
        if (field == 0)
            field = 0xffff;
        if (fill == UDP_CORRUPT)
            field ^= 0x0101;
    }
    udp[6] = (uint8_t)(field >> 8);
    udp[7] = (uint8_t)field;
    return 14 + ip_len;
}

#endif
