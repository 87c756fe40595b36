"""Run every benchmark: `python -m bench` (small, a few minutes) or `python -m bench --full`.

Benchmarks print figures; they are not tests and assert no times.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import time

from bench import engine, http, memory, spiff
from bench.common import print_machine

BENCHMARKS = {"engine": engine.run, "spiff": spiff.run, "http": http.run, "memory": memory.run}


def main(argv: list[str] | None = None) -> None:
    """Print the machine table, then run the chosen benchmarks (all by default)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the sizes of the README figures (takes long)")
    parser.add_argument("only", nargs="*", help=f"benchmarks to run, of {', '.join(BENCHMARKS)}, report (default: all)")
    args = parser.parse_args(argv)
    chosen = args.only or [*BENCHMARKS, "report"]
    unknown = set(chosen) - {*BENCHMARKS, "report"}
    if unknown:
        parser.error(f"unknown benchmark: {', '.join(sorted(unknown))}")
    # The app logs every transition and migration at INFO; figures are easier to read without them.
    logging.disable(logging.INFO)
    print_machine()
    for name in chosen:
        began = time.perf_counter()
        if name == "report":
            if importlib.util.find_spec("bench.report") is None:
                continue
            from bench import report

            report.main(["--full"] if args.full else [], machine=False)  # (printed above)
        else:
            BENCHMARKS[name](full=args.full)
        print(f"  ({name}: {time.perf_counter() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
