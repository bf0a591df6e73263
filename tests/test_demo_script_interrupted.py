"""scripts/demo.sh stopped mid-way (Ctrl-C, kill, kill -9): its next run refused the folder, since
the temporary files a `wip` command killed mid-write leaves are names the script did not list as
its own. They are its own, by the exact names `wip` gives them, in a folder carrying its marker;
anything else put in the folder is still refused and left as it is."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scripts" / "demo.sh"
MARKER = ".wip-demo-output"

# `wip`, stopped at its first rename when its command is the one DEMO_STOP names: the signal goes
# to the whole demo run (its process group), as Ctrl-C or `kill -- -PGID` sends it. Before that it
# records, in DEMO_SEEN, the temporary files it had written, so a test knows there were some.
STOPPING_WIP = '''\
import os, signal, sys, time
command, signal_name = os.environ["DEMO_STOP"].split(":")
if sys.argv[1] == command:
    def stop(source, target, *args, **kwargs):
        with open(os.environ["DEMO_SEEN"], "w") as seen:
            seen.write(os.path.relpath(source, os.environ["DEMO_OUT"]) + "\\n")
        os.killpg(0, getattr(signal, signal_name))
        time.sleep(60)  # the signal ends this process here (SIGINT: as KeyboardInterrupt)
        raise AssertionError("not stopped")
    os.replace = stop
from costing.cli import main
sys.exit(main(sys.argv[1:]))
'''


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``, hidden ones included."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def temporary(folder: Path) -> list[str]:
    return [name for name in tree(folder) if ".audit.xlsx." in name or ".journals-export-" in name]


@pytest.fixture
def checkout(tmp_path):
    """A copy of scripts/demo.sh whose `wip` does nothing (a run takes milliseconds), or, with
    DEMO_STOP=COMMAND:SIGNAL, runs the real one and stops the run at COMMAND's first rename."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(DEMO, root / "scripts" / "demo.sh")
    (root / "scripts" / "_venv.sh").write_text(
        'set -euo pipefail\nroot="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"\nvenv="$root/.venv"\n')
    (root / "examples").symlink_to(ROOT / "examples")
    (root / "stopping_wip.py").write_text(STOPPING_WIP)
    (root / ".venv" / "bin").mkdir(parents=True)
    wip = root / ".venv" / "bin" / "wip"
    wip.write_text(f'#!/bin/sh\n[ -n "${{DEMO_STOP:-}}" ] || exit 0\n'
                   f'exec "{sys.executable}" "{root}/stopping_wip.py" "$@"\n')
    wip.chmod(0o755)
    return root


def run(checkout: Path, out: Path, **env: str) -> subprocess.CompletedProcess:
    """demo.sh OUT in a session of its own (its signals reach no one else), to its end or its stop."""
    return subprocess.run(["bash", str(checkout / "scripts" / "demo.sh"), str(out)], cwd=out.parent,
                          capture_output=True, text=True, timeout=180, start_new_session=True,
                          env={**os.environ, "LC_ALL": "C", **env})


def stopped_run(checkout: Path, out: Path, command: str, signal_name: str) -> str:
    """demo.sh OUT with the real `wip`, stopped by SIGNAL at COMMAND's first rename; returns the
    temporary file it was renaming (relative to OUT)."""
    seen = out.parent / "seen.txt"
    result = run(checkout, out, DEMO_STOP=f"{command}:{signal_name}", DEMO_SEEN=str(seen), DEMO_OUT=str(out))
    assert result.returncode == -getattr(signal, signal_name), (result.returncode, result.stderr)
    return seen.read_text().strip()


def assert_refused_then_taken(checkout: Path, out: Path) -> None:
    """The user's own file in the folder: refused by name, nothing deleted (the run's leftovers
    neither); without it, the run replaces everything."""
    (out / "my-notes.txt").write_text("mine")
    before = tree(out)
    result = run(checkout, out)
    assert result.returncode == 2 and "did not write (my-notes.txt)" in result.stderr, result.stderr
    assert tree(out) == before
    (out / "my-notes.txt").unlink()
    result = run(checkout, out)
    assert result.returncode == 0, result.stderr
    assert temporary(out) == [] and (out / MARKER).is_file()
    assert "journals-2026-10.txt" in tree(out)  # written by this run (the no-op wip leaves it empty)


# ---- a run stopped by a signal -------------------------------------------------------------------

def test_kill_9_during_an_export_leaves_its_staging_folder_which_the_next_run_removes(checkout, tmp_path):
    out = tmp_path / "out"
    renaming = stopped_run(checkout, out, "export", "SIGKILL")
    assert renaming.startswith("exports/.journals-export-"), renaming
    left = temporary(out)
    assert renaming in left and (out / MARKER).is_file(), left  # no trap runs on SIGKILL
    assert_refused_then_taken(checkout, out)


def test_kill_9_while_the_audit_workbook_is_written_leaves_its_temp_file_which_the_next_run_removes(
        checkout, tmp_path):
    """The real demo up to `wip variance --xlsx audit.xlsx` (about 20 s)."""
    out = tmp_path / "out"
    renaming = stopped_run(checkout, out, "variance", "SIGKILL")
    assert renaming.startswith(".audit.xlsx.") and renaming.endswith(".tmp"), renaming
    assert temporary(out) == [renaming]
    assert_refused_then_taken(checkout, out)


def test_sigterm_kills_wip_without_its_clean_up_and_the_script_removes_what_it_left(checkout, tmp_path):
    """Python dies of SIGTERM without running its `finally`: the staging folder stays, and the
    script's trap removes it before stopping by the same signal."""
    out = tmp_path / "out"
    renaming = stopped_run(checkout, out, "export", "SIGTERM")
    assert renaming.startswith("exports/.journals-export-"), renaming
    assert temporary(out) == [] and (out / MARKER).is_file()
    assert "journals-2026-10.txt" not in tree(out)  # it stopped there, not at the end
    assert_refused_then_taken(checkout, out)


def test_ctrl_c_stops_the_run_and_the_next_one_takes_the_folder(checkout, tmp_path):
    out = tmp_path / "out"
    renaming = stopped_run(checkout, out, "export", "SIGINT")
    assert renaming.startswith("exports/.journals-export-"), renaming
    assert temporary(out) == [] and (out / MARKER).is_file()
    assert "journals-2026-10.txt" not in tree(out)
    assert_refused_then_taken(checkout, out)


# ---- a run killed while it empties or starts the folder -----------------------------------------

def _path_with_tripwire(tmp_path: Path, command: str, argument_end: str) -> str:
    """PATH with a COMMAND that kills the whole run (kill -9) when given a path ending ARGUMENT_END."""
    bin_dir = tmp_path / "tripwire"
    bin_dir.mkdir()
    real = shutil.which(command)
    (bin_dir / command).write_text(
        f'#!/bin/sh\nfor a in "$@"; do case "$a" in *{argument_end}) kill -KILL 0 ;; esac; done\nexec {real} "$@"\n')
    (bin_dir / command).chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


def test_a_run_killed_while_emptying_the_folder_leaves_it_marked(checkout, tmp_path):
    """The marker went first (it sorts first in the C locale): killed before the ledger was
    deleted, the folder held the script's names without its mark, and was refused from then on."""
    out = tmp_path / "out"
    assert run(checkout, out).returncode == 0
    (out / "wip-ledger.db").write_text("old")
    result = run(checkout, out, PATH=_path_with_tripwire(tmp_path, "rm", "/wip-ledger.db"))
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert (out / MARKER).is_file() and (out / "wip-ledger.db").read_text() == "old"
    assert_refused_then_taken(checkout, out)


def test_a_run_killed_while_starting_a_new_folder_leaves_it_marked(checkout, tmp_path):
    """exports/ was made before the marker: killed between the two, the new folder held exports/
    unmarked, and was refused from then on."""
    out = tmp_path / "out"
    result = run(checkout, out, PATH=_path_with_tripwire(tmp_path, "mkdir", "/exports"))
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert tree(out) == {MARKER: (out / MARKER).read_bytes()}
    assert_refused_then_taken(checkout, out)


# ---- only the exact temporary names, only beside the marker -------------------------------------

def test_leftovers_of_every_kind_are_removed(checkout, tmp_path):
    out = tmp_path / "out"
    assert run(checkout, out).returncode == 0
    (out / ".audit.xlsx.k2_9xq0a.tmp").write_bytes(b"PK half a workbook")
    (out / "exports" / ".journals-export-a1b2c3d4").mkdir()  # killed before it wrote a file
    staging = out / "exports" / ".journals-export-_zz0q9m1"
    staging.mkdir()
    (staging / "accounts.beancount").write_text("half")
    (staging / "journals-2026-11.beancount").write_text("half")
    result = run(checkout, out)
    assert result.returncode == 0, result.stderr
    assert temporary(out) == []


@pytest.mark.parametrize("name, shown", [
    (".audit.xlsx.k2_9xq0.tmp", None),  # 7 random characters, not 8
    (".audit.xlsx.k2_9xq0ab.tmp.bak", None),
    (".audit.xlsx.K2_9XQ0A.tmp", None),  # tempfile writes lower case only
    (".audit.xlsx.k2-9xq0a.tmp", None),
    (".variance.xlsx.k2_9xq0a.tmp", None),
    ("exports/.audit.xlsx.k2_9xq0a.tmp", None),
    (".journals-export-a1b2c3d4/journals-2026-10.gl.csv", ".journals-export-a1b2c3d4/"),  # not in exports/
    ("exports/.journals-export-a1b2c3d4/my.csv", "exports/.journals-export-a1b2c3d4/"),
    ("exports/.journals-export-a1b2c3d4/sub/journals-2026-10.gl.csv", "exports/.journals-export-a1b2c3d4/"),
    ("exports/.journals-export-a1b2c3d4x/journals-2026-10.gl.csv", "exports/.journals-export-a1b2c3d4x/"),
    ("exports/.journals-export-a1b2c3d4", None),  # a file, not a folder
])
def test_a_name_only_like_a_leftover_is_refused_and_kept(checkout, tmp_path, name, shown):
    out = tmp_path / "out"
    assert run(checkout, out).returncode == 0
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).write_text("mine")
    before = tree(out)
    result = run(checkout, out)
    assert result.returncode == 2 and f"({shown or name})" in result.stderr, result.stderr
    assert tree(out) == before


def test_a_leftover_that_is_a_link_is_refused_and_kept(checkout, tmp_path):
    out = tmp_path / "out"
    assert run(checkout, out).returncode == 0
    (tmp_path / "budget.xlsx").write_text("mine")
    (tmp_path / "exports-of-mine").mkdir()
    (out / ".audit.xlsx.k2_9xq0a.tmp").symlink_to(tmp_path / "budget.xlsx")
    (out / "exports" / ".journals-export-a1b2c3d4").symlink_to(tmp_path / "exports-of-mine")
    result = run(checkout, out)
    assert result.returncode == 2, result.stderr
    assert ".audit.xlsx.k2_9xq0a.tmp (a link)" in result.stderr and "exports/.journals-export-a1b2c3d4" in result.stderr
    assert (out / ".audit.xlsx.k2_9xq0a.tmp").is_symlink() and (tmp_path / "budget.xlsx").read_text() == "mine"


def test_leftover_names_count_only_beside_the_marker(checkout, tmp_path):
    """A run writes the marker before any `wip` command: its leftovers are never in an unmarked
    folder, not even the default one (which runs from before the marker filled, unmarked)."""
    default = checkout / "out" / "demo"
    default.mkdir(parents=True)
    (default / "wip-ledger.db").write_text("old")
    (default / ".audit.xlsx.k2_9xq0a.tmp").write_text("mine")
    before = tree(default)
    result = subprocess.run(["bash", str(checkout / "scripts" / "demo.sh")], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "(.audit.xlsx.k2_9xq0a.tmp)" in result.stderr, result.stderr
    assert tree(default) == before


def test_a_file_put_in_the_folder_while_the_venv_is_set_up_is_not_deleted(checkout, tmp_path):
    """The folder is checked before the venv is set up (minutes on first use) and emptied after:
    it is checked again just before, so a file the user saved there meanwhile is refused, kept."""
    out = tmp_path / "out"
    assert run(checkout, out).returncode == 0  # a marked folder of the script's own
    venv_script = checkout / "scripts" / "_venv.sh"
    venv_script.write_text(venv_script.read_text() + f'printf "mine" > "{out}/notes.txt"\n')
    result = run(checkout, out)
    assert result.returncode == 2 and "notes.txt" in result.stderr
    assert (out / "notes.txt").read_text() == "mine" and (out / MARKER).is_file()


def test_a_given_folder_holding_the_scripts_names_without_the_marker_is_refused(checkout, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "flow.txt").write_text("an older run's, or not")
    result = run(checkout, out)
    assert result.returncode == 2 and "no .wip-demo-output" in result.stderr
    assert (out / "flow.txt").read_text() == "an older run's, or not"


def _path_with_rm_saving(tmp_path: Path, pattern: str, saved: Path) -> str:
    """PATH with an `rm` that, given a path matching the shell PATTERN, first saves "mine" as SAVED
    (a user's file appearing just after the script looked), then deletes as rm does."""
    bin_dir = tmp_path / "late"
    bin_dir.mkdir()
    (bin_dir / "rm").write_text(f'#!/bin/sh\nfor a in "$@"; do case "$a" in {pattern}) printf mine > "{saved}" ;; '
                                f'esac; done\nexec {shutil.which("rm")} "$@"\n')
    (bin_dir / "rm").chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


def test_a_file_saved_while_the_folder_is_emptied_is_left_and_the_run_stops(checkout, tmp_path):
    """Each entry is looked at again as it is deleted: a file saved in the folder after the check
    (here, as the ledger is deleted) is not deleted, and the run stops with the marker in place."""
    out = tmp_path / "out"
    assert run(checkout, out).returncode == 0
    (out / "wip-ledger.db").write_text("old")
    result = run(checkout, out, PATH=_path_with_rm_saving(tmp_path, "*/wip-ledger.db", out / "late.txt"))
    assert result.returncode == 2 and "late.txt" in result.stderr and "gained files" in result.stderr
    assert (out / "late.txt").read_text() == "mine" and (out / MARKER).is_file()
    assert not (out / "wip-ledger.db").exists()  # the script's own file went


def test_a_file_saved_in_a_staging_folder_while_it_is_emptied_is_left(checkout, tmp_path):
    """A stopped export's staging folder is emptied file by file, each looked at again: a file saved
    in it after the check (here, as its first file is deleted) stays, with the folder."""
    out = tmp_path / "out"
    assert run(checkout, out).returncode == 0
    staging = out / "exports" / ".journals-export-abcd1234"
    staging.mkdir(parents=True)
    (staging / "journals-2026-10.gl.csv").write_text("half written")
    result = run(checkout, out, PATH=_path_with_rm_saving(tmp_path, "*/.journals-export-*/*", staging / "notes.txt"))
    assert result.returncode == 2 and "gained files" in result.stderr
    assert (staging / "notes.txt").read_text() == "mine" and (out / MARKER).is_file()
    assert not (staging / "journals-2026-10.gl.csv").exists()
