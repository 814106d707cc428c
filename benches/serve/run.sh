#!/usr/bin/env bash
# Serving benchmarks (issue #9): throughput and latency with wrk, a 1,000-row batch, cold start
# with hyperfine, and RSS after a million requests. Prints a Markdown block for RESULTS.md and
# writes the raw figures to $OUT (default target/serve-bench/results.json).
#
#   benches/serve/run.sh                 # 30 s per wrk run (the issue's setting)
#   DURATION=5 REQUESTS=200000 benches/serve/run.sh   # a quick run
#   PARTS=rss,cold benches/serve/run.sh                 # some parts only (wrk,rss,cold)
#
# On a 2-core machine the load generator and the server compete: the server is pinned to
# CPU 0 with one async worker and wrk to CPU 1 (taskset), so each gets one core.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DURATION="${DURATION:-30}"
REQUESTS="${REQUESTS:-1000000}"
PORT="${PORT:-18099}"
OUT="${OUT:-target/serve-bench/results.json}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
PARTS="${PARTS:-wrk,rss,cold}"
has() { [[ ",$PARTS," == *",$1,"* ]]; }
for t in wrk hyperfine taskset; do
  command -v "$t" >/dev/null || { echo "missing $t: run serve/scripts/ci-setup.sh"; exit 1; }
done
mkdir -p "$(dirname "$OUT")"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== building (release)"
cargo build --release -q -p neurite-serve --bin neurite-serve --example coldstart
cargo build --release -q -p neurite
bin=target/release/neurite-serve
cp "$bin" "$work/neurite-serve" && strip "$work/neurite-serve"
size=$(stat -c %s "$work/neurite-serve")

echo "== training the shipped iris model (defaults) into a temporary registry"
target/release/neurite --models-dir "$work/models" train data/iris.csv --target species --json > "$work/train.json"

start_server() {
  taskset -c "$SERVER_CPU" "$bin" --mode server --port "$PORT" --models "$work/models" \
    --inference-log "$work/inference.jsonl" --workers 1 2>"$work/server.err" &
  spid=$!
  for _ in $(seq 1 200); do grep -q "listening on" "$work/server.err" 2>/dev/null && return; sleep 0.05; done
  echo "server did not start"; cat "$work/server.err"; exit 1
}
stop_server() { kill -TERM "$spid"; wait "$spid" || true; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$spid/status"; }
url="http://127.0.0.1:$PORT/v1/models/iris:predict"
wrk_json() { taskset -c "$CLIENT_CPU" wrk "$@" | sed -n 's/^JSON //p'; }

declare -A single=([1]=null [8]=null [64]=null)
batch=null rss_1k=0 rss_1m=0 inner=""
echo '{"results":[{"mean":0,"median":0,"min":0,"max":0,"times":[]}]}' > "$work/hyperfine.json"
if has wrk; then
start_server
echo "== warm-up"
wrk_json -t1 -c8 -d2s -s benches/serve/predict.lua "$url" >/dev/null
for c in 1 8 64; do
  echo "== single row, $c connection(s), ${DURATION}s"
  single[$c]=$(wrk_json -t1 -c"$c" -d"${DURATION}s" --timeout 5s -s benches/serve/predict.lua "$url")
  echo "${single[$c]}"
done
echo "== batch of 1,000 rows, 8 connections, ${DURATION}s"
batch_body=$(python3 -c 'import json,random; r=random.Random(1); print(json.dumps({"instances":[[round(r.uniform(4,8),1),round(r.uniform(2,4.5),1),round(r.uniform(1,7),1),round(r.uniform(0.1,2.5),1)] for _ in range(1000)]}))')
batch=$(BODY="$batch_body" wrk_json -t1 -c8 -d"${DURATION}s" --timeout 10s -s benches/serve/predict.lua "$url")
echo "$batch"
stop_server
fi

if has rss; then
echo "== RSS: after 1,000 requests, then after $REQUESTS"
start_server
N=1000 wrk_json -t1 -c8 -d600s -s benches/serve/stop_after.lua "$url" >/dev/null
rss_1k=$(rss_kib)
N="$REQUESTS" wrk_json -t1 -c8 -d3600s -s benches/serve/stop_after.lua "$url" > "$work/rss.json"
rss_1m=$(rss_kib)
cat "$work/rss.json"
stop_server
fi

if has cold; then
echo "== cold start: process start to first successful prediction"
cs_bin=target/release/examples/coldstart
hyperfine -N --warmup 5 --runs 50 --export-json "$work/hyperfine.json" "$cs_bin $bin $work/models" >/dev/null
inner=$("$cs_bin" "$bin" "$work/models" 50)
echo "$inner"
fi

python3 - "$OUT" "$size" "$work/hyperfine.json" "$rss_1k" "$rss_1m" "$REQUESTS" "$DURATION" "$batch" "$inner" \
  "${single[1]}" "${single[8]}" "${single[64]}" <<'PY'
import json, sys, platform, subprocess, os
out, size, hf, rss_1k, rss_1m, nreq, dur, batch, inner, s1, s8, s64 = sys.argv[1:13]
h = json.load(open(hf))["results"][0]
def j(x):
    return json.loads(x) if x and x != "null" else None
res = {
  "binary_stripped_bytes": int(size),
  "single_row": {"1": j(s1), "8": j(s8), "64": j(s64)},
  "batch_1000": j(batch),
  "cold_start_hyperfine_ms": {"mean": h["mean"] * 1e3, "median": h["median"] * 1e3, "min": h["min"] * 1e3, "max": h["max"] * 1e3, "runs": len(h["times"])},
  "cold_start_inner": inner,
  "rss_kib": {"after_1000": int(rss_1k), "after_n": int(rss_1m), "n": int(nreq)},
  "duration_s": int(dur),
  "load_average_at_end": os.getloadavg(),
}
json.dump(res, open(out, "w"), indent=2)
s = res["single_row"]; b = res["batch_1000"]; r = res["rss_kib"]; c = res["cold_start_hyperfine_ms"]
print()
print("| measure | result |")
print("|---|---|")
for k in ("1", "8", "64"):
    v = s[k]
    if v is None:
        continue
    print(f"| single row, {k} connection(s), {dur} s | {v['rps']:,.0f} req/s, p50 {v['p50_ms']:.3f} ms, p99 {v['p99_ms']:.3f} ms, errors {v['errors_status'] + v['errors_connect'] + v['errors_read'] + v['errors_write'] + v['errors_timeout']} |")
if b:
    print(f"| batch of 1,000 rows, 8 connections | {b['rps']:,.1f} req/s = {b['rps'] * 1000:,.0f} rows/s, p99 {b['p99_ms']:.1f} ms |")
if c["runs"]:
    print(f"| cold start to first prediction (hyperfine, {c['runs']} runs) | median {c['median']:.1f} ms, mean {c['mean']:.1f} ms, min {c['min']:.1f} ms |")
if r["after_1000"]:
    print(f"| RSS after 1,000 / {r['n']:,} requests | {r['after_1000'] / 1024:.1f} MiB / {r['after_n'] / 1024:.1f} MiB ({(r['after_n'] / r['after_1000'] - 1) * 100:+.1f}%) |")
print(f"| stripped binary | {int(size) / 1e6:.2f} MB |")
print(f"load average at the end: {res['load_average_at_end']}")
PY
echo "raw figures: $OUT"
