"""Summarise py-spy's raw (collapsed-stack) samples: self and total share per function.

    python benchmarks/hot_functions.py samples.txt [--top 40]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("samples", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    count = 0
    for line in args.samples.read_text().splitlines():
        stack, _, weight = line.rpartition(" ")
        if not stack or not weight.isdigit():
            continue
        n = int(weight)
        frames = [short(f) for f in stack.split(";")]
        count += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"{count} samples")
    print("\n-- self --")
    for frame, n in own.most_common(args.top):
        print(f"{100 * n / count:5.1f}%  {frame}")
    print("\n-- total (inclusive) --")
    for frame, n in total.most_common(args.top):
        print(f"{100 * n / count:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
