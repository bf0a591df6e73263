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
    dead, live = out / ".journals-export-dead1234", out / ".journals-export-live5678"
    for folder in (dead, live):
        folder.mkdir(parents=True)
        (folder / "journals-2026-10.gl.csv").write_text("half")
    os.utime(dead, (1, 1))  # left long ago; the other may be another machine's export, writing now
    assert export(closed[0], out, "gl-csv") == 0
    assert sorted(p.name for p in out.iterdir()) == [live.name, "journals-2026-10.gl.csv"]


def test_a_full_drive_is_told_to_free_space_not_to_give_a_folder_one_may_write(closed, tmp_path, monkeypatch,
                                                                                 capsys):
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(_common, "_write_file", full)
    assert export(closed[0], tmp_path / "ex", "qbo") == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "free space on its drive, or give a folder on another" in err


def test_a_failed_export_takes_away_only_the_folders_it_made(closed, tmp_path, monkeypatch, capsys):
    """Review: `--out nothere/../keep` took away the user's empty folder `keep` (the path as typed
    did not exist) and left `nothere`, which the export made."""
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(_common, "_write_file", full)
    (tmp_path / "keep").mkdir()
    assert export(closed[0], tmp_path / "nothere" / ".." / "keep", "qbo") == 2
    capsys.readouterr()
    assert (tmp_path / "keep").is_dir() and not (tmp_path / "nothere").exists()


def test_an_out_folder_through_a_symlink_loop_is_refused_not_a_traceback(closed, tmp_path, capsys):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert export(closed[0], tmp_path / "loop" / "sub", "gl-csv") == 2
    err = capsys.readouterr().err
    assert "[CANNOT_WRITE]" in err and "Traceback" not in err
