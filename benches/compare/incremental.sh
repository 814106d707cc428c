#!/usr/bin/env bash
# Incremental training demo: digits split (per seed) into a held-out test set (20%), an "old"
# and a "new" part (40% each). A model trained on old is updated on new
# (`--from`, 30 epochs, 50% replay of old) and compared with a model trained on old+new from
# scratch: test accuracy, wall time and work (rows × epochs).
# Usage: benches/compare/incremental.sh [SEEDS...]   (default: 1 2 3 4 5 6 7 8)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q
N="$PWD/target/release/neurite"
seeds=("${@:-1 2 3 4 5 6 7 8}")
# shellcheck disable=SC2206
seeds=(${seeds[*]})
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'data: {test_fraction: 0.0}\n' > "$work/cfg.yaml"
printf '| seed | update acc | scratch acc | Δ points | update s | scratch s | time ratio | work ratio |\n|---|---|---|---|---|---|---|---|\n'
for s in "${seeds[@]}"; do
  rm -rf "$work/models"
  python3 - "$s" "$work" <<'PY'
import csv, random, sys
seed, out = int(sys.argv[1]), sys.argv[2]
rows = list(csv.reader(open("data/digits.csv")))
head, rows = rows[0], rows[1:]
random.Random(seed).shuffle(rows)
t = int(len(rows) * 0.2); test, rest = rows[:t], rows[t:]; half = len(rest) // 2
for name, part in [("test", test), ("old", rest[:half]), ("new", rest[half:]), ("all", rest)]:
    w = csv.writer(open(f"{out}/{name}.csv", "w", newline="")); w.writerow(head); w.writerows(part)
PY
  M=(--models-dir "$work/models")
  "$N" "${M[@]}" train "$work/old.csv" --target digit --name old --config "$work/cfg.yaml" -q > /dev/null
  u=$("$N" "${M[@]}" train "$work/new.csv" --from old@1 --replay "$work/old.csv" --replay-fraction "${REPLAY:-0.5}" --epochs "${UPDATE_EPOCHS:-30}" --config "$work/cfg.yaml" --json)
  f=$("$N" "${M[@]}" train "$work/all.csv" --target digit --name scratch --config "$work/cfg.yaml" --json)
  au=$("$N" "${M[@]}" eval --model old@2 "$work/test.csv" --json)
  af=$("$N" "${M[@]}" eval --model scratch "$work/test.csv" --json)
  python3 - "$s" "$u" "$f" "$au" "$af" "$work" <<'PY'
import json, sys
s, u, f, au, af, work = sys.argv[1], *map(json.loads, sys.argv[2:6]), sys.argv[6]
mu = json.load(open(f"{work}/models/old/v2/model.json"))["training"]
mf = json.load(open(f"{work}/models/scratch/v1/model.json"))["training"]
a1, a2 = au["metrics"]["accuracy"], af["metrics"]["accuracy"]
w1, w2 = mu["rows_train"] * mu["epochs_run"], mf["rows_train"] * mf["epochs_run"]
print(f"| {s} | {a1:.4f} | {a2:.4f} | {100*(a1-a2):+.2f} | {u['duration_secs']:.3f} | {f['duration_secs']:.3f} | {u['duration_secs']/f['duration_secs']:.2f} | {w1/w2:.2f} |")
PY
done
