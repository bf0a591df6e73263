"""Review (crash and concurrency of writers, 2026-11-25): two exports into one folder at once each
saw the other's files missing (a folder that posts a close twice, or a beancount accounts file
missing an open); a failed export left the folders it made; a killed export's staging folder
stayed in the export folder for good."""

from __future__ import annotations

import errno
import os

import pytest

from costing.exports import _common
from costing.exports._common import folder_locked
from tests.test_export_folder_replaced import closed, export  # noqa: F401  (a fixture)

fcntl = pytest.importorskip("fcntl")  # POSIX: Windows exports are not serialised


def test_exports_into_one_folder_take_one_lock_whether_or_not_it_exists_yet(tmp_path):
    """The first export makes the folder while it holds the lock; a second, started once the folder
    is there, must still wait for the same lock, not take one of its own."""
    import threading

    out = tmp_path / "new" / "exports"
    entered = threading.Event()

    def second_export():
        with folder_locked(out):
            entered.set()

    with folder_locked(out):  # not there yet
        out.mkdir(parents=True)
        second = threading.Thread(target=second_export)
        second.start()
        assert not entered.wait(0.5)  # waits: the first still reads, checks and writes
    second.join(10)
    assert entered.is_set()


def test_a_failed_export_takes_away_the_folders_it_made(closed, tmp_path, monkeypatch, capsys):
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(_common, "_write_file", full)
    assert export(closed[0], tmp_path / "new" / "deep" / "ex", "qbo") == 2
    assert "nothing was written" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_a_killed_exports_staging_folder_is_cleared_by_the_next_export(closed, tmp_path):
    out = tmp_path / "ex"
    (out / ".journals-export-dead1234").mkdir(parents=True)
    (out / ".journals-export-dead1234" / "journals-2026-10.gl.csv").write_text("half")
    assert export(closed[0], out, "gl-csv") == 0
    assert sorted(p.name for p in out.iterdir()) == ["journals-2026-10.gl.csv"]


def test_a_full_drive_is_told_to_free_space_not_to_give_a_folder_one_may_write(closed, tmp_path, monkeypatch,
                                                                                 capsys):
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(_common, "_write_file", full)
    assert export(closed[0], tmp_path / "ex", "qbo") == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "free space on its drive, or give a folder on another" in err
