#!/usr/bin/env python3
"""Writes tests/fixtures/recipes.json: what torch.optim and
torch.optim.lr_scheduler compute, for tests/train/test_recipes_torch.c.

  schedules:  for each case, the learning rate PyTorch's optimiser holds at
              every optimiser step of a whole run (schedulers stepped per
              step or per epoch, warm-up as SequentialLR([LinearLR, main]))
  optimizers: for each case, parameters, the gradients fed at each step,
              the rate of each step, and PyTorch's parameters after each
              step (single-tensor CPU implementations, float32)
  losses:     CrossEntropyLoss(label_smoothing=) and its gradient on random
              logits, with the top-1 and top-5 counts

Run: python3 tools/make_recipe_fixtures.py  (needs torch; CPU only)."""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "recipes.json")


def f32(x):
    return float(torch.tensor(x, dtype=torch.float32).item())


def schedule_case(name, epochs, steps_per_epoch, per_step, make, cfg):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=cfg["lr"])
    sched = make(opt, epochs * steps_per_epoch if per_step else epochs)
    lrs = []
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_step:
                sched.step()
        if not per_step:
            sched.step()
    c = dict(cfg)
    c.update(name=name, epochs=epochs, steps_per_epoch=steps_per_epoch,
             per_step=int(per_step), lrs=lrs)
    return c


def warm(main, warmup, start):
    def make(opt, total):
        lin = torch.optim.lr_scheduler.LinearLR(opt, start_factor=start, end_factor=1.0,
                                                total_iters=warmup)
        return torch.optim.lr_scheduler.SequentialLR(opt, [lin, main(opt, total - warmup)],
                                                     milestones=[warmup])
    return make


def schedules():
    S = torch.optim.lr_scheduler
    cases = []
    base = dict(lr=0.1, schedule="constant", lr_step_size=0, lr_gamma=0.1, milestones=[],
                eta_min=0.0, pct_start=0.3, div_factor=25.0, final_div_factor=1e4, warmup=0,
                warmup_start=0.01)

    def cfg(**kw):
        c = dict(base)
        c.update(kw)
        return c

    cases.append(schedule_case("step per epoch", 12, 7, False,
                               lambda o, T: S.StepLR(o, step_size=3, gamma=0.5),
                               cfg(schedule="step", lr_step_size=3, lr_gamma=0.5)))
    cases.append(schedule_case("multistep per step (cifar-resnet's shape)", 6, 50, True,
                               lambda o, T: S.MultiStepLR(o, milestones=[100, 150], gamma=0.1),
                               cfg(schedule="multistep", milestones=[100, 150])))
    cases.append(schedule_case("cosine per epoch", 20, 3, False,
                               lambda o, T: S.CosineAnnealingLR(o, T_max=T, eta_min=0.001),
                               cfg(schedule="cosine", eta_min=0.001)))
    cases.append(schedule_case("cosine per step", 4, 97, True,
                               lambda o, T: S.CosineAnnealingLR(o, T_max=T),
                               cfg(schedule="cosine")))
    cases.append(schedule_case("onecycle per step", 5, 61, True,
                               lambda o, T: S.OneCycleLR(o, max_lr=0.1, total_steps=T,
                                                         pct_start=0.25, cycle_momentum=False),
                               cfg(schedule="onecycle", pct_start=0.25)))
    cases.append(schedule_case("onecycle per step, other factors", 3, 40, True,
                               lambda o, T: S.OneCycleLR(o, max_lr=0.1, total_steps=T,
                                                         pct_start=0.4, div_factor=10.0,
                                                         final_div_factor=100.0,
                                                         cycle_momentum=False),
                               cfg(schedule="onecycle", pct_start=0.4, div_factor=10.0,
                                   final_div_factor=100.0)))
    cases.append(schedule_case("cosine per step after a 30-step warm-up", 3, 40, True,
                               warm(lambda o, T: S.CosineAnnealingLR(o, T_max=T), 30, 0.01),
                               cfg(schedule="cosine", warmup=30)))
    cases.append(schedule_case("multistep per epoch after a 2-epoch warm-up", 10, 5, False,
                               warm(lambda o, T: S.MultiStepLR(o, milestones=[3, 6], gamma=0.2),
                                    2, 0.1),
                               cfg(schedule="multistep", milestones=[3, 6], lr_gamma=0.2,
                                   warmup=2, warmup_start=0.1)))
    cases.append(schedule_case("constant after a 5-step warm-up", 2, 9, True,
                               warm(lambda o, T: S.ConstantLR(o, factor=1.0, total_iters=0), 5,
                                    0.2),
                               cfg(schedule="constant", warmup=5, warmup_start=0.2)))
    return cases


def optimizer_case(name, make, cfg, steps=6, count=37, lrs=None, seed=1):
    g = torch.Generator().manual_seed(seed)
    p0 = torch.randn(count, generator=g, dtype=torch.float32)
    p = torch.nn.Parameter(p0.clone())
    opt = make([p])
    grads, after, rates = [], [], []
    for k in range(steps):
        lr = lrs[k] if lrs else opt.param_groups[0]["lr"]
        opt.param_groups[0]["lr"] = lr
        grad = torch.randn(count, generator=g, dtype=torch.float32) * (0.5 + k)
        p.grad = grad.clone()
        opt.step()
        grads.append([float(x) for x in grad])
        after.append([float(x) for x in p.detach()])
        rates.append(lr)
    c = dict(cfg)
    c.update(name=name, count=count, params=[float(x) for x in p0], grads=grads, lrs=rates,
             after=after)
    return c


def optimizers():
    O = torch.optim
    lrs = [0.1, 0.05, 0.2, 0.0123, 0.1, 0.07]
    sgd = dict(optimizer="sgd", momentum=0.0, dampening=0.0, nesterov=0, weight_decay=0.0,
               beta1=0.9, beta2=0.999, eps=1e-8)
    cases = []

    def c(**kw):
        d = dict(sgd)
        d.update(kw)
        return d

    cases.append(optimizer_case("sgd plain", lambda ps: O.SGD(ps, lr=0.1, foreach=False), c(),
                                lrs=lrs))
    cases.append(optimizer_case("sgd momentum 0.9, decay 1e-4",
                                lambda ps: O.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-4,
                                                 foreach=False),
                                c(momentum=0.9, weight_decay=1e-4), lrs=lrs))
    cases.append(optimizer_case("sgd momentum 0.8, dampening 0.3",
                                lambda ps: O.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3,
                                                 foreach=False),
                                c(momentum=0.8, dampening=0.3), lrs=lrs))
    cases.append(optimizer_case("sgd nesterov 0.9, decay 5e-4",
                                lambda ps: O.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                                 weight_decay=5e-4, foreach=False),
                                c(momentum=0.9, nesterov=1, weight_decay=5e-4), lrs=lrs))
    cases.append(optimizer_case("adam, coupled decay 0.01",
                                lambda ps: O.Adam(ps, lr=1e-3, weight_decay=0.01, foreach=False),
                                c(optimizer="adam", weight_decay=0.01),
                                lrs=[f32(1e-3)] * 6))
    cases.append(optimizer_case("adamw, decay 0.05",
                                lambda ps: O.AdamW(ps, lr=1e-3, weight_decay=0.05,
                                                   foreach=False),
                                c(optimizer="adamw", weight_decay=0.05),
                                lrs=[f32(x) for x in [1e-3, 2e-3, 5e-4, 1e-3, 3e-3, 1e-4]]))
    cases.append(optimizer_case("adamw, betas (0.8, 0.99), decay 0.1",
                                lambda ps: O.AdamW(ps, lr=1e-2, betas=(0.8, 0.99),
                                                   weight_decay=0.1, foreach=False),
                                c(optimizer="adamw", weight_decay=0.1, beta1=0.8, beta2=0.99),
                                lrs=[f32(1e-2)] * 6))
    return cases


def losses():
    """CrossEntropyLoss with label smoothing, its gradient, and the top-1
    and top-5 counts (torch.topk) of random logits."""
    g = torch.Generator().manual_seed(3)
    cases = []
    for n, k, eps in [(7, 12, 0.1), (5, 10, 0.0), (9, 100, 0.2), (4, 3, 0.1)]:
        z = (torch.randn(n, k, generator=g) * 3).requires_grad_()
        y = torch.randint(0, k, (n,), generator=g)
        loss = torch.nn.functional.cross_entropy(z, y, label_smoothing=eps)
        loss.backward()
        top = z.detach().topk(min(5, k), dim=1).indices
        cases.append(dict(n=n, classes=k, smoothing=eps,
                          logits=[float(v) for v in z.detach().flatten()],
                          labels=[int(v) for v in y], loss=float(loss.detach()),
                          grad=[float(v) for v in z.grad.flatten()],
                          correct=int((top[:, 0] == y).sum()),
                          correct5=int((top == y[:, None]).any(dim=1).sum())))
    return cases


def main():
    torch.set_num_threads(1)
    doc = {"torch": torch.__version__, "schedules": schedules(), "optimizers": optimizers(),
           "losses": losses()}
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=0)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
