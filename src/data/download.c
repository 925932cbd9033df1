/* Downloading one file with libcurl into a temporary file beside its
 * destination, checking its MD5 as it arrives, then renaming it into
 * place; on any failure the temporary file is removed and nothing is left
 * at the destination. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_util.h"
#include "md5.h"
#include "resnet/data.h"

#ifdef RT_HAVE_CURL
#include <curl/curl.h>
#endif

static int is_md5_hex(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return n == 32;
}

/* base_url + name, with one '/' between them; malloc'd, NULL when out of memory. */
static char *join_url(const char *base_url, const char *name)
{
    size_t nb = strlen(base_url), nn = strlen(name);
    int slash = nb > 0 && base_url[nb - 1] != '/';
    char *url = malloc(nb + nn + 2);
    if (url)
        snprintf(url, nb + nn + 2, "%s%s%s", base_url, slash ? "/" : "", name);
    return url;
}

#ifdef RT_HAVE_CURL

static int same_md5(const char *a, const char *b)
{
    for (int i = 0; i < 32; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'F')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'F')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

typedef struct sink {
    int fd;
    rt_md5 md5;
    uint64_t bytes;
    uint64_t max_bytes; /* the largest download accepted */
    int too_big;
    int write_errno;
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    sink *s = userdata;
    size_t n = size * nmemb; /* size is always 1 */
    if (n > s->max_bytes - s->bytes) {
        s->too_big = 1;
        return 0; /* anything other than n makes curl stop with an error */
    }
    for (size_t done = 0; done < n;) {
        ssize_t k = write(s->fd, ptr + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            s->write_errno = k < 0 ? errno : EIO;
            return 0;
        }
        done += (size_t)k;
    }
    rt_md5_update(&s->md5, ptr, n);
    s->bytes += n;
    return n;
}

/* Flushes the folder holding path, so the rename survives a crash; best effort. */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

static rt_status fetch(CURL *curl, const char *url, const char *md5_hex, const char *tmp,
                       sink *s, rt_error *err)
{
    char errbuf[CURL_ERROR_SIZE];
    errbuf[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, (void *)s);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L); /* HTTP status >= 400 fails */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* bytes/s ... */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);    /* ... over a minute */
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max_bytes);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "resnet-train");

    CURLcode rc = curl_easy_perform(curl);
    if (s->write_errno)
        return rt_error_set(err, RT_ERR_IO, "%s: write failed while downloading %s: %s", tmp,
                            url, strerror(s->write_errno));
    if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return s->max_bytes >= ((uint64_t)1 << 20)
                   ? rt_error_set(err, RT_ERR_NETWORK,
                                  "%s: download refused: larger than %llu MiB, not the expected "
                                  "file",
                                  url, (unsigned long long)(s->max_bytes >> 20))
                   : rt_error_set(err, RT_ERR_NETWORK,
                                  "%s: download refused: larger than %llu bytes, not the "
                                  "expected file",
                                  url, (unsigned long long)s->max_bytes);
    if (rc != CURLE_OK)
        return rt_error_set(err, RT_ERR_NETWORK, "%s: download failed: %s", url,
                            errbuf[0] ? errbuf : curl_easy_strerror(rc));
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code >= 300)
        return rt_error_set(err, RT_ERR_NETWORK, "%s: download failed: HTTP status %ld", url,
                            code);
    uint8_t digest[16];
    char got[33];
    rt_md5_final(&s->md5, digest);
    rt_md5_digest_hex(digest, got);
    if (md5_hex && !same_md5(md5_hex, got))
        return rt_error_set(err, RT_ERR_NETWORK,
                            "%s: MD5 mismatch: expected %s, got %s (%llu bytes): the download "
                            "is corrupt or not the published file; it was deleted",
                            url, md5_hex, got, (unsigned long long)s->bytes);
    return RT_OK;
}

#endif /* RT_HAVE_CURL */

rt_status rt_download_verified(const char *base_url, const char *name, const char *md5_hex,
                               const char *path, rt_error *err)
{
    return rt_download_verified_max(base_url, name, md5_hex, path, RT_DOWNLOAD_DEFAULT_MAX, err);
}

rt_status rt_download_verified_max(const char *base_url, const char *name, const char *md5_hex,
                                   const char *path, uint64_t max_bytes, rt_error *err)
{
    if (!base_url || !name || !path)
        return rt_error_set(err, RT_ERR_USAGE, "rt_download_verified: missing argument");
    if (md5_hex && !is_md5_hex(md5_hex))
        return rt_error_set(err, RT_ERR_USAGE,
                            "rt_download_verified: \"%s\" is not an MD5 sum (32 hex digits)",
                            md5_hex);
    char *url = join_url(base_url, name);
    if (!url)
        return rt_error_set(err, RT_ERR_NOMEM, "out of memory");
#ifndef RT_HAVE_CURL
    (void)max_bytes;
    rt_status st = rt_error_set(err, RT_ERR_NETWORK,
                                "%s: cannot download: built without libcurl", url);
    free(url);
    return st;
#else
    rt_status st = RT_OK;
    size_t tmp_size = strlen(path) + sizeof ".part-XXXXXX";
    char *tmp = malloc(tmp_size);
    CURL *curl = NULL;
    int global = 0;
    sink s = {.fd = -1, .max_bytes = max_bytes};
    if (!tmp) {
        st = rt_error_set(err, RT_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(tmp, tmp_size, "%s.part-XXXXXX", path);
    s.fd = mkstemp(tmp);
    if (s.fd < 0) {
        st = rt_error_set(err, RT_ERR_IO, "%s: cannot create a temporary file for %s: %s", path,
                          url, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto done;
    }
    fchmod(s.fd, 0644); /* mkstemp makes it 0600; a data file can be readable */
    rt_md5_init(&s.md5);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        st = rt_error_set(err, RT_ERR_NETWORK, "%s: cannot start libcurl", url);
        goto done;
    }
    global = 1;
    curl = curl_easy_init();
    if (!curl) {
        st = rt_error_set(err, RT_ERR_NETWORK, "%s: cannot start a libcurl session", url);
        goto done;
    }
    if ((st = fetch(curl, url, md5_hex, tmp, &s, err)) != RT_OK)
        goto done;
    if (fsync(s.fd) != 0) {
        st = rt_error_set(err, RT_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
        goto done;
    }
    int fd = s.fd;
    s.fd = -1;
    if (close(fd) != 0) {
        st = rt_error_set(err, RT_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        st = rt_error_set(err, RT_ERR_IO, "cannot rename %s to %s: %s", tmp, path,
                          strerror(errno));
        goto done;
    }
    sync_parent(path);
done:
    if (s.fd >= 0)
        close(s.fd);
    if (tmp && st != RT_OK)
        unlink(tmp);
    if (curl)
        curl_easy_cleanup(curl);
    if (global)
        curl_global_cleanup();
    free(tmp);
    free(url);
    return st;
#endif
}
