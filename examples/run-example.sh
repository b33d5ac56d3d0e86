#!/usr/bin/env bash
# Run the filework example end to end on Drip's embedded SQLite default.
#
# From a clean clone: creates .venv in the repository root if it is missing,
# installs drip-core and drip-sqlite into it (editable) unless they are already
# installed from this checkout, then, in a fresh temporary folder, migrates,
# enqueues a batch of files, processes it with `drip run --burst` and prints
# the report. Exits 0 only if every job completed.
#
# Environment: PYTHON picks the interpreter for a new venv (default python3,
# 3.11 or newer); KEEP_WORKDIR=1 keeps the temporary folder after a success
# (it is always kept after a failure, for inspection).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

# The example makes its own database in its own folder; never use another.
unset DRIP_DATABASE_URL

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "run-example: $python is older than 3.11; set PYTHON" >&2
        exit 1
    }
    echo "run-example: creating $venv"
    "$python" -m venv "$venv"
fi

installed_here() {
    "$venv/bin/python" - "$root/packages" <<'PY' 2>/dev/null
import pathlib, sys
import drip, drip_sqlite
packages = pathlib.Path(sys.argv[1]).resolve()
for module in (drip, drip_sqlite):
    if packages not in pathlib.Path(module.__file__).resolve().parents:
        sys.exit(1)
PY
}

if ! installed_here; then
    echo "run-example: installing drip-core and drip-sqlite into $venv"
    "$venv/bin/python" -m pip install --quiet \
        -e "$root/packages/drip-core" -e "$root/packages/drip-sqlite"
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/drip-filework.XXXXXX")"
cd "$workdir"
export PATH="$venv/bin:$PATH"
export PYTHONPATH="$root/examples${PYTHONPATH:+:$PYTHONPATH}"
echo "run-example: working in $workdir"

drip migrate
python -m filework.enqueue --files 12

# --burst stops once nothing is due. A retry or a snoozed job can fall due a
# moment later, so run again, a bounded number of times, until nothing waits.
for round in 1 2 3 4 5 6 7 8 9 10; do
    drip run filework.handlers --burst --concurrency 8
    state=0
    python -m filework.report --check || state=$?
    if [[ $state -ne 2 ]]; then
        break
    fi
    echo "run-example: round $round left jobs waiting; running the worker again"
    sleep 1
done

echo
status=0
python -m filework.report || status=$?
if [[ $status -eq 0 && "${KEEP_WORKDIR:-0}" != 1 ]]; then
    rm -rf "$workdir"
    echo "run-example: removed $workdir (set KEEP_WORKDIR=1 to keep the outputs)"
else
    echo "run-example: outputs kept in $workdir"
fi
exit "$status"
