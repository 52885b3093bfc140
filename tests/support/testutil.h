/* testutil.h - helpers shared by the cmocka unit tests: fixture files, JSON
 * comparison that prints both sides, and golden-file checks. */
#ifndef OP_TESTUTIL_H
#define OP_TESTUTIL_H
#include <jansson.h>
#include <stddef.h>

/* Reads OP_SOURCE_DIR/relpath into a new NUL-terminated buffer (fails the test if missing). */
char *tu_read_file(const char *relpath, size_t *ret_len);
/* Absolute path of a file under the source tree (static buffer, valid until the next call). */
const char *tu_path(const char *relpath);
/* Loads a JSON or YAML fixture (one document) as a new ref; fails the test on error. */
json_t *tu_load(const char *relpath);
/* Fails the test, printing both values indented, unless json_equal(want, got). */
void tu_assert_json_equal(const json_t *want, const json_t *got, const char *what);
/* Compares text with the golden file relpath. With OP_UPDATE_GOLDEN=1 in the
 * environment it rewrites the file instead (and still passes). */
void tu_assert_golden(const char *text, const char *relpath);

#endif
