/* A tiny HTTP/1.0 server for the download tests, run on 127.0.0.1 (an
 * ephemeral port, a thread serving files from a folder). */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fixtures.h"

static void send_all(int c, const void *data, size_t size)
{
    const char *p = data;
    while (size > 0) {
        ssize_t k = send(c, p, size, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* the client went away */
        p += k;
        size -= (size_t)k;
    }
}

static void reply(int c, const char *status, const char *extra)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n%s\n",
                     status, strlen(status) + 1, extra, status);
    send_all(c, head, (size_t)n);
}

/* GET /DIR/NAME serves root/DIR/NAME; /short/NAME sends half of
 * root/good/NAME under the full Content-Length; /redirect/NAME answers 302
 * to /good/NAME; anything else missing is 404. */
static void handle(fx_server *s, int c)
{
    char req[4096];
    size_t used = 0;
    req[0] = '\0';
    while (used < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t k = recv(c, req + used, sizeof req - 1 - used, 0);
        if (k <= 0)
            return;
        used += (size_t)k;
        req[used] = '\0';
    }
    char path[1024];
    if (sscanf(req, "GET %1000s HTTP/", path) != 1 || path[0] != '/' || strstr(path, "..")) {
        reply(c, "400 Bad Request", "");
        return;
    }
    int shorten = 0;
    if (strncmp(path, "/redirect/", 10) == 0) {
        char location[1200];
        snprintf(location, sizeof location, "Location: /good/%s\r\n", path + 10);
        reply(c, "302 Found", location);
        return;
    }
    if (strncmp(path, "/short/", 7) == 0) {
        shorten = 1;
        memmove(path + 5, path + 6, strlen(path + 6) + 1);
        memcpy(path, "/good", 5);
    }
    char file[5200];
    snprintf(file, sizeof file, "%s%s", s->root, path);
    fx_buf body = fx_read(file);
    if (!body.data) {
        reply(c, "404 Not Found", "");
        return;
    }
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     body.size);
    send_all(c, head, (size_t)n);
    send_all(c, body.data, shorten ? body.size / 2 : body.size);
    fx_free(&body);
}

static void *serve(void *arg)
{
    fx_server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        if (atomic_load(&s->stop)) {
            close(c);
            break;
        }
        atomic_fetch_add(&s->requests, 1);
        struct timeval tv = {5, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        handle(s, c);
        /* close gracefully: no reset while the client still reads */
        shutdown(c, SHUT_WR);
        char drain[512];
        while (recv(c, drain, sizeof drain, 0) > 0) {
        }
        close(c);
    }
    return NULL;
}

int fx_server_start(fx_server *s, const char *root)
{
    memset(s, 0, sizeof *s);
    snprintf(s->root, sizeof s->root, "%s", root);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0)
        return -1;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(s->fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&addr, &len) != 0) {
        close(s->fd);
        return -1;
    }
    s->port = ntohs(addr.sin_port);
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        close(s->fd);
        return -1;
    }
    return 0;
}

void fx_server_stop(fx_server *s)
{
    atomic_store(&s->stop, 1);
    /* wake the accept */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)s->port);
    if (c >= 0) {
        connect(c, (struct sockaddr *)&addr, sizeof addr);
        close(c);
    }
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/* A port nothing listens on: bound, then closed. */
int fx_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = 1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}
