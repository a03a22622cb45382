"""`parley serve` under cProfile, switched on by SIGUSR1 and off (stats written) by SIGUSR2.

    .venv/bin/python benchmarks/cprofile_serve.py OUT.prof --host 127.0.0.1 --port 8000
    kill -USR1 $PID; ...load...; kill -USR2 $PID
    .venv/bin/python -c 'import pstats; pstats.Stats("OUT.prof").sort_stats("tottime").print_stats(30)'

The event loop's thread only (the server's Python work; SQLite's own thread is not in it).
room_size.py --profile uses it for the fixed step of the big-room test.
"""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType

from parley.cli import main

out = sys.argv.pop(1)
profile = cProfile.Profile()


def start(signum: int, frame: FrameType | None) -> None:
    profile.enable()


def stop(signum: int, frame: FrameType | None) -> None:
    profile.disable()
    profile.dump_stats(out)


signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, stop)
sys.argv = ["parley", "serve", *sys.argv[1:]]
main()
