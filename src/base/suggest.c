/* suggest.c - the closest known name to an unknown one (see suggest.h).
 *
 * Names are compared folded: lower case, without '_' and '-', so decision_wait,
 * DecisionWait and decision-wait are all decisionWait. Then, by score:
 *   0  the same folded name
 *   1-2 an edit distance (insertions, deletions, substitutions, swaps of two
 *      neighbours) of 1, or of 2 for names of 6 letters and more
 *   3  one name ends or starts the other, the shorter of 4 letters and more */
#include "base/suggest.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#define FOLD_MAX 64   /* longer names are not worth a suggestion */
#define NO_MATCH 100

static size_t fold(const char *in, char *out) {
    size_t n = 0;
    for (; *in; in++) {
        if (*in == '_' || *in == '-')
            continue;
        if (n == FOLD_MAX)
            return FOLD_MAX + 1;
        out[n++] = (char)tolower((unsigned char)*in);
    }
    out[n] = '\0';
    return n;
}

static unsigned char min3(unsigned a, unsigned b, unsigned c) {
    unsigned m = a < b ? a : b;
    return (unsigned char)(m < c ? m : c);
}

/* Optimal string alignment distance between a[0..n) and b[0..m), both <= FOLD_MAX. */
static size_t edit_distance(const char *a, size_t n, const char *b, size_t m) {
    unsigned char d[FOLD_MAX + 1][FOLD_MAX + 1]; /* distances are <= FOLD_MAX */
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (unsigned char)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (unsigned char)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            d[i][j] = min3(d[i - 1][j] + 1u, d[i][j - 1] + 1u, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1u < d[i][j])
                d[i][j] = (unsigned char)(d[i - 2][j - 2] + 1u);
        }
    return d[n][m];
}

static int score(const char *key, const char *cand) {
    char k[FOLD_MAX + 1], c[FOLD_MAX + 1];
    size_t kn = fold(key, k), cn = fold(cand, c);
    if (kn > FOLD_MAX || cn > FOLD_MAX || !kn || !cn)
        return NO_MATCH;
    if (kn == cn && !memcmp(k, c, kn))
        return 0;
    size_t diff = kn > cn ? kn - cn : cn - kn;
    size_t allowed = kn >= 6 && cn >= 6 ? 2 : 1;
    if (diff <= allowed && kn > 2) {
        size_t dist = edit_distance(k, kn, c, cn);
        if (dist <= allowed)
            return (int)dist;
    }
    /* one name ends or starts the other: samplingRate for rate, and rate for samplingRate */
    const char *lng = kn > cn ? k : c, *shrt = kn > cn ? c : k;
    size_t ln = kn > cn ? kn : cn, sn = kn > cn ? cn : kn;
    if (sn >= 4 && ln > sn && (!memcmp(lng + ln - sn, shrt, sn) || !memcmp(lng, shrt, sn)))
        return 3;
    return NO_MATCH;
}

void suggest_init(struct suggest *s, const char *key) {
    s->key = key;
    s->best = NULL;
    s->score = NO_MATCH;
}

void suggest_consider(struct suggest *s, const char *candidate) {
    if (!candidate || !s->key)
        return;
    int sc = score(s->key, candidate);
    if (sc < s->score) {
        s->score = sc;
        s->best = candidate;
    }
}

const char *suggest_best(const struct suggest *s) { return s->score < NO_MATCH ? s->best : NULL; }
