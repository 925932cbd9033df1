/* The downloader against a tiny HTTP/1.0 server run by this test on
 * 127.0.0.1 (an ephemeral port, a thread serving files from a temporary
 * folder): MNIST downloaded into an empty folder, a corrupted mirror
 * rejected with nothing left behind, a failing first mirror falling back to
 * the second, truncated transfers, redirects, refused connections, and the
 * "not found" error when downloading is disabled. Needs the real MNIST .gz
 * files ($RESNET_TRAIN_DATA) to serve; skipped without them or without
 * libcurl. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "fixtures.h"
#include "http_server.h"
#include "resnet/data.h"
#include "test_support.h"

#ifdef RT_HAVE_CURL

static char tmp[4096];
static fx_server srv;

/* ---- helpers ------------------------------------------------------------- */

typedef struct notices {
    int n;
    char lines[32][RT_ERROR_MESSAGE_MAX];
} notices;

static void on_notice(void *ctx, const char *message)
{
    notices *ns = ctx;
    if (ns->n < 32)
        snprintf(ns->lines[ns->n], sizeof ns->lines[0], "%s", message);
    ns->n++;
}

static int noticed(const notices *ns, const char *a, const char *b)
{
    for (int i = 0; i < ns->n && i < 32; i++)
        if (strstr(ns->lines[i], a) && (!b || strstr(ns->lines[i], b)))
            return 1;
    return 0;
}

static void print_notices(const notices *ns)
{
    for (int i = 0; i < ns->n && i < 32; i++)
        fprintf(stderr, "  notice: %s\n", ns->lines[i]);
}

/* Number of entries in a folder (-1 if it cannot be read); names them in list. */
static int count_entries(const char *dir, char *list, size_t size)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    size_t used = 0;
    list[0] = '\0';
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (used < size)
            used += (size_t)snprintf(list + used, size - used, "%s ", e->d_name);
    }
    closedir(d);
    return n;
}

static void check_empty(const char *what, const char *dir)
{
    char list[2048];
    int n = count_entries(dir, list, sizeof list);
    CHECKF(n <= 0, "%s: %s is not empty: %s", what, dir, list);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void fresh_dir(char *out, const char *name)
{
    fx_pathf(out, 4096, "%s/%s", tmp, name);
    mkdir(out, 0777);
}

static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
static const char *const gz_md5[4] = {
    "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
    "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"};
static const long gz_size[4] = {9912422, 28881, 1648877, 4542};

/* Checks a folder holds exactly the four .gz files with the published sums. */
static void check_downloaded(const char *raw)
{
    char list[2048];
    int n = count_entries(raw, list, sizeof list);
    CHECKF(n == 4, "%s holds %d entries, expected the 4 .gz files: %s", raw, n, list);
    for (int i = 0; i < 4; i++) {
        char path[4096], md5[33];
        fx_pathf(path, sizeof path, "%s/%s.gz", raw, names[i]);
        fx_buf b = fx_read(path);
        CHECKF(b.data != NULL, "%s missing", path);
        if (!b.data)
            continue;
        rt_md5_hex(b.data, b.size, md5);
        CHECKF(strcmp(md5, gz_md5[i]) == 0, "%s: MD5 %s, expected %s", path, md5, gz_md5[i]);
        fx_free(&b);
    }
}

static void check_sets(const char *what, rt_dataset *train, rt_dataset *test)
{
    static const uint8_t train_first[4] = {5, 0, 4, 1}, test_first[4] = {7, 2, 1, 0};
    CHECKF(train->count == 60000 && test->count == 10000, "%s: counts %d and %d", what,
           (int)train->count, (int)test->count);
    if (train->labels && test->labels)
        CHECKF(memcmp(train->labels, train_first, 4) == 0 &&
                   memcmp(test->labels, test_first, 4) == 0,
               "%s: first labels differ", what);
    rt_dataset_free(train);
    rt_dataset_free(test);
}

/* ---- the tests ----------------------------------------------------------- */

/* rt_download_verified on its own, with the small test-label file */
static void direct_cases(const char *base, const char *good, const char *bad_md5)
{
    char dir[4096], dest[4096], url[4096];
    rt_error err;
    rt_status st;
    const char *name = "t10k-labels-idx1-ubyte.gz";
    const char *md5 = gz_md5[3];

    fresh_dir(dir, "direct");
    fx_pathf(dest, sizeof dest, "%s/%s", dir, name);

    /* a good download lands at dest, intact, with no temporary file left */
    st = rt_download_verified(good, name, md5, dest, &err);
    CHECKF(st == RT_OK, "good download: %s", err.message);
    fx_buf b = fx_read(dest);
    char got[33] = "";
    if (b.data)
        rt_md5_hex(b.data, b.size, got);
    CHECKF(b.size == (size_t)gz_size[3] && strcmp(got, md5) == 0, "downloaded %zu bytes, MD5 %s",
           b.size, got);
    fx_free(&b);
    char list[2048];
    CHECKF(count_entries(dir, list, sizeof list) == 1, "after download: %s", list);
    unlink(dest);

    /* a base URL without the trailing slash, and upper-case sums, work too */
    char noslash[4096], upper[33];
    fx_pathf(noslash, sizeof noslash, "%.*s", (int)strlen(good) - 1, good);
    for (int i = 0; i < 33; i++)
        upper[i] = (char)(md5[i] >= 'a' && md5[i] <= 'f' ? md5[i] - 'a' + 'A' : md5[i]);
    st = rt_download_verified(noslash, name, upper, dest, &err);
    CHECKF(st == RT_OK, "no slash: %s", err.message);
    unlink(dest);

    /* a redirect is followed */
    fx_pathf(url, sizeof url, "%s/redirect/", base);
    st = rt_download_verified(url, name, md5, dest, &err);
    CHECKF(st == RT_OK, "redirect: %s", err.message);
    CHECK(exists(dest));
    unlink(dest);

    /* a corrupted file: MD5 mismatch, expected and actual shown, nothing left */
    fx_pathf(url, sizeof url, "%s/bad/", base);
    st = rt_download_verified(url, name, md5, dest, &err);
    fx_check_error("corrupt", st, &err, RT_ERR_NETWORK, url, "MD5 mismatch", md5, bad_md5, name,
                   NULL);
    CHECK(!exists(dest));
    check_empty("after a corrupt download", dir);

    /* 404 */
    fx_pathf(url, sizeof url, "%s/missing/", base);
    st = rt_download_verified(url, name, md5, dest, &err);
    fx_check_error("404", st, &err, RT_ERR_NETWORK, url, "404", NULL);
    CHECK(!exists(dest));
    check_empty("after a 404", dir);

    /* the connection drops halfway */
    fx_pathf(url, sizeof url, "%s/short/", base);
    st = rt_download_verified(url, name, md5, dest, &err);
    fx_check_error("short", st, &err, RT_ERR_NETWORK, url, "download failed", NULL);
    CHECK(!exists(dest));
    check_empty("after a cut transfer", dir);

    /* nobody listening */
    fx_pathf(url, sizeof url, "http://127.0.0.1:%d/mnist/", fx_closed_port());
    st = rt_download_verified(url, name, md5, dest, &err);
    fx_check_error("refused", st, &err, RT_ERR_NETWORK, url, "onnect", NULL);
    check_empty("after a refused connection", dir);

    /* the destination folder does not exist */
    char nowhere[4096];
    fx_pathf(nowhere, sizeof nowhere, "%s/no-such-folder/%s", tmp, name);
    st = rt_download_verified(good, name, md5, nowhere, &err);
    fx_check_error("no folder", st, &err, RT_ERR_IO, nowhere, "temporary file", NULL);

    /* a malformed sum is refused before anything is fetched */
    st = rt_download_verified(good, name, "not-a-sum", dest, &err);
    fx_check_error("bad sum", st, &err, RT_ERR_USAGE, "not-a-sum", NULL);
    /* only http and https */
    st = rt_download_verified("file:///etc/", "hostname", NULL, dest, &err);
    fx_check_error("file URL", st, &err, RT_ERR_NETWORK, "file:///etc/hostname", NULL);
    CHECK(!exists(dest));
}

static void mnist_cases(const char *base, const char *good, const char *bad_md5)
{
    char dir[4096], raw[4096], bad[4096], missing[4096], refused[4096];
    fx_pathf(bad, sizeof bad, "%s/bad/", base);
    fx_pathf(missing, sizeof missing, "%s/missing/", base);
    fx_pathf(refused, sizeof refused, "http://127.0.0.1:%d/", fx_closed_port());
    rt_dataset train, test;
    rt_error err;
    rt_status st;
    notices ns;

    /* (a) an empty folder: all four downloaded into dir/MNIST/raw, then loaded */
    {
        const char *mirrors[] = {good, NULL};
        fresh_dir(dir, "fresh");
        fx_pathf(raw, sizeof raw, "%s/MNIST/raw", dir);
        memset(&ns, 0, sizeof ns);
        rt_mnist_options opts = {dir, 1, mirrors, on_notice, &ns};
        st = rt_mnist_load(&opts, &train, &test, &err);
        CHECKF(st == RT_OK, "download into an empty folder: %s", err.message);
        check_downloaded(raw);
        if (st == RT_OK)
            check_sets("downloaded", &train, &test);
        for (int i = 0; i < 4; i++) {
            char url[4096], saved[4096], bytes[64];
            fx_pathf(url, sizeof url, "downloading %s%s.gz", good, names[i]);
            fx_pathf(saved, sizeof saved, "saved %s/%s.gz", raw, names[i]);
            fx_pathf(bytes, sizeof bytes, "(%ld bytes, MD5 ok)", gz_size[i]);
            CHECKF(noticed(&ns, url, NULL), "no notice \"%s\"", url);
            CHECKF(noticed(&ns, saved, bytes), "no notice \"%s %s\"", saved, bytes);
        }
        CHECKF(ns.n == 8, "%d notices, expected 8", ns.n);
        if (ns.n != 8)
            print_notices(&ns);
        /* a second load finds them and downloads nothing */
        memset(&ns, 0, sizeof ns);
        st = rt_mnist_load(&opts, &train, &test, &err);
        CHECKF(st == RT_OK, "second load: %s", err.message);
        CHECKF(ns.n == 0, "second load gave %d notices", ns.n);
        if (st == RT_OK)
            check_sets("second load", &train, &test);
    }

    /* (b) a mirror serving a corrupted file: rejected, nothing left behind */
    {
        const char *mirrors[] = {bad, NULL};
        fresh_dir(dir, "corrupt");
        fx_pathf(raw, sizeof raw, "%s/MNIST/raw", dir);
        memset(&ns, 0, sizeof ns);
        rt_mnist_options opts = {dir, 1, mirrors, on_notice, &ns};
        st = rt_mnist_load(&opts, &train, &test, &err);
        fx_check_error("corrupt mirror", st, &err, RT_ERR_NETWORK, bad, "MD5 mismatch",
                       "expected f68b3c2dcbeaaa9fbdd348bbdeb94873", bad_md5,
                       "train-images-idx3-ubyte.gz", NULL);
        check_empty("after the corrupt mirror", raw);
        CHECK(train.images == NULL && test.images == NULL);
    }

    /* (b') a corrupted first mirror, a good second one: the second is used */
    {
        const char *mirrors[] = {bad, good, NULL};
        fresh_dir(dir, "corrupt-then-good");
        fx_pathf(raw, sizeof raw, "%s/MNIST/raw", dir);
        memset(&ns, 0, sizeof ns);
        rt_mnist_options opts = {dir, 1, mirrors, on_notice, &ns};
        st = rt_mnist_load(&opts, &train, &test, &err);
        CHECKF(st == RT_OK, "corrupt then good: %s", err.message);
        CHECK(noticed(&ns, "MD5 mismatch", "trying the next mirror"));
        check_downloaded(raw);
        if (st == RT_OK)
            check_sets("corrupt then good", &train, &test);
    }

    /* (c) a first mirror answering 404 falls back to the second */
    {
        const char *mirrors[] = {missing, good, NULL};
        fresh_dir(dir, "fallback");
        fx_pathf(raw, sizeof raw, "%s/MNIST/raw", dir);
        memset(&ns, 0, sizeof ns);
        rt_mnist_options opts = {dir, 1, mirrors, on_notice, &ns};
        st = rt_mnist_load(&opts, &train, &test, &err);
        CHECKF(st == RT_OK, "404 then good: %s", err.message);
        char url[4096];
        fx_pathf(url, sizeof url, "downloading %strain-images-idx3-ubyte.gz", missing);
        CHECKF(noticed(&ns, url, NULL), "no notice \"%s\"", url);
        CHECK(noticed(&ns, "404", "trying the next mirror"));
        fx_pathf(url, sizeof url, "downloading %strain-images-idx3-ubyte.gz", good);
        CHECKF(noticed(&ns, url, NULL), "no notice \"%s\"", url);
        check_downloaded(raw);
        if (st == RT_OK)
            check_sets("404 then good", &train, &test);
        else
            print_notices(&ns);
    }

    /* every mirror fails: each is named */
    {
        const char *mirrors[] = {missing, refused, NULL};
        fresh_dir(dir, "all-fail");
        fx_pathf(raw, sizeof raw, "%s/MNIST/raw", dir);
        rt_mnist_options opts = {dir, 1, mirrors, NULL, NULL};
        st = rt_mnist_load(&opts, &train, &test, &err);
        fx_check_error("all mirrors fail", st, &err, RT_ERR_NETWORK, missing, refused, "404",
                       "every mirror", NULL);
        check_empty("after failing mirrors", raw);
    }

    /* (d) downloading disabled: the "not found" error, nothing fetched */
    {
        const char *mirrors[] = {good, NULL};
        fresh_dir(dir, "disabled");
        int before = atomic_load(&srv.requests);
        rt_mnist_options opts = {dir, 0, mirrors, NULL, NULL};
        st = rt_mnist_load(&opts, &train, &test, &err);
        fx_check_error("download disabled", st, &err, RT_ERR_IO, dir, "train-images-idx3-ubyte",
                       "not found", "MNIST/raw", "--no-download", "--data", NULL);
        check_empty("download disabled", dir);
        CHECKF(atomic_load(&srv.requests) == before, "download disabled, yet it fetched");
    }
}

#endif /* RT_HAVE_CURL */

int main(void)
{
#ifndef RT_HAVE_CURL
    rt_error err;
    rt_status st = rt_download_verified("http://127.0.0.1:1/", "x.gz", NULL, "/nonexistent/x",
                                        &err);
    CHECKF(st == RT_ERR_NETWORK && strstr(err.message, "built without libcurl"),
           "without libcurl: %s", err.message);
    if (rt_test_failures)
        return rt_test_finish("test_download");
    return rt_test_skip("built without libcurl");
#else
    const char *data = rt_test_mnist_dir();
    if (!data)
        return rt_test_skip("RESNET_TRAIN_DATA is not set (the files to serve)");
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);

    /* www/good: the real files; www/bad: corrupted copies; www/missing: nothing */
    char www[4096], good_dir[4096], bad_dir[4096], missing_dir[4096];
    fresh_dir(www, "www");
    fx_pathf(good_dir, sizeof good_dir, "%s/good", www);
    fx_pathf(bad_dir, sizeof bad_dir, "%s/bad", www);
    fx_pathf(missing_dir, sizeof missing_dir, "%s/missing", www);
    mkdir(good_dir, 0777);
    mkdir(bad_dir, 0777);
    mkdir(missing_dir, 0777);
    char bad_md5[2][33]; /* of the corrupted train images and test labels */
    for (int i = 0; i < 4; i++) {
        char src[4096], path[4096];
        fx_pathf(src, sizeof src, "%s/%s.gz", data, names[i]);
        fx_buf b = fx_read(src);
        CHECKF(b.data && b.size == (size_t)gz_size[i], "cannot read %s", src);
        if (!b.data) {
            fx_remove_tree(tmp);
            return rt_test_finish("test_download");
        }
        fx_pathf(path, sizeof path, "%s.gz", names[i]);
        CHECK(fx_write(good_dir, path, b.data, b.size, src) == 0);
        if (i == 0 || i == 3) {
            b.data[b.size / 2] ^= 0x40; /* one flipped bit */
            CHECK(fx_write(bad_dir, path, b.data, b.size, src) == 0);
            rt_md5_hex(b.data, b.size, bad_md5[i == 0 ? 0 : 1]);
        }
        fx_free(&b);
    }

    if (fx_server_start(&srv, www) != 0) {
        CHECKF(0, "cannot start the HTTP server: %s", strerror(errno));
        fx_remove_tree(tmp);
        return rt_test_finish("test_download");
    }
    char base[128], good[160];
    fx_pathf(base, sizeof base, "http://127.0.0.1:%d", srv.port);
    fx_pathf(good, sizeof good, "%s/good/", base);

    direct_cases(base, good, bad_md5[1]);
    mnist_cases(base, good, bad_md5[0]);

    CHECKF(atomic_load(&srv.requests) > 0, "the server saw no request");
    fx_server_stop(&srv);
    fx_remove_tree(tmp);
    return rt_test_finish("test_download");
#endif
}
