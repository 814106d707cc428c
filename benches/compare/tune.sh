#!/usr/bin/env bash
# Random search, TPE and GP against the default configuration on the shipped datasets
# (see benches/compare/tune.py). Needs python3 (standard library only).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p neurite
python3 benches/compare/tune.py --neurite target/release/neurite "$@"
