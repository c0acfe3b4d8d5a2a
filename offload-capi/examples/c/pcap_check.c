/* pcap_check: the checksum summary of a capture file through liboffload.
 *
 *   pcap_check [--json] FILE
 *
 * Prints the counters of `offloadctl check FILE` (one `key: value` per line and
 * one line per checksum kind seen), or with --json the same JSON as
 * `offloadctl check --json`. Exit: 0 no corruption, 1 corruption seen,
 * 2 error or damaged file, like `offloadctl check`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"

static const char *const KIND_NAMES[] = {
    "none", "ipv4_header", "tcp4", "udp4", "icmp4", "tcp6", "udp6", "icmp6",
};

static int fail(const char *path, uint32_t result, int os_errno) {
    char msg[256];
    size_t n = 0;
    if (offload_result_message(result, msg, sizeof msg, &n) != OFFLOAD_RESULT_OK)
        snprintf(msg, sizeof msg, "error %u", result);
    fprintf(stderr, "pcap_check: %s: %s", path, msg);
    if (os_errno != 0)
        fprintf(stderr, " (errno %d)", os_errno);
    fputc('\n', stderr);
    return 2;
}

static int print_json(const char *path) {
    size_t len = 0;
    uint32_t r = offload_pcap_check_json(path, NULL, 0, &len);
    if (r != OFFLOAD_RESULT_INSUFFICIENT_SIZE)
        return fail(path, r, 0);
    char *text = malloc(len + 1);
    if (text == NULL)
        return 2;
    r = offload_pcap_check_json(path, text, len + 1, &len);
    if (r != OFFLOAD_RESULT_OK) {
        free(text);
        return fail(path, r, 0);
    }
    puts(text);
    int corrupt = strstr(text, "\"corruption\": true") != NULL;
    free(text);
    return corrupt;
}

int main(int argc, char **argv) {
    int json = argc == 3 && strcmp(argv[1], "--json") == 0;
    if (argc != 2 && !json) {
        fprintf(stderr, "usage: pcap_check [--json] FILE\n");
        return 2;
    }
    const char *path = argv[argc - 1];
    if (json)
        return print_json(path);
    offload_pcap_summary s;
    int os_errno = 0;
    uint32_t r = offload_pcap_check(path, &s, &os_errno);
    if (r != OFFLOAD_RESULT_OK)
        return fail(path, r, os_errno);
    printf("packets: %llu\n", (unsigned long long)s.packets);
    printf("bytes: %llu\n", (unsigned long long)s.bytes);
    printf("undecoded: %llu\n", (unsigned long long)s.undecoded);
    printf("incorrect: %llu\n", (unsigned long long)s.incorrect);
    printf("offload_pending: %llu\n", (unsigned long long)s.offload_pending);
    printf("corruption: %s\n", s.corruption ? "yes" : "no");
    printf("damaged: %s\n", s.damaged ? "yes" : "no");
    for (size_t i = 0; i < sizeof s.protocols / sizeof s.protocols[0]; i++) {
        const offload_protocol_counts *c = &s.protocols[i];
        unsigned long long not_verified = c->not_verified_fragment + c->not_verified_truncated +
                                          c->not_verified_udp_zero_checksum + c->not_verified_other;
        if (c->correct + c->incorrect + c->offload_pending + not_verified == 0)
            continue;
        printf("%s: correct %llu incorrect %llu offload_pending %llu not_verified %llu\n",
               c->kind < 8 ? KIND_NAMES[c->kind] : "?", (unsigned long long)c->correct,
               (unsigned long long)c->incorrect, (unsigned long long)c->offload_pending,
               not_verified);
    }
    if (s.damaged)
        return 2;
    return s.corruption ? 1 : 0;
}
