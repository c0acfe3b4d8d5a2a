/* features_dump: an `ethtool -k`-like dump through liboffload.
 *
 *   features_dump [--netns NS] [--typed] IFNAME
 *
 * Default: the library's rendering of `ethtool -k IFNAME` (byte for byte what
 * ethtool 6.1 prints). --typed: one line per kernel feature built from the
 * typed accessors, `name: on|off [fixed]`, in the kernel's bit order.
 * Exit: 0 ok, 1 error (message on stderr), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"

static int fail(const char *what, uint32_t result, int os_errno) {
    char msg[256];
    size_t n = 0;
    if (offload_result_message(result, msg, sizeof msg, &n) != OFFLOAD_RESULT_OK)
        snprintf(msg, sizeof msg, "error %u", result);
    if (os_errno != 0)
        fprintf(stderr, "features_dump: %s: %s (errno %d)\n", what, msg, os_errno);
    else
        fprintf(stderr, "features_dump: %s: %s\n", what, msg);
    return 1;
}

int main(int argc, char **argv) {
    const char *netns = NULL, *ifname = NULL;
    int typed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--netns") == 0 && i + 1 < argc)
            netns = argv[++i];
        else if (strcmp(argv[i], "--typed") == 0)
            typed = 1;
        else if (ifname == NULL && argv[i][0] != '-')
            ifname = argv[i];
        else
            ifname = NULL, i = argc;
    }
    if (ifname == NULL) {
        fprintf(stderr, "usage: features_dump [--netns NS] [--typed] IFNAME\n");
        return 2;
    }
    offload_features *features = NULL;
    int os_errno = 0;
    uint32_t r = offload_features_read(netns, ifname, &features, &os_errno);
    if (r != OFFLOAD_RESULT_OK)
        return fail(ifname, r, os_errno);

    int status = 0;
    if (typed) {
        printf("Features for %s:\n", ifname);
        size_t count = offload_features_count(features);
        for (size_t i = 0; i < count; i++) {
            offload_feature f;
            r = offload_features_get(features, i, &f);
            if (r != OFFLOAD_RESULT_OK) {
                status = fail("offload_features_get", r, 0);
                break;
            }
            printf("%s: %s%s\n", f.name, f.active ? "on" : "off", f.fixed ? " [fixed]" : "");
        }
    } else {
        /* Ask for the size first, then render into a buffer of that size. */
        size_t len = 0;
        r = offload_features_render(features, NULL, 0, &len);
        char *text = r == OFFLOAD_RESULT_INSUFFICIENT_SIZE ? malloc(len + 1) : NULL;
        if (text == NULL) {
            status = fail("offload_features_render", r, 0);
        } else {
            r = offload_features_render(features, text, len + 1, &len);
            if (r == OFFLOAD_RESULT_OK)
                fwrite(text, 1, len, stdout);
            else
                status = fail("offload_features_render", r, 0);
            free(text);
        }
    }
    offload_features_free(features);
    return status;
}
