"""Hyperparameter tuning: random search, TPE and GP against the default configuration.

For every dataset and seed, on the same seeded split (the seed sets the split, the weight
initialization and the sampler):
- the default configuration: `neurite train --seed S --json`;
- one study per sampler: `neurite tune --seed S --sampler K --trials N --workers 1 --json`
  (the default search space and pruner of `neurite tune`).

Reports the validation metric each study optimizes (`--metric auto`: accuracy, R² for
diabetes; `--metric log_loss`: the validation log-loss for the classification sets, which
unlike the accuracy of a small validation split rarely ties) of the best trial and of the
default configuration, and, for information only, the test metric of the
chosen model (never used to choose). Every run gets its own temporary workspace, so nothing
is written into the repository. Kernels use one thread per process (NEURITE_THREADS=1); `--jobs`
runs that many processes at once.

Usage: python3 benches/compare/tune.py [--neurite target/release/neurite] [--trials 20]
       [--seeds 1,2,3,4,5] [--datasets iris,wine,breast_cancer,digits,diabetes]
       [--samplers random,tpe,gp] [--metric auto|log_loss] [--cv K] [--jobs 2]
       [--out benches/compare/last-run-tune.json]
"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tempfile
import time

DATASETS = {
    "iris": ("species", "accuracy"),
    "wine": ("cultivar", "accuracy"),
    "breast_cancer": ("diagnosis", "accuracy"),
    "digits": ("digit", "accuracy"),
    "diabetes": ("progression", "r2"),
}


def run(neurite, args):
    """Run neurite in a fresh workspace; the parsed JSON output and the wall time."""
    with tempfile.TemporaryDirectory() as ws:
        cfg = os.path.join(ws, "neurite.yaml")
        with open(cfg, "w") as f:
            f.write(
                f"paths:\n  models: {ws}/models\n  logs: {ws}/logs\n  experiments: {ws}/experiments\n"
            )
        env = dict(os.environ, NEURITE_CONFIG=cfg, NEURITE_THREADS="1")
        t0 = time.monotonic()
        p = subprocess.run([neurite] + args, capture_output=True, text=True, env=env)
        secs = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{args}: {p.stderr}")
        return json.loads(p.stdout), secs


def metric_of(dataset, choice):
    target, metric = DATASETS[dataset]
    return metric if choice == "auto" or metric == "r2" else choice


def job(neurite, dataset, seed, sampler, trials, choice, cv):
    target, _ = DATASETS[dataset]
    metric = metric_of(dataset, choice)
    csv = f"data/{dataset}.csv"
    if sampler == "default":
        out, secs = run(neurite, ["train", csv, "--target", target, "--seed", str(seed), "--json"])
        return {
            "val": out["metrics"]["validation"][metric],
            "test": out["metrics"]["test"][metric],
            "secs": secs,
        }
    out, secs = run(
        neurite,
        ["tune", csv, "--target", target, "--seed", str(seed), "--sampler", sampler,
         "--trials", str(trials), "--workers", "1", "--study", "s", "--metric", metric, "--json"]
        + (["--cv", str(cv)] if cv else []),
    )
    best = out["best"]
    return {
        "val": best["value"],
        "test": best["test_value"],
        "secs": secs,
        "trials": out["trials"],
        "params": best["params"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurite", default="target/release/neurite")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--samplers", default="random,tpe,gp")
    ap.add_argument("--metric", default="auto")
    ap.add_argument("--cv", type=int, default=0, help="k-fold objective for the studies (0: the validation split)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="benches/compare/last-run-tune.json")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    datasets = a.datasets.split(",")
    samplers = ["default"] + a.samplers.split(",")
    todo = [(d, s, k) for d in datasets for s in seeds for k in samplers]
    results = {}
    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        futs = {ex.submit(job, a.neurite, d, s, k, a.trials, a.metric, a.cv): (d, s, k) for d, s, k in todo}
        for i, f in enumerate(cf.as_completed(futs)):
            d, s, k = futs[f]
            results[(d, s, k)] = f.result()
            print(f"[{i + 1}/{len(todo)}] {d} seed {s} {k}: val {results[(d, s, k)]['val']:.4f} "
                  f"({results[(d, s, k)]['secs']:.1f} s, {time.monotonic() - t0:.0f} s in all)",
                  file=sys.stderr, flush=True)
    with open(a.out, "w") as f:
        json.dump({f"{d}/{s}/{k}": v for (d, s, k), v in results.items()}, f, indent=1)

    tuned = samplers[1:]
    print(f"Trials per study: {a.trials}; seeds {a.seeds}.\n")
    for d in datasets:
        metric = metric_of(d, a.metric)
        lower = metric in ("log_loss", "rmse", "mae", "mse")
        # "at least as good": >= for scores, <= for losses.
        ge_ = (lambda x, y: x <= y) if lower else (lambda x, y: x >= y)
        gt_ = (lambda x, y: x < y) if lower else (lambda x, y: x > y)
        print(f"#### {d} (validation {metric}{', lower is better' if lower else ''}; "
              f"test {metric} in brackets)\n")
        print("| seed | " + " | ".join(samplers) + " |")
        print("|---|" + "---|" * len(samplers))
        for s in seeds:
            cells = [f"{results[(d, s, k)]['val']:.4f} ({results[(d, s, k)]['test']:.4f})" for k in samplers]
            print(f"| {s} | " + " | ".join(cells) + " |")
        means = []
        for k in samplers:
            v = sum(results[(d, s, k)]["val"] for s in seeds) / len(seeds)
            t = sum(results[(d, s, k)]["test"] for s in seeds) / len(seeds)
            means.append(f"{v:.4f} ({t:.4f})")
        print("| mean | " + " | ".join(means) + " |")
        secs = [sum(results[(d, s, k)]["secs"] for s in seeds) / len(seeds) for k in samplers]
        print("| seconds | " + " | ".join(f"{x:.1f}" for x in secs) + " |")
        print()
        def count(f, k, base, key="val"):
            return sum(f(results[(d, s, k)][key], results[(d, s, base)][key]) for s in seeds)

        if "tpe" in tuned and "random" in tuned:
            print(f"- TPE at least as good as random in {count(ge_, 'tpe', 'random')}/{len(seeds)} "
                  f"seeds (better in {count(gt_, 'tpe', 'random')}).")
        for k in tuned:
            print(f"- {k} vs default: validation at least as good in {count(ge_, k, 'default')}/"
                  f"{len(seeds)} (better in {count(gt_, k, 'default')}); test at least as good "
                  f"in {count(ge_, k, 'default', 'test')}/{len(seeds)}.")
        print()


if __name__ == "__main__":
    main()
