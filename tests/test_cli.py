"""The ``drip`` command, run as a user would run it: in a subprocess."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from drip import Client, JobState
from drip.testing import reset_database
from tests.workers import drip_command, start_worker, write_handlers


@pytest.fixture
def migrated(drip_url: str) -> Client:
    client = Client(drip_url)
    client.migrate()
    reset_database(client)
    yield client
    client.close()


def test_plugins_lists_builtins_and_dialects() -> None:
    result = drip_command("plugins")

    assert result.returncode == 0, result.stderr
    assert "drip.builtins" in result.stdout
    assert "drip_retry_policies" in result.stdout
    assert "dialect sqlite" in result.stdout


def test_migrate_prints_sql_without_a_database(tmp_path: Path) -> None:
    result = drip_command("migrate", "--sql", "--url", f"sqlite:///{tmp_path}/x.db")

    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE drip_job" in result.stdout
    assert not (tmp_path / "x.db").exists()


def test_migrate_defaults_to_sqlite_in_the_working_directory(tmp_path: Path) -> None:
    result = drip_command("migrate", cwd=tmp_path, env={"DRIP_DATABASE_URL": ""})

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "drip.sqlite3").exists()


def test_url_without_an_installed_dialect_names_the_package() -> None:
    result = drip_command(
        "migrate",
        "--url",
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        env={"DRIP_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )

    assert result.returncode == 1
    assert "pip install drip-postgres" in result.stderr
    assert "Traceback" not in result.stderr


def test_url_naming_a_missing_driver_says_which_url_to_write() -> None:
    result = drip_command("jobs", "list", "--url", "mysql://root@127.0.0.1/test")

    assert result.returncode == 1
    assert "needs the driver MySQLdb" in result.stderr
    assert "mariadb+pymysql://" in result.stderr
    assert "Traceback" not in result.stderr


def test_unparsable_url_is_one_clear_error() -> None:
    result = drip_command("migrate", "--url", "not a url")

    assert result.returncode == 1
    assert "cannot parse database URL 'not a url'" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_without_schema_says_to_migrate(tmp_path: Path) -> None:
    module = write_handlers(tmp_path)
    url = f"sqlite:///{tmp_path}/empty.db"
    result = drip_command("run", module, "--url", url, "--burst", cwd=tmp_path)

    assert result.returncode == 1
    assert "drip migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_of_a_module_without_handlers_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "empty_module.py").write_text("x = 1\n")
    result = drip_command("run", "empty_module", "--burst", cwd=tmp_path)

    assert result.returncode == 1
    assert "defines no handlers" in result.stderr


def test_sigterm_lets_the_running_job_finish(
    migrated: Client, drip_url: str, tmp_path: Path
) -> None:
    module = write_handlers(tmp_path)
    release, started = tmp_path / "release", tmp_path / "started"
    job = migrated.insert(
        "wait_for_file", {"path": str(release), "started": str(started)}
    ).job
    worker = start_worker(drip_url, tmp_path, "--poll-interval", "50ms", module=module)
    try:
        _wait_for(started.exists)
        worker.send_signal(signal.SIGTERM)
        _wait_for(lambda: "finishing running jobs" in _peek(worker, tmp_path))
        release.touch()
        output = worker.communicate(timeout=60)[0]
    finally:
        worker.kill()

    assert worker.returncode == 0, output
    assert migrated.get(job.id).state is JobState.COMPLETED
    assert "stopped: 1 completed" in output


def test_job_outliving_the_grace_period_is_retried(
    migrated: Client, drip_url: str, tmp_path: Path
) -> None:
    module = write_handlers(tmp_path)
    started = tmp_path / "started"
    job = migrated.insert(
        "wait_for_file",
        {"path": str(tmp_path / "never"), "started": str(started), "limit": 20},
    ).job
    worker = start_worker(
        drip_url,
        tmp_path,
        "--poll-interval",
        "50ms",
        "--shutdown-grace",
        "200ms",
        module=module,
    )
    try:
        _wait_for(started.exists)
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0]
    finally:
        worker.kill()

    stored = migrated.get(job.id)
    assert worker.returncode == 0, output
    assert stored.state is JobState.RETRYABLE
    assert stored.errors[-1].type == "shutdown"
    assert migrated.count_by_state()[JobState.RUNNING] == 0


_seen: dict[int, str] = {}


def _peek(process, directory: Path) -> str:  # type: ignore[no-untyped-def]
    """What the process has printed so far, read without blocking."""
    import os

    os.set_blocking(process.stdout.fileno(), False)
    chunk = process.stdout.read() or ""
    _seen[process.pid] = _seen.get(process.pid, "") + chunk
    return _seen[process.pid]


def _wait_for(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``condition()`` holds, checking every 10 ms, or fail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        time.sleep(0.01)


def test_jobs_commands_list_get_and_act(migrated: Client, drip_url: str) -> None:
    first = migrated.insert("report", {"month": 11}, queue="reports").id
    second = migrated.insert("mail", {"to": "a"}).id

    listed = drip_command("jobs", "list", "--url", drip_url, "--format", "json")
    filtered = drip_command("jobs", "list", "--url", drip_url, "--kind", "report")
    got = drip_command("jobs", "get", str(first), "--url", drip_url)
    cancelled = drip_command("jobs", "cancel", str(second), "--url", drip_url)
    refused = drip_command("jobs", "cancel", str(second), "--url", drip_url)
    missing = drip_command("jobs", "get", "999999", "--url", drip_url)

    assert [job["id"] for job in json.loads(listed.stdout)] == [second, first]
    assert "report" in filtered.stdout and "mail" not in filtered.stdout
    assert "queue          reports" in got.stdout
    assert cancelled.stdout.strip() == f"job {second} cancelled (now cancelled)"
    assert refused.returncode == 1
    assert f"cannot cancel job {second}: it is cancelled" in refused.stderr
    assert missing.returncode == 1 and "job 999999 does not exist" in missing.stderr
    assert migrated.get(second).state is JobState.CANCELLED


def test_cancelling_a_running_job_says_the_request_is_on_its_way(
    migrated: Client, drip_url: str
) -> None:
    job_id = migrated.insert("slow").id
    job = migrated.dialect.tables.job
    with migrated.transaction() as connection:
        connection.execute(
            job.update().where(job.c.id == job_id).values(state="running")
        )

    result = drip_command("jobs", "cancel", str(job_id), "--url", drip_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"job {job_id}: cancellation requested; it is running and stops at its "
        "worker's next check (within one poll interval)"
    )


def test_queues_commands_pause_list_resume(migrated: Client, drip_url: str) -> None:
    paused = drip_command("queues", "pause", "mail", "--url", drip_url)
    listed = drip_command("queues", "list", "--url", drip_url, "--format", "json")
    resumed = drip_command("queues", "resume", "mail", "--url", drip_url)

    assert paused.stdout.strip() == "queue mail paused"
    assert [queue["name"] for queue in json.loads(listed.stdout)] == ["mail"]
    assert json.loads(listed.stdout)[0]["paused_at"] is not None
    assert resumed.returncode == 0
    assert not migrated.get_queue("mail").paused
