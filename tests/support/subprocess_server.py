"""A helper process a test needs (an S3 API server, a push receiver): started on a spare port,
ready when its log says so (nothing polls or sleeps), stopped and drained afterwards."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def logged_process(
    command: Sequence[str],
    ready_marker: str,
    what: str,
    *,
    cwd: Path | None = None,
    timeout_secs: float = 30,
) -> Iterator[subprocess.Popen[str]]:
    """Run `command` until the block ends; it has started once a stderr line holds
    `ready_marker` (RuntimeError with its log when it ends or the deadline passes first)."""
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    ready = threading.Event()
    lines: list[str] = []

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip())
            if ready_marker in line:
                ready.set()
        ready.set()  # the process ended: stop waiting either way

    drainer = threading.Thread(target=drain, daemon=True, name=what)
    drainer.start()
    try:
        if not ready.wait(timeout_secs) or process.poll() is not None:
            raise RuntimeError(f"{what} did not start:\n" + "\n".join(lines))
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        drainer.join(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
