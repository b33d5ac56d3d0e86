"""The supervisor behind ``drip run --processes N``.

It starts N worker processes, each a ``drip run`` of its own with its own
connections, restarts one that dies (backing off if it keeps dying; one that
exits cleanly, as ``--burst`` workers do, has finished), and turns
SIGTERM or SIGINT into a graceful drain of every worker; a second signal stops
them at once. Workers run in their own session, so a terminal's Ctrl-C reaches
them only through the supervisor, and on Linux each is told to stop when the
supervisor dies, so no worker outlives it.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import time
from typing import Any

from drip.durations import Duration, parse_duration

__all__ = ["Supervisor"]

logger = logging.getLogger(__name__)

CHECK_INTERVAL = 0.2
MAX_BACKOFF = 30.0
HEALTHY_AFTER = 10.0  # a worker that lived this long restarts without delay
_PR_SET_PDEATHSIG = 1


class Supervisor:
    """Runs ``processes`` copies of ``command`` until told to stop."""

    def __init__(
        self, command: list[str], processes: int, shutdown_grace: Duration
    ) -> None:
        self.command = command
        self.processes = processes
        self.shutdown_grace = parse_duration(shutdown_grace).total_seconds()
        self.children: list[subprocess.Popen[bytes] | None] = [None] * processes
        self._started: list[float] = [0.0] * processes
        self._backoff: list[float] = [0.0] * processes
        self._restart_at: list[float] = [0.0] * processes
        self._signals = 0

    def run(self) -> int:
        """Supervise until a signal; return the exit status for the supervisor."""
        previous = {
            number: signal.signal(number, self._on_signal)
            for number in (signal.SIGINT, signal.SIGTERM)
        }
        logger.info(
            "supervisor starting %s worker processes",
            self.processes,
            extra={"action": "supervisor_start", "processes": self.processes},
        )
        try:
            for slot in range(self.processes):
                self._start(slot)
            while not self._signals and not self._all_finished():
                self._check_children()
                time.sleep(CHECK_INTERVAL)
            return self._stop_children()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _on_signal(self, number: int, frame: Any) -> None:
        self._signals += 1
        if self._signals == 1:
            logger.info(
                "received %s: draining every worker (send again to stop at once)",
                signal.Signals(number).name,
                extra={"action": "supervisor_stop"},
            )
        else:
            logger.warning(
                "second signal: stopping workers at once",
                extra={"action": "supervisor_stop"},
            )
        self._signal_children(signal.SIGTERM)

    def _start(self, slot: int) -> None:
        child = subprocess.Popen(
            self.command, start_new_session=True, preexec_fn=_die_with_parent
        )
        self.children[slot] = child
        self._started[slot] = time.monotonic()
        logger.info(
            "started worker process %s",
            child.pid,
            extra={"action": "worker_process_start", "pid": child.pid},
        )

    def _check_children(self) -> None:
        now = time.monotonic()
        for slot, child in enumerate(self.children):
            if child is None:
                if now >= self._restart_at[slot]:
                    self._start(slot)
                continue
            code = child.poll()
            if code is None or code == 0:
                continue  # running, or finished on its own (--burst)
            lived = now - self._started[slot]
            self._backoff[slot] = (
                0.0
                if lived > HEALTHY_AFTER
                else min(max(1.0, self._backoff[slot] * 2), MAX_BACKOFF)
            )
            logger.warning(
                "worker process %s exited with %s; restarting in %.0fs",
                child.pid,
                code,
                self._backoff[slot],
                extra={"action": "worker_process_exit", "pid": child.pid, "code": code},
            )
            self.children[slot] = None
            self._restart_at[slot] = now + self._backoff[slot]

    def _all_finished(self) -> bool:
        return all(child is not None and child.poll() == 0 for child in self.children)

    def _signal_children(self, number: int) -> None:
        for child in self.children:
            if child is not None and child.poll() is None:
                child.send_signal(number)

    def _stop_children(self) -> int:
        deadline = time.monotonic() + self.shutdown_grace + 10
        while time.monotonic() < deadline and any(
            child is not None and child.poll() is None for child in self.children
        ):
            time.sleep(CHECK_INTERVAL)
        for child in self.children:
            if child is not None and child.poll() is None:
                logger.error(
                    "worker process %s did not stop; killing it",
                    child.pid,
                    extra={"action": "worker_process_kill", "pid": child.pid},
                )
                child.kill()
                child.wait()
        logger.info("supervisor stopped", extra={"action": "supervisor_stopped"})
        return 0


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the supervisor dies (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
