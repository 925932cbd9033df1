/* rt_folder_parallel: a counter handed out under a mutex to a few pthreads
 * (decoding an image takes far longer than taking the lock). */
#include <pthread.h>
#include <stdlib.h>

#include "folder_decode.h"

#define MAX_THREADS 256

typedef struct pool {
    pthread_mutex_t lock;
    size_t next, n;
    int stop, stop_on_failure;
    int (*fn)(void *ctx, size_t i);
    void *ctx;
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next;
        int go = !p->stop && i < p->n;
        if (go)
            p->next++;
        pthread_mutex_unlock(&p->lock);
        if (!go)
            return NULL;
        if (p->fn(p->ctx, i) != 0 && p->stop_on_failure) {
            pthread_mutex_lock(&p->lock);
            p->stop = 1;
            pthread_mutex_unlock(&p->lock);
        }
    }
}

void rt_folder_parallel(size_t n, int threads, int (*fn)(void *ctx, size_t i), void *ctx,
                        int stop_on_failure)
{
    pool p = {.next = 0, .n = n, .stop = 0, .stop_on_failure = stop_on_failure, .fn = fn,
              .ctx = ctx};
    if (n == 0)
        return;
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if ((size_t)threads > n)
        threads = (int)n;
    if (pthread_mutex_init(&p.lock, NULL) != 0) {
        /* no lock: do it all on this thread */
        for (size_t i = 0; i < n; i++)
            if (fn(ctx, i) != 0 && stop_on_failure)
                return;
        return;
    }
    pthread_t tid[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, worker, &p) != 0)
            break;
        started++;
    }
    worker(&p);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&p.lock);
}
