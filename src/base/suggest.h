/* suggest.h - "did you mean ...?" for an unknown field name: picks, among the
 * names a place accepts, the one a user most likely meant (same name in another
 * case or with '_'/'-', a typo of one or two letters, or a name that ends or
 * starts the other: rate for samplingRate and back). Pure; no allocation. */
#ifndef OP_BASE_SUGGEST_H
#define OP_BASE_SUGGEST_H

struct suggest {
    const char *key;    /* the unknown name */
    const char *best;   /* the closest candidate so far, or NULL */
    int score;          /* its distance (lower is closer) */
};

void suggest_init(struct suggest *s, const char *key);
/* Weighs one accepted name. */
void suggest_consider(struct suggest *s, const char *candidate);
/* The closest accepted name, or NULL when none is close enough to offer. */
const char *suggest_best(const struct suggest *s);

#endif
