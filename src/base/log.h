/* log.h - structured logging: one JSON object per line on stderr.
 *
 * Keys: ts, level, logger, msg, then the caller's key/value pairs. Values are
 * strings unless wrapped: LOG_INT("ms", 12) keeps an integer typed. Never pass
 * a token, a password or a certificate key as a value. */
#ifndef OP_BASE_LOG_H
#define OP_BASE_LOG_H
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Set once at start. Returns -1 if name is not debug|info|warn|error. */
int log_set_level_name(const char *name);
void log_set_level(enum log_level lvl);
int log_enabled(enum log_level lvl);
/* Redirect output (tests); fd 2 by default. */
void log_set_fd(int fd);

/* Keys and values alternate and the list ends with NULL. A key that starts
 * with "\x01" marks an integer: use LOG_INT(key, value). */
void log_emit(enum log_level lvl, const char *logger, const char *msg, ...);

#define LOG_INT_MARK "\x01"
#define LOG_INT(key, v) LOG_INT_MARK key, (const char *)(intptr_t)(int64_t)(v)

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_emit(LOG_DEBUG, __VA_ARGS__, (const char *)0); } while (0)
#define log_info(...)  do { if (log_enabled(LOG_INFO))  log_emit(LOG_INFO,  __VA_ARGS__, (const char *)0); } while (0)
#define log_warn(...)  do { if (log_enabled(LOG_WARN))  log_emit(LOG_WARN,  __VA_ARGS__, (const char *)0); } while (0)
#define log_error(...) do { if (log_enabled(LOG_ERROR)) log_emit(LOG_ERROR, __VA_ARGS__, (const char *)0); } while (0)

#endif
