#!/usr/bin/env bash
# The profiling allocator's cost (gomem::Profiled), side by side in one run, in alternating
# rounds: binary-trees with Box over System unwrapped, wrapped with sampling off, and
# wrapped at Go's default rate (512 KiB); then the linter over tokio's source without and
# with --heap-profile (and, given BASE_LINT=<a cargo-gomem-lint built without the wrapper>,
# that binary too; "rate 512 KiB" samples without writing a profile, --heap-profile also
# symbolizes and writes it). Given BEFORE=<a folder holding alloc_overhead and
# cargo-gomem-lint from an earlier build>, those run in the same rounds too, sampling off and
# at 512 KiB, so that a change to the wrapper is measured side by side. Prints each side's
# median CPU time (user + system, of the child: less disturbed than wall time by other work
# on a busy machine) and its range, the ratios of the medians, and the wall-time ratios
# beside them.
#
#     scripts/bench-profiled.sh [DEPTH] [ROUNDS]      # defaults: 19, 7
set -euo pipefail
depth="${1:-19}"
rounds="${2:-7}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" && touch "$tmp/src/lib.rs"
printf '[package]\nname = "fetch-tokio"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\ntokio = { version = "1", features = ["full"] }\n[workspace]\n' > "$tmp/Cargo.toml"
cargo fetch --manifest-path "$tmp/Cargo.toml" >/dev/null
tokio_dir=$(dirname "$(cargo metadata --format-version 1 --manifest-path "$tmp/Cargo.toml" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="tokio"))')")
cd "$(dirname "$0")/.."
cargo build -q --release -p gomem-runtime --example alloc_overhead --example alloc_overhead_plain
cargo build -q --release -p cargo-gomem-lint
bin="${CARGO_TARGET_DIR:-target}/release"
export DEPTH="$depth" ROUNDS="$rounds" TOKIO_DIR="$tokio_dir" BIN="$bin" BASE_LINT="${BASE_LINT:-}" BEFORE="${BEFORE:-}" PROFILE="$tmp/lint.pb"
python3 - <<'PY'
import os, statistics, subprocess, time
depth, rounds, tokio, b = os.environ["DEPTH"], int(os.environ["ROUNDS"]), os.environ["TOKIO_DIR"], os.environ["BIN"]
def env(rate):
    e = dict(os.environ)
    e.pop("GOMEM_MEMPROFILERATE", None)
    if rate is not None:
        e["GOMEM_MEMPROFILERATE"] = rate
    return e
def measure(cmd, environ):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - t, out, p.returncode
before = os.environ["BEFORE"]
def trees(exe, rate):
    path = exe if "/" in exe else f"{b}/examples/{exe}"
    def run():
        cpu, wall, out, code = measure([path, depth], env(rate))
        assert code == 0, f"{exe} failed"
        return cpu, wall, out.split()[2]
    return run
def lint(exe, args, rate=None):
    def run():
        cpu, wall, _, code = measure([exe, *args, tokio], env(rate))
        assert code in (0, 1), f"{exe} failed ({code})"
        return cpu, wall, None
    return run
def bench(title, sides):
    cpus = {name: [] for name, _ in sides}
    walls = {name: [] for name, _ in sides}
    sums = set()
    for _ in range(rounds):
        for name, run in sides:
            cpu, wall, s = run()
            cpus[name].append(cpu)
            walls[name].append(wall)
            if s is not None:
                sums.add(s)
    assert len(sums) <= 1, f"checksums differ: {sums}"
    base = statistics.median(cpus[sides[0][0]])
    base_wall = statistics.median(walls[sides[0][0]])
    print(f"{title} ({rounds} alternating rounds; median CPU time, range, ratio to the first; wall-time ratio)")
    for name, _ in sides:
        ts = cpus[name]
        m = statistics.median(ts)
        w = statistics.median(walls[name])
        print(f"  {name:<36} {m:7.3f} s  [{min(ts):.3f}-{max(ts):.3f}]  {m / base:.3f}x   wall {w / base_wall:.3f}x")
sides = [
    ("System", trees("alloc_overhead_plain", None)),
    ("Profiled<System>, sampling off", trees("alloc_overhead", None)),
    ("Profiled<System>, rate 512 KiB", trees("alloc_overhead", "524288")),
]
if before:
    sides += [
        ("BEFORE: Profiled<System>, off", trees(f"{before}/alloc_overhead", None)),
        ("BEFORE: Profiled<System>, 512 KiB", trees(f"{before}/alloc_overhead", "524288")),
    ]
bench(f"binary-trees {depth}, Box", sides)
sides = []
if os.environ["BASE_LINT"]:
    sides.append(("MiMalloc (BASE_LINT)", lint(os.environ["BASE_LINT"], [])))
sides += [
    ("Profiled<MiMalloc>, sampling off", lint(f"{b}/cargo-gomem-lint", [])),
    ("Profiled<MiMalloc>, rate 512 KiB", lint(f"{b}/cargo-gomem-lint", [], "524288")),
    ("Profiled<MiMalloc>, --heap-profile", lint(f"{b}/cargo-gomem-lint", ["--heap-profile", os.environ["PROFILE"]])),
]
if before:
    sides += [
        ("BEFORE: Profiled<MiMalloc>, off", lint(f"{before}/cargo-gomem-lint", [])),
        ("BEFORE: Profiled<MiMalloc>, 512 KiB", lint(f"{before}/cargo-gomem-lint", [], "524288")),
    ]
bench(f"cargo-gomem-lint {tokio}", sides)
PY
