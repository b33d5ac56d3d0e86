#!/usr/bin/env bash
# Compare Drip with procrastinate and pgqueuer on one PostgreSQL database.
#
# Creates benchmarks/.venv on first use (the latest procrastinate, pgqueuer and
# asyncpg from PyPI plus this repository's drip-core and drip-postgres, editable),
# then runs compare.py with every argument given here, e.g.
#   benchmarks/run.sh --url postgresql://postgres@127.0.0.1:5432/drip_bench_compare
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv"
python="${PYTHON:-python3}"

# The other libraries are installed (at their latest release) when the
# environment is created; DRIP_BENCH_UPGRADE=1 upgrades them on a later run.
if [ ! -x "$venv/bin/python" ] || [ "${DRIP_BENCH_UPGRADE:-0}" = "1" ]; then
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet --upgrade procrastinate pgqueuer asyncpg \
        -e "$root/packages/drip-core" -e "$root/packages/drip-postgres"
fi

exec "$venv/bin/python" "$here/compare.py" "$@"
