"""The service's log: what APScheduler says in it."""

from __future__ import annotations

import logging

import pytest

from monitor.logs import configure

SKIPPED = (
    'Execution of job "Service._send_alerts (trigger: interval[0:00:05])" skipped: maximum '
    "number of running instances reached (1)"
)


@pytest.fixture(autouse=True)
def _restore_loggers() -> object:
    names = ("monitor", "apscheduler")
    saved = {
        n: (
            logging.getLogger(n).handlers[:],
            logging.getLogger(n).level,
            logging.getLogger(n).propagate,
        )
        for n in names
    }
    yield None
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:], logger.propagate = handlers, propagate
        logger.setLevel(level)


def test_a_skipped_run_of_a_job_still_running_is_not_warned_every_five_seconds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An alert round waiting out a hung mail server (30 s) had this warning every 5 s."""
    configure("INFO")
    logging.getLogger("apscheduler.scheduler").warning(SKIPPED)
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed by 0:00:02")
    err = capsys.readouterr().err
    assert "maximum number of running instances" not in err
    assert "was missed by" in err  # APScheduler's other warnings still show


def test_at_debug_level_apscheduler_says_everything(capsys: pytest.CaptureFixture[str]) -> None:
    configure("DEBUG")
    logging.getLogger("apscheduler.scheduler").warning(SKIPPED)
    assert "maximum number of running instances" in capsys.readouterr().err
