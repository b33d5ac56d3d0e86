#!/usr/bin/env bash
# Compare Drip with procrastinate and pgqueuer on one PostgreSQL database.
#
# Creates benchmarks/.venv on first use (the latest procrastinate, pgqueuer and
# asyncpg from PyPI plus this repository's drip-core and drip-postgres), then runs
# compare.py with every argument given here, e.g.
#   benchmarks/run.sh --url postgresql://postgres@127.0.0.1:5432/drip_bench_compare
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet --upgrade procrastinate pgqueuer asyncpg \
    -e "$root/packages/drip-core" -e "$root/packages/drip-postgres"

exec "$venv/bin/python" "$here/compare.py" "$@"
