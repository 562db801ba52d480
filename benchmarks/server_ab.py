"""Two versions of the central server at saturation, alternated with the same do-nothing responder's rounds: what a
change does to `server_saturation_ratio_to_responder`, measured in one run, so that the machine's hour falls on
both alike (a single ratio moves by several per cent from one run to the next on the same code).

    python -m benchmarks.server_ab BEFORE AFTER [--rounds 8]

BEFORE and AFTER are directories that each hold a version's `central_server` and `protocol` packages (for example
`git worktree add /tmp/before HEAD~1`). Each server is started from its own directory: `python -m` puts the working
directory ahead of PYTHONPATH, so a server started from this repository runs this repository's code whatever
PYTHONPATH says (which made the comparisons of earlier sessions run one version twice). Prints one JSON line per
version (its ratio to the responder over the rounds, its median requests a second, its CPU a request) and one with
AFTER's ratio over BEFORE's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.server_bench import RATIO_ROUND_S, alternated, prepare
from devkit.local_broker import LocalBroker


def checkout(text: str) -> Path:
    """A directory holding a version of the server, or exit 2 with one line saying what is wrong."""
    path = Path(text).resolve()
    for needed in ("central_server/__main__.py", "protocol/__init__.py"):
        if not (path / needed).is_file():
            print(f"server_ab: {text}: no {needed} there (a checkout of the repository is needed)", file=sys.stderr)
            sys.exit(2)
    return path


def compare(versions: list[Path], rounds: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="qms-ab-") as tmp, LocalBroker(Path(tmp)) as broker:
        configs = {v: prepare(Path(tmp) / f"version{i}", broker, "bench-empty", 0) for i, v in enumerate(versions)}
        done = alternated(broker, configs, rounds)
    total = sum(r["responder"][0] for r in done)
    lines: list[dict[str, Any]] = []
    for version in versions:
        answered = [r[version][0] for r in done]
        lines.append({"name": "server_ab", "version": str(version), "rounds": rounds,
                      "ratio": round(sum(answered) / total, 3), "median_ops_s": _median_rate(answered),
                      "cpu_us_per_request": round(sum(r[version][1] for r in done) / sum(answered) * 1e6, 1)})
    lines.append({"name": "server_ab_responder", "median_ops_s": _median_rate([r["responder"][0] for r in done])})
    if len(versions) == 2:
        lines.append({"name": "server_ab_after_over_before", "ratio": round(lines[1]["ratio"] / lines[0]["ratio"], 3)})
    return lines


def _median_rate(answered: list[int]) -> int:
    return round(statistics.median(answered) / RATIO_ROUND_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("versions", nargs="+", metavar="CHECKOUT", help="directories, each a version of the server")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of each (5 s each; default 8)")
    args = parser.parse_args()
    for line in compare([checkout(v) for v in args.versions], args.rounds):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
