#!/usr/bin/env bash
# Lints tokio's source and parses it with syn alone, in one run, and prints both times and
# their ratio. Fetches tokio into cargo's registry first (through a throwaway manifest).
set -euo pipefail
version="${TOKIO_VERSION:-1}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" && touch "$tmp/src/lib.rs"
printf '[package]\nname = "fetch-tokio"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\ntokio = { version = "%s", features = ["full"] }\n[workspace]\n' "$version" > "$tmp/Cargo.toml"
cargo fetch --manifest-path "$tmp/Cargo.toml" >/dev/null
resolved=$(cargo metadata --format-version 1 --manifest-path "$tmp/Cargo.toml" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="tokio"))')
tokio_dir=$(dirname "$resolved")
echo "benchmarking on $tokio_dir"
cd "$(dirname "$0")/.."
cargo bench -p cargo-gomem-lint --bench lint_vs_parse -- "$tokio_dir"
