/* Downloading a CIFAR archive (a small one written by this test, served by
 * the local HTTP server, its MD5 put into a copy of the set's row): into a
 * folder that does not exist yet, then read; nothing else left there; a
 * second load fetches nothing; a corrupt first mirror falls back to the
 * second; a corrupt only mirror, or an archive over the size cap, leaves
 * nothing behind; downloading disabled fetches nothing; rt_data_load
 * checks the published MD5. Skipped without libcurl or libarchive. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cifar_fixtures.h"
#include "http_server.h"
#include "resnet/datasets.h"
#include "test_support.h"

#if defined(RT_HAVE_CURL) && defined(RT_HAVE_ARCHIVE)

static char tmp[4096];
static fx_server srv;

typedef struct notices {
    int n;
    char lines[16][RT_ERROR_MESSAGE_MAX];
} notices;

static void on_notice(void *ctx, const char *message)
{
    notices *ns = ctx;
    if (ns->n < 16)
        snprintf(ns->lines[ns->n], sizeof ns->lines[0], "%s", message);
    ns->n++;
}

static int noticed(const notices *ns, const char *a)
{
    for (int i = 0; i < ns->n && i < 16; i++)
        if (strstr(ns->lines[i], a))
            return 1;
    return 0;
}

/* The names in a folder, space-separated; -1 when it cannot be read. */
static int entries(const char *dir, char *list, size_t size)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    size_t used = 0;
    list[0] = '\0';
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        if (used < size)
            used += (size_t)snprintf(list + used, size - used, "%s ", e->d_name);
    }
    closedir(d);
    return n;
}

static rt_status load(const rt_cifar_set *set, const char *dir, const char *const *mirrors,
                      int download, notices *ns, rt_dataset *train, rt_dataset *test,
                      rt_error *err)
{
    rt_data_options o = {0};
    o.dir = dir;
    o.download = download;
    o.mirrors = mirrors;
    o.notice = on_notice;
    o.notice_ctx = ns;
    memset(ns, 0, sizeof *ns);
    return rt_cifar_load(set, &o, train, test, err);
}

int main(void)
{
    CHECK(rt_test_tempdir(tmp, sizeof tmp) == 0);
    rt_cifar_set set = fx_cifar_small(0, 3, 2);
    fx_buf archive = fx_cifar_archive(&set);
    CHECK(archive.data != NULL);
    char md5[33], bad_md5[33];
    rt_md5_hex(archive.data, archive.size, md5);
    set.archive_md5 = md5;

    char www[4096], good_dir[4096], bad_dir[4096], path[4096];
    fx_pathf(www, sizeof www, "%s/www", tmp);
    fx_pathf(good_dir, sizeof good_dir, "%s/good", www);
    fx_pathf(bad_dir, sizeof bad_dir, "%s/bad", www);
    CHECK(mkdir(www, 0777) == 0 && mkdir(good_dir, 0777) == 0 && mkdir(bad_dir, 0777) == 0);
    CHECK(fx_write(good_dir, set.archive, archive.data, archive.size, path) == 0);
    archive.data[archive.size / 2] ^= 0x10;
    rt_md5_hex(archive.data, archive.size, bad_md5);
    CHECK(fx_write(bad_dir, set.archive, archive.data, archive.size, path) == 0);
    fx_free(&archive);

    if (fx_server_start(&srv, www) != 0) {
        CHECKF(0, "cannot start the HTTP server");
        fx_remove_tree(tmp);
        return rt_test_finish("test_cifar_download");
    }
    char good[160], bad[160];
    fx_pathf(good, sizeof good, "http://127.0.0.1:%d/good/", srv.port);
    fx_pathf(bad, sizeof bad, "http://127.0.0.1:%d/bad/", srv.port);
    const char *good_only[] = {good, NULL}, *bad_only[] = {bad, NULL},
               *bad_good[] = {bad, good, NULL};
    rt_dataset train, test;
    rt_error err;
    rt_status st;
    notices ns;
    char dir[4096], list[1024], expect[4200];

    /* into a folder that does not exist yet; then read from memory */
    fx_pathf(dir, sizeof dir, "%s/fresh/data", tmp);
    st = load(&set, dir, good_only, 1, &ns, &train, &test, &err);
    CHECKF(st == RT_OK, "download: %s", err.message);
    if (st == RT_OK)
        fx_cifar_check_sets("downloaded", &set, 0, &train, &test);
    rt_dataset_free(&train);
    rt_dataset_free(&test);
    CHECKF(entries(dir, list, sizeof list) == 1 && !strcmp(list, "cifar-10-binary.tar.gz "),
           "after the download the folder holds: %s", list);
    fx_pathf(expect, sizeof expect, "downloading %scifar-10-binary.tar.gz", good);
    CHECKF(noticed(&ns, expect), "no notice \"%s\"", expect);
    fx_pathf(expect, sizeof expect, "saved %s/cifar-10-binary.tar.gz", dir);
    CHECKF(noticed(&ns, expect) && noticed(&ns, "MD5 ok"), "no notice \"%s\"", expect);

    /* a second load reads the archive there: no request */
    int before = atomic_load(&srv.requests);
    st = load(&set, dir, good_only, 1, &ns, &train, &test, &err);
    CHECKF(st == RT_OK && ns.n == 0, "second load: %s (%d notices)", err.message, ns.n);
    CHECKF(atomic_load(&srv.requests) == before, "the second load fetched");
    rt_dataset_free(&train);
    rt_dataset_free(&test);

    /* a corrupt first mirror, a good second one */
    fx_pathf(dir, sizeof dir, "%s/fallback", tmp);
    st = load(&set, dir, bad_good, 1, &ns, &train, &test, &err);
    CHECKF(st == RT_OK, "fallback: %s", err.message);
    CHECK(noticed(&ns, "MD5 mismatch") && noticed(&ns, "trying the next mirror"));
    rt_dataset_free(&train);
    rt_dataset_free(&test);

    /* a corrupt only mirror: nothing left behind */
    fx_pathf(dir, sizeof dir, "%s/corrupt", tmp);
    st = load(&set, dir, bad_only, 1, &ns, &train, &test, &err);
    fx_check_error("corrupt", st, &err, RT_ERR_NETWORK, bad, "cifar-10-binary.tar.gz",
                   "MD5 mismatch", md5, bad_md5, "every mirror", NULL);
    CHECKF(entries(dir, list, sizeof list) == 0, "after a corrupt download: %s", list);
    CHECK(!train.images && !test.images);

    /* over the size cap: refused, nothing left behind */
    rt_cifar_set capped = set;
    capped.archive_max_bytes = 100;
    fx_pathf(dir, sizeof dir, "%s/capped", tmp);
    st = load(&capped, dir, good_only, 1, &ns, &train, &test, &err);
    fx_check_error("over the cap", st, &err, RT_ERR_NETWORK, good, "larger than 100 bytes",
                   NULL);
    CHECKF(entries(dir, list, sizeof list) == 0, "after a refused download: %s", list);

    /* downloading disabled: nothing fetched, nothing created */
    fx_pathf(dir, sizeof dir, "%s/disabled", tmp);
    before = atomic_load(&srv.requests);
    st = load(&set, dir, good_only, 0, &ns, &train, &test, &err);
    fx_check_error("disabled", st, &err, RT_ERR_IO, dir, "CIFAR-10 not found", "--no-download",
                   NULL);
    CHECK(atomic_load(&srv.requests) == before);
    struct stat sb;
    CHECK(stat(dir, &sb) != 0);

    /* rt_data_load downloads with the published MD5 */
    fx_pathf(dir, sizeof dir, "%s/published", tmp);
    rt_data_options o = {0};
    o.dataset = "cifar10";
    o.dir = dir;
    o.download = 1;
    o.mirrors = good_only;
    st = rt_data_load(&o, &train, &test, &err);
    fx_check_error("published MD5", st, &err, RT_ERR_NETWORK, good,
                   "expected c32a1d4ab5d03f1284b67883e8d87530", md5, NULL);
    CHECKF(entries(dir, list, sizeof list) == 0, "after a wrong file: %s", list);

    fx_server_stop(&srv);
    fx_remove_tree(tmp);
    return rt_test_finish("test_cifar_download");
}

#else

int main(void)
{
    return rt_test_skip("built without libcurl or libarchive");
}

#endif
