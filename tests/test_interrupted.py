"""Ctrl-C (review, 2026-11-25): after a workbook close was recorded it gave only a traceback — no
"recorded", no ledger head, no word that the sheets were not written — and at any point of a close
35 lines of traceback."""

from __future__ import annotations

from costing import close_service
from costing.cli import main
from costing.ledger import Ledger
from tests.test_workbook_all_problems import demo_book  # noqa: F401  (a fixture)
from tests.test_close_messages import ROOT


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_after_the_close_is_recorded_says_it_was(demo_book, tmp_path, monkeypatch, capsys):
    import costing.workbook

    monkeypatch.setattr(costing.workbook, "write_close_results", _interrupt)
    db = tmp_path / "l.db"
    assert main(["close", str(demo_book), "--period", "2026-10", "--ledger", str(db)]) == 130
    err = capsys.readouterr().err
    assert "interrupted: 2026-10 was closed and recorded in" in err and "as close #1 before Ctrl-C" in err
    assert "Ledger head: 1:" in err and "run the same command again" in err and "Traceback" not in err
    with Ledger(db) as ledger:
        assert [e.kind for e in ledger.events()] == ["close"]


def test_ctrl_c_before_anything_is_recorded_is_said_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(close_service, "close_period", _interrupt)
    db = tmp_path / "l.db"
    assert main(["close", str(ROOT / "examples/demo/close-2026-10.yaml"), "--period", "2026-10",
                 "--ledger", str(db)]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted (Ctrl-C); a close or reopen is recorded whole or not at all")
    assert not db.exists()  # the new ledger taken away again, as for a refused close


def test_the_wip_command_ends_by_sigint_after_ctrl_c_so_a_shell_loop_stops(monkeypatch):
    """Review: exiting 130 after Ctrl-C let a bash loop of month-by-month closes go on to the next
    month; a shell stops only when the command itself died of SIGINT."""
    import os
    import signal

    from costing import cli

    killed = []
    monkeypatch.setattr(cli, "main", lambda: cli.EXIT_INTERRUPTED)
    monkeypatch.setattr(signal, "signal", lambda sig, handler: None)
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(sig))
    try:
        cli.run()
    except SystemExit as e:
        assert e.code == 130
    assert killed == ([signal.SIGINT] if os.name == "posix" else [])
    monkeypatch.setattr(cli, "main", lambda: 2)
    killed.clear()
    try:
        cli.run()
    except SystemExit as e:
        assert e.code == 2
    assert killed == []


def test_ctrl_c_while_a_close_waits_for_its_child_stays_a_ctrl_c(monkeypatch):
    """Review: Ctrl-C while the close read what its child computed closed the pipe, then cancel()
    closed it again: OSError (bad file descriptor) replaced the interrupt — a traceback, exit 1, and
    a shell loop went on to the next month."""
    import os

    import pytest

    from costing import _background

    monkeypatch.setattr(_background, "_can_fork", lambda: True)
    real = os.fdopen

    class Interrupted:
        def __init__(self, pipe):
            self.pipe = pipe

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.pipe.close()

        def read(self):
            raise KeyboardInterrupt

    job = _background.Background(lambda: "done")
    monkeypatch.setattr(_background.os, "fdopen", lambda fd, mode: Interrupted(real(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        try:
            job.result()
        finally:
            job.cancel()
