#!/usr/bin/env bash
# Lints the source of every registry package in Cargo.lock (the corpus the robustness test
# uses), with the release build of cargo-gomem-lint. Extra arguments go to the linter, e.g.
#   scripts/corpus.sh -A warnings -W unbounded_recursion
# prints the findings of one lint; `--message-format json` gives machine-readable output.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p cargo-gomem-lint
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
dirs=()
while IFS=' ' read -r name version; do
    for r in "$registry"/*/; do
        if [ -d "$r$name-$version" ]; then
            dirs+=("$r$name-$version")
            break
        fi
    done
done < <(awk '/^\[\[package\]\]/{n="";v="";s=""} /^name = /{n=$3} /^version = /{v=$3} /^source = "registry/{gsub(/"/,"",n); gsub(/"/,"",v); print n" "v}' Cargo.lock)
echo "corpus: ${#dirs[@]} packages" >&2
exec target/release/cargo-gomem-lint "$@" "${dirs[@]}"
