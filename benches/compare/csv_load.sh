#!/usr/bin/env bash
# CSV loading: neurite's Table::read_csv against pandas.read_csv on the same 1,000,000 x 50
# numeric file. Time (wall) and peak RSS from /usr/bin/time -v, best of 3 runs each (page cache
# warm: the file is read once before timing). Results go in benches/RESULTS.md ("CSV loading").
#
#   bash benches/compare/csv_load.sh            # needs python3 (venv with pandas made here)
#   ROWS=100000 bash benches/compare/csv_load.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-1000000}
COLS=${COLS:-50}
WORK=${WORK:-/tmp/neurite-csv-bench}
VENV=${VENV:-/tmp/venv-data}
mkdir -p "$WORK"
CSV="$WORK/synth_${ROWS}x${COLS}.csv"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy pandas
fi
cargo build -q --release -p neurite -p neurite-pipeline --example load_csv
NEURITE=target/release/neurite
LOADER=target/release/examples/load_csv

# 49 features and one regression target: 50 numeric columns.
[ -f "$CSV" ] || "$NEURITE" data synth --rows "$ROWS" --features $((COLS - 1)) --targets 1 --seed 1 -o "$CSV"
cat "$CSV" > /dev/null

cat > "$WORK/pandas_load.py" <<'PY'
import sys, time
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1])
s = time.perf_counter() - t
print('{"rows": %d, "columns": %d, "seconds": %.3f}' % (df.shape[0], df.shape[1], s))
PY

measure() { # label, command...: prints "label wall_s inner_s maxrss_kib"
  local label=$1; shift
  local out err
  out=$(/usr/bin/time -v "$@" 2> "$WORK/time.txt")
  local wall rss inner
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  inner=$(echo "$out" | sed -n 's/.*"seconds": \([0-9.]*\).*/\1/p')
  echo "$label $wall $inner $rss"
}

echo "file: $CSV ($(du -m "$CSV" | cut -f1) MiB), f32 matrix: $((ROWS * COLS * 4 / 1048576)) MiB"
for i in 1 2 3; do
  measure neurite "$LOADER" "$CSV"
  measure pandas "$VENV/bin/python" "$WORK/pandas_load.py" "$CSV"
  measure python_import_pandas "$VENV/bin/python" -c "import pandas" # the interpreter and import alone
done
