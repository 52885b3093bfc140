/* jarena.c - per-request bump allocation for jansson values (see jarena.h).
 *
 * One mapping of JA_SLOTS slots of JA_SLOT_BYTES, reserved on first use with
 * MAP_NORESERVE (only the pages a request touches become resident). A thread
 * takes a free slot at its first jarena_begin() and gives it back when it exits.
 * A request bump-allocates from the start of its slot; jarena_end() rewinds, and
 * gives back to the kernel what a large request touched beyond JA_KEEP_BYTES. */
#include "base/jarena.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define JA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JA_ASAN 1
#endif
#endif
#ifdef JA_ASAN
#include <sanitizer/asan_interface.h>
#define JA_REDZONE 16u
#define JA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define JA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define JA_REDZONE 0u
#define JA_POISON(p, n) ((void)(p), (void)(n))
#define JA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define JA_SLOTS 8u
#define JA_SLOT_BYTES ((size_t)16 << 20)   /* a request larger than this spills to malloc */
#define JA_KEEP_BYTES ((size_t)1 << 20)    /* kept resident between requests */
#define JA_REGION_BYTES (JA_SLOTS * JA_SLOT_BYTES)

static _Atomic uintptr_t g_region;          /* 0 = not mapped (yet, or ever) */
static atomic_uint g_free = (1u << JA_SLOTS) - 1;   /* bit i set: slot i is free */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static int g_key_ok;

struct ja_thread {
    int slot;            /* -1: none */
    unsigned depth;      /* jarena_begin nesting */
    unsigned paused;     /* jarena_pause nesting */
    size_t used;         /* bytes handed out in this request */
    size_t spilled;      /* allocations of this request that went to malloc (arena full) */
    size_t touched;      /* high-water mark since the last trim */
};
/* initial-exec: a fixed offset from the thread pointer, no __tls_get_addr call
 * (and no dependency on ld.so) per allocation */
static _Thread_local struct ja_thread t_ja __attribute__((tls_model("initial-exec"))) = {
    -1, 0, 0, 0, 0, 0};

static char *slot_base(int slot) {
    return (char *)atomic_load_explicit(&g_region, memory_order_relaxed) +
           (size_t)slot * JA_SLOT_BYTES;
}

static void release_slot(void *v) {
    int slot = (int)(intptr_t)v - 1;
    if (slot < 0 || (unsigned)slot >= JA_SLOTS)
        return;
    char *base = slot_base(slot);
    madvise(base, JA_SLOT_BYTES, MADV_DONTNEED);
    JA_POISON(base, JA_SLOT_BYTES);
    atomic_fetch_or(&g_free, 1u << slot);
}

static void region_init(void) {
    const char *env = getenv("OP_JARENA");
    if (env && (!strcmp(env, "off") || !strcmp(env, "0")))
        return;
    if (pthread_key_create(&g_key, release_slot) != 0)
        return;
    g_key_ok = 1;
    void *p = mmap(NULL, JA_REGION_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return;   /* no arena: jansson keeps using malloc */
    JA_POISON(p, JA_REGION_BYTES);
    atomic_store_explicit(&g_region, (uintptr_t)p, memory_order_release);
}

static void take_slot(struct ja_thread *t) {
    pthread_once(&g_once, region_init);
    if (!atomic_load_explicit(&g_region, memory_order_acquire))
        return;
    unsigned f = atomic_load(&g_free);
    while (f) {
        unsigned bit = f & -f;
        if (atomic_compare_exchange_weak(&g_free, &f, f & ~bit)) {
            t->slot = __builtin_ctz(bit);
            if (g_key_ok)
                pthread_setspecific(g_key, (void *)(intptr_t)(t->slot + 1));
            return;
        }
    }
}

void jarena_begin(void) {
    struct ja_thread *t = &t_ja;
    if (t->depth++ == 0) {
        t->spilled = 0;
        if (t->slot < 0)
            take_slot(t);
    }
}

void jarena_end(void) {
    struct ja_thread *t = &t_ja;
    if (!t->depth || --t->depth)
        return;
    if (t->slot < 0)
        return;
    char *base = slot_base(t->slot);
    if (t->used > t->touched)
        t->touched = t->used;
    JA_POISON(base, t->used);
    if (t->touched > JA_KEEP_BYTES) {
        madvise(base + JA_KEEP_BYTES, t->touched - JA_KEEP_BYTES, MADV_DONTNEED);
        t->touched = JA_KEEP_BYTES;
    }
    t->used = 0;
}

void jarena_pause(void) { t_ja.paused++; }

void jarena_resume(void) {
    if (t_ja.paused)
        t_ja.paused--;
}

int jarena_active(void) { return t_ja.depth && !t_ja.paused && t_ja.slot >= 0; }

size_t jarena_used(void) { return t_ja.depth ? t_ja.used : 0; }

void *jarena_malloc(size_t n) {
    struct ja_thread *t = &t_ja;
    if (t->depth && !t->paused && t->slot >= 0) {
        size_t need = ((n ? n : 1) + JA_REDZONE + 15u) & ~(size_t)15u;
        if (need <= JA_SLOT_BYTES - t->used) {
            char *p = slot_base(t->slot) + t->used;
            t->used += need;
            JA_UNPOISON(p, n);
            return p;
        }
        t->spilled++;
    }
    return xmalloc(n);
}

void jarena_release(json_t *v) {
    struct ja_thread *t = &t_ja;
    if (t->depth && t->slot >= 0 && !t->spilled)
        return;   /* all of it is arena memory: jarena_end() drops it at once */
    json_decref(v);
}

void jarena_free(void *p) {
    uintptr_t b = atomic_load_explicit(&g_region, memory_order_acquire);
    if (b && (uintptr_t)p - b < JA_REGION_BYTES)
        return;
    free(p);
}

char *jarena_dumps(const json_t *v, size_t flags) {
    jarena_pause();
    char *s = json_dumps(v, flags);
    jarena_resume();
    return s;
}

__attribute__((constructor)) static void jarena_install(void) {
    json_set_alloc_funcs(jarena_malloc, jarena_free);
}
