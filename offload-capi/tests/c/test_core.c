/* liboffload without root: version, messages, checksums, verdicts, capture
 * files, and every bad input the interface functions refuse before any
 * system call. usage: test_core TMPDIR */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "common.h"

/* The header and the library agree on the layout of the verdict (no padding). */
_Static_assert(sizeof(offload_verdict) == 64, "offload_verdict is 64 bytes");

static void test_version_and_messages(void) {
    const char *v = offload_version();
    CHECK(v != NULL);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", OFFLOAD_VERSION_MAJOR, OFFLOAD_VERSION_MINOR,
             OFFLOAD_VERSION_PATCH);
    CHECK(strcmp(v, want) == 0);

    size_t n = 0;
    CHECK_RESULT(offload_result_message(OFFLOAD_RESULT_NO_SUCH_INTERFACE, NULL, 0, &n),
                 OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK(n == strlen("no such interface"));
    char small[4] = "xyz";
    CHECK_RESULT(offload_result_message(OFFLOAD_RESULT_NO_SUCH_INTERFACE, small, sizeof small, &n),
                 OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK(strcmp(small, "xyz") == 0); /* nothing written on failure */
    char *buf = malloc(n + 1);
    CHECK(buf != NULL);
    CHECK_RESULT(offload_result_message(OFFLOAD_RESULT_NO_SUCH_INTERFACE, buf, n + 1, &n),
                 OFFLOAD_RESULT_OK);
    CHECK(strcmp(buf, "no such interface") == 0);
    free(buf);
    char msg[128];
    CHECK_RESULT(offload_result_message(424242, msg, sizeof msg, &n), OFFLOAD_RESULT_OK);
    CHECK(strcmp(msg, "unknown result code") == 0);
    CHECK_RESULT(offload_result_message(OFFLOAD_RESULT_OK, msg, sizeof msg, NULL),
                 OFFLOAD_RESULT_NULL_PARAMETER);
    /* The contract's numbers. */
    CHECK(OFFLOAD_RESULT_NULL_PARAMETER == 1001 && OFFLOAD_RESULT_PANIC == 1002);
    CHECK(OFFLOAD_RESULT_INSUFFICIENT_SIZE == 1003 && OFFLOAD_RESULT_INVALID_UTF8 == 1004);
    CHECK(OFFLOAD_RESULT_INVALID_ARGUMENT == 1005 && OFFLOAD_RESULT_ALREADY_USED == 1006);
    CHECK(OFFLOAD_RESULT_NO_SUCH_INTERFACE == 1201 && OFFLOAD_RESULT_CAPTURE_FORMAT == 1209);
    CHECK(OFFLOAD_RESULT_FIXED_FEATURE == 1206 && OFFLOAD_RESULT_NETNS == 1207);
}

static void test_checksums(void) {
    uint8_t data[301];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + 5);
    for (size_t len = 0; len <= sizeof data; len += 37) {
        uint16_t sum = 0, cks = 0;
        CHECK_RESULT(offload_checksum_sum(data, len, &sum), OFFLOAD_RESULT_OK);
        CHECK(sum == ref_fold(ref_add(0, data, len)));
        CHECK_RESULT(offload_checksum(data, len, &cks), OFFLOAD_RESULT_OK);
        uint16_t complement = (uint16_t)~sum;
        CHECK(cks == complement);
    }
    /* A header with its checksum in place verifies; one flipped bit does not. */
    uint8_t hdr[20];
    memcpy(hdr, data, 20);
    hdr[10] = hdr[11] = 0;
    uint16_t cks = 0;
    CHECK_RESULT(offload_checksum(hdr, 20, &cks), OFFLOAD_RESULT_OK);
    hdr[10] = (uint8_t)(cks >> 8);
    hdr[11] = (uint8_t)cks;
    bool valid = false;
    CHECK_RESULT(offload_checksum_verify(hdr, 20, &valid), OFFLOAD_RESULT_OK);
    CHECK(valid);
    hdr[3] ^= 1;
    CHECK_RESULT(offload_checksum_verify(hdr, 20, &valid), OFFLOAD_RESULT_OK);
    CHECK(!valid);
    /* NULL handling: NULL data only with length 0, outputs never NULL. */
    CHECK_RESULT(offload_checksum(NULL, 0, &cks), OFFLOAD_RESULT_OK);
    CHECK(cks == 0xffff);
    CHECK_RESULT(offload_checksum(NULL, 4, &cks), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_checksum(data, 4, NULL), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_checksum_sum(data, 4, NULL), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_checksum_verify(NULL, 1, &valid), OFFLOAD_RESULT_NULL_PARAMETER);
}

static void test_verdicts(void) {
    uint8_t good[200], bad[200], pending[200];
    size_t n_good = build_udp_frame(good, 100, UDP_CORRECT);
    size_t n_bad = build_udp_frame(bad, 100, UDP_CORRUPT);
    size_t n_pending = build_udp_frame(pending, 100, UDP_OFFLOAD_PENDING);

    offload_verdict v;
    CHECK_RESULT(offload_packet_verdict(1, good, n_good, &v), OFFLOAD_RESULT_OK);
    CHECK(v.result == OFFLOAD_RESULT_OK);
    CHECK(v.ip_header == OFFLOAD_VERDICT_CLASS_CORRECT);
    CHECK(v.transport_kind == OFFLOAD_CHECKSUM_KIND_UDP4);
    CHECK(v.transport == OFFLOAD_VERDICT_CLASS_CORRECT);
    CHECK(v.ip_version == 4 && v.has_ports && v.src_port == 12345 && v.dst_port == 53);
    CHECK(memcmp(v.src, "\x0a\x00\x00\x01", 4) == 0 && memcmp(v.dst, "\x0a\x00\x00\x02", 4) == 0);

    CHECK_RESULT(offload_packet_verdict(1, bad, n_bad, &v), OFFLOAD_RESULT_OK);
    CHECK(v.transport == OFFLOAD_VERDICT_CLASS_INCORRECT);
    CHECK(v.transport_found == (uint16_t)(bad[14 + 20 + 6] << 8 | bad[14 + 20 + 7]));
    CHECK(v.transport_expected == (uint16_t)(v.transport_found ^ 0x0101));

    CHECK_RESULT(offload_packet_verdict(1, pending, n_pending, &v), OFFLOAD_RESULT_OK);
    CHECK(v.transport == OFFLOAD_VERDICT_CLASS_OFFLOAD_PENDING);

    /* Truncated packets: inside the Ethernet header, inside the IP header,
     * and a UDP datagram cut by the snapshot length. */
    offload_verdict untouched;
    memset(&untouched, 0xab, sizeof untouched);
    v = untouched;
    CHECK_RESULT(offload_packet_verdict(1, good, 10, &v), OFFLOAD_RESULT_TRUNCATED_LINK_HEADER);
    CHECK(memcmp(&v, &untouched, sizeof v) == 0);
    CHECK_RESULT(offload_packet_verdict(1, good, 14 + 12, &v), OFFLOAD_RESULT_TRUNCATED_IP_HEADER);
    CHECK_RESULT(offload_packet_verdict(1, good, 14 + 20 + 8 + 10, &v), OFFLOAD_RESULT_OK);
    CHECK(v.transport == OFFLOAD_VERDICT_CLASS_NOT_VERIFIED_TRUNCATED);
    CHECK_RESULT(offload_packet_verdict(4242, good, n_good, &v), OFFLOAD_RESULT_UNSUPPORTED_LINK_TYPE);
    uint8_t arp[60] = {0};
    arp[12] = 0x08;
    arp[13] = 0x06;
    CHECK_RESULT(offload_packet_verdict(1, arp, sizeof arp, &v), OFFLOAD_RESULT_NOT_IP);
    /* Raw IP (link type 101) of the same packet. */
    CHECK_RESULT(offload_packet_verdict(101, good + 14, n_good - 14, &v), OFFLOAD_RESULT_OK);
    CHECK(v.transport == OFFLOAD_VERDICT_CLASS_CORRECT);
    CHECK_RESULT(offload_packet_verdict(1, NULL, 10, &v), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_packet_verdict(1, good, n_good, NULL), OFFLOAD_RESULT_NULL_PARAMETER);

    /* The batch form: one result per frame. */
    offload_frame frames[4] = {
        {good, n_good}, {bad, n_bad}, {pending, n_pending}, {good, 5},
    };
    offload_verdict out[4];
    CHECK_RESULT(offload_packet_verdicts(1, frames, 4, out), OFFLOAD_RESULT_OK);
    CHECK(out[0].result == OFFLOAD_RESULT_OK && out[0].transport == OFFLOAD_VERDICT_CLASS_CORRECT);
    CHECK(out[1].transport == OFFLOAD_VERDICT_CLASS_INCORRECT);
    CHECK(out[2].transport == OFFLOAD_VERDICT_CLASS_OFFLOAD_PENDING);
    CHECK(out[3].result == OFFLOAD_RESULT_TRUNCATED_LINK_HEADER);
    offload_frame holes[2] = {{good, n_good}, {NULL, 3}};
    memset(out, 0xab, sizeof out);
    CHECK_RESULT(offload_packet_verdicts(1, holes, 2, out), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK(memcmp(&out[0], &untouched, sizeof untouched) == 0);
    CHECK_RESULT(offload_packet_verdicts(1, NULL, 0, NULL), OFFLOAD_RESULT_OK);
    CHECK_RESULT(offload_packet_verdicts(1, frames, 4, NULL), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_packet_verdicts(1, NULL, 4, out), OFFLOAD_RESULT_NULL_PARAMETER);
}

static void put32(FILE *f, uint32_t v) { CHECK(fwrite(&v, 4, 1, f) == 1); }
static void put16(FILE *f, uint16_t v) { CHECK(fwrite(&v, 2, 1, f) == 1); }

/* A classic pcap (host byte order, Ethernet) with the given frames. */
static void write_pcap(const char *path, const offload_frame *frames, size_t count, int cut_last) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    put32(f, 0xa1b2c3d4);
    put16(f, 2);
    put16(f, 4);
    put32(f, 0);
    put32(f, 0);
    put32(f, 65535);
    put32(f, 1);
    for (size_t i = 0; i < count; i++) {
        put32(f, 1700000000u + (uint32_t)i);
        put32(f, 0);
        put32(f, (uint32_t)frames[i].len);
        put32(f, (uint32_t)frames[i].len);
        size_t n = frames[i].len;
        if (cut_last && i + 1 == count)
            n /= 2; /* the record says more than the file holds */
        CHECK(fwrite(frames[i].data, 1, n, f) == n);
    }
    CHECK(fclose(f) == 0);
}

static void test_pcap(const char *dir) {
    uint8_t good[200], bad[200], pending[200];
    offload_frame frames[3] = {
        {good, build_udp_frame(good, 60, UDP_CORRECT)},
        {bad, build_udp_frame(bad, 80, UDP_CORRUPT)},
        {pending, build_udp_frame(pending, 100, UDP_OFFLOAD_PENDING)},
    };
    char path[512];
    snprintf(path, sizeof path, "%s/three.pcap", dir);
    write_pcap(path, frames, 3, 0);

    offload_pcap_summary s;
    int err = -1;
    CHECK_RESULT(offload_pcap_check(path, &s, &err), OFFLOAD_RESULT_OK);
    CHECK(err == 0);
    CHECK(s.packets == 3 && s.incorrect == 1 && s.offload_pending == 1 && s.corruption);
    CHECK(!s.damaged && s.undecoded == 0);
    CHECK(s.bytes == frames[0].len + frames[1].len + frames[2].len);
    CHECK(s.protocols[0].kind == OFFLOAD_CHECKSUM_KIND_IPV4_HEADER && s.protocols[0].correct == 3);
    CHECK(s.protocols[2].kind == OFFLOAD_CHECKSUM_KIND_UDP4);
    CHECK(s.protocols[2].correct == 1 && s.protocols[2].incorrect == 1);
    CHECK(s.protocols[2].offload_pending == 1);

    size_t n = 0;
    CHECK_RESULT(offload_pcap_check_json(path, NULL, 0, &n), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK(n > 0);
    char *json = malloc(n + 1);
    CHECK(json != NULL);
    CHECK_RESULT(offload_pcap_check_json(path, json, n, &n), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK_RESULT(offload_pcap_check_json(path, json, n + 1, &n), OFFLOAD_RESULT_OK);
    CHECK(strlen(json) == n);
    CHECK(strstr(json, "\"schema\": \"offload.diagnosis/1\"") != NULL);
    CHECK(strstr(json, "\"packets\": 3") != NULL && strstr(json, "\"corruption\": true") != NULL);
    free(json);

    /* Damaged after two packets: counted, flagged. */
    snprintf(path, sizeof path, "%s/cut.pcap", dir);
    write_pcap(path, frames, 3, 1);
    CHECK_RESULT(offload_pcap_check(path, &s, &err), OFFLOAD_RESULT_OK);
    CHECK(s.damaged && s.packets == 2);

    /* Not a capture file; no file at all; bad arguments. */
    snprintf(path, sizeof path, "%s/not.pcap", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    fputs("this is not a capture file at all, just some text\n", f);
    CHECK(fclose(f) == 0);
    CHECK_RESULT(offload_pcap_check(path, &s, &err), OFFLOAD_RESULT_CAPTURE_FORMAT);
    char small[8];
    CHECK_RESULT(offload_pcap_check_json(path, small, sizeof small, &n), OFFLOAD_RESULT_CAPTURE_FORMAT);
    snprintf(path, sizeof path, "%s/missing.pcap", dir);
    CHECK_RESULT(offload_pcap_check(path, &s, &err), OFFLOAD_RESULT_OS_ERROR);
    CHECK(err == ENOENT);
    CHECK_RESULT(offload_pcap_check(NULL, &s, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_pcap_check(path, NULL, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_pcap_check("\xff\xfe.pcap", &s, NULL), OFFLOAD_RESULT_INVALID_UTF8);
    CHECK_RESULT(offload_pcap_check_json(NULL, small, sizeof small, &n), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_pcap_check_json(path, small, sizeof small, NULL), OFFLOAD_RESULT_NULL_PARAMETER);
}

/* Bad input of the interface functions, all refused before any system call
 * that could change anything (so this runs without root, anywhere). */
static void test_interface_bad_input(void) {
    offload_features *f = (offload_features *)0x1;
    int err = -1;
    CHECK_RESULT(offload_features_read(NULL, NULL, &f, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_features_read(NULL, "lo", NULL, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    /* Interface names are bytes, as the kernel keeps them: not UTF-8 is fine, absent is not. */
    CHECK_RESULT(offload_features_read(NULL, "e\xfftf", &f, &err), OFFLOAD_RESULT_NO_SUCH_INTERFACE);
    CHECK_RESULT(offload_features_read("\xc3\x28", "lo", &f, &err), OFFLOAD_RESULT_INVALID_UTF8);
    CHECK_RESULT(offload_features_read(NULL, "sixteen-chars-xx", &f, &err), OFFLOAD_RESULT_INVALID_IFNAME);
    CHECK_RESULT(offload_features_read(NULL, "a/b", &f, &err), OFFLOAD_RESULT_INVALID_IFNAME);
    CHECK_RESULT(offload_features_read(NULL, "", &f, &err), OFFLOAD_RESULT_INVALID_IFNAME);
    CHECK(f == (offload_features *)0x1); /* untouched on failure */
    char nope[32];
    snprintf(nope, sizeof nope, "capinope%d", (int)getpid() % 1000000);
    CHECK_RESULT(offload_features_read(NULL, nope, &f, &err), OFFLOAD_RESULT_NO_SUCH_INTERFACE);
    CHECK(err == ENODEV);
    CHECK_RESULT(offload_features_read("capi-no-such-netns", "lo", &f, &err), OFFLOAD_RESULT_NETNS);
    CHECK(err == ENOENT);

    /* Reading loopback changes nothing: the typed handle, NULL-safe accessors. */
    offload_features *lo = NULL;
    CHECK_RESULT(offload_features_read(NULL, "lo", &lo, NULL), OFFLOAD_RESULT_OK);
    CHECK(offload_features_count(lo) > 0);
    offload_feature one;
    CHECK_RESULT(offload_features_get(lo, offload_features_count(lo), &one), OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_features_get(lo, 0, NULL), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_features_get(NULL, 0, &one), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_features_find(lo, "no-such-feature", &one), OFFLOAD_RESULT_UNKNOWN_FEATURE);
    CHECK_RESULT(offload_features_find(lo, "\xff", &one), OFFLOAD_RESULT_INVALID_UTF8);
    CHECK_RESULT(offload_features_find(lo, NULL, &one), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_features_find(lo, "tx-checksum-ip-generic", &one), OFFLOAD_RESULT_OK);
    CHECK(strcmp(one.legacy_group, "tx") == 0);
    offload_legacy_feature group;
    CHECK_RESULT(offload_features_legacy(lo, "bogus", &group), OFFLOAD_RESULT_UNKNOWN_FEATURE);
    CHECK_RESULT(offload_features_legacy(lo, "tcp-segmentation-offload", &group), OFFLOAD_RESULT_OK);
    CHECK(strcmp(group.short_name, "tso") == 0 && group.members > 0);
    CHECK_RESULT(offload_features_legacy(lo, NULL, &group), OFFLOAD_RESULT_NULL_PARAMETER);
    size_t n = 0;
    CHECK_RESULT(offload_features_render(lo, NULL, 0, &n), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK_RESULT(offload_features_to_json(lo, NULL, 0, &n), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK_RESULT(offload_features_render(NULL, NULL, 0, &n), OFFLOAD_RESULT_NULL_PARAMETER);
    offload_features_free(lo);
    offload_features_free(NULL);
    CHECK(offload_features_count(NULL) == 0);

    CHECK_RESULT(offload_features_json(NULL, "lo", NULL, 0, NULL, NULL), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_features_json(NULL, "lo", NULL, 0, &n, NULL), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK(n > 10);
    CHECK_RESULT(offload_features_json(NULL, "a b", NULL, 0, &n, &err), OFFLOAD_RESULT_INVALID_IFNAME);

    /* Changing: refused before touching anything. */
    offload_changes *c = NULL;
    CHECK_RESULT(offload_features_apply(NULL, "lo", NULL, &c, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_features_apply(NULL, "lo", "tx off", NULL, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_features_apply(NULL, "lo:1", "tx off", &c, &err), OFFLOAD_RESULT_INVALID_IFNAME);
    CHECK_RESULT(offload_features_apply(NULL, "lo", "bogus off", &c, &err), OFFLOAD_RESULT_UNKNOWN_FEATURE);
    CHECK_RESULT(offload_features_apply(NULL, "lo", "tx", &c, &err), OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_features_apply(NULL, "lo", "tx maybe", &c, &err), OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_features_apply(NULL, "lo", "   ", &c, &err), OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_features_apply(NULL, "lo", "t\xffx off", &c, &err), OFFLOAD_RESULT_INVALID_UTF8);
    CHECK(c == NULL);
    char buf[64];
    CHECK_RESULT(offload_features_apply_json(NULL, "lo", "bogus off", buf, sizeof buf, &n, &err),
                 OFFLOAD_RESULT_UNKNOWN_FEATURE);
    CHECK_RESULT(offload_features_apply_json(NULL, "lo", "tx off", buf, sizeof buf, NULL, &err),
                 OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK(offload_changes_count(NULL) == 0);
    CHECK(!offload_changes_nothing_changed(NULL));
    offload_changes_free(NULL);

    /* Selections. */
    offload_disable_report *r = NULL;
    const char *names[2] = {"lo", NULL};
    CHECK_RESULT(offload_disable(NULL, names, 2, NULL, true, &r, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_disable(NULL, NULL, 1, NULL, true, &r, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_disable(NULL, names, 1, " , ", true, &r, &err), OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_disable(NULL, names, 1, NULL, true, NULL, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK(r == NULL);
    /* A dry run on loopback plans without changing. */
    CHECK_RESULT(offload_disable(NULL, names, 1, "tx", true, &r, &err), OFFLOAD_RESULT_OK);
    CHECK(offload_disable_report_count(r) == 1);
    offload_disable_outcome o;
    CHECK_RESULT(offload_disable_report_get(r, 0, &o), OFFLOAD_RESULT_OK);
    CHECK(strcmp(o.status, "planned") == 0 && o.result == OFFLOAD_RESULT_OK);
    CHECK_RESULT(offload_disable_report_get(r, 1, &o), OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_disable_report_json(r, buf, 4, &n), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    offload_disable_report_free(r);
    offload_disable_report_free(NULL);
    CHECK(offload_disable_report_count(NULL) == 0);

    CHECK_RESULT(offload_snapshot_save(NULL, names, 1, NULL, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_snapshot_save(NULL, names, 1, "/nonexistent-dir/x.json", &err), OFFLOAD_RESULT_OS_ERROR);
    CHECK(err == ENOENT);
    offload_restore_report *rr = NULL;
    CHECK_RESULT(offload_snapshot_restore(NULL, false, &rr, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_snapshot_restore("/nonexistent-dir/x.json", false, &rr, &err), OFFLOAD_RESULT_BAD_SNAPSHOT);
    CHECK_RESULT(offload_snapshot_restore("/etc/hostname", false, NULL, &err), OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK(offload_restore_report_count(NULL) == 0);
    offload_restore_report_free(NULL);
}

/* No global mutable state: threads share one handle and classify frames at once. */
struct shared_work {
    const offload_features *lo;
    const offload_frame *frames;
    size_t count;
    const offload_verdict *want;
};

static void *worker(void *arg) {
    const struct shared_work *w = arg;
    offload_verdict got[8];
    char text[8192];
    for (int round = 0; round < 300; round++) {
        if (offload_packet_verdicts(1, w->frames, w->count, got) != OFFLOAD_RESULT_OK)
            return (void *)1;
        if (memcmp(got, w->want, w->count * sizeof got[0]) != 0)
            return (void *)1;
        size_t n = 0;
        offload_feature f;
        if (offload_features_get(w->lo, (size_t)round % offload_features_count(w->lo), &f) != OFFLOAD_RESULT_OK ||
            offload_features_render(w->lo, text, sizeof text, &n) != OFFLOAD_RESULT_OK)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void) {
    uint8_t good[200], bad[200], pending[200];
    offload_frame frames[3] = {
        {good, build_udp_frame(good, 64, UDP_CORRECT)},
        {bad, build_udp_frame(bad, 64, UDP_CORRUPT)},
        {pending, build_udp_frame(pending, 64, UDP_OFFLOAD_PENDING)},
    };
    offload_verdict want[3];
    CHECK_RESULT(offload_packet_verdicts(1, frames, 3, want), OFFLOAD_RESULT_OK);
    offload_features *lo = NULL;
    CHECK_RESULT(offload_features_read(NULL, "lo", &lo, NULL), OFFLOAD_RESULT_OK);
    struct shared_work w = {lo, frames, 3, want};
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&threads[i], NULL, worker, &w) == 0);
    for (int i = 0; i < 4; i++) {
        void *failed = NULL;
        CHECK(pthread_join(threads[i], &failed) == 0);
        CHECK(failed == NULL);
    }
    offload_features_free(lo);
}

/* Debug builds refuse a handle after free where the memory was not reused
 * (undefined behaviour by contract; the C side must never rely on it). */
static void test_use_after_free_is_caught_in_debug(void) {
#ifdef OFFLOAD_TEST_DEBUG_LIBRARY
    offload_features *lo = NULL;
    CHECK_RESULT(offload_features_read(NULL, "lo", &lo, NULL), OFFLOAD_RESULT_OK);
    offload_features_free(lo);
    offload_feature one;
    CHECK_RESULT(offload_features_get(lo, 0, &one), OFFLOAD_RESULT_INVALID_HANDLE);
    offload_features_free(lo); /* a second free is ignored */
#endif
}

/* Recorded evidence: 8 damaged frames received on eth0 and the kernel's
 * checksum drops; the doctor must call it corruption on the path (exit 1)
 * with no offload switch as the fix. */
static const char *CORRUPT_EVIDENCE =
    "{\"schema\": \"offload.doctor.evidence/1\", \"kernel\": \"6.1.0\", \"seconds\": 5.0,"
    " \"namespaces\": [{\"captured\": true, \"counters\": {\"UdpInCsumErrors\": 8},"
    " \"devices\": [{\"name\": \"eth0\", \"kind\": \"physical\", \"driver\": \"ixgbe\", \"mtu\": 1500,"
    " \"offloads_on\": [\"tx\"], \"traffic\": {\"received\": {\"packets\": 20, \"correct\": 12,"
    " \"incorrect\": 8, \"offload_pending\": 0}, \"sent\": {\"packets\": 0, \"correct\": 0,"
    " \"incorrect\": 0, \"offload_pending\": 0}}}]}]}";

static char *doctor_json(const offload_doctor_report *report) {
    size_t n = 0;
    CHECK_RESULT(offload_doctor_report_json(report, NULL, 0, &n), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    char *text = malloc(n + 1);
    CHECK(text != NULL);
    CHECK_RESULT(offload_doctor_report_json(report, text, n + 1, &n), OFFLOAD_RESULT_OK);
    return text;
}

static void test_doctor(void) {
    offload_doctor_report *report = NULL;
    CHECK_RESULT(offload_doctor_evidence(CORRUPT_EVIDENCE, NULL, &report), OFFLOAD_RESULT_OK);
    CHECK(offload_doctor_report_exit_code(report) == 1);
    char *text = doctor_json(report);
    CHECK(strstr(text, "\"schema\": \"offload.doctor/1\"") != NULL);
    CHECK(strstr(text, "\"cause\": \"corruption_on_path\"") != NULL);
    CHECK(strstr(text, "\"fix\": []") != NULL);

    /* The same report twice: nothing changed, the problem remains (exit 1). */
    char cmp[4096];
    size_t n = 0;
    int exit_code = -1;
    CHECK_RESULT(offload_doctor_compare_json(text, text, cmp, sizeof cmp, &n, &exit_code),
                 OFFLOAD_RESULT_OK);
    CHECK(exit_code == 1);
    CHECK(strstr(cmp, "\"change\": \"no_change\"") != NULL);
    CHECK_RESULT(offload_doctor_compare_json("{}", text, cmp, sizeof cmp, &n, &exit_code),
                 OFFLOAD_RESULT_DOCTOR_INPUT);
    free(text);
    offload_doctor_report_free(report);
    offload_doctor_report_free(NULL);
    CHECK(offload_doctor_report_exit_code(NULL) == -1);

    /* Unusable inputs have their own code; nothing is returned. */
    report = NULL;
    CHECK_RESULT(offload_doctor_evidence("{\"schema\": \"other/1\"}", NULL, &report),
                 OFFLOAD_RESULT_DOCTOR_INPUT);
    CHECK_RESULT(offload_doctor_evidence(CORRUPT_EVIDENCE, "/nonexistent/knowledge.json", &report),
                 OFFLOAD_RESULT_DOCTOR_INPUT);
    CHECK(report == NULL);
    CHECK(OFFLOAD_RESULT_DOCTOR_INPUT == 1213);

    /* A live run in a namespace that does not exist cannot diagnose (exit 2). */
    const char *missing[] = {"offload-no-such-netns"};
    CHECK_RESULT(offload_doctor_run(missing, 1, 0.1, NULL, &report), OFFLOAD_RESULT_OK);
    CHECK(offload_doctor_report_exit_code(report) == 2);
    text = doctor_json(report);
    CHECK(strstr(text, "\"verdict\": \"could_not_diagnose\"") != NULL);
    free(text);
    offload_doctor_report_free(report);
    CHECK_RESULT(offload_doctor_run(NULL, 0, -1.0, NULL, &report), OFFLOAD_RESULT_INVALID_ARGUMENT);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argv[0]);
        return 2;
    }
    test_version_and_messages();
    test_checksums();
    test_verdicts();
    test_pcap(argv[1]);
    test_interface_bad_input();
    test_threads();
    test_use_after_free_is_caught_in_debug();
    test_doctor();
    printf("test_core: ok\n");
    return 0;
}
