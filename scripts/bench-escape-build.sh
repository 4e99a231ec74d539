#!/usr/bin/env bash
# How much `#[gomem::escape]` adds to build times: `cargo check` of a crate with N fns,
# annotated and not, after the dependencies are built (only the crate itself is rechecked).
# Usage: scripts/bench-escape-build.sh [N=500] [RUNS=5]
set -euo pipefail
n=${1:-500}
runs=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

make_crate() { # name attribute
    mkdir -p "$dir/$1/src"
    cat > "$dir/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.1.0"
edition = "2021"
[dependencies]
gomem = { path = "$root" }
[workspace]
[profile.dev.build-override]
opt-level = ${BUILD_OVERRIDE_OPT:-0}
TOML
    {
        for i in $(seq 1 "$n"); do
            cat <<RS
$2
pub fn f$i(text: &str) -> usize {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() { word.push(c); } else if !word.is_empty() { words.push(word.len()); word.clear(); }
    }
    let label = format!("{} words", words.len());
    label.len() + words.iter().sum::<usize>() + $i
}
RS
        done
    } > "$dir/$1/src/lib.rs"
    # Build the dependencies once, into a shared target dir.
    CARGO_TARGET_DIR="$dir/target" cargo check -q --manifest-path "$dir/$1/Cargo.toml"
}

make_crate plain ""
make_crate annotated "#[gomem::escape]"
# An attribute that returns its item unchanged: the cost of any proc-macro attribute.
make_crate identity "#[gomem::allow]"
# One that parses its item with syn first, as `#[gomem::escape]` does, and returns it
# unchanged: the part of the cost that syn's parse alone takes, the floor of any syn-based
# attribute.
make_crate parsed "#[gomem::__bench_parse_only]"

time_check() { # name
    touch "$dir/$1/src/lib.rs"
    local start end
    start=$(date +%s.%N)
    CARGO_TARGET_DIR="$dir/target" cargo check -q --manifest-path "$dir/$1/Cargo.toml"
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

echo "cargo check of $n fns, $runs runs each, alternating (seconds):"
p=(); a=(); i=(); s=()
for _ in $(seq 1 "$runs"); do
    p+=("$(time_check plain)")
    a+=("$(time_check annotated)")
    i+=("$(time_check identity)")
    s+=("$(time_check parsed)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mp=$(median "${p[@]}"); ma=$(median "${a[@]}"); mi=$(median "${i[@]}"); ms=$(median "${s[@]}")
echo "plain:     ${p[*]}  (median $mp)"
echo "annotated: ${a[*]}  (median $ma)"
echo "identity attribute (#[gomem::allow]): ${i[*]}  (median $mi)"
echo "syn parse only (#[gomem::__bench_parse_only]): ${s[*]}  (median $ms)"
ratio() { echo "scale=2; $1 / $mp" | bc; }
echo "ratio to plain: annotated $(ratio "$ma")   identity $(ratio "$mi")   syn parse only $(ratio "$ms")"
