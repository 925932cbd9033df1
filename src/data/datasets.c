/* The named data sets: their shapes and normalisation, and loading one by
 * name through the IDX or the CIFAR loader. */
#include <ctype.h>
#include <string.h>

#include "cifar.h"
#include "data_util.h"
#include "idx_sets.h"
#include "resnet/datasets.h"

/* torchvision's CIFAR recipes normalise with these; the MNIST tutorial and
 * the other IDX sets use plain 0..1 scaling (mean 0, std 1). Each row loads
 * through an IDX set or a CIFAR set. */
typedef struct entry {
    rt_dataset_spec spec;
    const rt_idx_set *idx;
    const rt_cifar_set *cifar;
} entry;

static const entry table[] = {
    {{"mnist", 1, 28, 28, 10, 0, {0, 0, 0}, {1, 1, 1}}, &rt_idx_mnist, NULL},
    {{"fashion-mnist", 1, 28, 28, 10, 0, {0, 0, 0}, {1, 1, 1}}, &rt_idx_fashion_mnist, NULL},
    {{"kmnist", 1, 28, 28, 10, 0, {0, 0, 0}, {1, 1, 1}}, &rt_idx_kmnist, NULL},
    {{"cifar10", 3, 32, 32, 10, 1, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}},
     NULL, &rt_cifar10},
    {{"cifar100", 3, 32, 32, 100, 1, {0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}},
     NULL, &rt_cifar100},
};
#define NTABLE (sizeof table / sizeof table[0])

/* The same name, ignoring case, '-' and '_'. */
static int same_name(const char *a, const char *b)
{
    for (;;) {
        while (*a == '-' || *a == '_')
            a++;
        while (*b == '-' || *b == '_')
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        a++;
        b++;
    }
}

static const entry *find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < NTABLE; i++)
        if (same_name(name, table[i].spec.name))
            return &table[i];
    return NULL;
}

const rt_dataset_spec *rt_dataset_spec_find(const char *name)
{
    const entry *e = find(name);
    return e ? &e->spec : NULL;
}

const char *rt_dataset_names(void)
{
    return "mnist, fashion-mnist, kmnist, cifar10, cifar100";
}

rt_status rt_data_load(const rt_data_options *o, rt_dataset *train, rt_dataset *test,
                       rt_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!o)
        return rt_error_set(err, RT_ERR_USAGE, "rt_data_load: no options given");
    const char *name = o->dataset && *o->dataset ? o->dataset : "mnist";
    const entry *e = find(name);
    if (!e) {
        char shown[200];
        rt_data_printable(name, shown, sizeof shown);
        return rt_error_set(err, RT_ERR_USAGE, "unknown data set \"%s\" (known: %s)", shown,
                            rt_dataset_names());
    }
    if (o->coarse_labels && !(e->cifar && e->cifar->cifar100))
        return rt_error_set(err, RT_ERR_USAGE,
                            "coarse labels exist only for cifar100, not for %s", e->spec.name);
    if (e->cifar)
        return rt_cifar_load(e->cifar, o, train, test, err);
    rt_mnist_options mo;
    memset(&mo, 0, sizeof mo);
    mo.dir = o->dir;
    mo.download = o->download;
    mo.mirrors = o->mirrors;
    mo.notice = o->notice;
    mo.notice_ctx = o->notice_ctx;
    return rt_idx_set_load(e->idx, &mo, train, test, err);
}
