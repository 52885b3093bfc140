/* jarena.h - per-request bump allocation for jansson values (the admission hot path).
 *
 * An AdmissionReview answer builds and drops a few thousand small jansson nodes
 * (the pod tree, the patch); with malloc/free per node, allocation was a third of
 * the webhook's CPU. Between jarena_begin() and jarena_end() every jansson
 * allocation made by the calling thread comes from that thread's arena (a slot of
 * one reserved mapping, bump-allocated); jansson's frees of arena memory do
 * nothing, and jarena_end() drops the whole arena at once. Outside a request, on
 * other threads, when the arena is full or when it could not be mapped, jansson
 * allocates with xmalloc() as before, and frees of such memory go to free().
 *
 * The rule that makes this safe: nothing allocated between begin and end may be
 * used after end. Values that must outlive the request (cache entries) are built
 * between jarena_pause() and jarena_resume(), from inputs that are not arena
 * memory themselves (deep-copy them while paused). jansson hands allocated
 * memory to its callers only from json_dumps(): use jarena_dumps(), whose result
 * is always free()-able (tests/cli/no_raw_json_dumps.sh keeps src/ to that).
 *
 * Under ASan the arena poisons what it does not hand out (16-byte red zones
 * between blocks, the whole arena after jarena_end), so a use after the request
 * or an overflow is reported like a heap error. OP_JARENA=off in the environment
 * (read once) turns the arena off (valgrind runs, comparisons).
 *
 * The allocation functions are installed into jansson by a constructor (before
 * main) in any program that links this file. */
#ifndef OP_BASE_JARENA_H
#define OP_BASE_JARENA_H
#include <jansson.h>
#include <stddef.h>

/* Arena mode on for this thread (nests; only the outermost end resets). */
void jarena_begin(void);
void jarena_end(void);

/* Arena allocation off for this thread until the matching jarena_resume(), even
 * inside begin/end. Nests. */
void jarena_pause(void);
void jarena_resume(void);

/* 1 while this thread allocates jansson values from its arena. */
int jarena_active(void);

/* json_dumps(v, flags), with the result in malloc memory (free() it). */
char *jarena_dumps(const json_t *v, size_t flags);

/* The functions jansson allocates and frees with (installed by a constructor and
 * by xalloc_init()): jarena_malloc() is xmalloc() outside arena mode;
 * jarena_free() is free() for non-arena memory and nothing for arena memory. */
void *jarena_malloc(size_t n);
void jarena_free(void *p);

/* Drops v, which was built in this request and refers to nothing from outside it
 * (a parsed request body): when every allocation of this request came from the
 * arena, nothing is walked or freed (jarena_end() drops it all at once; nodes of v
 * that other values of the request still reference stay valid until then);
 * otherwise (arena off, full, or outside a request) json_decref(v). */
void jarena_release(json_t *v);

/* Bytes this thread's arena handed out in the current request (0 outside one). */
size_t jarena_used(void);

#endif
