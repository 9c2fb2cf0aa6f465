#!/usr/bin/env python3
"""Whole-process timings and peak memory of `plumb check` and `plumb build` on generated
workspaces, for two builds of plumb in the same run (the README's performance table).

    cargo build --release -p plumb-cli -p plumb-gen
    target/release/plumb-gen /tmp/ws5k 5000 100 && target/release/plumb-gen /tmp/ws50k 50000 1000
    python3 scripts/bench_process.py OLD_PLUMB NEW_PLUMB [ROUNDS]

OLD_PLUMB is another commit's release binary (a `git worktree` built with its own
CARGO_TARGET_DIR). Rounds alternate between the two builds; each cell is the median of
10 runs (3 for 50,000 jobs), as Plumb runs by default. Peak memory is the resident set of
one more run with mimalloc's transparent huge pages off (MIMALLOC_ALLOW_THP=0): with them
on, the resident set counts whole 2 MiB pages and says more about the kernel than about
Plumb (and older builds used an allocator version without them).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

# The workspaces: PLUMB_WS5K and PLUMB_WS50K, or /tmp/ws5k and /tmp/ws50k. Against an
# older commit, generate them with that commit's plumb-gen: today's writes fields an
# older plumb does not know, and it would only report errors.
WS5K = os.environ.get("PLUMB_WS5K", "/tmp/ws5k")
WS50K = os.environ.get("PLUMB_WS50K", "/tmp/ws50k")
CASES = [
    ("check 5,000 jobs / 100 files", ["check", WS5K], 10),
    ("build --target gitlab, same", ["build", WS5K, "--target", "gitlab", "-o", "OUT"], 10),
    ("check 50,000 jobs / 1,000 files", ["check", WS50K], 3),
]


def run(binary, args, runs):
    times, peak = [], 0
    with tempfile.TemporaryDirectory() as out:
        args = [a.replace("OUT", os.path.join(out, "ci.yml")) for a in args]
        for i in range(runs + 1):
            # the last run measures memory, with transparent huge pages off
            env = dict(os.environ, MIMALLOC_ALLOW_THP="0") if i == runs else None
            start = time.perf_counter()
            p = subprocess.run(["/usr/bin/time", "-f", "%M", binary, *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            elapsed = time.perf_counter() - start
            if p.returncode > 1:
                sys.exit(f"{binary} {' '.join(args)} failed: {p.stderr.decode()[-500:]}")
            if i == runs:
                peak = int(p.stderr.decode().split()[-1])
            else:
                times.append(elapsed)
    return statistics.median(times) * 1000, peak / 1024


def main():
    old, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    results = {}
    for _ in range(rounds):
        for name, binary in (("old", old), ("new", new)):
            for case, args, runs in CASES:
                results.setdefault((case, name), []).append(run(binary, args, runs))
    print("| | old | new | new / old |\n|---|---|---|---|")
    for case, _, _ in CASES:
        o = [r[0] for r in results[(case, "old")]]
        n = [r[0] for r in results[(case, "new")]]
        om = max(r[1] for r in results[(case, "old")])
        nm = max(r[1] for r in results[(case, "new")])
        o_ms, n_ms = statistics.median(o), statistics.median(n)
        print(f"| {case} | {o_ms:.0f} ms, {om:.0f} MB | {n_ms:.0f} ms, {nm:.0f} MB | {n_ms / o_ms:.2f} |")


if __name__ == "__main__":
    main()
