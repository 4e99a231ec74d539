#!/usr/bin/env bash
# Counts the instructions of a full `cargo gomem-lint` run and of syn's parse-only run on the
# same sources (tokio by default), under valgrind's callgrind, and prints their ratio.
# Instruction counts do not depend on what else the machine is doing, unlike wall time, so
# this is the figure to compare across commits on a shared, noisy machine.
#   scripts/bench-instructions.sh [SOURCE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-}"
if [ -z "$dir" ]; then
    dir=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/tokio-1.* 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$dir" ] || { echo "no tokio source found: run scripts/bench-lint.sh once, or pass a folder" >&2; exit 2; }
fi
cargo build --release -q -p cargo-gomem-lint
cargo bench -q -p cargo-gomem-lint --bench lint_vs_parse --no-run 2>/dev/null
bench=$(ls -t target/release/deps/lint_vs_parse-* | grep -v '\.d$' | head -1)
count() { { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null || true; } | sed -n 's/.*Collected : //p'; }
parse=$(count "$bench" --parse-only-child "$dir")
lint=$(count target/release/cargo-gomem-lint --message-format=json "$dir")
echo "sources:            $dir"
echo "syn parse only:     $parse instructions"
echo "cargo-gomem-lint:   $lint instructions"
python3 -c "print(f'ratio:              {$lint/$parse:.2f}x')"
