"""Developer sessions: `nox -s tests-sqlite`, `nox -s lint`, `nox -s typecheck`.

Each test session installs the packages it needs into its own environment and
runs the suite on one database dialect; `./scripts/test` runs all three.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]

PACKAGES = sorted(
    str(path.parent) for path in Path("packages").glob("*/pyproject.toml")
)
DIALECT_PACKAGES = {
    "sqlite": ["packages/drip-sqlite"],
    "postgresql": ["packages/drip-sqlite", "packages/drip-postgres"],
    "mariadb": ["packages/drip-sqlite", "packages/drip-mariadb"],
}

# drip-otel's end-to-end test sends real OTLP and decodes it.
OTEL_TEST_REQUIREMENTS = [
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-proto",
]


@nox.session
@nox.parametrize("dialect", list(DIALECT_PACKAGES))
def tests(session: nox.Session, dialect: str) -> None:
    """Run the suite on one dialect (database tests only use that one)."""
    session.install("pytest", *OTEL_TEST_REQUIREMENTS)
    for package in [
        "packages/drip-core",
        "packages/drip-otel",
        *DIALECT_PACKAGES[dialect],
    ]:
        session.install("-e", package)
    session.run("pytest", "--dialect", dialect, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check formatting and lint rules with ruff."""
    session.install("ruff")
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check every package with mypy."""
    session.install("mypy", *[f"-e{package}" for package in PACKAGES])
    session.run("mypy")
