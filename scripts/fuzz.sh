#!/usr/bin/env bash
# Runs one fuzz target (parse, check, compile or fmt) for a number of seconds, seeded
# with every program of fixtures/ and examples/. Crashes land in fuzz/artifacts/TARGET/;
# turn each into a regression fixture (see CONTRIBUTING.md).
# Usage: scripts/fuzz.sh TARGET [SECONDS]     (needs `cargo install cargo-fuzz`)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh parse|check|compile|fmt [SECONDS]}"
seconds="${2:-600}"
corpus="fuzz/corpus/$target"
mkdir -p "$corpus"
find fixtures examples -name '*.plumb' -exec cp {} "$corpus/" \; 2>/dev/null || true
# cargo-fuzz instruments with flags of the nightly compiler; this machine has one stable
# toolchain, which accepts them when told it is bootstrapping itself
RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$corpus" -- -max_total_time="$seconds" -max_len=8192 -timeout=10
