#!/usr/bin/env bash
# The runtime's extra CI step: its collector tests (drop counting, the model-based stress
# test), the heap profiler's and the profiling allocator's, under valgrind's memcheck, which
# must report no error and no definite leak. Built with the `system-alloc` feature, so that valgrind sees every
# object (it cannot look inside the heap's pages).
set -euo pipefail
cd "$(dirname "$0")/.."
for test in gc model profile profiled; do
    bin=$(cargo test -q -p gomem-runtime --features system-alloc --test "$test" --no-run --message-format=json 2>/dev/null \
        | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$test")
    echo "valgrind: $test ($bin)"
    PROPTEST_CASES=24 valgrind --quiet --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite "$bin" --test-threads=1 -q
done
