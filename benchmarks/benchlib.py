"""Shared pieces of the scale benchmarks (history.py, room_size.py, idle_100k.py).

A Parley server started with the bench settings (benchmarks/parley-bench-env), pinned to a
core, on its own data directory; bench users registered on it with the shared yardstick's
parley_setup.py; its CPU time and RSS read from /proc; the shared load generator run on it.
Standard library only, so any Python 3.11 runs it (the worktree's .venv for the seeding).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARLEY = HERE.parent
BENCH = (PARLEY / ".." / "shared" / "bench").resolve()
if not BENCH.is_dir():  # a worktree under /work/wt/NAME: the shared folder is /work/shared
    BENCH = Path("/work/shared/bench")
LOADGEN = BENCH / "loadgen" / "build" / "loadgen"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def bench_env() -> dict[str, str]:
    """PARLEY_BENCH_ENV from parley-bench-env, as a dict (bash expands it)."""
    script = f'source {shlex.quote(str(HERE / "parley-bench-env"))}; printf "%s\\0" "${{PARLEY_BENCH_ENV[@]}}"'
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if item)


def raise_nofile(n: int) -> int:
    """Raise this process's (and so its children's) open-file limit to n if allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(n, soft), max(n, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise SystemExit(f"server did not listen on {port} within {timeout}s")


class Server:
    """`parley serve` with the bench settings on DATA, pinned to CPU (None: not pinned)."""

    def __init__(
        self,
        data: Path,
        *,
        cpu: int | None = 1,
        extra: dict[str, str] | None = None,
        log: Path,
        profile: Path | None = None,
    ) -> None:
        self.port = free_port()
        env = {**os.environ, **bench_env(), "PARLEY_DATA_DIR": str(data), **(extra or {})}
        cmd = [str(PARLEY / ".venv" / "bin" / "python"), "-m", "parley", "serve"]
        if profile is not None:  # cProfile, switched on and off by SIGUSR1 / SIGUSR2
            cmd[1:] = [str(HERE / "cprofile_serve.py"), str(profile)]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port)]
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, env=env, cwd=PARLEY, stdout=out, stderr=out)
        wait_port(self.port)
        self.pid = self.proc.pid  # taskset execs the server in place: the same pid
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def serving(data: Path, **kwargs: object) -> Iterator[Server]:
    server = Server(data, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_bytes(pid: int) -> int:
    """RSS summed over the process tree (resident pages from /proc/PID/statm)."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
    return total


def cpu_secs(pid: int) -> float:
    """utime + stime of the process tree, seconds."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def host_busy_secs() -> float:
    """All cores' busy time so far (user nice system irq softirq steal), seconds."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return sum(int(fields[i]) for i in (0, 1, 2, 5, 6, 7)) / TICK


def tokens(server: Server, n: int, path: Path) -> Path:
    """Register (or sign in) bench_user_0..n-1 and write their tokens to path, once."""
    if not (path.exists() and len(path.read_text().split()) >= n):
        setup = BENCH / "parley_setup.py"
        python = BENCH / ".venv" / "bin" / "python"
        subprocess.run([str(python), str(setup), server.url, str(n), str(path)], check=True)
    return path


def loadgen(
    server: Server, args: list[str], out: Path, *, cpu: int | None = 0, profile_fixed: bool = False
) -> dict[str, object]:
    """The shared load generator on SERVER (its --server-pid set), JSON result from out.
    profile_fixed: SIGUSR1 to the server when the warm-up step ends, SIGUSR2 when the fixed
    step does (a server started with profile=...)."""
    cmd = [str(LOADGEN), "--url", server.url, "--server-pid", str(server.pid), "--out", str(out)]
    cmd += args
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    log = out.with_suffix(".log")
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, stderr=err)
        marks = [("[fanout] warmup", signal.SIGUSR1), ("[fanout] fixed", signal.SIGUSR2)]
        while profile_fixed and marks and proc.poll() is None:
            if marks[0][0] in log.read_text(errors="replace"):
                os.kill(server.pid, marks.pop(0)[1])
            time.sleep(0.05)
        proc.wait()
    try:
        return dict(json.loads(out.read_text()))
    except (OSError, ValueError) as exc:
        sys.stderr.write(log.read_text(errors="replace")[-3000:])
        raise SystemExit(f"loadgen gave no result ({exc}); see {log}") from exc


def commit() -> str:
    head = subprocess.run(
        ["git", "-C", str(PARLEY), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(PARLEY), "status", "--porcelain", "src"], capture_output=True, text=True
    ).stdout.strip()
    return head + ("+dirty" if dirty else "")


def conditions() -> str:
    """What the figures were measured on, and when."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    return f"{stamp}, commit {commit()}, {os.cpu_count()} vCPU, load average {' '.join(load)}"
