"""The parse time limit: OCR time has its own budget, so a long scan that keeps finishing pages
is not stopped, while a task stuck in one OCR page or outside OCR is."""

import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.engines.taskclock import ParseTimeout, TaskClocks, WorkerClock


def _task(values, slot: int, pages: int, page_s: float, stuck_in_page_s: float = 0.0, stuck_s: float = 0.0) -> str:
    clock = WorkerClock(values, slot)
    for _ in range(pages):
        clock.page_started()
        time.sleep(page_s)
        clock.page_done(page_s)
    if stuck_in_page_s:
        clock.page_started()
        time.sleep(stuck_in_page_s)
    time.sleep(stuck_s)
    return "done"


@pytest.fixture
def clocks() -> TaskClocks:
    return TaskClocks(multiprocessing.get_context("spawn"))


@pytest.fixture
def pool():
    executor = ThreadPoolExecutor(1)
    yield executor
    executor.shutdown(wait=False)  # a stuck task's thread ends by itself a little later


def test_a_long_ocr_task_that_keeps_finishing_pages_runs_to_its_end(clocks: TaskClocks, pool) -> None:
    slot = clocks.new_slot()
    future = pool.submit(_task, clocks.values, slot, pages=8, page_s=0.4)  # 3.2 s of OCR
    assert clocks.wait(future, slot, timeout_s=1.0, page_timeout_s=2.0) == "done"


def test_a_task_stuck_in_one_ocr_page_is_stopped(clocks: TaskClocks, pool) -> None:
    slot = clocks.new_slot()
    future = pool.submit(_task, clocks.values, slot, pages=2, page_s=0.2, stuck_in_page_s=3.0)
    started = time.monotonic()
    with pytest.raises(ParseTimeout, match="ocr_page_timeout_s"):
        clocks.wait(future, slot, timeout_s=30.0, page_timeout_s=1.0)
    assert time.monotonic() - started < 3.0


def test_a_task_stuck_outside_ocr_is_stopped_by_the_file_limit(clocks: TaskClocks, pool) -> None:
    slot = clocks.new_slot()
    future = pool.submit(_task, clocks.values, slot, pages=3, page_s=0.3, stuck_s=3.0)
    started = time.monotonic()
    with pytest.raises(ParseTimeout, match="file_timeout_s"):
        clocks.wait(future, slot, timeout_s=1.0, page_timeout_s=10.0)
    # OCR time (0.9 s) is not counted, the rest is: stopped about 1 s after the pages.
    assert 1.5 < time.monotonic() - started < 3.5
