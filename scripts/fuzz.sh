#!/usr/bin/env bash
# Runs one fuzz target (parse, check, compile, fmt, import or write) for a number of seconds, seeded
# with every program of fixtures/ and examples/. Crashes land in fuzz/artifacts/TARGET/;
# turn each into a regression fixture (see CONTRIBUTING.md).
# `import` is seeded with the GitLab CI files of fixtures/import/ (and the shared corpus
# when it is there).
# Usage: scripts/fuzz.sh TARGET [SECONDS]     (needs `cargo install cargo-fuzz`)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh parse|check|compile|fmt|import|write [SECONDS]}"
seconds="${2:-600}"
corpus="fuzz/corpus/$target"
mkdir -p "$corpus"
if [ "$target" = import ]; then
  n=0
  for f in fixtures/import/*/.gitlab-ci.yml ../shared/corpus/gitlab-ci/*.yml; do
    [ -f "$f" ] && cp "$f" "$corpus/seed-$n.yml" && n=$((n + 1))
  done
else
  find fixtures examples -name '*.plumb' -exec cp {} "$corpus/" \; 2>/dev/null || true
fi
# cargo-fuzz instruments with flags of the nightly compiler; this machine has one stable
# toolchain, which accepts them when told it is bootstrapping itself
RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$corpus" -- -max_total_time="$seconds" -max_len=8192 -timeout=10
