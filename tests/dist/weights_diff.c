/* weights_diff A B: the largest absolute difference between the F32
 * tensors of two safetensors files (tensors of the same name), printed as
 * one number; exit 1 when they do not hold the same tensors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "resnet/safetensors.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: weights_diff A.safetensors B.safetensors\n");
        return 2;
    }
    rt_error err = {0};
    rt_safetensors *a = NULL, *b = NULL;
    if (rt_safetensors_read(argv[1], &a, &err) != RT_OK ||
        rt_safetensors_read(argv[2], &b, &err) != RT_OK) {
        fprintf(stderr, "weights_diff: %s\n", err.message);
        return 2;
    }
    double worst = 0.0;
    int compared = 0, status = 0;
    for (int i = 0; i < rt_safetensors_count(a); i++) {
        const rt_tensor_view *ta = rt_safetensors_tensor(a, i);
        if (ta->dtype != RT_DTYPE_F32)
            continue;
        const rt_tensor_view *tb = rt_safetensors_find(b, ta->name);
        if (!tb || tb->dtype != RT_DTYPE_F32 || tb->bytes != ta->bytes) {
            fprintf(stderr, "weights_diff: %s: no tensor of its shape in %s\n", ta->name, argv[2]);
            status = 1;
            continue;
        }
        const float *x = ta->data, *y = tb->data;
        for (size_t k = 0; k < ta->bytes / sizeof(float); k++) {
            double d = fabs((double)x[k] - (double)y[k]);
            if (!(d <= worst))
                worst = d; /* NaN too */
        }
        compared++;
    }
    if (compared == 0) {
        fprintf(stderr, "weights_diff: no F32 tensors in %s\n", argv[1]);
        status = 1;
    }
    printf("%.9g\n", worst);
    rt_safetensors_free(a);
    rt_safetensors_free(b);
    return status;
}
