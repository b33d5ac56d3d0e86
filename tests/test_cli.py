"""The ``drip`` command, run as a user would run it: in a subprocess."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from drip import Client, JobState
from drip.testing.conformance.fixtures import force
from tests.workers import (
    ProcessOutput,
    drip_command,
    start_worker,
    wait_for,
    write_handlers,
)


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
    client: Client, drip_url: str, tmp_path: Path
) -> None:
    module = write_handlers(tmp_path)
    release, started = tmp_path / "release", tmp_path / "started"
    job = client.insert(
        "wait_for_file", {"path": str(release), "started": str(started)}
    ).job
    worker = start_worker(drip_url, tmp_path, "--poll-interval", "50ms", module=module)
    printed = ProcessOutput(worker)
    try:
        wait_for(started.exists, interval=0.01)
        worker.send_signal(signal.SIGTERM)
        printed.wait_for("finishing running jobs")
        release.touch()
        worker.wait(timeout=60)
        output = printed.rest()
    finally:
        worker.kill()

    assert worker.returncode == 0, output
    assert client.get(job.id).state is JobState.COMPLETED
    assert "stopped: 1 completed" in output


def test_job_outliving_the_grace_period_is_retried(
    client: Client, drip_url: str, tmp_path: Path
) -> None:
    module = write_handlers(tmp_path)
    started = tmp_path / "started"
    job = client.insert(
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
        wait_for(started.exists, interval=0.01)
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0]
    finally:
        worker.kill()

    stored = client.get(job.id)
    assert worker.returncode == 0, output
    assert stored.state is JobState.RETRYABLE
    assert stored.errors[-1].type == "shutdown"
    assert client.count_by_state()[JobState.RUNNING] == 0


def test_jobs_commands_list_get_and_act(client: Client, drip_url: str) -> None:
    first = client.insert("report", {"month": 11}, queue="reports").id
    second = client.insert("mail", {"to": "a"}).id

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
    assert client.get(second).state is JobState.CANCELLED


def test_cancelling_a_running_job_says_the_request_is_on_its_way(
    client: Client, drip_url: str
) -> None:
    job_id = client.insert("slow").id
    force(client, job_id, state="running")

    result = drip_command("jobs", "cancel", str(job_id), "--url", drip_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"job {job_id}: cancellation requested; it is running and stops at its "
        "worker's next check (within one poll interval)"
    )


def test_queues_commands_pause_list_resume(client: Client, drip_url: str) -> None:
    paused = drip_command("queues", "pause", "mail", "--url", drip_url)
    listed = drip_command("queues", "list", "--url", drip_url, "--format", "json")
    resumed = drip_command("queues", "resume", "mail", "--url", drip_url)

    assert paused.stdout.strip() == "queue mail paused"
    assert [queue["name"] for queue in json.loads(listed.stdout)] == ["mail"]
    assert json.loads(listed.stdout)[0]["paused_at"] is not None
    assert resumed.returncode == 0
    assert not client.get_queue("mail").paused
