/* test_webhook_server_http.c - the plain-HTTP side of httpserver.h as the
 * controller uses it for /metrics, /healthz and /readyz: two listeners on one
 * server, content types, status codes, request bodies, the tick callback,
 * bind errors, a clean stop with clients connected, and several service
 * threads sharing the listeners' ports. A test's servers are
 * kept in the fixture and stopped by the cmocka teardown, so a failed check
 * never leaves a server thread running at exit. Under valgrind
 * (OP_UNDER_VALGRIND) the client's time limit is 20x longer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "webhook/httpserver.h"

struct app {
    atomic_int ready;
    atomic_int ticks;
    char last_body[64];
    char last_query[64];
};

static void metrics(void *ud, const struct http_request *rq, struct http_response *rs) {
    struct app *a = ud;
    (void)a;
    if (strcmp(rq->path, "/metrics") == 0 && strcmp(rq->method, "GET") == 0) {
        const char *text = "# TYPE up gauge\nup 1\n";
        http_response_set(rs, 200, HTTP_CT_PROMETHEUS, text, strlen(text));
    } else if (strcmp(rq->path, "/echo") == 0) {
        snprintf(a->last_body, sizeof(a->last_body), "%s", rq->body);
        snprintf(a->last_query, sizeof(a->last_query), "%s", rq->query);
        http_response_set(rs, 201, HTTP_CT_JSON, rq->body, rq->body_len);
    } else if (strcmp(rq->path, "/silent") == 0) {
        /* leaves the status unset: 500 */
    } else {
        http_response_set(rs, 404, HTTP_CT_TEXT, "not found\n", 10);
    }
}

static void health(void *ud, const struct http_request *rq, struct http_response *rs) {
    struct app *a = ud;
    if (strcmp(rq->path, "/healthz") == 0)
        http_response_set(rs, 200, HTTP_CT_TEXT, "ok", 2);
    else if (strcmp(rq->path, "/readyz") == 0)
        http_response_set(rs, atomic_load(&a->ready) ? 200 : 503, HTTP_CT_TEXT,
                          atomic_load(&a->ready) ? "ok" : "not ready", atomic_load(&a->ready) ? 2 : 9);
    else
        http_response_set(rs, 404, HTTP_CT_TEXT, "", 0);
}

static void tick(void *ud) {
    struct app *a = ud;
    atomic_fetch_add(&a->ticks, 1);
}

/* 20 under valgrind, else 1: the factor for the client's time limit. */
static int slow(void) {
    const char *v = getenv("OP_UNDER_VALGRIND");
    return v && *v && strcmp(v, "0") != 0 ? 20 : 1;
}


/* One test's server (NULL when none runs) and the state its handlers touch:
 * both outlive a failed check until the teardown stops the server. */
struct fx {
    struct http_server *s;
    struct app a;
};

static int setup(void **state) {
    *state = calloc(1, sizeof(struct fx));
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    struct fx *f = *state;
    http_server_stop(f->s);
    free(f);
    return 0;
}

/* Stops the fixture's server now (the test goes on without it). */
static void stop(struct fx *f) {
    http_server_stop(f->s);
    f->s = NULL;
}

struct resp {
    long status;
    char body[256];
    size_t len;
    char ctype[128];
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud) {
    struct resp *r = ud;
    size_t k = sz * n, room = sizeof(r->body) - 1 - r->len;
    memcpy(r->body + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->body[r->len] = '\0';
    return k;
}

static struct resp get(int port, const char *path, const char *post_body) {
    struct resp r = {0};
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L * slow());
    if (post_body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("GET %s: %s", path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r.ctype, sizeof(r.ctype), "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    return r;
}

static struct http_server *start_two(struct app *a, struct op_status *st) {
    struct http_listener_opts ls[2] = {
        {.name = "metrics", .bind_address = "127.0.0.1:0", .handler = metrics, .ud = a},
        {.name = "health", .bind_address = "127.0.0.1:0", .handler = health, .ud = a},
    };
    struct http_server_opts o = {.name = "test", .listeners = ls, .n_listeners = 2,
                                 .tick = tick, .tick_ud = a, .tick_ms = 50};
    return http_server_start(&o, st);
}

static void test_two_listeners(void **state) {
    struct fx *f = *state;
    struct app *a = &f->a;
    struct op_status st = {0};
    struct http_server *s = f->s = start_two(a, &st);
    assert_non_null(s);
    int pm = http_server_port(s, 0), ph = http_server_port(s, 1);
    assert_true(pm > 0 && ph > 0 && pm != ph);
    assert_int_equal(http_server_port(s, 2), -1);

    struct resp r = get(pm, "/metrics", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "# TYPE up gauge\nup 1\n");
    assert_string_equal(r.ctype, HTTP_CT_PROMETHEUS);
    r = get(pm, "/healthz", NULL);   /* routes are per listener */
    assert_int_equal(r.status, 404);
    r = get(ph, "/healthz", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    r = get(ph, "/readyz", NULL);
    assert_int_equal(r.status, 503);
    atomic_store(&a->ready, 1);
    r = get(ph, "/readyz", NULL);
    assert_int_equal(r.status, 200);
    r = get(pm, "/echo?x=1&y=2", "{\"hello\":1}");
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"hello\":1}");
    assert_string_equal(a->last_body, "{\"hello\":1}");
    assert_non_null(strstr(a->last_query, "x=1"));
    assert_non_null(strstr(a->last_query, "y=2"));
    r = get(pm, "/silent", NULL);
    assert_int_equal(r.status, 500);

    /* TLS replacement on a plain listener is refused */
    assert_int_equal(http_server_set_tls(s, 0, "x", "y", &st), OP_EINVALID);

    for (int i = 0; i < 100 && atomic_load(&a->ticks) < 2; i++)
        usleep(20 * 1000);
    assert_true(atomic_load(&a->ticks) >= 2);
    stop(f);
}

static void test_stop_with_idle_clients(void **state) {
    struct fx *f = *state;
    struct app *a = &f->a;
    struct http_server *s = f->s = start_two(a, NULL);
    assert_non_null(s);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)http_server_port(s, 0))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char half[] = "GET /metr";
    assert_int_equal(send(fd, half, sizeof(half) - 1, 0), (ssize_t)(sizeof(half) - 1));
    stop(f);   /* returns despite the half request; no leak (ASan) */
    char buf[16];
    assert_true(recv(fd, buf, sizeof(buf), 0) <= 0);
    close(fd);
}

/* A body trickled in (a byte every 300 ms, so the idle timeout never fires) is
 * cut off by the whole-body deadline of 3 x io_timeout. */
static void test_trickled_body(void **state) {
    struct fx *f = *state;
    struct app *a = &f->a;
    struct http_listener_opts l = {.bind_address = "127.0.0.1:0", .handler = metrics, .ud = a};
    struct http_server_opts o = {.listeners = &l, .n_listeners = 1, .io_timeout_s = 1};
    struct http_server *s = f->s = http_server_start(&o, NULL);
    assert_non_null(s);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)http_server_port(s, 0))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
    assert_int_equal(send(fd, head, sizeof(head) - 1, 0), (ssize_t)(sizeof(head) - 1));
    int sent = 0, closed = 0;
    for (; sent < 40 && !closed; sent++) {   /* 40 x 300 ms = 12 s at most */
        usleep(300 * 1000);
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
            closed = 1;
    }
    /* closed after about 3 s (10 bytes), long before the body was complete */
    assert_true(closed);
    assert_true(sent >= 6 && sent <= 25);
    assert_string_equal(a->last_body, "");   /* the handler never saw it */
    close(fd);
    assert_int_equal(get(http_server_port(s, 0), "/metrics", NULL).status, 200);
    stop(f);
}

static void test_bind_errors(void **state) {
    struct fx *f = *state;
    struct app *a = &f->a;
    struct op_status st = {0};
    struct http_server *s = f->s = start_two(a, &st);
    assert_non_null(s);
    char taken[32];
    snprintf(taken, sizeof(taken), "127.0.0.1:%d", http_server_port(s, 0));
    struct http_listener_opts l = {.bind_address = taken, .handler = health, .ud = a};
    struct http_server_opts o = {.listeners = &l, .n_listeners = 1};
    assert_null(http_server_start(&o, &st));
    assert_int_equal(st.code, OP_EIO);
    assert_non_null(strstr(st.msg, "in use"));
    stop(f);

    l.bind_address = "127.0.0.1:0";
    l.handler = NULL;
    assert_null(http_server_start(&o, &st));
    assert_int_equal(st.code, OP_EINVALID);
    l.handler = health;
    o.n_listeners = 0;
    assert_null(http_server_start(&o, &st));
    assert_int_equal(st.code, OP_EINVALID);
    http_server_stop(NULL);
}

static void test_ipv6_and_any(void **state) {
    struct fx *f = *state;
    struct app *a = &f->a;
    struct op_status st = {0};
    struct http_listener_opts l = {.bind_address = ":0", .handler = health, .ud = a};
    struct http_server_opts o = {.listeners = &l, .n_listeners = 1};
    f->s = http_server_start(&o, &st);
    if (!f->s)
        fail_msg("\":0\": %s", st.msg);
    /* every address: reachable on IPv4 loopback */
    struct resp r = get(http_server_port(f->s, 0), "/healthz", NULL);
    assert_int_equal(r.status, 200);
    stop(f);
    l.bind_address = "[::1]:0";
    f->s = http_server_start(&o, &st);
    if (!f->s) {   /* a host without IPv6: the error says so instead of crashing */
        assert_int_equal(st.code, OP_EIO);
        return;
    }
    assert_true(http_server_port(f->s, 0) > 0);
    stop(f);
}

/* ---- several service threads ---- */

struct seen {
    pthread_mutex_t mu;
    pthread_t ids[8];
    int n;
};

static void whoami(void *ud, const struct http_request *rq, struct http_response *rs) {
    struct seen *w = ud;
    (void)rq;
    pthread_t me = pthread_self();
    pthread_mutex_lock(&w->mu);
    int known = 0;
    for (int i = 0; i < w->n; i++)
        known |= pthread_equal(w->ids[i], me);
    if (!known && w->n < 8)
        w->ids[w->n++] = me;
    pthread_mutex_unlock(&w->mu);
    http_response_set(rs, 200, HTTP_CT_TEXT, "ok", 2);
}

static int open_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* A connection to 127.0.0.1:port, kept open by the caller; -1 on error. */
static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* One keep-alive GET on an open connection; 1 when a 200 came back in time. */
static int get_on(int fd) {
    static const char rq[] = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
    if (write(fd, rq, sizeof(rq) - 1) != (ssize_t)(sizeof(rq) - 1))
        return 0;
    char buf[1024];
    size_t n = 0;
    while (n < sizeof(buf) - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000 * slow()) != 1)
            return 0;
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            return 0;
        n += (size_t)r;
        buf[n] = '\0';
        char *body = strstr(buf, "\r\n\r\n");
        if (body && strlen(body + 4) >= 2)   /* "ok" */
            return strncmp(buf, "HTTP/1.1 200", 12) == 0;
    }
    return 0;
}

/* threads = 2: each listener's open connections are spread over both threads
 * (the accepting thread hands a connection to the one serving fewer), both
 * serve requests, the tick still runs, and a stop joins both and leaves no
 * descriptor open. */
static void test_threads(void **state) {
    struct fx *f = *state;
    struct seen w[2];
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        pthread_mutex_init(&w[i].mu, NULL);
    }
    struct http_listener_opts ls[2] = {
        {.name = "a", .bind_address = "127.0.0.1:0", .handler = whoami, .ud = &w[0]},
        {.name = "b", .bind_address = ":0", .handler = whoami, .ud = &w[1]},
    };
    struct http_server_opts o = {.name = "test", .listeners = ls, .n_listeners = 2,
                                 .tick = tick, .tick_ud = &f->a, .tick_ms = 20,
                                 .threads = 2};
    struct op_status st = {0};
    int fds_before = open_fds();
    f->s = http_server_start(&o, &st);
    if (!f->s)
        fail_msg("start with 2 threads: %s", st.msg);
    assert_int_equal(http_server_threads(f->s), 2);
    int port[2] = {http_server_port(f->s, 0), http_server_port(f->s, 1)};
    assert_true(port[0] > 0 && port[1] > 0 && port[0] != port[1]);
    for (int l = 0; l < 2; l++) {
        int c[4];
        for (int i = 0; i < 4; i++) {   /* open together, each one served at once */
            c[i] = connect_to(port[l]);
            assert_true(c[i] >= 0);
            if (!get_on(c[i]))
                fail_msg("listener %d, connection %d: no answer", l, i);
        }
        for (int round = 0; round < 3; round++)   /* keep-alive: same connections */
            for (int i = 0; i < 4; i++)
                if (!get_on(c[i]))
                    fail_msg("listener %d, connection %d, round %d: no answer", l, i, round);
        for (int i = 0; i < 4; i++)
            close(c[i]);
        if (w[l].n != 2)
            fail_msg("listener %d: 4 open connections were served by %d thread(s), want 2", l,
                     w[l].n);
    }
    for (int i = 0; i < 100 * slow() && atomic_load(&f->a.ticks) == 0; i++)
        usleep(10000);
    assert_true(atomic_load(&f->a.ticks) > 0);
    stop(f);
    assert_int_equal(open_fds(), fds_before);
    for (int i = 0; i < 2; i++)
        pthread_mutex_destroy(&w[i].mu);
}

int main(void) {
    log_set_level(LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_listeners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_idle_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trickled_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_and_any, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
