"""Summarise py-spy collapsed stacks (``--format raw``): where a long-running command spends its time.

    .venv/bin/py-spy record --pid PID --duration 60 --rate 20 --format raw -o var/bench/spy-0.raw --nonblocking
    .venv/bin/python -m bench.profiles.profile_summary var/bench/spy-*.raw

Prints, for our own code (``ledger/``, ``importers/``, ``api/``, ``cli/``), the share of samples in
which each function is on the stack (inclusive) and the library frames that hold the most samples
themselves (exclusive). Used for the 5M-row runs, where running a second import under pyinstrument
would cost another quarter of an hour.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

OURS = ("ledger/", "importers/", "api/", "cli/commands/")


def summarise(paths: list[Path], top: int = 18) -> str:
    inclusive, exclusive = Counter(), Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            exclusive[frames[-1]] += n
            for frame in set(frames):
                if any(part in frame for part in OURS):
                    inclusive[frame] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples from {len(paths)} window(s)", "", "inclusive share, our code:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "exclusive share, any frame:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame or '(idle or native)'}" for frame, n in exclusive.most_common(8)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarise([Path(p) for p in sys.argv[1:]]))
