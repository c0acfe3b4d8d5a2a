/* liboffload on real interfaces: a veth pair in a network namespace this test
 * creates (capi<pid>) and always deletes; the root namespace is never changed.
 * Needs root; prints SKIP: without it. usage: test_iface TMPDIR */
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static char netns[32], veth_a[16], veth_b[16];
static bool created;

static int sh(const char *cmd) {
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void cleanup(void) {
    if (created) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "ip netns del %s 2>/dev/null", netns);
        if (sh(cmd) != 0)
            fprintf(stderr, "test_iface: could not delete netns %s\n", netns);
        created = false;
    }
}

static bool setup(void) {
    int pid = (int)getpid() % 1000000;
    snprintf(netns, sizeof netns, "capi%d", pid);
    snprintf(veth_a, sizeof veth_a, "capia%d", pid);
    snprintf(veth_b, sizeof veth_b, "capib%d", pid);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ip netns add %s", netns);
    if (sh(cmd) != 0)
        return false;
    created = true;
    atexit(cleanup);
    snprintf(cmd, sizeof cmd,
             "ip -n %s link add %s type veth peer name %s && ip -n %s link set %s up && "
             "ip -n %s link set %s up",
             netns, veth_a, veth_b, netns, veth_a, netns, veth_b);
    return sh(cmd) == 0;
}

static bool feature_active(const char *ifname, const char *name) {
    offload_features *f = NULL;
    CHECK_RESULT(offload_features_read(netns, ifname, &f, NULL), OFFLOAD_RESULT_OK);
    offload_feature one;
    CHECK_RESULT(offload_features_find(f, name, &one), OFFLOAD_RESULT_OK);
    offload_features_free(f);
    return one.active;
}

static void test_read(void) {
    offload_features *f = NULL;
    int err = -1;
    CHECK_RESULT(offload_features_read(netns, veth_a, &f, &err), OFFLOAD_RESULT_OK);
    CHECK(err == 0);
    size_t count = offload_features_count(f);
    CHECK(count > 20);
    bool saw_tx = false;
    for (size_t i = 0; i < count; i++) {
        offload_feature one;
        CHECK_RESULT(offload_features_get(f, i, &one), OFFLOAD_RESULT_OK);
        CHECK(one.name != NULL && one.name[0] != '\0');
        if (strcmp(one.name, "tx-checksum-ip-generic") == 0) {
            saw_tx = true;
            CHECK(one.active && !one.fixed && strcmp(one.legacy_group, "tx") == 0);
        }
    }
    CHECK(saw_tx);
    offload_legacy_feature tx;
    CHECK_RESULT(offload_features_legacy(f, "tx", &tx), OFFLOAD_RESULT_OK);
    CHECK(tx.active && strcmp(tx.long_name, "tx-checksumming") == 0);
    offload_legacy_feature ufo;
    CHECK_RESULT(offload_features_legacy(f, "ufo", &ufo), OFFLOAD_RESULT_OK);
    CHECK(ufo.members == 0 && ufo.fixed && !ufo.active);

    size_t n = 0;
    CHECK_RESULT(offload_features_render(f, NULL, 0, &n), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    char *text = malloc(n + 1);
    CHECK(text != NULL);
    CHECK_RESULT(offload_features_render(f, text, n + 1, &n), OFFLOAD_RESULT_OK);
    char head[64];
    snprintf(head, sizeof head, "Features for %s:\n", veth_a);
    CHECK(strncmp(text, head, strlen(head)) == 0);
    CHECK(strstr(text, "tx-checksumming: on\n") != NULL);
    free(text);

    /* The JSON of the handle equals the JSON read directly. */
    size_t n1 = 0, n2 = 0;
    CHECK_RESULT(offload_features_to_json(f, NULL, 0, &n1), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK_RESULT(offload_features_json(netns, veth_a, NULL, 0, &n2, NULL), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK(n1 == n2);
    char *j1 = malloc(n1 + 1), *j2 = malloc(n2 + 1);
    CHECK(j1 != NULL && j2 != NULL);
    CHECK_RESULT(offload_features_to_json(f, j1, n1 + 1, &n1), OFFLOAD_RESULT_OK);
    CHECK_RESULT(offload_features_json(netns, veth_a, j2, n2 + 1, &n2, &err), OFFLOAD_RESULT_OK);
    CHECK(strcmp(j1, j2) == 0);
    char want[64];
    snprintf(want, sizeof want, "{\"ifname\":\"%s\",\"features\":[{\"name\":", veth_a);
    CHECK(strncmp(j1, want, strlen(want)) == 0);
    free(j1);
    free(j2);
    offload_features_free(f);

    /* Names that do not exist in the namespace. */
    CHECK_RESULT(offload_features_read(netns, "eth0", &f, &err), OFFLOAD_RESULT_NO_SUCH_INTERFACE);
}

static void test_apply(void) {
    offload_changes *c = NULL;
    int err = -1;
    /* Legacy name: every tx-checksum-* feature follows. */
    CHECK_RESULT(offload_features_apply(netns, veth_a, "tx off", &c, &err), OFFLOAD_RESULT_OK);
    CHECK(err == 0);
    CHECK(!offload_changes_nothing_changed(c));
    size_t count = offload_changes_count(c);
    CHECK(count >= 1);
    bool generic_off = false;
    for (size_t i = 0; i < count; i++) {
        offload_change one;
        CHECK_RESULT(offload_changes_get(c, i, &one), OFFLOAD_RESULT_OK);
        if (strcmp(one.feature, "tx-checksum-ip-generic") == 0)
            generic_off = !one.active && one.requested && !one.refused;
    }
    CHECK(generic_off);
    offload_change none;
    CHECK_RESULT(offload_changes_get(c, count, &none), OFFLOAD_RESULT_INVALID_ARGUMENT);
    size_t n = 0;
    char report[4096];
    CHECK_RESULT(offload_changes_render(c, report, sizeof report, &n), OFFLOAD_RESULT_OK);
    /* tx off drops the TSO features that depend on it: ethtool reports them. */
    CHECK(strstr(report, "Actual changes:\n") == report);
    offload_changes_free(c);
    CHECK(!feature_active(veth_a, "tx-checksum-ip-generic"));

    /* Kernel name, with the JSON form. */
    char json[4096];
    CHECK_RESULT(offload_features_apply_json(netns, veth_a, "tx-checksum-ip-generic on",
                                             json, sizeof json, &n, &err),
                 OFFLOAD_RESULT_OK);
    CHECK(strstr(json, "\"tx-checksum-ip-generic\"") != NULL);
    CHECK(strstr(json, veth_a) != NULL);
    CHECK(feature_active(veth_a, "tx-checksum-ip-generic"));

    /* Bad input on a real interface: unknown feature, fixed feature. */
    CHECK_RESULT(offload_features_apply(netns, veth_a, "tx-bogus off", &c, &err), OFFLOAD_RESULT_UNKNOWN_FEATURE);
    CHECK_RESULT(offload_features_apply(netns, veth_a, "tx-checksum-ipv4 on", &c, &err), OFFLOAD_RESULT_FIXED_FEATURE);
    CHECK_RESULT(offload_features_apply(netns, "capinope0", "tx off", &c, &err), OFFLOAD_RESULT_NO_SUCH_INTERFACE);
    CHECK(feature_active(veth_a, "tx-checksum-ip-generic"));
}

static void test_disable_snapshot_restore(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/capi-snapshot-%d.json", dir, (int)getpid());
    const char *both[2] = {veth_a, veth_b};
    int err = -1;
    CHECK_RESULT(offload_snapshot_save(netns, both, 2, path, &err), OFFLOAD_RESULT_OK);

    offload_disable_report *r = NULL;
    CHECK_RESULT(offload_disable(netns, both, 2, NULL, false, &r, &err), OFFLOAD_RESULT_OK);
    CHECK(offload_disable_report_count(r) == 2);
    for (size_t i = 0; i < 2; i++) {
        offload_disable_outcome o;
        CHECK_RESULT(offload_disable_report_get(r, i, &o), OFFLOAD_RESULT_OK);
        CHECK(strcmp(o.ifname, both[i]) == 0);
        CHECK(o.result == OFFLOAD_RESULT_OK && o.changed > 0);
        CHECK(strcmp(o.status, "changed") == 0 || strcmp(o.status, "partial") == 0);
        CHECK(strcmp(o.message, "") == 0);
    }
    size_t n = 0;
    CHECK_RESULT(offload_disable_report_json(r, NULL, 0, &n), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    char *json = malloc(n + 1);
    CHECK(json != NULL);
    CHECK_RESULT(offload_disable_report_json(r, json, n + 1, &n), OFFLOAD_RESULT_OK);
    CHECK(strstr(json, "\"schema\":\"offload.disable/2\"") != NULL);
    free(json);
    offload_disable_report_free(r);
    CHECK(!feature_active(veth_a, "tx-checksum-ip-generic"));
    CHECK(!feature_active(veth_b, "tx-checksum-ip-generic"));

    /* A name that is not there: its own outcome, the others still done. */
    const char *mixed[2] = {"capinope1", veth_a};
    CHECK_RESULT(offload_disable(netns, mixed, 2, "sg", false, &r, &err), OFFLOAD_RESULT_OK);
    offload_disable_outcome o;
    CHECK_RESULT(offload_disable_report_get(r, 0, &o), OFFLOAD_RESULT_OK);
    CHECK(strcmp(o.status, "failed") == 0 && o.result == OFFLOAD_RESULT_NO_SUCH_INTERFACE);
    CHECK(o.message[0] != '\0');
    CHECK_RESULT(offload_disable_report_get(r, 1, &o), OFFLOAD_RESULT_OK);
    CHECK(o.result == OFFLOAD_RESULT_OK);
    offload_disable_report_free(r);

    offload_restore_report *rr = NULL;
    CHECK_RESULT(offload_snapshot_restore(path, false, &rr, &err), OFFLOAD_RESULT_OK);
    CHECK(offload_restore_report_count(rr) == 2);
    for (size_t i = 0; i < 2; i++) {
        offload_restored one;
        CHECK_RESULT(offload_restore_report_get(rr, i, &one), OFFLOAD_RESULT_OK);
        if (!one.restored)
            fprintf(stderr, "%s: %s\n", one.ifname, one.problems);
        CHECK(one.restored && strcmp(one.problems, "") == 0);
    }
    offload_restored none;
    CHECK_RESULT(offload_restore_report_get(rr, 2, &none), OFFLOAD_RESULT_INVALID_ARGUMENT);
    char small[8];
    CHECK_RESULT(offload_restore_report_json(rr, small, sizeof small, &n), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    char *rjson = malloc(n + 1);
    CHECK(rjson != NULL);
    CHECK_RESULT(offload_restore_report_json(rr, rjson, n + 1, &n), OFFLOAD_RESULT_OK);
    CHECK(strstr(rjson, veth_a) != NULL);
    free(rjson);
    offload_restore_report_free(rr);
    CHECK(feature_active(veth_a, "tx-checksum-ip-generic"));

    /* A file that is not a snapshot. */
    CHECK_RESULT(offload_snapshot_restore("/proc/self/status", false, &rr, &err), OFFLOAD_RESULT_BAD_SNAPSHOT);
    remove(path);
}

/* The selection rule (offload-ethtool's): a veth pair is on the host's side. */
static void test_interfaces(void) {
    char buf[4096];
    size_t n = 0;
    int err = -1;
    CHECK_RESULT(offload_interfaces_json(netns, "nics", buf, sizeof buf, &n, &err), OFFLOAD_RESULT_OK);
    CHECK(strstr(buf, veth_a) != NULL && strstr(buf, veth_b) != NULL);
    CHECK(strstr(buf, "\"role\":\"nic\"") != NULL && strstr(buf, "\"lo\"") == NULL);
    CHECK_RESULT(offload_interfaces_json(netns, NULL, buf, sizeof buf, &n, &err), OFFLOAD_RESULT_OK);
    CHECK(strstr(buf, veth_a) != NULL);
    CHECK_RESULT(offload_interfaces_json(netns, "vifs", buf, sizeof buf, &n, &err), OFFLOAD_RESULT_OK);
    CHECK(strcmp(buf, "{\"interfaces\":[]}") == 0);
    CHECK_RESULT(offload_interfaces_json(netns, "everything", buf, sizeof buf, &n, &err),
                 OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_interfaces_json(netns, "nics", buf, 4, &n, &err), OFFLOAD_RESULT_INSUFFICIENT_SIZE);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argv[0]);
        return 2;
    }
    if (geteuid() != 0) {
        printf("SKIP: test_iface needs root (network namespace and veth pair)\n");
        return 0;
    }
    if (!setup()) {
        cleanup();
        printf("SKIP: test_iface could not create netns %s with a veth pair\n", netns);
        return 0;
    }
    test_read();
    test_apply();
    test_disable_snapshot_restore(argv[1]);
    test_interfaces();
    cleanup();
    printf("test_iface: ok\n");
    return 0;
}
