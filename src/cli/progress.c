#include "progress.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int cli_terminal_width(FILE *out)
{
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* 3512.4 -> "3,512" */
static void with_commas(double v, char *out, size_t size)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v > 0.0 && v < 1e15 ? v : 0.0);
    size_t n = strlen(digits), j = 0;
    for (size_t i = 0; i < n && j + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[j++] = ',';
        out[j++] = digits[i];
    }
    out[j] = '\0';
}

static void duration(double seconds, char *out, size_t size)
{
    long s = seconds > 0.0 && seconds < 1e8 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

void cli_progress_format(char *buf, size_t size, const rt_train_event *ev,
                         const cli_progress_state *s, int width)
{
    char head[64], tail[160], rate[32], loss[32] = "", eta[48] = "";
    int total = ev->steps_per_epoch > 0 ? ev->steps_per_epoch : 1;
    int step = ev->step < total ? ev->step : total;
    snprintf(head, sizeof head, "epoch %d/%d ", ev->epoch, ev->epochs);
    with_commas(ev->images_per_second, rate, sizeof rate);
    if (s->have_loss)
        snprintf(loss, sizeof loss, " loss %.4f", (double)s->loss);
    int done = step - s->first_step;
    if (done > 0 && ev->seconds > 0.0) {
        char left[32];
        duration(ev->seconds / done * (total - step), left, sizeof left);
        snprintf(eta, sizeof eta, " ETA %s", left);
    }
    snprintf(tail, sizeof tail, " %d/%d %d%% %s img/s%s%s", step, total,
             (int)(100.0 * step / total), rate, loss, eta);
    int room = width - 1 - (int)strlen(head) - (int)strlen(tail) - 2; /* 2: the brackets */
    if (room >= 5) {
        char bar[512];
        if (room > (int)sizeof bar - 1)
            room = (int)sizeof bar - 1;
        int filled = (int)((long long)room * step / total);
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '.', (size_t)(room - filled));
        bar[room] = '\0';
        snprintf(buf, size, "%s[%s]%s", head, bar, tail);
    } else {
        /* too narrow for a bar: the figures, cut at the width */
        snprintf(buf, size, "%s%s", head, tail + 1);
    }
    if (width > 1 && strlen(buf) > (size_t)(width - 1))
        buf[width - 1] = '\0';
}
