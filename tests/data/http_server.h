/* A tiny HTTP/1.0 server for the download tests, on 127.0.0.1 (an
 * ephemeral port, a thread serving files from a folder):
 * GET /DIR/NAME serves root/DIR/NAME; /short/NAME sends half of
 * root/good/NAME under the full Content-Length; /redirect/NAME answers 302
 * to /good/NAME; anything else missing is 404. */
#ifndef RT_TEST_HTTP_SERVER_H
#define RT_TEST_HTTP_SERVER_H

#include <pthread.h>
#include <stdatomic.h>

typedef struct fx_server {
    int fd;
    int port;
    char root[4096];
    atomic_int stop;
    atomic_int requests; /* connections served */
    pthread_t thread;
} fx_server;

/* Starts serving root; 0 on success, -1 (errno set) on failure. */
int fx_server_start(fx_server *s, const char *root);
void fx_server_stop(fx_server *s);

/* A port nothing listens on: bound, then closed. */
int fx_closed_port(void);

#endif
