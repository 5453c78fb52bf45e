"""The server's background log writer: every line, in order, formatted as configured."""

from __future__ import annotations

import io
import logging
import threading

import pytest

from cryptopredict.api.logwriter import FLUSH_SECONDS, write_in_background


@pytest.fixture
def stream():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    yield sink
    root.handlers, level = saved
    root.setLevel(level)


def test_lines_from_many_threads_are_all_written_in_order_by_the_end(stream):
    writer = write_in_background()
    log = logging.getLogger("test.writer")

    def burst(number: int) -> None:
        for line in range(200):
            log.info("thread %d line %d", number, line)

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.stop()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 800
    for number in range(4):
        mine = [line for line in lines if f"thread {number} " in line]
        assert mine == [f"INFO test.writer: thread {number} line {n}" for n in range(200)]
    assert logging.getLogger().handlers == writer.handlers


def test_lines_appear_within_a_flush_interval(stream):
    writer = write_in_background()
    try:
        logging.getLogger("test.writer").warning("soon")
        deadline = threading.Event()
        for _ in range(50):
            if "soon" in stream.getvalue():
                break
            deadline.wait(FLUSH_SECONDS / 5)
        assert stream.getvalue() == "WARNING test.writer: soon\n"
    finally:
        writer.stop()


def test_exceptions_keep_their_traceback(stream):
    writer = write_in_background()
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("test.writer").exception("failed")
    writer.stop()
    assert "failed\nTraceback" in stream.getvalue()
    assert "ValueError: boom" in stream.getvalue()
