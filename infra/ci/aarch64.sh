#!/usr/bin/env bash
# aarch64 (AWS Graviton) check on an x86-64 machine, called by .ci/run:
#
#   1. the lean serving stack (kernels, engine, the pipeline without default features, the
#      `neurite-serve` binary: what the Lambda image holds) builds for
#      aarch64-unknown-linux-gnu, so every x86 intrinsic stays behind `cfg` (with --full, every
#      other crate and target too, warnings denied);
#   2. the kernel and engine test suites run under qemu user-mode emulation: there the
#      portable tier is `wide` on NEON, and each fast kernel is held to its reference as on x86;
#   3. that aarch64 `neurite-serve`, under qemu, serves iris v1 (trained by this machine's x86-64
#      CLI: the model files are the same on both) and answers a prediction over HTTP.
#
# rustup cannot fetch another target's standard library here (only the package registries are
# reachable), so this uses Debian's `rustc-web` toolchain (bookworm-updates) and its arm64
# standard library via multiarch, the GNU cross linker, and qemu-user-static. Tests link
# statically (crt-static): qemu-user hangs in the first pthread_create of a dynamically linked
# arm64 glibc on the CI machine's kernel, while a static binary runs.
#
# Usage: infra/ci/aarch64.sh [--no-install] [--full]
#   --no-install  use the packages already installed
#   --full        also `cargo check` every crate and target of the workspace (the CLI, the
#                 benchmarks, the pipeline's default features; .ci/run passes it): about 2 min
#                 more, as a release check reuses the serve build's host crates (a dev one: 5.5)
# Environment: ARM_TARGET_DIR (default target/aarch64): its own target dir, because the
# toolchain differs from rustup's. NEURITE: the host CLI for step 3 (default target/debug/neurite,
# which `cargo test --workspace` builds; built when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

install=1
full=0
for a in "$@"; do
  case "$a" in
    --no-install) install=0 ;;
    --full) full=1 ;;
    -h | --help)
      sed -n '2,26p' "$0"
      exit 0
      ;;
    *)
      echo "aarch64.sh: unknown argument $a" >&2
      exit 2
      ;;
  esac
done

if [ "$install" = 1 ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
    qemu-user-static
fi

# Debian's toolchain, explicitly: rustup's cargo and rustc come first on PATH.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
cargo=/usr/bin/cargo
target=aarch64-unknown-linux-gnu
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static -D warnings"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64-static
dir=${ARM_TARGET_DIR:-target/aarch64}

"$RUSTC" --version
echo "== aarch64: build the serving binary (kernels, engine, lean pipeline, serve)"
"$cargo" build --release --locked --target "$target" --target-dir "$dir" -p neurite-serve --bins
file "$dir/$target/release/neurite-serve" 2>/dev/null || true

if [ "$full" = 1 ]; then
  echo "== aarch64: check every crate and target"
  "$cargo" check --release --locked --target "$target" --target-dir "$dir" --workspace --all-targets
fi

echo "== aarch64: kernel and engine tests under qemu (portable tier = NEON)"
# Optimised (qemu is slow enough) but without the release profile's LTO: thin LTO of each of
# the ~15 test binaries took about 3 min of the build's 4 on 2 cores, against 1 min without.
CARGO_PROFILE_RELEASE_LTO=false "$cargo" test --release --locked --target "$target" \
  --target-dir "$dir" -p neurite-kernels -p neurite-engine

echo "== aarch64: neurite-serve under qemu serves iris v1"
NEURITE=${NEURITE:-target/debug/neurite}
[ -x "$NEURITE" ] || cargo build --locked -q -p neurite --bin neurite
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
NEURITE_MODELS="$work/models" "$NEURITE" train data/iris.csv --target species --name iris \
  --json >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NEURITE_MODELS="$work/models" PORT=$port NEURITE_SERVE_MODE=server \
  qemu-aarch64-static "$dir/$target/release/neurite-serve" >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 1 300); do
  grep -q "listening on" "$work/err" && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
body='{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}'
if ! out=$(curl -s --max-time 20 -H 'Content-Type: application/json' -d "$body" \
  "http://127.0.0.1:$port/v1/models/iris:predict"); then
  echo "FAILED: no answer from the aarch64 server" >&2
  cat "$work/err" >&2
  exit 1
fi
echo "  $out"
python3 -c 'import json, sys; r = json.loads(sys.argv[1]); p = r["predictions"][0]
sys.exit(0 if p["label"] == "setosa" and r["model_version"] == "1" else 1)' "$out" || {
  echo "FAILED: the aarch64 server did not answer setosa from iris v1" >&2
  exit 1
}
echo "ok: aarch64 neurite-serve (NEON tier) answers setosa from iris v1"
