"""Shared by the benchmark scripts (run as `python benchmarks/<script>.py`, so this folder is on the path)."""

import time


def best(fn, repeats: int) -> tuple[float, object]:
    """Fastest of ``repeats`` calls of ``fn`` (seconds) and the last call's result."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out
