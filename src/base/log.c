/* log.c - JSON-lines logger (see log.h). One write(2) per line under a mutex. */
#include "base/log.h"

#include "base/jarena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_INFO;
static int g_fd = 2;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_set_level_name(const char *name) {
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0) {
            g_level = (enum log_level)i;
            return 0;
        }
    return -1;
}

void log_set_level(enum log_level lvl) { g_level = lvl; }
int log_enabled(enum log_level lvl) { return lvl >= g_level; }
void log_set_fd(int fd) { g_fd = fd; }

void log_emit(enum log_level lvl, const char *logger, const char *msg, ...) {
    struct timespec ts;
    struct tm tm;
    char tbuf[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(tbuf + n, sizeof(tbuf) - n, ".%03ldZ", ts.tv_nsec / 1000000);

    json_t *o = json_object();
    json_object_set_new(o, "ts", json_string(tbuf));
    json_object_set_new(o, "level", json_string(level_names[lvl]));
    json_object_set_new(o, "logger", json_string(logger ? logger : ""));
    json_object_set_new(o, "msg", json_string(msg ? msg : ""));
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (k[0] == '\x01')
            json_object_set_new(o, k + 1, json_integer((json_int_t)(intptr_t)v));
        else {
            json_t *js = v ? json_string(v) : json_null();
            json_object_set_new(o, k, js ? js : json_string("<invalid utf-8>"));
        }
    }
    va_end(ap);
    char *line = jarena_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!line)
        return;
    size_t len = strlen(line);
    line[len] = '\n';  /* json_dumps allocates len+1 bytes; reuse the NUL slot */
    pthread_mutex_lock(&g_lock);
    size_t off = 0;
    while (off < len + 1) {
        ssize_t w = write(g_fd, line + off, len + 1 - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    pthread_mutex_unlock(&g_lock);
    free(line);
}
