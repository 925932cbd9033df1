/* Where a model's activations and gradients live: planned once from the
 * graph for the largest batch. Private to the library (plan.c, model.c).
 *
 * Activations: every op's output has its own place (the backward pass
 * reads them), a flatten is a view of its input, a residual join writes
 * over its BatchNorm input when nothing else reads that (PyTorch's in-place
 * `out += identity`). Gradients: one slot per
 * output that needs one; a flatten or a residual join passing its gradient
 * on unchanged shares the slot of an input it is the only reader of; a
 * join's relu mask may be written straight into the slot of its shortcut
 * input (the seed's scheme, below); slots share memory when their lives do
 * not overlap. */
#ifndef RT_MODEL_PLAN_H
#define RT_MODEL_PLAN_H

#include <stddef.h>

#include "graph.h"

/* What a node's backward pass does for one input's gradient. */
typedef enum grad_action {
    GA_NONE,   /* the input needs no gradient (the network input) */
    GA_WRITE,  /* the first contribution: written over the slot */
    GA_ACCUM,  /* a later one: added to the slot */
    GA_SHARED, /* the node's own slot is the input's: nothing to do */
} grad_action;

typedef struct node_plan {
    size_t act;      /* floats into the activation arena; a flatten uses its input's */
    int slot;        /* gradient slot, -1 when none */
    int backward;    /* 1 when the backward pass visits the node */
    grad_action input[2];
    int mask_into;   /* a join with relu: the input whose slot receives the mask, or -1 */
} node_plan;

typedef struct model_plan {
    node_plan *nodes;
    size_t *slot_offset; /* floats into the gradient arena */
    /* training: after node i's backward (nodes run last to first), every
     * parameter gradient at or past grads_ready[i] floats is final */
    size_t *grads_ready;
    int slot_count;
    size_t act_floats, grad_floats, temp_floats, stats_floats;
} model_plan;

/* Plans for batches of max_batch (training = 0: activations only). */
rt_status plan_model(const rt_network *net, int max_batch, int training, model_plan *out,
                     rt_error *err);
void plan_free(model_plan *p);

#endif
