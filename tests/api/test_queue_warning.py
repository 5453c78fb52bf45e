"""Waitress's per-request "Task queue depth" warning is dropped (it is noise, written by the loop
thread for every request queued behind busy threads), and other Waitress warnings are not."""

from __future__ import annotations

import logging

import pytest

from cryptopredict.api.server import YieldInsteadOfQueueWarning


@pytest.fixture
def queue_logger():
    logger = logging.getLogger("waitress.queue")
    dropped = YieldInsteadOfQueueWarning()
    logger.addFilter(dropped)
    yield logger
    logger.removeFilter(dropped)


def test_the_queue_depth_warning_never_reaches_the_log(queue_logger, caplog):
    with caplog.at_level(logging.WARNING):
        queue_logger.warning("Task queue depth is %d", 3)
        logging.getLogger("waitress").warning("something else")
    assert [record.getMessage() for record in caplog.records] == ["something else"]
