/* Adam moments of checkpoints: base64 in the metadata, or a file beside. */
#include "checkpoint_moments.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base64.h"
#include "io_util.h"
#include "resnet/safetensors.h"

/* Moments of up to this many bytes of base64 (both together) go inline:
 * 64 MiB, well inside the 100 MB header PyTorch's safetensors accepts. */
#define INLINE_MAX ((size_t)64 << 20)

static size_t packed_bytes(const rt_network *net)
{
    return rt_network_parameter_count(net) * 4;
}

int ck_moments_inline(const rt_network *net)
{
    return 2 * rt_base64_encoded_size(packed_bytes(net)) <= INLINE_MAX;
}

unsigned char *ck_pack_params(const rt_network *net, const float *flat, size_t *bytes)
{
    size_t n = packed_bytes(net);
    unsigned char *out = malloc(n ? n : 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (int t = 0; t < rt_network_tensor_count(net); t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        if (p->role != RT_TENSOR_PARAMETER)
            continue;
        for (size_t i = 0; i < p->count; i++, o += 4)
            rt_io_store_le_f32(out + o, flat[p->offset + i]);
    }
    *bytes = n;
    return out;
}

static void unpack_params(const rt_network *net, const unsigned char *packed, float *flat)
{
    size_t o = 0;
    for (int t = 0; t < rt_network_tensor_count(net); t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        if (p->role != RT_TENSOR_PARAMETER)
            continue;
        for (size_t i = 0; i < p->count; i++, o += 4)
            flat[p->offset + i] = rt_io_load_le_f32(packed + o);
    }
}

static const char *nonfinite_name(float v)
{
    if (isnan(v))
        return "NaN";
    return v > 0 ? "+Inf" : "-Inf";
}

rt_status ck_check_values(const char *path, const rt_network *net, rt_tensor_role role,
                          const float *flat, const char *what, int nonnegative, rt_error *err)
{
    for (int t = 0; t < rt_network_tensor_count(net); t++) {
        const rt_tensor_info *p = rt_network_tensor(net, t);
        if (p->role != role)
            continue;
        const float *x = flat + p->offset;
        int nonneg = nonnegative || (role == RT_TENSOR_BUFFER && strstr(p->name, "running_var"));
        for (size_t i = 0; i < p->count; i++) {
            if (!isfinite(x[i]))
                return rt_error_set(err, RT_ERR_NUMERIC, "%s: %s of tensor '%s' element %zu is %s",
                                    path, what, p->name, i, nonfinite_name(x[i]));
            if (nonneg && x[i] < 0.0f)
                return rt_error_set(err, RT_ERR_FORMAT,
                                    "%s: %s of tensor '%s' element %zu is negative (%g)", path,
                                    what, p->name, i, (double)x[i]);
        }
    }
    return RT_OK;
}

char *ck_encode_moment(const rt_network *net, const float *flat)
{
    size_t n;
    unsigned char *packed = ck_pack_params(net, flat, &n);
    if (!packed)
        return NULL;
    char *text = malloc(rt_base64_encoded_size(n) + 1);
    if (text)
        rt_base64_encode(packed, n, text);
    free(packed);
    return text;
}

rt_status ck_decode_moment(const char *path, const rt_network *net, const char *key,
                           const char *text, const char *what, int nonnegative, float *flat,
                           rt_error *err)
{
    size_t len = strlen(text);
    size_t expect = packed_bytes(net);
    size_t n = rt_base64_decoded_size(text, len);
    if (n == (size_t)-1)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: metadata %s is not base64 (its length %zu is not a multiple of 4)",
                            path, key, len);
    if (n != expect)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: metadata %s holds %zu bytes (%zu floats), expected %zu floats "
                            "(wrong length)",
                            path, key, n, n / 4, expect / 4);
    unsigned char *bytes = malloc(n ? n : 1);
    if (!bytes)
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", path);
    size_t badpos;
    if (rt_base64_decode(text, len, bytes, &badpos) != 0) {
        free(bytes);
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: metadata %s is not valid base64 (at character %zu)", path, key,
                            badpos);
    }
    unpack_params(net, bytes, flat);
    free(bytes);
    return ck_check_values(path, net, RT_TENSOR_PARAMETER, flat, what, nonnegative, err);
}

/* ---- the file beside -------------------------------------------------------- */

/* The folder part of path ("" for none) and its file name. */
static void split_path(const char *path, char *dir, size_t dir_size, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        dir[0] = '\0';
        *base = path;
        return;
    }
    size_t n = (size_t)(slash - path) + 1;
    snprintf(dir, dir_size, "%.*s", (int)n, path);
    *base = slash + 1;
}

rt_status ck_write_moments_file(const char *path, const rt_network *net, const float *m,
                                const float *v, int64_t steps, char *name, size_t name_size,
                                uint32_t *crc, rt_error *err)
{
    char dir[4096], file[4608];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    snprintf(name, name_size, "%s.adam-%" PRId64, base, steps);
    snprintf(file, sizeof file, "%s%s", dir, name);
    size_t n;
    unsigned char *pm = ck_pack_params(net, m, &n);
    unsigned char *pv = ck_pack_params(net, v, &n);
    int count = 0;
    for (int t = 0; t < rt_network_tensor_count(net); t++)
        count += rt_network_tensor(net, t)->role == RT_TENSOR_PARAMETER;
    rt_tensor_view *views = calloc((size_t)2 * count + 1, sizeof *views);
    char **names = calloc((size_t)2 * count + 1, sizeof *names);
    rt_status st = RT_OK;
    if (!pm || !pv || !views || !names)
        st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", file);
    size_t at = 0;
    int k = 0;
    for (int which = 0; which < 2 && st == RT_OK; which++) {
        at = 0;
        for (int t = 0; t < rt_network_tensor_count(net) && st == RT_OK; t++) {
            const rt_tensor_info *p = rt_network_tensor(net, t);
            if (p->role != RT_TENSOR_PARAMETER)
                continue;
            size_t len = strlen(p->name) + 16;
            names[k] = malloc(len);
            if (!names[k]) {
                st = rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", file);
                break;
            }
            snprintf(names[k], len, "%s.%s", which ? "exp_avg_sq" : "exp_avg", p->name);
            rt_tensor_view *tv = &views[k];
            tv->name = names[k];
            tv->dtype = RT_DTYPE_F32;
            tv->ndim = p->ndim;
            for (int d = 0; d < p->ndim; d++)
                tv->shape[d] = p->shape[d];
            tv->data = (which ? pv : pm) + at;
            tv->bytes = p->count * 4;
            at += tv->bytes;
            k++;
        }
    }
    if (st == RT_OK) {
        uLong c = crc32(0L, Z_NULL, 0);
        c = crc32_z(c, pm, n);
        c = crc32_z(c, pv, n);
        *crc = (uint32_t)c;
        const char *keys[1] = {"resnet_train.adam_moments"}, *values[1] = {"1"};
        st = rt_safetensors_write(file, views, k, keys, values, 1, err);
    }
    for (int i = 0; i < 2 * count; i++)
        free(names ? names[i] : NULL);
    free(names);
    free(views);
    free(pm);
    free(pv);
    return st;
}

rt_status ck_read_moments_file(const char *path, const char *name, uint32_t crc,
                               const rt_network *net, float *m, float *v, rt_error *err)
{
    char dir[4096], file[4608];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    snprintf(file, sizeof file, "%s%s", dir, name);
    rt_safetensors *f;
    rt_error ferr = {0};
    if (rt_safetensors_read(file, &f, &ferr) != RT_OK)
        return rt_error_set(err, ferr.status, "%s: its Adam moments: %s", path, ferr.message);
    int count = 0;
    rt_status st = RT_OK;
    for (int which = 0; which < 2 && st == RT_OK; which++)
        for (int t = 0; t < rt_network_tensor_count(net) && st == RT_OK; t++) {
            const rt_tensor_info *p = rt_network_tensor(net, t);
            if (p->role != RT_TENSOR_PARAMETER)
                continue;
            char want[512];
            snprintf(want, sizeof want, "%s.%s", which ? "exp_avg_sq" : "exp_avg", p->name);
            const rt_tensor_view *tv = rt_safetensors_find(f, want);
            int same = tv && tv->dtype == RT_DTYPE_F32 && tv->ndim == p->ndim;
            for (int d = 0; same && d < p->ndim; d++)
                same = tv->shape[d] == p->shape[d];
            if (!same) {
                st = rt_error_set(err, RT_ERR_FORMAT,
                                  "%s: tensor '%s' is %s (not the Adam moments of this "
                                  "checkpoint's network)",
                                  file, want, tv ? "of another dtype or shape" : "missing");
                break;
            }
            float *dst = (which ? v : m) + p->offset;
            for (size_t i = 0; i < p->count; i++)
                dst[i] = rt_io_load_le_f32((const unsigned char *)tv->data + 4 * i);
            count++;
        }
    if (st == RT_OK && rt_safetensors_count(f) != count)
        st = rt_error_set(err, RT_ERR_FORMAT,
                          "%s: holds %d tensors, the Adam moments of this network are %d", file,
                          rt_safetensors_count(f), count);
    rt_safetensors_free(f);
    if (st != RT_OK)
        return st;
    size_t n;
    unsigned char *pm = ck_pack_params(net, m, &n), *pv = ck_pack_params(net, v, &n);
    if (!pm || !pv) {
        free(pm), free(pv);
        return rt_error_set(err, RT_ERR_NOMEM, "%s: out of memory", file);
    }
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32_z(c, pm, n);
    c = crc32_z(c, pv, n);
    free(pm), free(pv);
    if ((uint32_t)c != crc)
        return rt_error_set(err, RT_ERR_FORMAT,
                            "%s: its CRC-32 is %08" PRIx32 ", %s expects %08" PRIx32
                            " (a moments file of another save?)",
                            file, (uint32_t)c, path, crc);
    st = ck_check_values(file, net, RT_TENSOR_PARAMETER, m, "exp_avg (Adam first moment)", 0, err);
    if (st == RT_OK)
        st = ck_check_values(file, net, RT_TENSOR_PARAMETER, v, "exp_avg_sq (Adam second moment)",
                             1, err);
    return st;
}

void ck_remove_stale_moments(const char *path, const char *keep)
{
    char dir[4096];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d)
        return;
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s.adam-", base);
    size_t plen = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *s = e->d_name;
        if (strncmp(s, prefix, plen) != 0 || !strcmp(s, keep))
            continue;
        int digits = s[plen] != '\0';
        for (const char *c = s + plen; *c; c++)
            digits &= *c >= '0' && *c <= '9';
        if (!digits)
            continue; /* not ours (our temporary files end in a random suffix) */
        char file[4608];
        snprintf(file, sizeof file, "%s%s", dir, s);
        unlink(file);
    }
    closedir(d);
}
