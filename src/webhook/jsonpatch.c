/* jsonpatch.c - RFC 6902 JSON Patch builder with RFC 6901 pointer escaping, and fast
 * compact JSON writing/reading for the admission path (see jsonpatch.h). */
#include "webhook/jsonpatch.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jarena.h"
#include "base/xalloc.h"

/* strbuf_append without the call in the common case (room left, no limit): the
 * writer appends a few bytes at a time, a thousand times per answer. */
static inline void put(struct strbuf *b, const char *s, size_t n) {
    if (!b->limit && b->len + n < b->cap) {
        memcpy(b->buf + b->len, s, n);
        b->len += n;
        b->buf[b->len] = '\0';
        return;
    }
    strbuf_append(b, s, n);
}

void jp_path_push(struct strbuf *path, const char *token) {
    put(path, "/", 1);
    for (const char *p = token; *p;) {
        size_t n = strcspn(p, "~/");   /* the bytes that need no escape, at once */
        put(path, p, n);
        p += n;
        if (*p) {
            put(path, *p == '~' ? "~0" : "~1", 2);
            p++;
        }
    }
}

void jp_path_push_index(struct strbuf *path, size_t index) {
    strbuf_printf(path, "/%zu", index);
}

char *jp_pointer(const char *first, ...) {
    struct strbuf b;
    strbuf_init(&b, 0);
    va_list ap;
    va_start(ap, first);
    for (const char *t = first; t; t = va_arg(ap, const char *))
        jp_path_push(&b, t);
    va_end(ap);
    return strbuf_detach(&b, NULL);
}

int jp_token_unescape(char *token) {
    char *w = token;
    for (const char *r = token; *r; r++) {
        if (*r != '~') {
            *w++ = *r;
            continue;
        }
        if (r[1] == '0')
            *w++ = '~';
        else if (r[1] == '1')
            *w++ = '/';
        else
            return -1;
        r++;
    }
    *w = '\0';
    return 0;
}

/* The keys are constants and op is one of ours: no UTF-8 checks for them. */
static void jp_op(json_t *patch, const char *op, const char *path, json_t *value) {
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "op", json_string_nocheck(op));
    json_object_set_new_nocheck(o, "path", json_string(path));
    if (value)
        json_object_set_new_nocheck(o, "value", value);
    json_array_append_new(patch, o);
}

void jp_add(json_t *patch, const char *path, json_t *value) { jp_op(patch, "add", path, value); }

void jp_replace(json_t *patch, const char *path, json_t *value) {
    jp_op(patch, "replace", path, value);
}

void jp_remove(json_t *patch, const char *path) { jp_op(patch, "remove", path, NULL); }

/* ---- fast compact serialization ---- */

/* Number of leading bytes of [p, end) that need no attention in a JSON string:
 * not a control character, '"' or '\\', and with high == 0 not >= 0x80 either.
 * Eight bytes at a time (the word tricks below only tell whether SOME byte of
 * the word matches, which is all the loop needs), then byte by byte. */
static size_t plain_run(const unsigned char *p, const unsigned char *end, int high) {
    const uint64_t ones = 0x0101010101010101ULL, top = 0x8080808080808080ULL;
    const unsigned char *q = p;
    while (end - q >= 8) {
        uint64_t x;
        memcpy(&x, q, 8);
        uint64_t dq = x ^ (ones * '"'), bs = x ^ (ones * '\\');
        uint64_t hit = ((x - ones * 0x20) & ~x) | ((dq - ones) & ~dq) | ((bs - ones) & ~bs);
        if (!high)
            hit |= x;
        if (hit & top)
            break;
        q += 8;
    }
    while (q < end && *q >= 0x20 && *q != '"' && *q != '\\' && (high || *q < 0x80))
        q++;
    return (size_t)(q - p);
}

void jp_quote(struct strbuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u = (const unsigned char *)s;
    put(b, "\"", 1);
    size_t run = 0;   /* start of the bytes not yet appended */
    for (size_t i = 0; i < n; i++) {
        i += plain_run(u + i, u + n, 1);
        if (i >= n)
            break;
        unsigned char c = u[i];
        put(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        put(b, esc, len);
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
}

void jp_dump(struct strbuf *b, const json_t *v) {
    if (!v)
        return;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        put(b, "{", 1);
        int first = 1;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                put(b, ",", 1);
            first = 0;
            jp_quote(b, json_object_iter_key(it), json_object_iter_key_len(it));
            put(b, ":", 1);
            jp_dump(b, json_object_iter_value(it));
        }
        put(b, "}", 1);
        return;
    }
    case JSON_ARRAY: {
        put(b, "[", 1);
        for (size_t i = 0, n = json_array_size(v); i < n; i++) {
            if (i)
                put(b, ",", 1);
            jp_dump(b, json_array_get(v, i));
        }
        put(b, "]", 1);
        return;
    }
    case JSON_STRING:
        jp_quote(b, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER: {   /* what "%" JSON_INTEGER_FORMAT prints, without printf */
        char num[24], *end = num + sizeof(num), *q = end;
        json_int_t i = json_integer_value(v);
        unsigned long long u = i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i;
        do {
            *--q = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (i < 0)
            *--q = '-';
        put(b, q, (size_t)(end - q));
        return;
    }
    case JSON_REAL: {   /* rare here: jansson's own formatting, to stay identical */
        char *s = jarena_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s)
            strbuf_puts(b, s);
        free(s);
        return;
    }
    case JSON_TRUE: put(b, "true", 4); return;
    case JSON_FALSE: put(b, "false", 5); return;
    case JSON_NULL: put(b, "null", 4); return;
    }
}

/* ---- fast reading ----
 * Every "give up" (return NULL / -1) below only means "let json_loadb decide": the
 * scanner accepts a subset of what jansson accepts and builds the same values. */

#define JP_MAX_DEPTH 512   /* deeper documents go to jansson (limit 2048) */

struct jreader {
    const unsigned char *p, *end;
    int depth;
    struct strbuf tmp;   /* decoded strings that had escapes */
};

static void jr_ws(struct jreader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. Same rules as
 * jansson: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static int hex4(const unsigned char *p, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

static void put_utf8(struct strbuf *b, unsigned cp) {
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    strbuf_append(b, u, n);
}

/* One escape after the backslash at r->p[-1], decoded into r->tmp. 0 or -1. */
static int jr_escape(struct jreader *r) {
    if (r->p >= r->end)
        return -1;
    unsigned char c = *r->p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = c ? strchr(from, c) : NULL;
    if (k) {
        strbuf_append(&r->tmp, &to[k - from], 1);
        return 0;
    }
    unsigned cp, lo;
    if (c != 'u' || r->end - r->p < 4 || hex4(r->p, &cp))
        return -1;
    r->p += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {   /* a surrogate pair, or an error */
        if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) ||
            lo < 0xDC00 || lo > 0xDFFF)
            return -1;
        r->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
        return -1;   /* lone low surrogate; \u0000 needs JSON_ALLOW_NUL */
    }
    put_utf8(&r->tmp, cp);
    return 0;
}

/* The string at r->p (just after its opening quote): s and n point into the input
 * when it had no escapes, else into r->tmp. 0 or -1. */
static int jr_string(struct jreader *r, const char **s, size_t *n) {
    const unsigned char *start = r->p;
    int escaped = 0;
    while (r->p < r->end) {
        size_t k = plain_run(r->p, r->end, 0);
        if (k) {
            if (escaped)
                strbuf_append(&r->tmp, r->p, k);
            r->p += k;
            if (r->p >= r->end)
                break;
        }
        unsigned char c = *r->p;
        if (c == '"') {
            if (!escaped) {
                *s = (const char *)start;
                *n = (size_t)(r->p - start);
            } else {
                *s = r->tmp.buf;   /* not NULL: the prefix append allocated it */
                *n = r->tmp.len;
            }
            r->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (!escaped) {
                strbuf_reset(&r->tmp);
                strbuf_append(&r->tmp, start, (size_t)(r->p - start));
                escaped = 1;
            }
            r->p++;
            if (jr_escape(r))
                return -1;
            continue;
        }
        size_t len = 1;
        if (c >= 0x80 && !(len = utf8_len(r->p, r->end)))
            return -1;
        if (escaped)
            strbuf_append(&r->tmp, r->p, len);
        r->p += len;
    }
    return -1;
}

/* A small integer (at most 18 digits: no overflow); reals and the rest give up. */
static json_t *jr_number(struct jreader *r) {
    const unsigned char *p = r->p;
    int neg = 0;
    if (p < r->end && *p == '-') {
        neg = 1;
        p++;
    }
    const unsigned char *digits = p;
    while (p < r->end && *p >= '0' && *p <= '9')
        p++;
    size_t nd = (size_t)(p - digits);
    if (nd == 0 || nd > 18 || (nd > 1 && *digits == '0'))
        return NULL;
    if (p < r->end && (*p == '.' || *p == 'e' || *p == 'E'))
        return NULL;
    json_int_t v = 0;
    for (const unsigned char *d = digits; d < p; d++)
        v = v * 10 + (*d - '0');
    r->p = p;
    return json_integer(neg ? -v : v);
}

static json_t *jr_value(struct jreader *r, const struct jp_prune *entry);
static int jr_skip(struct jreader *r);

/* The entry of list named by the n bytes of k, or NULL. */
static const struct jp_prune *prune_find(const struct jp_prune *list, const char *k, size_t n) {
    for (; list && list->key; list++)
        if (strlen(list->key) == n && !memcmp(list->key, k, n))
            return list;
    return NULL;
}

/* members: the prune list of this object (NULL = keep everything). */
static json_t *jr_object(struct jreader *r, const struct jp_prune *members) {
    json_t *obj = json_object();
    jr_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return obj;
    }
    for (;;) {
        const char *k;
        size_t kn;
        if (r->p >= r->end || *r->p++ != '"' || jr_string(r, &k, &kn))
            break;
        /* a key with escapes lives in r->tmp, which the value may reuse: copy it */
        char kbuf[128], *key = NULL;
        if (r->tmp.buf && k == r->tmp.buf) {
            key = kn < sizeof(kbuf) ? kbuf : xmalloc(kn + 1);
            memcpy(key, k, kn);
            key[kn] = '\0';
            k = key;
        }
        jr_ws(r);
        json_t *v = NULL;
        const struct jp_prune *e = prune_find(members, k, kn);
        int dropped = 0;
        if (r->p < r->end && *r->p++ == ':') {
            jr_ws(r);
            if (e && !e->members)
                dropped = !jr_skip(r);   /* checked like any value, not kept */
            else
                v = jr_value(r, e);
        }
        int bad = dropped ? 0 : !v || json_object_setn_new_nocheck(obj, k, kn, v);
        if (key && key != kbuf)
            free(key);
        if (bad)
            break;
        jr_ws(r);
        if (r->p >= r->end)
            break;
        unsigned char c = *r->p++;
        if (c == '}')
            return obj;
        if (c != ',')
            break;
        jr_ws(r);
    }
    json_decref(obj);
    return NULL;
}

/* each: an entry whose members apply to every element (NULL = keep everything). */
static json_t *jr_array(struct jreader *r, const struct jp_prune *each) {
    struct jp_prune elem = {NULL, each ? each->members : NULL, 0};
    const struct jp_prune *el = each ? &elem : NULL;
    json_t *arr = json_array();
    jr_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return arr;
    }
    for (;;) {
        json_t *v = jr_value(r, el);
        if (!v || json_array_append_new(arr, v))
            break;
        jr_ws(r);
        if (r->p >= r->end)
            break;
        unsigned char c = *r->p++;
        if (c == ']')
            return arr;
        if (c != ',')
            break;
        jr_ws(r);
    }
    json_decref(arr);
    return NULL;
}

static int jr_literal(struct jreader *r, const char *word, size_t n) {
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
        return -1;
    r->p += n;
    return 0;
}

/* entry: how to prune this value's members (an object) or its elements' members
 * (an array, entry->each); NULL = keep everything. */
static json_t *jr_value(struct jreader *r, const struct jp_prune *entry) {
    if (r->p >= r->end)
        return NULL;
    json_t *v = NULL;
    const struct jp_prune *members = entry ? entry->members : NULL;
    switch (*r->p) {
    case '{':
    case '[':
        if (++r->depth > JP_MAX_DEPTH)
            return NULL;
        r->p++;
        v = r->p[-1] == '{' ? jr_object(r, entry && !entry->each ? members : NULL)
                            : jr_array(r, entry && entry->each ? entry : NULL);
        r->depth--;
        return v;
    case '"': {
        const char *s;
        size_t n;
        r->p++;
        return jr_string(r, &s, &n) ? NULL : json_stringn_nocheck(s, n);
    }
    case 't': return jr_literal(r, "true", 4) ? NULL : json_true();
    case 'f': return jr_literal(r, "false", 5) ? NULL : json_false();
    case 'n': return jr_literal(r, "null", 4) ? NULL : json_null();
    default: return jr_number(r);
    }
}

/* A number at r->p passed over when it is one jr_number() would take (an integer
 * of at most 18 digits), else -1: anything else goes to json_loadb with the whole
 * document, which may refuse it (a real that overflows, a huge integer), exactly as
 * it would without pruning. */
static int jr_skip_number(struct jreader *r) {
    const unsigned char *p = r->p, *e = r->end;
    if (p < e && *p == '-')
        p++;
    const unsigned char *digits = p;
    while (p < e && *p >= '0' && *p <= '9')
        p++;
    size_t nd = (size_t)(p - digits);
    if (nd == 0 || nd > 18 || (nd > 1 && *digits == '0'))
        return -1;
    if (p < e && (*p == '.' || *p == 'e' || *p == 'E'))
        return -1;
    r->p = p;
    return 0;
}

/* Checks the value at r->p as jansson would and passes over it without building
 * anything: 0, or -1 (then the whole document goes to json_loadb). */
static int jr_skip(struct jreader *r) {
    if (r->p >= r->end)
        return -1;
    unsigned char c = *r->p;
    if (c == '"') {
        const char *s;
        size_t n;
        r->p++;
        return jr_string(r, &s, &n);
    }
    if (c == 't')
        return jr_literal(r, "true", 4);
    if (c == 'f')
        return jr_literal(r, "false", 5);
    if (c == 'n')
        return jr_literal(r, "null", 4);
    if (c != '{' && c != '[')
        return jr_skip_number(r);
    if (++r->depth > JP_MAX_DEPTH)
        return -1;
    unsigned char close = c == '{' ? '}' : ']';
    r->p++;
    jr_ws(r);
    int rc = -1;
    if (r->p < r->end && *r->p == close) {
        r->p++;
        rc = 0;
    } else {
        for (;;) {
            if (c == '{') {
                const char *k;
                size_t kn;
                if (r->p >= r->end || *r->p++ != '"' || jr_string(r, &k, &kn))
                    break;
                jr_ws(r);
                if (r->p >= r->end || *r->p++ != ':')
                    break;
                jr_ws(r);
            }
            if (jr_skip(r))
                break;
            jr_ws(r);
            if (r->p >= r->end)
                break;
            unsigned char d = *r->p++;
            if (d == close) {
                rc = 0;
                break;
            }
            if (d != ',')
                break;
            jr_ws(r);
        }
    }
    r->depth--;
    return rc;
}

json_t *jp_load(const char *buf, size_t len, json_error_t *err) {
    return jp_load_pruned(buf, len, NULL, err);
}

json_t *jp_load_pruned(const char *buf, size_t len, const struct jp_prune *prune,
                       json_error_t *err) {
    struct jreader r = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0, {0}};
    struct jp_prune top = {NULL, prune, 0};
    strbuf_init(&r.tmp, 0);
    json_t *v = NULL;
    if (buf) {
        jr_ws(&r);
        if (r.p < r.end && (*r.p == '{' || *r.p == '['))
            v = jr_value(&r, prune ? &top : NULL);
        jr_ws(&r);
        if (v && r.p != r.end) {   /* trailing bytes: jansson reports them */
            json_decref(v);
            v = NULL;
        }
    }
    strbuf_free(&r.tmp);
    if (v) {
        if (err)   /* nothing to report, as after a successful json_loadb */
            memset(err, 0, sizeof(*err));
        return v;
    }
    return json_loadb(buf, len, 0, err);
}
