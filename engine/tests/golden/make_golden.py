#!/usr/bin/env python3
"""Golden fixture generator for the engine's MLP training tests.

This is an *independent* reference implementation, in plain numpy (float64
throughout), of two tiny MLP training runs: the forward pass, the backward pass
(hand-written) and the optimizer (Adam / AdamW with PyTorch semantics). It
writes ``golden.json`` next to this script, which the Rust tests load and
compare against (loss before each step, gradients before each update, and the
parameters after each update).

Rerun (needs only numpy; deterministic, so the output is reproducible):

    python3 engine/tests/golden/make_golden.py

Cases
-----
classification
    layers: Linear(4,6), Tanh, Linear(6,5), ReLU, Linear(5,3)
    loss:   mean softmax cross-entropy from logits, integer class targets
    data:   x: 8x4 ~ N(0,1); y: 8 ints in 0..3 with every class present
    init:   weights ~ N(0, std 0.5), biases ~ N(0, std 0.1)
    optim:  Adam lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0
    5 steps on the same batch.
regression
    layers: Linear(3,7), Sigmoid, Linear(7,2)
    loss:   mean squared error averaged over all batch*output elements
    data:   x: 6x3 ~ N(0,1); y: 6x2 ~ N(0,1)
    init:   weights ~ N(0, std 0.5), biases ~ N(0, std 0.1)
    optim:  AdamW lr=0.02, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1
    5 steps on the same batch.

Conventions: PyTorch layout, Linear weight is [out, in] and y = x @ W.T + b;
parameters are named "layers.<i>.weight" / "layers.<i>.bias" with i the index
of the layer in the list above. Adam: m = b1*m + (1-b1)*g;
v = b2*v + (1-b2)*g^2; mhat = m/(1-b1^t); vhat = v/(1-b2^t);
p -= lr*mhat/(sqrt(vhat)+eps). AdamW first applies p = p - lr*wd*p (decoupled
weight decay), then the same Adam update with the gradient computed at the
pre-step parameters.

Checks done before anything is written:
  * the backward pass is checked against central finite differences
    (eps 1e-6) at every step; the relative error ||fd - g|| / max(||fd||, ||g||)
    of every parameter tensor must be < 1e-6;
  * classification: at every parameter state (initial and after each step) the
    ReLU pre-activations are not all negative, every ReLU unit is active for
    at least one sample, and none is within 1e-3 of 0 (so the kink is never
    hit, also not by the finite-difference probes).
The seeds below were picked so that these hold (see find_seed()).

JSON layout: {"cases": [{"name", "layers", "loss", "optimizer", "x", "y",
"params_init", "steps": [{"loss", "grads", "params_after"} x 5]}]}, every
tensor as {"shape": [...], "data": [flat row-major]}; floats are written with
repr (shortest text that round-trips the float64 exactly).
"""

import json
import os
import sys

import numpy as np

SEED_CLASSIFICATION = 0
SEED_REGRESSION = 1
N_STEPS = 5
KINK_MARGIN = 1e-3
FD_EPS = 1e-6
FD_TOL = 1e-6

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")


# ---------------------------------------------------------------- model pieces

def init_params(rng, layers):
    """Draw parameters in layer order: weight [out, in] then bias [out]."""
    params = {}
    for i, layer in enumerate(layers):
        if layer["type"] == "linear":
            params[f"layers.{i}.weight"] = rng.normal(0.0, 0.5, size=(layer["out"], layer["in"]))
            params[f"layers.{i}.bias"] = rng.normal(0.0, 0.1, size=(layer["out"],))
    return params


def forward(layers, params, x):
    """Returns the output and the cache of per-layer inputs/outputs."""
    cache = []
    h = x
    for i, layer in enumerate(layers):
        t = layer["type"]
        if t == "linear":
            out = h @ params[f"layers.{i}.weight"].T + params[f"layers.{i}.bias"]
        elif t == "tanh":
            out = np.tanh(h)
        elif t == "relu":
            out = np.where(h > 0.0, h, 0.0)
        elif t == "sigmoid":
            out = 1.0 / (1.0 + np.exp(-h))
        else:
            raise ValueError(t)
        cache.append((h, out))
        h = out
    return h, cache


def loss_and_dout(kind, out, y):
    if kind == "softmax_cross_entropy":
        n = out.shape[0]
        zmax = out.max(axis=1, keepdims=True)
        shifted = out - zmax
        lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        logp = shifted - lse
        loss = -logp[np.arange(n), y].mean()
        p = np.exp(logp)
        onehot = np.zeros_like(out)
        onehot[np.arange(n), y] = 1.0
        dout = (p - onehot) / n
    elif kind == "mse":
        diff = out - y
        loss = (diff * diff).mean()
        dout = 2.0 * diff / diff.size
    else:
        raise ValueError(kind)
    return float(loss), dout


def backward(layers, params, cache, dout):
    grads = {}
    g = dout
    for i in range(len(layers) - 1, -1, -1):
        t = layers[i]["type"]
        h_in, h_out = cache[i]
        if t == "linear":
            W = params[f"layers.{i}.weight"]
            grads[f"layers.{i}.weight"] = g.T @ h_in
            grads[f"layers.{i}.bias"] = g.sum(axis=0)
            g = g @ W
        elif t == "tanh":
            g = g * (1.0 - h_out * h_out)
        elif t == "relu":
            g = g * (h_in > 0.0)
        elif t == "sigmoid":
            g = g * h_out * (1.0 - h_out)
        else:
            raise ValueError(t)
    return grads


def loss_and_grads(case, params):
    out, cache = forward(case["layers"], params, case["x"])
    loss, dout = loss_and_dout(case["loss"], out, case["y"])
    grads = backward(case["layers"], params, cache, dout)
    return loss, grads, cache


def loss_only(case, params):
    out, _ = forward(case["layers"], params, case["x"])
    return loss_and_dout(case["loss"], out, case["y"])[0]


# ------------------------------------------------------------------ optimizer

class Adam:
    """Adam / AdamW with PyTorch's update rule (amsgrad=False, maximize=False)."""

    def __init__(self, params, lr, beta1, beta2, eps, weight_decay, decoupled):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.wd, self.decoupled = weight_decay, decoupled
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        new = {}
        for k, p in params.items():
            g = grads[k]
            if self.wd != 0.0:
                if self.decoupled:
                    p = p - self.lr * self.wd * p
                else:
                    g = g + self.wd * p
            self.m[k] = self.b1 * self.m[k] + (1.0 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1.0 - self.b2) * g * g
            mhat = self.m[k] / (1.0 - self.b1 ** self.t)
            vhat = self.v[k] / (1.0 - self.b2 ** self.t)
            new[k] = p - self.lr * mhat / (np.sqrt(vhat) + self.eps)
        return new


# --------------------------------------------------------------------- checks

def finite_difference_check(case, params, grads):
    worst = 0.0
    for name, p in params.items():
        fd = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][idx] += FD_EPS
            minus[name][idx] -= FD_EPS
            fd[idx] = (loss_only(case, plus) - loss_only(case, minus)) / (2.0 * FD_EPS)
        g = grads[name]
        denom = max(np.linalg.norm(fd), np.linalg.norm(g))
        rel = np.linalg.norm(fd - g) / denom if denom > 0 else 0.0
        assert rel < FD_TOL, f"{case['name']}: gradient check failed for {name}: rel err {rel:.3e}"
        worst = max(worst, rel)
    return worst


def relu_ok(case, params):
    """True when every ReLU pre-activation is at least KINK_MARGIN away from 0,
    not all are negative, and each unit is active for some sample."""
    _, cache = forward(case["layers"], params, case["x"])
    for i, layer in enumerate(case["layers"]):
        if layer["type"] == "relu":
            z = cache[i][0]
            if np.abs(z).min() <= KINK_MARGIN:
                return False
            if not (z > 0).any():
                return False
            if not (z > 0).any(axis=0).all():
                return False
    return True


# ---------------------------------------------------------------------- cases

def make_case(name, seed):
    rng = np.random.default_rng(seed)
    if name == "classification":
        layers = [
            {"type": "linear", "in": 4, "out": 6},
            {"type": "tanh"},
            {"type": "linear", "in": 6, "out": 5},
            {"type": "relu"},
            {"type": "linear", "in": 5, "out": 3},
        ]
        x = rng.normal(0.0, 1.0, size=(8, 4))
        y = rng.integers(0, 3, size=8)
        loss = "softmax_cross_entropy"
        opt = {"type": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
               "weight_decay": 0.0}
    elif name == "regression":
        layers = [
            {"type": "linear", "in": 3, "out": 7},
            {"type": "sigmoid"},
            {"type": "linear", "in": 7, "out": 2},
        ]
        x = rng.normal(0.0, 1.0, size=(6, 3))
        y = rng.normal(0.0, 1.0, size=(6, 2))
        loss = "mse"
        opt = {"type": "adamw", "lr": 0.02, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
               "weight_decay": 0.1}
    else:
        raise ValueError(name)
    params = init_params(rng, layers)
    return {"name": name, "layers": layers, "loss": loss, "optimizer": opt,
            "x": x, "y": y, "params_init": params}


def run(case, check=True):
    """Train N_STEPS; returns the step records, or None if a condition fails."""
    params = {k: v.copy() for k, v in case["params_init"].items()}
    o = case["optimizer"]
    opt = Adam(params, o["lr"], o["beta1"], o["beta2"], o["eps"], o["weight_decay"],
               decoupled=(o["type"] == "adamw"))
    steps = []
    worst = 0.0
    for _ in range(N_STEPS):
        if case["name"] == "classification" and not relu_ok(case, params):
            return None, worst
        loss, grads, _ = loss_and_grads(case, params)
        if check:
            worst = max(worst, finite_difference_check(case, params, grads))
        params = opt.step(params, grads)
        steps.append({"loss": loss, "grads": grads, "params_after": params})
    if case["name"] == "classification" and not relu_ok(case, params):
        return None, worst
    return steps, worst


def case_ok(case):
    if case["name"] == "classification":
        if set(case["y"].tolist()) != {0, 1, 2}:
            return False
    steps, _ = run(case, check=False)
    return steps is not None


def find_seed(name, start=0, limit=10000):
    """Helper used once to pick the seeds above: first seed meeting the conditions."""
    for seed in range(start, start + limit):
        if case_ok(make_case(name, seed)):
            return seed
    raise RuntimeError("no seed found")


# ---------------------------------------------------------------------- output

def tensor(a):
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        data = [int(v) for v in a.ravel()]
    else:
        assert a.dtype == np.float64, a.dtype
        data = [float(v) for v in a.ravel()]
    return {"shape": list(a.shape), "data": data}


def tensors(d):
    return {k: tensor(v) for k, v in d.items()}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--find-seeds":
        print("classification", find_seed("classification"))
        print("regression", find_seed("regression"))
        return
    out_cases = []
    for name, seed in (("classification", SEED_CLASSIFICATION), ("regression", SEED_REGRESSION)):
        case = make_case(name, seed)
        assert case_ok(case), f"seed {seed} does not meet the conditions for {name}; run --find-seeds"
        steps, worst = run(case, check=True)
        assert steps is not None
        print(f"{name}: seed {seed}, losses "
              + ", ".join(f"{s['loss']:.6f}" for s in steps)
              + f"; worst finite-difference rel err {worst:.2e}")
        out_cases.append({
            "name": name,
            "layers": case["layers"],
            "loss": case["loss"],
            "optimizer": case["optimizer"],
            "x": tensor(case["x"]),
            "y": tensor(case["y"]),
            "params_init": tensors(case["params_init"]),
            "steps": [{"loss": s["loss"], "grads": tensors(s["grads"]),
                       "params_after": tensors(s["params_after"])} for s in steps],
        })
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"cases": out_cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} (numpy {np.__version__})")


if __name__ == "__main__":
    main()
