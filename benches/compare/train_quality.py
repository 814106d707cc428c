"""Training quality and time: neurite against scikit-learn's MLP and PyTorch on the same splits.

For every shipped dataset: one seeded split (80% train / 20% test; stratified for
classification), written as CSV files. neurite trains on the train file with its defaults
(`neurite train --json`, the test fraction set to 0 so it sees the same rows) and is scored on
the test file with `neurite eval`. scikit-learn trains MLPClassifier / MLPRegressor with its
defaults (one hidden layer of 100 ReLU units, which is also neurite's default); PyTorch trains the
same architecture with Adam (lr 1e-3, batch 32) for 200 epochs. Features are standardized with
statistics of the train split; regression targets too (scores are in original units).

Reports the test metric (accuracy, or mean R² over outputs) and the training wall time, one
thread for every framework.

Datasets with fewer than CV_BELOW rows (linnerud: 20) are scored by 5-fold cross-validation
instead of one 80/20 split: R² on a 4-row test set divides by the variance of 4 values and swings
by tens of points between seeds. Every framework trains on the same folds; its out-of-fold
predictions (each row predicted once, by a model that did not see it) are pooled and scored
once, as scikit-learn's `cross_val_predict`; times are summed over the folds.

Usage: python3 benches/compare/train_quality.py [--neurite target/release/neurite] [--seeds 1]
       [--datasets wine,digits] [--neurite-config '{"training": {"batch_size": 64}}']
"""
import argparse
import csv
import json
import os
import random
import subprocess
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

# Hidden layers of every framework: neurite's and scikit-learn's default.
HIDDEN = (100,)

# Below this many rows a dataset is scored by pooled 5-fold cross-validation (see the docstring).
CV_BELOW = 100
FOLDS = 5

DATASETS = [
    ("iris", ["species"], "classification"),
    ("wine", ["cultivar"], "classification"),
    ("breast_cancer", ["diagnosis"], "classification"),
    ("digits", ["digit"], "classification"),
    ("diabetes", ["progression"], "regression"),
    ("linnerud", ["weight", "waist", "pulse"], "regression"),
]


def read(path):
    rows = list(csv.reader(open(path)))
    return rows[0], rows[1:]


def write_parts(head, train, test, out):
    for name, part in [("train", train), ("test", test)]:
        with open(os.path.join(out, f"{name}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(head)
            w.writerows(part)


def folds(rows, seed):
    """FOLDS (train, test) pairs of a seeded shuffle; every row is in exactly one test part."""
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    parts = [rows[i::FOLDS] for i in range(FOLDS)]
    return [([r for j, p in enumerate(parts) if j != i for r in p], parts[i]) for i in range(FOLDS)]


def split(head, rows, targets, task, seed):
    rng = random.Random(seed)
    if task == "classification":
        t = head.index(targets[0])
        by = {}
        for r in rows:
            by.setdefault(r[t], []).append(r)
        train, test = [], []
        for k in sorted(by):
            g = by[k]
            rng.shuffle(g)
            n = round(len(g) * 0.2)
            test += g[:n]
            train += g[n:]
        rng.shuffle(train)
    else:
        rng.shuffle(rows)
        n = round(len(rows) * 0.2)
        test, train = rows[:n], rows[n:]
    return train, test


def arrays(head, rows, targets, task, classes=None):
    ti = [head.index(t) for t in targets]
    fi = [i for i in range(len(head)) if i not in ti]
    x = np.array([[float(r[i]) for i in fi] for r in rows], dtype=np.float64)
    if task == "classification":
        y = np.array([classes.index(r[ti[0]]) for r in rows])
    else:
        y = np.array([[float(r[i]) for i in ti] for r in rows], dtype=np.float64)
    return x, y


def score(task, y, p):
    from sklearn.metrics import accuracy_score, r2_score

    return accuracy_score(y, p) if task == "classification" else r2_score(y, p)


def run_sklearn(task, xtr, ytr, xte, seed):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    # scikit-learn's default max_iter=200 is what is being compared; its warning would flood the table.
    warnings.simplefilter("ignore", ConvergenceWarning)

    if task == "classification":
        m = MLPClassifier(hidden_layer_sizes=HIDDEN, random_state=seed)
        t0 = time.perf_counter()
        m.fit(xtr, ytr)
        dt = time.perf_counter() - t0
        return m.predict(xte), dt
    m = MLPRegressor(hidden_layer_sizes=HIDDEN, random_state=seed)
    ym, ys = ytr.mean(0), ytr.std(0) + 1e-12
    t0 = time.perf_counter()
    m.fit(xtr, ((ytr - ym) / ys).squeeze())
    dt = time.perf_counter() - t0
    return m.predict(xte).reshape(len(xte), -1) * ys + ym, dt


def run_torch(task, xtr, ytr, xte, seed, k):
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    out = k if task == "classification" else ytr.shape[1]
    layers, width = [], xtr.shape[1]
    for h in HIDDEN:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    net = torch.nn.Sequential(*layers, torch.nn.Linear(width, out))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.tensor(xtr, dtype=torch.float32)
    if task == "classification":
        y = torch.tensor(ytr, dtype=torch.long)
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        ym, ys = ytr.mean(0), ytr.std(0) + 1e-12
        y = torch.tensor((ytr - ym) / ys, dtype=torch.float32)
        loss_fn = torch.nn.MSELoss()
    n = len(x)
    t0 = time.perf_counter()
    for _ in range(200):
        perm = torch.randperm(n)
        for i in range(0, n, 32):
            idx = perm[i : i + 32]
            opt.zero_grad()
            loss_fn(net(x[idx]), y[idx]).backward()
            opt.step()
    dt = time.perf_counter() - t0
    with torch.no_grad():
        o = net(torch.tensor(xte, dtype=torch.float32)).numpy()
    return (o.argmax(1) if task == "classification" else o * ys + ym), dt


def merge(base, extra):
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v
    return base


def run_neurite(exe, task, targets, classes, work, extra, seed):
    cfg = os.path.join(work, "cfg.yaml")
    with open(cfg, "w") as f:
        # JSON is YAML: the extra settings merge into the test-fraction override. The split's
        # seed is neurite's training seed, as it is scikit-learn's random_state and PyTorch's
        # manual_seed: each split gets its own initial weights in every framework.
        json.dump(merge({"data": {"test_fraction": 0.0}, "training": {"seed": seed}}, extra), f)
    env = dict(os.environ, NEURITE_CONFIG=os.path.join(work, "neurite.yaml"))
    with open(env["NEURITE_CONFIG"], "w") as f:
        f.write(f"paths: {{models: {work}/models, logs: {work}/logs, experiments: {work}/experiments}}\n")
    t0 = time.perf_counter()
    out = subprocess.run(
        [exe, "train", os.path.join(work, "train.csv"), "--target", ",".join(targets), "--name", "m", "--config", cfg, "--json"],
        check=True, capture_output=True, text=True, env=env,
    )
    wall = time.perf_counter() - t0
    tr = json.loads(out.stdout)
    pred = subprocess.run(
        [exe, "predict", "--model", "m", os.path.join(work, "test.csv"), "--format", "jsonl"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    rows = [json.loads(line) for line in pred.splitlines() if line.strip()]
    if task == "classification":
        p = np.array([classes.index(r["label"]) for r in rows])
    else:
        p = np.array([[float(r[t]) for t in targets] for r in rows], dtype=np.float64)
    return p, tr["duration_secs"], wall


def run_all(a, extra, head, train, test, targets, task, classes, seed):
    """Trains every framework on `train`, returns (y_test, {framework: (predictions, seconds)})."""
    with tempfile.TemporaryDirectory() as work:
        write_parts(head, train, test, work)
        xtr, ytr = arrays(head, train, targets, task, classes)
        xte, yte = arrays(head, test, targets, task, classes)
        mu, sd = xtr.mean(0), xtr.std(0)
        sd[sd == 0] = 1
        xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
        npred, nt, nwall = run_neurite(a.neurite, task, targets, classes, work, extra, seed)
        spred, st = run_sklearn(task, xtr, ytr, xte, seed)
        tpred, tt = run_torch(task, xtr, ytr, xte, seed, len(classes or []))
    return yte, dict(neurite=(npred, nt, nwall), sklearn=(spred, st), torch=(tpred, tt))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurite", default="target/release/neurite")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--json", default=None, help="also write the rows here")
    ap.add_argument("--neurite-config", default="{}",
                    help='extra neurite model-config keys as JSON, e.g. \'{"training": {"batch_size": 64}}\'')
    ap.add_argument("--datasets", default=None, help="comma-separated subset of the datasets")
    a = ap.parse_args()
    extra = json.loads(a.neurite_config)
    datasets = [d for d in DATASETS if a.datasets is None or d[0] in a.datasets.split(",")]
    rows = []
    print("| dataset | metric | neurite | scikit-learn | PyTorch | neurite − best peer (points) | neurite s | sklearn s | torch s | sklearn ÷ neurite time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for seed in [int(s) for s in a.seeds.split(",")]:
        for name, targets, task in datasets:
            head, all_rows = read(f"data/{name}.csv")
            classes = sorted({r[head.index(targets[0])] for r in all_rows}) if task == "classification" else None
            cv = len(all_rows) < CV_BELOW
            parts = folds(all_rows, seed) if cv else [split(head, all_rows, targets, task, seed)]
            ys, preds = [], {"neurite": [], "sklearn": [], "torch": []}
            secs = {"neurite": 0.0, "neurite_wall": 0.0, "sklearn": 0.0, "torch": 0.0}
            for train, test in parts:
                y, out = run_all(a, extra, head, train, test, targets, task, classes, seed)
                ys.append(y)
                for k, v in out.items():
                    preds[k].append(v[0])
                    secs[k] += v[1]
                secs["neurite_wall"] += out["neurite"][2]
            y = np.concatenate(ys)
            nm, sm, tm = (score(task, y, np.concatenate(preds[k])) for k in ("neurite", "sklearn", "torch"))
            nt, st, tt = secs["neurite"], secs["sklearn"], secs["torch"]
            best = max(sm, tm)
            metric = "accuracy" if task == "classification" else "r2"
            row = dict(dataset=name, seed=seed, metric=metric + (f" ({FOLDS}-fold)" if cv else ""),
                       neurite=nm, sklearn=sm, torch=tm, neurite_s=nt, neurite_wall_s=secs["neurite_wall"], sklearn_s=st, torch_s=tt)
            rows.append(row)
            print(f"| {name} | {row['metric']} | {nm:.4f} | {sm:.4f} | {tm:.4f} | {100 * (nm - best):+.2f} | {nt:.3f} | {st:.3f} | {tt:.3f} | {st / nt:.1f}x |", flush=True)
    # Means over seeds: the test sets are small (30 rows for iris: one sample is 3.3 points), so
    # one split says little.
    print()
    # Two readings of "the better peer": per split (the max of two noisy scores, which
    # favours the peers) and the peer with the better mean over the splits.
    print("| dataset | splits | neurite | scikit-learn | PyTorch | neurite − better peer per split, mean (points) | splits within 0.5 or above | neurite − better peer's mean (points) | neurite s | sklearn s | sklearn ÷ neurite time (median) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, _, _ in datasets:
        rs = [r for r in rows if r["dataset"] == name]
        d = [100 * (r["neurite"] - max(r["sklearn"], r["torch"])) for r in rs]
        ratio = sorted(r["sklearn_s"] / r["neurite_s"] for r in rs)[len(rs) // 2]
        m = lambda k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
        vs_mean = 100 * (m("neurite") - max(m("sklearn"), m("torch")))
        print(f"| {name} | {len(rs)} | {m('neurite'):.4f} | {m('sklearn'):.4f} | {m('torch'):.4f} | {sum(d) / len(d):+.2f} | "
              f"{sum(x >= -0.5 for x in d)}/{len(d)} | {vs_mean:+.2f} | {m('neurite_s'):.3f} | {m('sklearn_s'):.3f} | {ratio:.1f}x |")
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
