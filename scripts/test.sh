#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit, fixture, snapshot and
# integration tests, the shared conformance suite, and Plumb's own check of examples/.
# Usage: scripts/test.sh            (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo probes rustc with `rustc -` reading its program from /dev/null. On a machine
# whose /dev/null is a regular file (seen on CI machines: it then holds whatever was last
# written to it, e.g. the SVG `dot -o /dev/null` renders in the graph tests) the probe
# compiles that text, fails, and every later cargo command refuses to start. Restore the
# null device when we may; else empty the file before each cargo command.
if [ ! -c /dev/null ]; then
  echo "warning: /dev/null is not the null device here; restoring it" >&2
  if mknod -m 666 /dev/null.plumb-new c 1 3 2>/dev/null && mv -f /dev/null.plumb-new /dev/null; then
    echo "  restored" >&2
  else
    echo "  cannot restore it (not root?): it is emptied before each cargo command" >&2
  fi
fi
empty_dev_null() { if [ ! -c /dev/null ]; then : >/dev/null; fi; }

step() { printf '\n==> %s\n' "$*"; }

step "validators (.venv, from scripts/requirements-test.txt)"
# the tests run third-party validators on the compiled output; a missing one fails
if ! .venv/bin/python -c "" 2>/dev/null; then
  python3 -m venv .venv
fi
if ! cmp -s scripts/requirements-test.txt .venv/.installed-requirements; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt .venv/.installed-requirements
fi
export PATH="$PWD/.venv/bin:$PATH"
if ! cmp -s scripts/node/package-lock.json scripts/node/node_modules/.installed-lock; then
  (cd scripts/node && npm ci --silent --no-audit --no-fund)
  cp scripts/node/package-lock.json scripts/node/node_modules/.installed-lock
fi
# npm 11 skips the install script that makes Microsoft's SARIF validator executable
chmod u+x scripts/node/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
# Graphviz renders `plumb graph` output in the tests; gitlab-ci-local copies the
# repository with rsync before it runs a job
if ! command -v dot >/dev/null || ! command -v rsync >/dev/null; then
  (apt-get install -y -q graphviz rsync >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q graphviz rsync >/dev/null; }) \
    || { echo "error: cannot install graphviz and rsync (apt-get)" >&2; exit 1; }
fi
for tool in check-jsonschema kubernetes-validate kubectl node git timeout dot rsync; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing; the tests need it" >&2; exit 1; }
done

step "cargo fmt --check"
empty_dev_null
cargo fmt --all --check

step "cargo test --workspace"
# crates/plumb-cli/tests/import.rs reads the corpus of real GitLab CI files from here;
# under CI=true its absence fails the run
rm -f target/import-corpus-report.md
# insta must never write snapshots during a test run: a changed message fails the run
empty_dev_null
INSTA_UPDATE=no cargo test --workspace --locked

step "cargo clippy --workspace --all-targets -- -D warnings"
empty_dev_null
cargo clippy --workspace --all-targets --locked -- -D warnings

if [ -f target/import-corpus-report.md ]; then
  step "plumb import over the GitLab CI corpus (target/import-corpus-report.md)"
  cat target/import-corpus-report.md
fi

step "cargo build --release"
empty_dev_null
cargo build --workspace --release --locked

conformance="${PLUMB_CONFORMANCE:-../shared/conformance}"
if [ -f "$conformance/run.py" ]; then
  step "conformance suite ($conformance/cases)"
  python3 "$conformance/run.py" --plumb target/release/plumb "$conformance/cases"
elif [ "${CI:-}" = "true" ]; then
  echo "error: the conformance suite is not at $conformance (set PLUMB_CONFORMANCE)" >&2
  exit 1
else
  echo "NOTE: conformance suite not found at $conformance; it was NOT run (set PLUMB_CONFORMANCE to run it)" >&2
fi

step "VS Code extension (editors/vscode): its tests, the grammar tests, vsce package"
if ! cmp -s editors/vscode/package-lock.json editors/vscode/node_modules/.installed-lock; then
  (cd editors/vscode && npm ci --silent --no-audit --no-fund)
  cp editors/vscode/package-lock.json editors/vscode/node_modules/.installed-lock
fi
(cd editors/vscode && npm test && npm run --silent package)
.venv/bin/python - <<'PY'
import zipfile
names = set(zipfile.ZipFile("editors/vscode/plumb.vsix").namelist())
needed = {"extension/package.json", "extension/src/extension.js", "extension/syntaxes/plumb.tmLanguage.json",
          "extension/language-configuration.json", "extension/node_modules/vscode-languageclient/package.json"}
missing = needed - names
assert not missing, f"plumb.vsix lacks {missing}"
print(f"plumb.vsix: {len(names)} files")
PY

step "language server end to end (pytest-lsp driving target/release/plumb-lsp; the grammar against the lexer)"
.venv/bin/python -m pytest -q -p no:cacheprovider tower-lsp-server/tests/e2e

step "plumb check examples/ and plumb build --check (dogfood)"
target/release/plumb check examples/
target/release/plumb fmt --check examples/
target/release/plumb build examples --target gitlab -o examples/generated/.gitlab-ci.yml --check

step "integration files"
check-jsonschema --builtin-schema vendor.gitlab-ci --data-transform gitlab-ci integrations/gitlab/plumb.gitlab-ci.yml
# Plumb's own check of the hand-written YAML (its placeholder image is a warning)
target/release/plumb check integrations/gitlab/plumb.gitlab-ci.yml
.venv/bin/python -c "import yaml, sys; hooks = yaml.safe_load(open('.pre-commit-hooks.yaml')); assert all({'id', 'name', 'entry', 'language'} <= set(h) for h in hooks), hooks; print(len(hooks), 'pre-commit hooks')"

echo
echo "all tests passed"
