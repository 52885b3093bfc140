/* cmd_version.c - `tracing-operator version`: the version and the library versions it runs with. */
#include "cmd.h"

#include <curl/curl.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/opensslv.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

int cmd_version(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("Usage: tracing-operator version\n\nPrints the operator version and the versions of "
               "the libraries it runs with.\n");
        return 0;
    }
    printf("tracing-operator %s\n", OP_VERSION);
    printf("  api: tracemodel.dev/v1alpha1\n");
    printf("  libcurl %s, %s, libyaml %s, jansson %s, libwebsockets %s\n",
           curl_version_info(CURLVERSION_NOW)->version, OPENSSL_VERSION_TEXT, yaml_get_version_string(),
           jansson_version_str(), lws_get_library_version());
    return 0;
}
