/* PyTorch parity: replays tests/fixtures/pytorch_seed.safetensors (written
 * by tools/make_fixtures.py with PyTorch, strict FP32) on one backend.
 *
 *   test_pytorch_parity FIXTURE DEVICE     (DEVICE: cpu or cuda; cuda skips
 *                                           with 77 where there is no GPU)
 *
 * From PyTorch's initial weights, for the first training batch and the last
 * (partial) one: the input conversion exactly, the logits and the loss to
 * 1e-5 relative, and every parameter gradient to a normalised mean squared
 * error of at most 1e-10. Then five Adam steps: see test_adam(). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnet/device.h"
#include "resnet/model.h"
#include "resnet/safetensors.h"
#include "test_support.h"

/* Logits and loss: float rounding of the forward pass is ~1e-6 relative to
 * the largest logit (the fixture's own FP64 check measured 7e-7), so 1e-5
 * holds with margin while a wrong layer is off by O(1). */
#define LOGITS_REL 1e-5
#define LOSS_REL 1e-5
/* Gradients: summation order alone gives ~1e-12 NMSE; PyTorch's own two FP32
 * paths (oneDNN on/off) differ by at most 2.6e-6 of a tensor's max, i.e.
 * NMSE ~1e-11. 1e-10 is the limit. */
#define GRAD_NMSE 1e-10

static const rt_safetensors *fx;
static rt_device *dev;
static rt_network *net; /* the seed's */

static const rt_tensor_view *need(const char *name)
{
    const rt_tensor_view *t = rt_safetensors_find(fx, name);
    if (!t) {
        fprintf(stderr, "fixture has no tensor %s\n", name);
        exit(1);
    }
    return t;
}

/* Fills a flat host parameter buffer from tensors named PREFIX<param>. */
static void flat_from_fixture(const char *prefix, float *flat)
{
    memset(flat, 0, rt_network_params_size(net) * sizeof *flat);
    for (int i = 0; i < rt_network_tensor_count(net); i++) {
        const rt_tensor_info *p = rt_network_tensor(net, i);
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        const rt_tensor_view *t = need(name);
        if (t->dtype != RT_DTYPE_F32 || t->bytes != p->count * sizeof(float)) {
            fprintf(stderr, "fixture tensor %s has the wrong dtype or size\n", name);
            exit(1);
        }
        memcpy(flat + p->offset, t->data, t->bytes);
    }
}

/* Labels are stored as int64 by PyTorch. */
static void labels_from_fixture(const char *name, int32_t *out, int n)
{
    const rt_tensor_view *t = need(name);
    const int64_t *l = t->data;
    for (int i = 0; i < n; i++)
        out[i] = (int32_t)l[i];
}

/* Loads n raw images (bytes) and labels of a fixture batch through the
 * device's load_batch op into the model's input. */
static void load_batch(rt_model *m, const char *images_name, const char *labels_name, int first,
                       int n)
{
    const rt_tensor_view *img = need(images_name);
    int count = (int)img->shape[0];
    uint8_t *labels8 = malloc((size_t)count);
    int32_t *labels = malloc((size_t)count * sizeof *labels);
    labels_from_fixture(labels_name, labels, count);
    for (int i = 0; i < count; i++)
        labels8[i] = (uint8_t)labels[i];
    uint8_t *dimg = rt_device_alloc(dev, img->bytes), *dlab = rt_device_alloc(dev, (size_t)count);
    rt_step_state st = {0};
    st.cursor = first;
    rt_step_state *dst = rt_device_alloc(dev, sizeof st);
    CHECK(rt_device_upload(dev, dimg, img->data, img->bytes) == RT_OK);
    CHECK(rt_device_upload(dev, dlab, labels8, (size_t)count) == RT_OK);
    CHECK(rt_device_upload(dev, dst, &st, sizeof st) == RT_OK);
    CHECK(rt_op_load_batch(dev, dimg, dlab, NULL, 784, n, dst, rt_model_input(m),
                           rt_model_labels(m)) == RT_OK);
    CHECK(rt_device_synchronize(dev) == RT_OK);
    rt_device_free(dev, dimg);
    rt_device_free(dev, dlab);
    rt_device_free(dev, dst);
    free(labels8);
    free(labels);
}

/* Forward, loss and backward on the model's current batch; returns the loss. */
static float forward_backward(rt_model *m, int n, rt_step_state *dstate)
{
    rt_step_state st = {0};
    st.nonfinite_step = -1;
    st.lr = 1e-3f;
    CHECK(rt_device_upload(dev, dstate, &st, sizeof st) == RT_OK);
    CHECK(rt_model_forward(m, n, 1) == RT_OK);
    CHECK(rt_op_softmax_cross_entropy(dev, n, 10, rt_model_logits(m), rt_model_labels(m),
                                      rt_model_dlogits(m), dstate) == RT_OK);
    CHECK(rt_model_backward(m, n) == RT_OK);
    CHECK(rt_device_download(dev, &st, dstate, sizeof st) == RT_OK);
    return st.loss;
}

static void test_batch(rt_model *m, const char *b, int n, const float *init)
{
    char name[128];
    size_t flat = rt_network_params_size(net);
    CHECK(rt_device_upload(dev, rt_model_params(m), init, flat * sizeof(float)) == RT_OK);
    snprintf(name, sizeof name, "%s.images", b);
    char lname[128];
    snprintf(lname, sizeof lname, "%s.labels", b);
    load_batch(m, name, lname, 0, n);

    /* the input: byte / 255 as a float division, bit for bit */
    snprintf(name, sizeof name, "%s.x", b);
    const rt_tensor_view *x = rt_safetensors_find(fx, name);
    if (x) {
        float *got = malloc(x->bytes);
        CHECK(rt_device_download(dev, got, rt_model_input(m), x->bytes) == RT_OK);
        CHECKF(memcmp(got, x->data, x->bytes) == 0, "%s: input differs from ToTensor()", b);
        free(got);
    }

    rt_step_state *dstate = rt_device_alloc(dev, sizeof(rt_step_state));
    float loss = forward_backward(m, n, dstate);
    rt_device_free(dev, dstate);

    snprintf(name, sizeof name, "%s.logits", b);
    const rt_tensor_view *lt = need(name);
    float *logits = malloc(lt->bytes);
    CHECK(rt_device_download(dev, logits, rt_model_logits(m), lt->bytes) == RT_OK);
    const float *ref = lt->data;
    double scale = 0.0, diff = 0.0;
    for (size_t i = 0; i < lt->bytes / 4; i++) {
        scale = fmax(scale, fabs(ref[i]));
        diff = fmax(diff, fabs((double)ref[i] - logits[i]));
    }
    CHECKF(diff <= LOGITS_REL * scale, "%s logits: max |diff| %.3g is %.3g of the largest logit",
           b, diff, diff / scale);
    free(logits);

    snprintf(name, sizeof name, "%s.loss", b);
    float ref_loss = *(const float *)need(name)->data;
    CHECKF(fabs((double)loss - ref_loss) <= LOSS_REL * fabs(ref_loss),
           "%s loss %.9g vs PyTorch %.9g", b, loss, ref_loss);

    float *grads = malloc(flat * sizeof *grads), *ref_grads = malloc(flat * sizeof *ref_grads);
    CHECK(rt_device_download(dev, grads, rt_model_grads(m), flat * sizeof *grads) == RT_OK);
    snprintf(name, sizeof name, "%s.grad.", b);
    flat_from_fixture(name, ref_grads);
    double worst = 0.0;
    for (int i = 0; i < rt_network_tensor_count(net); i++) {
        const rt_tensor_info *p = rt_network_tensor(net, i);
        double e = rt_test_nmse(ref_grads + p->offset, grads + p->offset, p->count);
        worst = fmax(worst, e);
        CHECKF(e <= GRAD_NMSE, "%s gradient of %s: NMSE %.3g > %.0e", b, p->name, e, GRAD_NMSE);
    }
    printf("%s batch (%d images): loss %.9g (PyTorch %.9g), logits max diff %.3g of max, "
           "worst gradient NMSE %.3g\n", b, n, loss, ref_loss, diff / scale, worst);
    free(grads);
    free(ref_grads);
}

/* Five Adam steps from PyTorch's initial weights on training batches 0..4.
 *
 * Teacher-forced: our optimiser fed the gradients PyTorch's own steps used
 * (first.grad.*, adam5.grad<k>.*) must land on PyTorch's parameters after 5
 * steps (adam5.*) within the 1e-6 absolute. The arithmetic is the
 * same to the rounding of every operation (cpu_adam.c); what remains is
 * PyTorch's vectorised sqrt, which is one ulp below the correctly rounded
 * root for ~0.6% of elements (tests/fixtures/README.md): ~3e-8 after 5 steps.
 *
 * Free-running: our own gradients at every step. The 1e-6 absolute limit
 * cannot hold here, for a reason that is PyTorch's as much as ours: Adam's
 * first steps move every parameter by about lr whatever the size of its
 * gradient, so a gradient of ~1e-9 (below eps) whose last bits differ
 * between two correct FP32 implementations moves the parameter by a
 * different fraction of lr (~5e-5 after one step), and from step 3 a
 * pooling or relu decision within rounding of a tie flips. PyTorch against
 * itself (oneDNN off vs on, both FP32) differs by up to 1.4e-3 in single
 * elements of adam5.*, its losses by 1.7e-5, and the relative L2 norm of the
 * parameter updates (p5 - init) by up to 1.9e-2 (measured by
 * tools/make_fixtures.py's author; see the fixture README). So this part
 * checks what two correct FP32 implementations do agree on: each step's
 * loss to FREE_LOSS_REL and each tensor's update to FREE_UPDATE_REL (the
 * relative L2 norm of the difference of the updates). A wrong optimiser or
 * gradient moves the update by O(1). */
#define TEACHER_ABS 1e-6
#define FREE_LOSS_REL 1e-4
#define FREE_UPDATE_REL 5e-2

static void test_adam(rt_model *m)
{
    size_t flat = rt_network_params_size(net), bytes = flat * sizeof(float);
    float *init = malloc(bytes), *ref = malloc(bytes), *got = malloc(bytes), *g = malloc(bytes);
    float *zero = calloc(flat, sizeof *zero);
    flat_from_fixture("init.", init);
    flat_from_fixture("adam5.", ref);
    const float *ref_losses = need("adam5.losses")->data;
    rt_adam_config adam = {0.9f, 0.999f, 1e-8f, 0.0f, 0};
    rt_step_state *dstate = rt_device_alloc(dev, sizeof(rt_step_state));
    for (int forced = 1; forced >= 0; forced--) {
        CHECK(rt_device_upload(dev, rt_model_params(m), init, bytes) == RT_OK);
        CHECK(rt_device_upload(dev, rt_model_adam_m(m), zero, bytes) == RT_OK);
        CHECK(rt_device_upload(dev, rt_model_adam_v(m), zero, bytes) == RT_OK);
        rt_step_state st = {0};
        st.nonfinite_step = -1;
        st.lr = 1e-3f;
        CHECK(rt_device_upload(dev, dstate, &st, sizeof st) == RT_OK);
        double worst_loss = 0.0;
        for (int k = 0; k < 5; k++) {
            if (forced) {
                char prefix[32];
                snprintf(prefix, sizeof prefix, k == 0 ? "first.grad." : "adam5.grad%d.", k);
                flat_from_fixture(prefix, g);
                CHECK(rt_device_upload(dev, rt_model_grads(m), g, bytes) == RT_OK);
            } else {
                load_batch(m, "adam5.images", "adam5.labels", 64 * k, 64);
                CHECK(rt_model_forward(m, 64, 1) == RT_OK);
                CHECK(rt_op_softmax_cross_entropy(dev, 64, 10, rt_model_logits(m),
                                                  rt_model_labels(m), rt_model_dlogits(m),
                                                  dstate) == RT_OK);
                CHECK(rt_model_backward(m, 64) == RT_OK);
                CHECK(rt_device_download(dev, &st, dstate, sizeof st) == RT_OK);
                double rel = fabs((double)st.loss - ref_losses[k]) / fabs(ref_losses[k]);
                worst_loss = fmax(worst_loss, rel);
                CHECKF(rel <= FREE_LOSS_REL, "free-running step %d: loss %.9g vs PyTorch %.9g", k + 1,
                       st.loss, ref_losses[k]);
            }
            CHECK(rt_op_adam(dev, flat, rt_model_params(m), rt_model_grads(m), rt_model_adam_m(m),
                             rt_model_adam_v(m), &adam, dstate) == RT_OK);
            CHECK(rt_op_step_advance(dev, dstate, 64, 1) == RT_OK);
        }
        CHECK(rt_device_download(dev, got, rt_model_params(m), bytes) == RT_OK);
        double worst_abs = 0.0, worst_update = 0.0;
        for (int i = 0; i < rt_network_tensor_count(net); i++) {
            const rt_tensor_info *p = rt_network_tensor(net, i);
            double d = rt_test_max_abs_diff(ref + p->offset, got + p->offset, p->count);
            double num = 0.0, den = 0.0;
            for (size_t j = p->offset; j < p->offset + p->count; j++) {
                double du = ((double)got[j] - init[j]) - ((double)ref[j] - init[j]);
                double u = (double)ref[j] - init[j];
                num += du * du;
                den += u * u;
            }
            double upd = sqrt(num / den);
            worst_abs = fmax(worst_abs, d);
            worst_update = fmax(worst_update, upd);
            if (forced)
                CHECKF(d <= TEACHER_ABS, "teacher-forced Adam, %s after 5 steps: max |diff| %.3g",
                       p->name, d);
            else
                CHECKF(upd <= FREE_UPDATE_REL,
                       "free-running, %s after 5 steps: update differs by %.3g (relative L2)",
                       p->name, upd);
        }
        if (forced)
            printf("adam, PyTorch's gradients: after 5 steps max |diff| %.3g (limit %.0e)\n",
                   worst_abs, TEACHER_ABS);
        else
            printf("adam, our gradients: after 5 steps max |diff| %.3g, worst update difference "
                   "%.3g relative L2 (limit %.0e), worst loss %.3g relative (limit %.0e)\n",
                   worst_abs, worst_update, FREE_UPDATE_REL, worst_loss, FREE_LOSS_REL);
    }
    rt_device_free(dev, dstate);
    free(init), free(ref), free(got), free(g), free(zero);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_pytorch_parity FIXTURE DEVICE\n");
        return 2;
    }
    rt_error err;
    rt_safetensors *file;
    if (rt_safetensors_read(argv[1], &file, &err) != RT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    fx = file;
    rt_device_config cfg;
    rt_device_config_default(&cfg);
    if (rt_device_open(argv[2], &cfg, &dev, &err) != RT_OK) {
        rt_safetensors_free(file);
        if (err.status == RT_ERR_NODEVICE)
            return rt_test_skip(err.message);
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("device: %s\n", rt_device_description(dev));
    net = rt_test_network("seed");
    rt_model *m;
    if (rt_model_create(dev, net, 64, 1, &m, &err) != RT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    float *init = malloc(rt_network_params_size(net) * sizeof *init);
    flat_from_fixture("init.", init);
    test_batch(m, "first", 64, init);
    test_batch(m, "last", 32, init);
    free(init);
    test_adam(m);
    rt_model_destroy(m);
    rt_network_free(net);
    rt_device_close(dev);
    rt_safetensors_free(file);
    return rt_test_finish("test_pytorch_parity");
}
