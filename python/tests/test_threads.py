"""One Stamper and one Checker shared by a thread pool, and the GIL released while they work."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import synthmark

from conftest import jpeg_420


def test_one_stamper_and_one_checker_serve_a_thread_pool(stamper, checker):
    inputs = [jpeg_420(seed=100 + i) for i in range(8)]

    def stamp_then_check(data: bytes):
        out = stamper.stamp(data)
        return out, checker.check(out.data)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(stamp_then_check, inputs))
    assert len(results) == len(inputs)
    for out, report in results:
        assert (report["verdict"], report["trust"]) == ("labelled-ai", "trusted")
        assert report["sha256"] == out.sha256
        assert [e["value"] for e in report["evidence"] if e["finding"] == "watermark"] == [out.asset_id]
    asset_ids = {out.asset_id for out, _ in results}
    assert len(asset_ids) == len(inputs)


def _counts_while(work) -> tuple:
    """How far a pure-Python counting thread gets while ``work()`` runs, and while the main
    thread sleeps for the same time."""
    count = [0]
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        time.sleep(0.05)
        before, start = count[0], time.perf_counter()
        work()
        elapsed = time.perf_counter() - start
        during = count[0] - before
        before = count[0]
        time.sleep(elapsed)
        idle = count[0] - before
    finally:
        stop.set()
        thread.join()
    return during, idle, elapsed


def test_the_gil_is_released_while_stamping_and_checking(stamper, checker):
    big = jpeg_420(seed=120, width=1600, height=1200)
    stamped = stamper.stamp(big)
    for name, work in [("stamp", lambda: stamper.stamp(big)), ("check", lambda: checker.check(stamped.data))]:
        during, idle, elapsed = _counts_while(work)
        # Holding the GIL, the counter would stand still for the whole call (it could only run
        # in the few milliseconds around it); released, it runs about as fast as when idle.
        assert elapsed > 0.02, f"{name} took only {elapsed:.3f} s: too short to measure"
        assert during > 0.3 * idle, f"{name}: counted {during} while working, {idle} while idle"
