/* Planning a model's memory from its graph: the activation arena, the
 * gradient slots with their sharing, what each backward op does with each
 * input's gradient, and where the slots live. */
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t round64(size_t x) { return (x + 63) / 64 * 64; }

static int find_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void join(int *parent, int a, int b)
{
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a != b)
        parent[a] = b;
}

typedef struct consumers {
    int *count;  /* consumer entries per node (a node reading it twice counts twice) */
    int *last;   /* the latest consumer in execution order */
} consumers;

static int passes_through(const graph_node *n) { return n->op == OP_FLATTEN || n->op == OP_ADD; }

static int reads(const graph_node *n, int p)
{
    for (int j = 0; j < n->nin; j++)
        if (n->in[j] == p)
            return 1;
    return 0;
}

/* The seed's scheme for a join y = relu(a + x) where x is also read
 * elsewhere (the block's input): the mask goes straight into x's slot, and
 * a (read only by the join) shares that slot. Safe when a's producer reads
 * its gradient before any other reader of x adds to the slot, i.e. it runs
 * after all of them in the forward pass, and is itself no reader of x nor
 * a node passing the slot on. Returns the input index of x, or -1. */
static int mask_target(const rt_network *net, const consumers *k, const char *needs, int i)
{
    const graph_node *n = &net->nodes[i];
    if (n->op != OP_ADD || !n->relu || n->in[0] == n->in[1])
        return -1;
    for (int jx = 0; jx < 2; jx++) {
        int x = n->in[jx], a = n->in[1 - jx];
        if (x < 0 || a < 0 || !needs[x] || !needs[a])
            continue;
        if (k->count[x] < 2 || k->last[x] != i || k->count[a] != 1)
            continue;
        const graph_node *pa = &net->nodes[a];
        if (passes_through(pa) || reads(pa, x))
            continue;
        int ok = 1;
        for (int c = 0; c < net->node_count && ok; c++)
            if (c != i && reads(&net->nodes[c], x) && c > a)
                ok = 0;
        if (ok)
            return jx;
    }
    return -1;
}

typedef struct slot_span {
    int lo, hi;   /* backward time of its first write and last read */
    size_t size;  /* floats */
    size_t offset;
    int placed;
} slot_span;

/* Lowest offset for slot s clear of every placed slot alive at the same
 * time (first fit over the placed ones in offset order). */
static size_t fit(const slot_span *spans, const int *placed_order, int placed, int s)
{
    size_t offset = 0;
    for (;;) {
        int moved = 0;
        for (int q = 0; q < placed; q++) {
            const slot_span *o = &spans[placed_order[q]];
            if (o->hi < spans[s].lo || spans[s].hi < o->lo)
                continue; /* never alive together */
            if (offset < o->offset + o->size && o->offset < offset + spans[s].size) {
                offset = o->offset + o->size;
                moved = 1;
            }
        }
        if (!moved)
            return offset;
    }
}

static int cmp_size_desc(const void *a, const void *b, void *ctx);

static rt_status plan_gradients(const rt_network *net, int max_batch, model_plan *p,
                                rt_error *err)
{
    int n = net->node_count;
    char *needs = calloc((size_t)n, 1);
    int *parent = malloc((size_t)n * sizeof *parent);
    int *first_write = malloc((size_t)n * sizeof *first_write);
    int *contributions = calloc((size_t)n, sizeof *contributions);
    consumers k = {calloc((size_t)n, sizeof(int)), malloc((size_t)n * sizeof(int))};
    slot_span *spans = calloc((size_t)n, sizeof *spans);
    int *root_slot = malloc((size_t)n * sizeof *root_slot);
    int *order = malloc((size_t)n * sizeof *order);
    rt_status st = RT_OK;
    if (!needs || !parent || !first_write || !contributions || !k.count || !k.last || !spans ||
        !root_slot || !order) {
        st = rt_error_set(err, RT_ERR_NOMEM, "out of host memory planning the model");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const graph_node *g = &net->nodes[i];
        parent[i] = i;
        first_write[i] = i == net->output ? -1 : n;
        k.last[i] = -1;
        int has_tensors = g->t_weight >= 0 || g->t_bias >= 0;
        needs[i] = (char)has_tensors;
        for (int j = 0; j < g->nin; j++)
            if (g->in[j] >= 0) {
                needs[i] |= needs[g->in[j]];
                k.count[g->in[j]]++;
                k.last[g->in[j]] = i;
            }
        p->nodes[i].slot = -1;
        p->nodes[i].mask_into = -1;
        p->nodes[i].backward = needs[i];
    }
    /* sharing: the seed's mask scheme, then pass-throughs to a sole reader.
     * A join that relus in place (no mask scheme) rewrites its slot when
     * its backward runs; whoever shares that slot and reads it later must
     * want the masked values, so such a join shares its reader's slot only
     * when that reader is a flatten keeping its own (no siblings then).
     * Deciding from the last node back, a reader's own sharing is known. */
    char *joined_up = calloc((size_t)n, 1);
    if (!joined_up) {
        st = rt_error_set(err, RT_ERR_NOMEM, "out of host memory planning the model");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const graph_node *g = &net->nodes[i];
        int jx = needs[i] ? mask_target(net, &k, needs, i) : -1;
        if (jx >= 0) {
            p->nodes[i].mask_into = jx;
            join(parent, g->in[1 - jx], g->in[jx]);
            p->nodes[i].input[1 - jx] = GA_SHARED;
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        const graph_node *g = &net->nodes[i];
        node_plan *np = &p->nodes[i];
        if (!needs[i] || !passes_through(g) || np->mask_into >= 0)
            continue;
        for (int j = 0; j < g->nin; j++) {
            int in = g->in[j];
            if (in < 0 || !needs[in] || k.count[in] != 1)
                continue;
            const graph_node *gi = &net->nodes[in];
            int rewrites = gi->op == OP_ADD && gi->relu && p->nodes[in].mask_into < 0;
            if (rewrites && !(g->op == OP_FLATTEN && !joined_up[i]))
                continue;
            join(parent, in, i);
            np->input[j] = GA_SHARED;
            joined_up[in] = 1;
        }
    }
    free(joined_up);
    /* the order of contributions, in backward order */
    for (int i = n - 1; i >= 0; i--) {
        const graph_node *g = &net->nodes[i];
        node_plan *np = &p->nodes[i];
        if (!needs[i])
            continue;
        for (int j = 0; j < g->nin; j++) {
            int in = g->in[j];
            if (in < 0 || !needs[in]) {
                np->input[j] = GA_NONE;
                continue;
            }
            if (contributions[in]++ == 0)
                first_write[in] = n - 1 - i;
            if (np->input[j] != GA_SHARED)
                np->input[j] = contributions[in] == 1 ? GA_WRITE : GA_ACCUM;
            int through_scratch = np->input[j] == GA_ACCUM && g->op != OP_CONV &&
                                  !passes_through(g);
            size_t need = round64(net->nodes[in].size * (size_t)max_batch);
            if (through_scratch && need > p->temp_floats)
                p->temp_floats = need;
        }
    }
    /* slots: one per set of sharing nodes, alive from the first write to
     * the last read of any member */
    int slots = 0;
    for (int i = 0; i < n; i++)
        root_slot[i] = -1;
    for (int i = 0; i < n; i++) {
        if (!needs[i])
            continue;
        int r = find_root(parent, i);
        if (root_slot[r] < 0) {
            root_slot[r] = slots;
            spans[slots].lo = n;
            spans[slots].hi = -1;
            slots++;
        }
        slot_span *sp = &spans[root_slot[r]];
        p->nodes[i].slot = root_slot[r];
        if (first_write[i] < sp->lo)
            sp->lo = first_write[i];
        if (n - 1 - i > sp->hi)
            sp->hi = n - 1 - i;
        size_t size = round64(net->nodes[i].size * (size_t)max_batch);
        if (size > sp->size)
            sp->size = size;
    }
    for (int s = 0; s < slots; s++)
        order[s] = s;
    /* largest first, then by first use: a deterministic first fit */
    for (int a = 1; a < slots; a++)
        for (int b = a; b > 0 && cmp_size_desc(&order[b - 1], &order[b], spans) > 0; b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    int *placed_order = malloc(((size_t)slots + 1) * sizeof *placed_order);
    p->slot_offset = malloc(((size_t)slots + 1) * sizeof *p->slot_offset);
    if (!placed_order || !p->slot_offset) {
        free(placed_order);
        st = rt_error_set(err, RT_ERR_NOMEM, "out of host memory planning the model");
        goto done;
    }
    for (int q = 0; q < slots; q++) {
        int s = order[q];
        spans[s].offset = fit(spans, placed_order, q, s);
        placed_order[q] = s;
        if (spans[s].offset + spans[s].size > p->grad_floats)
            p->grad_floats = spans[s].offset + spans[s].size;
        p->slot_offset[s] = spans[s].offset;
    }
    free(placed_order);
    p->slot_count = slots;
done:
    free(needs);
    free(parent);
    free(first_write);
    free(contributions);
    free(k.count);
    free(k.last);
    free(spans);
    free(root_slot);
    free(order);
    return st;
}

static int cmp_size_desc(const void *a, const void *b, void *ctx)
{
    const slot_span *spans = ctx;
    const slot_span *x = &spans[*(const int *)a], *y = &spans[*(const int *)b];
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

/* A join may write its sum over one input's activation, as PyTorch's
 * `out += identity` does, when nothing reads that input afterwards: it is
 * a BatchNorm without relu (its backward reads x, not y) that only this
 * join reads. Returns that input's node, or -1. Saves a block's widest
 * activation: a quarter of ResNet-50's. */
static int add_in_place_over(const rt_network *net, int i)
{
    const graph_node *g = &net->nodes[i];
    if (g->in[0] == g->in[1])
        return -1;
    for (int j = 0; j < 2; j++) {
        int a = g->in[j];
        if (a < 0 || a == net->output)
            continue;
        const graph_node *ga = &net->nodes[a];
        if (ga->op != OP_BATCHNORM || ga->relu || ga->size != g->size)
            continue;
        int readers = 0;
        for (int c = 0; c < net->node_count; c++)
            for (int k = 0; k < net->nodes[c].nin; k++)
                readers += net->nodes[c].in[k] == a;
        if (readers == 1)
            return a;
    }
    return -1;
}

/* Backward visits the nodes last to first, each writing its own weight's
 * and bias's gradients once (no parameter is shared): after node i, the
 * gradients from the lowest offset above which every parameter tensor is
 * done to the buffer's end are final. */
static rt_status plan_grads_ready(const rt_network *net, model_plan *p, rt_error *err)
{
    p->grads_ready = malloc((size_t)net->node_count * sizeof *p->grads_ready);
    char *done = calloc((size_t)net->tensor_count + 1, 1);
    if (!p->grads_ready || !done) {
        free(done);
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory planning the model");
    }
    size_t ready = net->params_size;
    for (int i = net->node_count - 1; i >= 0; i--) {
        const graph_node *g = &net->nodes[i];
        if (p->nodes[i].backward) {
            if (g->t_weight >= 0)
                done[g->t_weight] = 1;
            if (g->t_bias >= 0)
                done[g->t_bias] = 1;
        }
        /* lower the mark past every done parameter tensor just below it */
        for (int moved = 1; moved;) {
            moved = 0;
            for (int t = 0; t < net->tensor_count; t++) {
                const rt_tensor_info *ti = &net->tensors[t];
                if (ti->role == RT_TENSOR_PARAMETER && done[t] && ti->offset < ready &&
                    round64(ti->offset + ti->count) >= ready) {
                    ready = ti->offset;
                    moved = 1;
                }
            }
        }
        p->grads_ready[i] = ready;
    }
    free(done);
    return RT_OK;
}

rt_status plan_model(const rt_network *net, int max_batch, int training, model_plan *p,
                     rt_error *err)
{
    memset(p, 0, sizeof *p);
    p->nodes = calloc((size_t)net->node_count, sizeof *p->nodes);
    if (!p->nodes)
        return rt_error_set(err, RT_ERR_NOMEM, "out of host memory planning the model");
    for (int i = 0; i < net->node_count; i++) {
        const graph_node *g = &net->nodes[i];
        node_plan *np = &p->nodes[i];
        np->slot = -1;
        np->mask_into = -1;
        if (g->op == OP_FLATTEN) {
            np->act = g->in[0] == NODE_INPUT ? SIZE_MAX : p->nodes[g->in[0]].act;
            continue;
        }
        int over = g->op == OP_ADD ? add_in_place_over(net, i) : -1;
        if (over >= 0) {
            np->act = p->nodes[over].act;
            continue;
        }
        np->act = p->act_floats;
        p->act_floats += round64(g->size * (size_t)max_batch);
    }
    if (!training)
        return RT_OK;
    p->stats_floats = net->stats_size;
    rt_status st = plan_gradients(net, max_batch, p, err);
    if (st == RT_OK)
        st = plan_grads_ready(net, p, err);
    if (st != RT_OK)
        plan_free(p);
    return st;
}

void plan_free(model_plan *p)
{
    free(p->grads_ready);
    free(p->nodes);
    free(p->slot_offset);
    memset(p, 0, sizeof *p);
}
