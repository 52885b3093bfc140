/* diag.h - a list of diagnostics (errors and warnings), each with a location.
 *
 * Validation and parsing never stop at the first problem: they append every
 * problem here. A location is a field path (`spec.sampling.rate`) for model
 * validation, or `file:line:column` for the YAML reader and the DSL. */
#ifndef OP_BASE_DIAG_H
#define OP_BASE_DIAG_H
#include <stddef.h>

enum diag_level { DIAG_WARNING = 1, DIAG_ERROR = 2 };

struct diag_item {
    enum diag_level level;
    char *where;    /* field path or file:line:col; may be "" */
    char *msg;
};

struct diag {
    struct diag_item *items;
    size_t len, cap;
    size_t max;     /* stop recording after this many (0 = 1000); counts go on */
    size_t errors, warnings;
};

void diag_init(struct diag *d);
void diag_done(struct diag *d);      /* frees contents; d may be reused after diag_init */
void diag_add(struct diag *d, enum diag_level lvl, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Adds a message that is already formatted (no printf pass over it). */
void diag_add_text(struct diag *d, enum diag_level lvl, const char *where, const char *msg);
#define diag_error(d, where, ...) diag_add((d), DIAG_ERROR, (where), __VA_ARGS__)
#define diag_warn(d, where, ...)  diag_add((d), DIAG_WARNING, (where), __VA_ARGS__)

/* Moves every item of src to the end of dst (src is emptied). With prefix,
 * each item's location becomes prefix + location. */
void diag_move(struct diag *dst, struct diag *src, const char *prefix);

/* Turns every warning into an error (--strict). */
void diag_promote_warnings(struct diag *d);

/* Formats one item as "where: msg" (or "msg") into a new string; caller frees. */
char *diag_item_format(const struct diag_item *it);

#endif
