#!/usr/bin/env python3
"""Writes tests/data/optim_{adam,adamw,sgd,clip,plateau}.npz: torch's optimizers, gradient clipping and learning-rate
schedules run on fixed inputs, for the C++ tests to reproduce to 1e-10 in double.

Needs torch (Debian's python3-torch, CPU, 1.13) and numpy; run from anywhere:
    /usr/bin/python3 tools/make_optim_fixtures.py
CI never runs this; the compressed .npz files are committed. Every hyperparameter is stored in the file beside
the results, in one float64 array {prefix}config per setting, so the tests read the values instead of repeating
them. Orders: Adam/AdamW (lr, beta1, beta2, eps, weight_decay, group0_lr, group0_weight_decay); SGD (lr, momentum,
dampening, nesterov, weight_decay, group0_lr, group0_weight_decay); clip (max_norm, norm returned);
plateau (factor, patience, threshold, cooldown, min_lr, initial lr); StepLR (initial lr, step_size, gamma).

Parameters: p0 (3, 4) and p1 (1, 4) form group 0, which sets its own lr and weight decay; p2 (2, 3) forms
group 1, which sets neither and so takes the optimizer's defaults. Each optimizer runs STEPS steps with fixed
gradients g{k} (STEPS, rows, cols) from initial values p{k}; {prefix}after{k} (STEPS, rows, cols) holds the
parameters after each step (the SGD file holds three settings, prefixed plain_, momentum_, nesterov_).
"""
import pathlib

import numpy as np
import torch

STEPS = 5
SHAPES = [(3, 4), (1, 4), (2, 3)]
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"


def inputs(seed):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s) for s in SHAPES]
    grads = [rng.normal(size=(STEPS,) + s) for s in SHAPES]
    return init, grads


def store_inputs(seed, arrays):
    init, grads = inputs(seed)
    for k in range(len(SHAPES)):
        arrays[f"p{k}"] = init[k]
        arrays[f"g{k}"] = grads[k]


def run(make, seed, prefix, arrays):
    """Runs an optimizer built by make(params) on inputs(seed) and stores its trajectory under prefix."""
    init, grads = inputs(seed)
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in init]
    opt = make(params)
    after = [np.zeros((STEPS,) + s) for s in SHAPES]
    for t in range(STEPS):
        for k, p in enumerate(params):
            p.grad = torch.tensor(grads[k][t], dtype=torch.float64)
        opt.step()
        for k, p in enumerate(params):
            after[k][t] = p.detach().numpy()
    for k in range(len(SHAPES)):
        arrays[f"{prefix}after{k}"] = after[k]


def scalars(arrays, prefix, **values):
    """Stores hyperparameters as one float64 array {prefix}config, in the order given (the tests read them in that
    order); one array instead of one per value keeps the fixtures small."""
    arrays[prefix + "config"] = np.array([float(v) for v in values.values()])


def adam_like(cls, name, seed, cfg):
    arrays = {}
    scalars(arrays, "", **cfg)

    def make(params):
        return cls([{"params": params[:2], "lr": cfg["group0_lr"], "weight_decay": cfg["group0_weight_decay"]},
                    {"params": params[2:]}],
                   lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"],
                   weight_decay=cfg["weight_decay"], foreach=False)

    store_inputs(seed, arrays)
    run(make, seed, "", arrays)
    np.savez_compressed(OUT / f"optim_{name}.npz", **arrays)


def sgd():
    arrays = {}
    configs = {
        "plain_": dict(lr=0.1, momentum=0.0, dampening=0.0, nesterov=0, weight_decay=0.0,
                       group0_lr=0.05, group0_weight_decay=0.01),
        "momentum_": dict(lr=0.1, momentum=0.9, dampening=0.2, nesterov=0, weight_decay=1e-3,
                          group0_lr=0.03, group0_weight_decay=0.05),
        "nesterov_": dict(lr=0.1, momentum=0.8, dampening=0.0, nesterov=1, weight_decay=0.02,
                          group0_lr=0.2, group0_weight_decay=0.0),
    }
    seed = 10  # one set of inputs for the three settings
    store_inputs(seed, arrays)
    for prefix, cfg in configs.items():
        scalars(arrays, prefix, **cfg)

        def make(params, cfg=cfg):
            return torch.optim.SGD(
                [{"params": params[:2], "lr": cfg["group0_lr"], "weight_decay": cfg["group0_weight_decay"]},
                 {"params": params[2:]}],
                lr=cfg["lr"], momentum=cfg["momentum"], dampening=cfg["dampening"], nesterov=bool(cfg["nesterov"]),
                weight_decay=cfg["weight_decay"], foreach=False)

        run(make, seed, prefix, arrays)
    np.savez_compressed(OUT / "optim_sgd.npz", **arrays)


def clip():
    arrays = {}
    rng = np.random.default_rng(20)
    for prefix, max_norm in (("clip_", 1.0), ("keep_", 100.0)):
        grads = [rng.normal(size=s) for s in SHAPES]
        params = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        scalars(arrays, prefix, max_norm=max_norm, norm=norm.item())
        for k, (p, g) in enumerate(zip(params, grads)):
            arrays[f"{prefix}g{k}"] = g
            arrays[f"{prefix}out{k}"] = p.grad.numpy()
    np.savez_compressed(OUT / "optim_clip.npz", **arrays)


def plateau():
    """Learning rates after each scheduler step, for two plateau settings and StepLR."""
    arrays = {}
    rng = np.random.default_rng(30)
    # A noisy decreasing loss that flattens, so that improvements, plateaus and the cooldown all occur.
    epochs = 60
    loss = 1.0 / (1.0 + 0.2 * np.arange(epochs)) + 0.02 * rng.normal(size=epochs)
    loss[40:] = loss[40]  # a flat tail: reductions until min_lr stops them
    accuracy = 1.0 - loss
    settings = {
        "min_": dict(metrics=loss, mode="min", factor=0.5, patience=2, threshold=0.01, threshold_mode="rel",
                     cooldown=1, min_lr=1e-3, lr=0.1),
        "max_": dict(metrics=accuracy, mode="max", factor=0.3, patience=3, threshold=0.005, threshold_mode="abs",
                     cooldown=0, min_lr=0.0, lr=0.05),
    }
    for prefix, s in settings.items():
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=s["lr"])
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode=s["mode"], factor=s["factor"], patience=s["patience"], threshold=s["threshold"],
            threshold_mode=s["threshold_mode"], cooldown=s["cooldown"], min_lr=s["min_lr"])
        lrs = []
        for m in s["metrics"]:
            sched.step(float(m))
            lrs.append(opt.param_groups[0]["lr"])
        arrays[prefix + "metrics"] = np.asarray(s["metrics"], dtype=np.float64)
        arrays[prefix + "lrs"] = np.asarray(lrs, dtype=np.float64)
        scalars(arrays, prefix, factor=s["factor"], patience=s["patience"], threshold=s["threshold"],
                cooldown=s["cooldown"], min_lr=s["min_lr"], lr=s["lr"])
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    lrs = []
    for _ in range(12):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    arrays["step_lrs"] = np.asarray(lrs, dtype=np.float64)
    scalars(arrays, "step_", lr=0.2, step_size=3, gamma=0.5)
    np.savez_compressed(OUT / "optim_plateau.npz", **arrays)


def main():
    torch.set_default_dtype(torch.float64)
    OUT.mkdir(parents=True, exist_ok=True)
    adam_like(torch.optim.Adam, "adam", 1,
              dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.05, group0_lr=0.02,
                   group0_weight_decay=5e-4))
    adam_like(torch.optim.AdamW, "adamw", 2,
              dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.01, group0_lr=0.03,
                   group0_weight_decay=0.1))
    sgd()
    clip()
    plateau()


if __name__ == "__main__":
    main()
