"""The server logs from a background thread (`logging.handlers.QueueListener`): every line, in
order, formatted as configured, and all of them written by the time it stops."""

from __future__ import annotations

import io
import logging
import threading

import pytest

from cryptopredict.api.server import logging_in_background


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
    handlers = logging.getLogger().handlers[:]
    log = logging.getLogger("test.writer")

    def burst(number: int) -> None:
        for line in range(200):
            log.info("thread %d line %d", number, line)

    with logging_in_background():
        assert logging.getLogger().handlers != handlers
        threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 800
    for number in range(4):
        mine = [line for line in lines if f"thread {number} " in line]
        assert mine == [f"INFO test.writer: thread {number} line {n}" for n in range(200)]
    assert logging.getLogger().handlers == handlers


def test_lines_appear_while_serving(stream):
    with logging_in_background():
        logging.getLogger("test.writer").warning("soon")
        deadline = threading.Event()
        for _ in range(100):
            if "soon" in stream.getvalue():
                break
            deadline.wait(0.02)
        assert stream.getvalue() == "WARNING test.writer: soon\n"


def test_handler_levels_are_respected(stream):
    logging.getLogger().handlers[0].setLevel(logging.WARNING)
    with logging_in_background():
        logging.getLogger("test.writer").info("quiet")
        logging.getLogger("test.writer").error("loud")
    assert stream.getvalue() == "ERROR test.writer: loud\n"


def test_exceptions_keep_their_traceback(stream):
    with logging_in_background():
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("test.writer").exception("failed")
    assert "failed\nTraceback" in stream.getvalue()
    assert "ValueError: boom" in stream.getvalue()
