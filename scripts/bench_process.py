#!/usr/bin/env python3
"""Whole-process timings and peak memory of `plumb check` and `plumb build` on generated
workspaces, for two builds of plumb in the same run (the README's performance table).

    cargo build --release -p plumb-cli -p plumb-gen
    target/release/plumb-gen /tmp/ws5k 5000 100 && target/release/plumb-gen /tmp/ws50k 50000 1000
    python3 scripts/bench_process.py OLD_PLUMB NEW_PLUMB [ROUNDS]

OLD_PLUMB is another commit's release binary (a `git worktree` built with its own
CARGO_TARGET_DIR). The two builds alternate run by run, ROUNDS times 10 runs each (3 for
50,000 jobs); each cell is the median, as Plumb runs by default. Peak memory is the resident set of
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


def run_once(binary, args, env=None):
    """One run: its wall time in seconds and its peak resident set in KiB. The page
    cache is written back first (not timed): a build that leaves its output unflushed
    (2a66af4 does not fsync) would otherwise have the next run's fsync pay for it, since
    ext4 commits the other file's data with the journal (measured: 63 ms against 49 ms
    for the same build, depending on what ran before it)."""
    os.sync()
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", binary, *args],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if p.returncode > 1:
        sys.exit(f"{binary} {' '.join(args)} failed: {p.stderr.decode()[-500:]}")
    return elapsed, int(p.stderr.decode().split()[-1])


def measure(binaries, args, runs):
    """Runs the builds one after the other, run by run, so that a change in the machine's
    load (other machines share its cores) falls on both alike; then one more run each
    measures memory, with transparent huge pages off."""
    times = {b: [] for b in binaries}
    with tempfile.TemporaryDirectory() as out:
        args = [a.replace("OUT", os.path.join(out, "ci.yml")) for a in args]
        for _ in range(runs):
            for b in binaries:
                times[b].append(run_once(b, args)[0])
        quiet = dict(os.environ, MIMALLOC_ALLOW_THP="0")
        peaks = {b: run_once(b, args, quiet)[1] for b in binaries}
    return {b: (times[b], peaks[b] / 1024) for b in binaries}


def main():
    old, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    print("| | old | new | new / old |\n|---|---|---|---|")
    for case, args, runs in CASES:
        result = measure((old, new), args, runs * rounds)
        (o, om), (n, nm) = result[old], result[new]
        o_ms, n_ms = statistics.median(o) * 1000, statistics.median(n) * 1000
        print(f"| {case} | {o_ms:.0f} ms, {om:.0f} MB | {n_ms:.0f} ms, {nm:.0f} MB | {n_ms / o_ms:.2f} |")


if __name__ == "__main__":
    main()
