/* liboffload's XAPI policy calls against a simulated pool (the c_tests stage
 * starts one on 127.0.0.1 and passes its URL; user root, password secret).
 * usage: test_xapi URL */
#include <errno.h>
#include <stdbool.h>

#include "common.h"

static char report[1 << 17];

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s URL\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    size_t n = 0;
    int err = -1;

    /* Before: the PIFs do not carry the seed's keys. */
    CHECK_RESULT(offload_xapi_verify_json(url, "root", "secret", "{\"class\":\"pif\",\"preset\":\"seed\"}",
                                          report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_OK);
    CHECK(err == 0 && strlen(report) == n);
    CHECK(strstr(report, "\"ok\":false") != NULL);

    /* A dry run reports and changes nothing; the real run changes every PIF. */
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret",
                                         "{\"class\":\"pif\",\"preset\":\"seed\",\"dry_run\":true}",
                                         report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_OK);
    CHECK(strstr(report, "\"would-change\"") != NULL && strstr(report, "\"changed\"") == NULL);
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret", "{\"class\":\"pif\",\"preset\":\"seed\"}",
                                         report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_OK);
    CHECK(strstr(report, "\"changed\"") != NULL && strstr(report, "\"failed\"") == NULL);
    CHECK_RESULT(offload_xapi_verify_json(url, "root", "secret", "{\"class\":\"pif\",\"preset\":\"seed\"}",
                                          report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_OK);
    CHECK(strstr(report, "\"ok\":false") == NULL && strstr(report, "\"ok\":true") != NULL);

    /* VIFs with settings; the size rule (verify reads only, so retrying is safe). */
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret", "{\"class\":\"vif\",\"set\":\"tx=off\"}",
                                         report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_OK);
    char small[8];
    CHECK_RESULT(offload_xapi_verify_json(url, "root", "secret", "{\"class\":\"vif\",\"set\":\"tx=off\"}",
                                          small, sizeof small, &n, &err),
                 OFFLOAD_RESULT_INSUFFICIENT_SIZE);
    CHECK(n > sizeof small);

    /* Bad input: each has its code, nothing is written. */
    const char *pif = "{\"class\":\"pif\",\"preset\":\"seed\"}";
    CHECK_RESULT(offload_xapi_apply_json(NULL, "root", "secret", pif, report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret", pif, report, sizeof report, NULL, &err),
                 OFFLOAD_RESULT_NULL_PARAMETER);
    CHECK_RESULT(offload_xapi_apply_json(url, "r\xffot", "secret", pif, report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_INVALID_UTF8);
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret", "{not json", report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret", "{\"class\":\"sr\",\"preset\":\"seed\"}",
                                         report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret", "{\"class\":\"pif\",\"preset\":\"bogus\"}",
                                         report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_XAPI_INVALID_POLICY);
    /* Policy and trust resolve as in offloadctl and Python: no default policy,
       no silent winner between a pin and "insecure". */
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret", "{\"class\":\"pif\"}",
                                         report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret",
                                         "{\"class\":\"pif\",\"preset\":\"seed\",\"set\":\"tx=off\"}",
                                         report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_xapi_verify_json(url, "root", "secret",
                                          "{\"class\":\"pif\",\"preset\":\"seed\",\"insecure\":true,"
                                          "\"fingerprint\":\"AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:"
                                          "AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB\"}",
                                          report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_INVALID_ARGUMENT);
    /* gro on VIFs: the host drops it, so the policy is refused up front. */
    CHECK_RESULT(offload_xapi_apply_json(url, "root", "secret", "{\"class\":\"vif\",\"set\":\"gro=off\"}",
                                         report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_XAPI_INVALID_POLICY);
    CHECK_RESULT(offload_xapi_verify_json(url, "root", "wrong", pif, report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_XAPI_API);
    CHECK_RESULT(offload_xapi_verify_json("ftp://x", "root", "secret", pif, report, sizeof report, &n, &err),
                 OFFLOAD_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(offload_xapi_verify_json("http://127.0.0.1:1", "root", "secret", pif, report, sizeof report,
                                          &n, &err),
                 OFFLOAD_RESULT_XAPI_TRANSPORT);
    CHECK(err == ECONNREFUSED);
    printf("test_xapi: ok\n");
    return 0;
}
