"""drip-otel as installed: loaded by entry point, inert without an SDK, DRIP_OTEL=1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import drip
from drip import Client, Worker
from drip.exceptions import ConfigurationError
from drip.testing import reset_database, run_until
from drip.testing.conformance.fixtures import FAST
from drip_otel import METADATA_KEY, OtelMiddleware, sdk


def test_the_entry_point_contributes_the_middleware(drip_url: str) -> None:
    with Client(drip_url) as client:
        assert any(isinstance(layer, OtelMiddleware) for layer in client.middleware)


@pytest.mark.anyio
async def test_without_an_sdk_jobs_are_stored_and_run_unchanged(drip_url: str) -> None:
    ran: list[dict[str, object]] = []

    @drip.handler
    def plain(context: drip.JobContext) -> None:
        ran.append(context.job.metadata)

    with Client(drip_url) as client:
        client.migrate()
        reset_database(client)
        client.insert("plain", metadata={"origin": "test"})
        await run_until(Worker(client, [plain], **FAST), finished=1)

    assert ran == [{"origin": "test"}]
    assert METADATA_KEY not in ran[0]


def test_otlp_resolves_by_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    assert sdk._resolve_otlp("traces", "otlp") == "otlp_proto_http"

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert sdk._resolve_otlp("traces", "otlp") == "otlp_proto_grpc"
    assert sdk._resolve_otlp("traces", "console") == "console"

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
    with pytest.raises(ConfigurationError, match="'http/json' is not supported"):
        sdk._resolve_otlp("traces", "otlp")


def test_a_missing_exporter_names_what_to_install() -> None:
    with pytest.raises(ConfigurationError, match="OTEL_TRACES_EXPORTER"):
        sdk._load_exporter("traces", "drip_test_no_such_exporter")


SCRIPT = """
import json, sys
from opentelemetry import trace
from drip import Client

with Client(sys.argv[1]) as client:
    client.migrate()
    provider = trace.get_tracer_provider()
    with trace.get_tracer("app").start_as_current_span("request"):
        inserted = client.insert("noted")
    metadata = client.get(inserted.id).metadata
print(json.dumps({"provider": type(provider).__name__, "metadata": metadata}))
"""


def _run_script(tmp_path: Path, **env: str) -> dict[str, object]:
    url = f"sqlite:///{tmp_path / 'setup.sqlite3'}"
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DRIP_OTEL"))
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_drip_otel_1_configures_the_sdk_on_the_first_client(tmp_path: Path) -> None:
    report = _run_script(
        tmp_path,
        DRIP_OTEL="1",
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
    )

    assert report["provider"] == "TracerProvider"
    assert "traceparent" in report["metadata"][METADATA_KEY]


def test_without_drip_otel_the_process_stays_untraced(tmp_path: Path) -> None:
    report = _run_script(tmp_path, OTEL_TRACES_EXPORTER="console")

    assert report["provider"] == "ProxyTracerProvider"
    assert report["metadata"] == {}


def test_otel_sdk_disabled_wins_over_drip_otel(tmp_path: Path) -> None:
    report = _run_script(tmp_path, DRIP_OTEL="1", OTEL_SDK_DISABLED="true")

    assert report["provider"] == "ProxyTracerProvider"
