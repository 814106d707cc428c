"""Peers for benches/compare/kernels.sh: numpy and PyTorch on neurite's GEMM shapes and the
Adam training steps (784-256-128-10 at batch 128; 64-100-10 at batch 32, the default model
on the digits data), one thread; and the side-by-side report.

  compare.py peers NEURITE_JSON [--quick] > peers.json
  compare.py report DIR ROUNDS
  compare.py train-threads N > torch-train.json     (train_threads.sh: PyTorch on N threads)
  compare.py train-report DIR ROUNDS N
"""
import json
import os
import re
import statistics
import sys
import time

if sys.argv[1:2] != ["train-threads"]:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


# One thread everywhere, timed on this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the clock
# neurite's one-thread figures use: time slices lost to other tenants of a shared machine count
# against neither side. (PyTorch with set_num_threads(1) runs forward, backward and the
# optimizer on the calling thread.)
clock = time.thread_time


def median_time(fn, batch_s=0.06, repeats=7, clock=clock):
    fn()
    t0 = clock()
    n = 0
    while clock() - t0 < batch_s / 4:
        fn()
        n += 1
    per = (clock() - t0) / max(n, 1)
    calls = max(1, int(batch_s / max(per, 1e-9)))
    out = []
    for _ in range(repeats):
        t = clock()
        for _ in range(calls):
            fn()
        out.append((clock() - t) / calls)
    return statistics.median(out)


def operands(np, s):
    rng = np.random.default_rng(1)
    m, k, n = s["m"], s["k"], s["n"]
    lay = s["layout"]
    a = rng.uniform(-1, 1, (k, m) if lay[0] == "t" else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if lay[1] == "t" else (k, n)).astype(np.float32)
    av = a.T if lay[0] == "t" else a
    bv = b.T if lay[1] == "t" else b
    return av, bv


def peers(neurite_json, quick):
    import numpy as np
    import torch

    torch.set_num_threads(1)
    rep = json.load(open(neurite_json))
    seen = set()
    rows = []
    batch_s, repeats = (0.025, 3) if quick else (0.06, 7)
    for g in rep["gemm"]:
        key = (g["name"], g["m"], g["k"], g["n"], g["layout"])
        if g["threads"] != 1 or key in seen:
            continue
        seen.add(key)
        av, bv = operands(np, g)
        c = np.empty((g["m"], g["n"]), dtype=np.float32)
        flops = 2.0 * g["m"] * g["n"] * g["k"]
        t_np = median_time(lambda: np.matmul(av, bv, out=c), batch_s, repeats)
        # same memory layouts as numpy's views (a transposed operand is a transposed view)
        ta = torch.from_numpy(av.T).T if g["layout"][0] == "t" else torch.from_numpy(av)
        tb = torch.from_numpy(bv.T).T if g["layout"][1] == "t" else torch.from_numpy(bv)
        tc = torch.empty((g["m"], g["n"]), dtype=torch.float32)
        with torch.no_grad():
            t_t = median_time(lambda: torch.matmul(ta, tb, out=tc), batch_s, repeats)
        rows.append({"name": g["name"], "numpy_gflops": flops / t_np / 1e9,
                     "torch_gflops": flops / t_t / 1e9})
    train = [torch_train(torch, dims, batch, batch_s * 3, repeats) for dims, batch in TRAIN]
    return {"gemm": rows, "train": train,
            "versions": {"numpy": np.__version__, "torch": torch.__version__,
                         "numpy_blas": blas_name(np)}}


def blas_name(np):
    try:
        cfg = np.show_config(mode="dicts")
        return cfg["Build Dependencies"]["blas"]["name"]
    except Exception:
        return "?"


# The training steps of neurite-kernel-bench (`TrainBench`): layer widths, batch.
TRAIN = [((784, 256, 128, 10), 128), ((64, 100, 10), 32)]


def train_key(dims, batch):
    return f"{'-'.join(map(str, dims))} b{batch}"


def torch_train(torch, dims, batch, batch_s, repeats, clock=clock):
    import torch.nn as nn

    torch.manual_seed(0)
    layers = []
    for i in range(len(dims) - 1):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(dims[i], dims[i + 1]))
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    x = torch.rand(batch, dims[0])
    y = torch.arange(batch) % dims[-1]

    def step():
        # PyTorch's default (set_to_none=True): the first backward writes the gradients, no
        # zeroing pass; neurite's bench step does the same (`Graph::backward_fresh`).
        opt.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    t = median_time(step, batch_s, repeats, clock)
    return {"key": train_key(dims, batch), "step_ms": t * 1e3, "samples_per_s": batch / t}


def torch_train_threads(threads):
    """The training steps with PyTorch on `threads` threads, on wall time (the clock of
    neurite's multi-thread figures: CPU time would add up the threads)."""
    import torch

    torch.set_num_threads(threads)
    train = [torch_train(torch, dims, batch, 0.18, 7, time.perf_counter)
             for dims, batch in TRAIN]
    return {"train": train, "threads": torch.get_num_threads(),
            "versions": {"torch": torch.__version__}}


def train_report(d, rounds, threads):
    rounds, threads = int(rounds), int(threads)
    ne = [json.load(open(os.path.join(d, f"neurite-{r}.json"))) for r in range(1, rounds + 1)]
    pe = [json.load(open(os.path.join(d, f"torch-{r}.json"))) for r in range(1, rounds + 1)]
    m = ne[0]["machine"]
    print(f"machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, tier {m['isa']}; "
          f"torch {pe[0]['versions']['torch']} on {pe[0]['threads']} threads; wall time, "
          f"median step of each run, best of {rounds} alternating rounds")
    for dims, batch in TRAIN:
        key = train_key(dims, batch)
        ns = {t["threads"]: [] for r in ne for t in r["train"]}
        for r in ne:
            for t in r["train"]:
                if neurite_train_key(t["name"]) == key:
                    ns[t["threads"]].append(t)
        ts = [t for p in pe for t in p["train"] if t["key"] == key]
        if not ns.get(threads) or not ts:
            continue
        nt = max(ns[threads], key=lambda t: t["samples_per_s"])
        tt = max(ts, key=lambda t: t["samples_per_s"])
        print(f"\ntraining step {'-'.join(map(str, dims))}, Adam, batch {batch}, {threads} threads:")
        print(f"  neurite        {nt['samples_per_s']:10.0f} samples/s ({nt['step_ms']:.3f} ms/step)")
        if ns.get(1):
            n1 = max(ns[1], key=lambda t: t["samples_per_s"])
            print(f"  neurite, 1 thread (thread CPU time) {n1['samples_per_s']:10.0f} samples/s: "
                  f"{threads} threads scale {nt['samples_per_s'] / n1['samples_per_s']:.2f}x")
        print(f"  pytorch eager  {tt['samples_per_s']:10.0f} samples/s ({tt['step_ms']:.3f} ms/step)")
        print(f"  ratio          {nt['samples_per_s'] / tt['samples_per_s']:10.2f}x")


def report(d, rounds):
    rounds = int(rounds)
    ne = [json.load(open(os.path.join(d, f"neurite-{r}.json"))) for r in range(1, rounds + 1)]
    pe = [json.load(open(os.path.join(d, f"peers-{r}.json"))) for r in range(1, rounds + 1)]
    best = {}
    for rep in ne:
        for g in rep["gemm"]:
            if g["threads"] != 1:
                continue
            b = best.setdefault(g["name"], dict(g))
            b["neurite_gflops"] = max(b["neurite_gflops"], g["neurite_gflops"])
            b["matrixmultiply_gflops"] = max(b["matrixmultiply_gflops"],
                                             g["matrixmultiply_gflops"])
    for rep in pe:
        for p in rep["gemm"]:
            b = best.get(p["name"])
            if b is None:
                continue
            b["numpy_gflops"] = max(b.get("numpy_gflops", 0), p["numpy_gflops"])
            b["torch_gflops"] = max(b.get("torch_gflops", 0), p["torch_gflops"])
    peak = max(r["peak"]["gflops_1t"] for r in ne)
    m = ne[0]["machine"]
    v = pe[0]["versions"]
    print(f"machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, tier {m['isa']}; "
          f"FMA peak (best of runs) {peak:.1f} GFLOP/s per core")
    print(f"peers: numpy {v['numpy']} ({v['numpy_blas']}), torch {v['torch']}, "
          f"matrixmultiply 0.3 (default features, {'AVX-512' if m['isa'] == 'avx512' else 'FMA'} kernel); one thread, thread CPU time; "
          f"best of {rounds} alternating rounds\n")
    hdr = (f"{'GEMM (M×K · K×N)':<38} {'lay':>3} {'neurite':>8} {'%pk':>4} {'numpy':>7} "
           f"{'torch':>7} {'mm':>7} {'/numpy':>7} {'/torch':>7} {'/mm':>6}")
    print(hdr)
    print("-" * len(hdr))
    for b in best.values():
        ng, npg, tg, mg = (b["neurite_gflops"], b.get("numpy_gflops", float("nan")),
                           b.get("torch_gflops", float("nan")), b["matrixmultiply_gflops"])
        print(f"{b['name']:<38} {b['layout']:>3} {ng:8.1f} {100 * ng / peak:3.0f}% {npg:7.1f} "
              f"{tg:7.1f} {mg:7.1f} {ng / npg:6.2f}x {ng / tg:6.2f}x {ng / mg:5.2f}x")
    for dims, batch in TRAIN:
        key = train_key(dims, batch)
        ns = [t for r in ne for t in r["train"]
              if t["threads"] == 1 and neurite_train_key(t["name"]) == key]
        ts = [t for p in pe for t in p["train"] if t["key"] == key]
        if not ns or not ts:
            continue
        nt = max(ns, key=lambda t: t["samples_per_s"])
        tt = max(ts, key=lambda t: t["samples_per_s"])
        target = " (target ≥ 3x)" if dims == TRAIN[0][0] else ""
        print(f"\ntraining step {'-'.join(map(str, dims))}, Adam, batch {batch}, one thread:")
        print(f"  neurite        {nt['samples_per_s']:10.0f} samples/s ({nt['step_ms']:.3f} ms/step)")
        print(f"  pytorch eager  {tt['samples_per_s']:10.0f} samples/s ({tt['step_ms']:.3f} ms/step)")
        print(f"  ratio          {nt['samples_per_s'] / tt['samples_per_s']:10.2f}x{target}")


def neurite_train_key(name):
    # "mlp 784-256-128-10 relu, softmax-xent, adam, batch 128" -> "784-256-128-10 b128"
    m = re.match(r"mlp (\S+) .*batch (\d+)", name)
    return f"{m.group(1)} b{m.group(2)}" if m else None


if __name__ == "__main__":
    if sys.argv[1] == "peers":
        print(json.dumps(peers(sys.argv[2], "--quick" in sys.argv)))
    elif sys.argv[1] == "train-threads":
        print(json.dumps(torch_train_threads(int(sys.argv[2]))))
    elif sys.argv[1] == "train-report":
        train_report(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        report(sys.argv[2], sys.argv[3])
