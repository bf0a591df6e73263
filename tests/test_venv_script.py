"""scripts/_venv.sh: a .venv copied or moved with its checkout is made again for the new checkout;
one installed for this checkout is left alone (no pip, no python started), whichever form pip wrote
its scripts in (`#!/path/.venv/bin/python`, or `#!/bin/sh` and an exec line when the path has a
space or is long).

The checkout here is a scratch folder holding the script, a pyproject.toml and a stub `costing`.
Its .venv's python is a stand-in that logs how it was called, answers `-m pip` with success (an
`install -e` also writes the `wip` and `pytest` scripts, in the form pip would) and runs anything
else with the real interpreter (the stub `costing` on its path); a stand-in `python3` on PATH
makes such a venv for `-m venv`."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("sha256sum") is None,
                                reason="needs bash and sha256sum")

# The stand-ins' code: run as a script by the stand-in python3 / pip, and used below to lay out the
# venv a test starts with.
FAKE = r"""
import sys
from pathlib import Path


def script_text(python: str) -> str:
    # A console script as pip (distlib) writes it for the venv python at `python`.
    exe = f'"{python}"' if " " in python else python
    if " " in exe or len(exe) + 3 > 127:
        return f"#!/bin/sh\n'''exec' {exe} \"$0\" \"$@\"\n' '''\nimport sys\n"
    return f"#!{python}\nimport sys\n"


def write_scripts(venv: Path, made_in: str) -> None:
    for name in ("wip", "pytest"):
        (venv / "bin" / name).write_text(script_text(f"{made_in}/bin/python"))
        (venv / "bin" / name).chmod(0o755)


def make_venv(venv: Path, made_in: str, log: str) -> None:
    # A stand-in venv at `venv` whose activate names `made_in`; its python imports the `costing`
    # of the checkout holding `venv`.
    bin_ = venv / "bin"
    bin_.mkdir(parents=True, exist_ok=True)
    (bin_ / "python").write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{log}"\n'
        f'if [ "$1" = "-m" ]; then exec "{sys.executable}" "{__file__}" pip "{venv}" "$@"; fi\n'
        f'PYTHONPATH="{venv.parent}" exec "{sys.executable}" "$@"\n')
    (bin_ / "python").chmod(0o755)
    (bin_ / "activate").write_text(f'VIRTUAL_ENV="{made_in}"\nexport VIRTUAL_ENV\n')


if __name__ == "__main__":
    command, venv, *args = sys.argv[1:]
    if command == "venv":  # python3 -m venv VENV (the log is the second argument here)
        make_venv(Path(venv), venv, args[0])
    elif command == "pip" and "install" in args and "-e" in args:  # python -m pip install ... -e X
        write_scripts(Path(venv), venv)
"""
_fake: dict = {"__name__": "fake", "__file__": ""}
exec(FAKE, _fake)
script_text, write_scripts = _fake["script_text"], _fake["write_scripts"]


def _checkout(tmp_path: Path, installed_for: str | None, wip_venv: str,
              parent: Path | None = None) -> tuple[Path, Path]:
    """A checkout (in ``parent``, tmp_path when None) whose .venv was installed for
    ``installed_for`` (the stamp's text; None: no stamp) and whose scripts and activate were made in
    ``wip_venv``."""
    root = (parent or tmp_path) / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "_venv.sh", root / "scripts" / "_venv.sh")
    (root / "pyproject.toml").write_text("[project]\nname = 'stub'\n")
    (root / "costing").mkdir()
    (root / "costing" / "__init__.py").write_text("")
    log = tmp_path / "python-calls.log"
    fake = tmp_path / "fake.py"
    fake.write_text(FAKE)
    _fake["__file__"] = str(fake)
    _fake["make_venv"](root / ".venv", wip_venv, str(log))
    write_scripts(root / ".venv", wip_venv)
    (root / ".venv" / "old-venv-file").write_text("")  # gone once the venv is made again
    python3 = tmp_path / "fakebin" / "python3"
    python3.parent.mkdir()
    python3.write_text("#!/usr/bin/env bash\n"
                       f'echo "python3 $*" >> "{log}"\n'
                       f'if [ "$1 $2" = "-m venv" ]; then exec "{sys.executable}" "{fake}" venv "$3" "{log}"; fi\n'
                       f'exec "{sys.executable}" "$@"\n')
    python3.chmod(0o755)
    if installed_for is not None:
        _write_stamp(root, installed_for)
    return root, log


def _write_stamp(root: Path, installed_for: str, pyproject: bytes | None = None) -> None:
    digest = hashlib.sha256(pyproject or (root / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (root / ".venv" / f".installed-{digest}").write_text(installed_for + "\n" if installed_for else "")


def _source(root: Path) -> subprocess.CompletedProcess:
    fakebin = next(p for p in root.parents if (p / "fakebin").is_dir()) / "fakebin"
    path = f"{fakebin}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(["bash", "-c", 'source scripts/_venv.sh'], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PATH": path}, timeout=60)


def _stamp(root: Path) -> str:
    (stamp,) = (root / ".venv").glob(".installed-*")
    return stamp.read_text().strip()


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _assert_made_again_for(root: Path, log: Path) -> None:
    venv = root / ".venv"
    calls = _calls(log)
    assert f"python3 -m venv {venv}" in calls
    assert any(c.startswith("-m pip install") and c.endswith(f"-e {root}[test]") for c in calls)
    assert not (venv / "old-venv-file").exists()
    for name in ("wip", "pytest"):
        assert (venv / "bin" / name).read_text() == script_text(f"{venv}/bin/python")
    assert f'VIRTUAL_ENV="{venv}"' in (venv / "bin" / "activate").read_text()
    assert _stamp(root) == str(root)


def test_a_venv_copied_from_another_checkout_is_set_up_again_for_this_one(tmp_path):
    root, log = _checkout(tmp_path, "/elsewhere/checkout", "/elsewhere/checkout/.venv")
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert "installed for /elsewhere/checkout (copied or moved)" in result.stderr
    venv = root / ".venv"
    assert (venv / "bin" / "wip").read_text().splitlines()[0] == f"#!{venv}/bin/python"
    assert (venv / "bin" / "pytest").read_text().splitlines()[0] == f"#!{venv}/bin/python"
    _assert_made_again_for(root, log)
    log.unlink()
    assert _source(root).stderr == "" and not log.exists()  # and then left alone


def test_a_venv_installed_for_this_checkout_starts_nothing(tmp_path):
    root, log = _checkout(tmp_path, "", "/unused")
    venv = root / ".venv"
    (venv / "bin" / "wip").write_text(f"#!{venv}/bin/python\n")
    digest = next(venv.glob(".installed-*")).name
    (venv / digest).write_text(f"{root}\n")
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert not log.exists() and result.stderr == ""  # no python started, nothing installed
    assert _stamp(root) == str(root)


def test_a_stamp_from_before_the_checkout_was_recorded_is_kept_when_the_venv_runs_this_checkout(tmp_path):
    root, log = _checkout(tmp_path, "", "/unused")
    venv = root / ".venv"
    (venv / "bin" / "wip").write_text(f"#!{venv}/bin/python\n")
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert not any(c.startswith("-m pip") for c in log.read_text().splitlines())  # checked, not reinstalled
    assert _stamp(root) == str(root)


def test_a_stamp_from_before_the_checkout_was_recorded_in_a_copied_venv_reinstalls(tmp_path):
    root, log = _checkout(tmp_path, "", "/elsewhere/checkout/.venv")
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert any(c.startswith("-m pip install") for c in log.read_text().splitlines())
    assert (root / ".venv" / "bin" / "wip").read_text().splitlines()[0] == f"#!{root}/.venv/bin/python"
    _assert_made_again_for(root, log)


# pip writes `#!/bin/sh` + `'''exec' "/path with space/.venv/bin/python" "$0" "$@"` when the path has a
# space, and the same without the quotes when it is too long for a shebang line.
LONG = "x" * 130


@pytest.mark.parametrize("where", ["with space", LONG])
def test_scripts_in_the_bin_sh_form_are_recognised(tmp_path, where):
    root, log = _checkout(tmp_path, None, "/unused", parent=tmp_path / where)
    venv = root / ".venv"
    write_scripts(venv, str(venv))
    assert (venv / "bin" / "wip").read_text().startswith("#!/bin/sh\n'''exec' ")
    assert f"{venv}/bin/python" in (venv / "bin" / "wip").read_text()

    # An empty stamp (from before it recorded the checkout): checked, kept, not reinstalled.
    _write_stamp(root, "")
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert not any(c.startswith(("-m pip", "python3")) for c in _calls(log)) and result.stderr == ""
    assert _stamp(root) == str(root)
    # Then nothing is started at all.
    log.unlink()
    result = _source(root)
    assert result.returncode == 0 and result.stderr == "" and not log.exists()


def test_a_first_install_in_a_path_with_a_space_is_done_once(tmp_path):
    root, log = _checkout(tmp_path, None, "/unused", parent=tmp_path / "with space")
    shutil.rmtree(root / ".venv")
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert "first run" in result.stderr
    venv = root / ".venv"
    assert (venv / "bin" / "wip").read_text().startswith(f"#!/bin/sh\n'''exec' \"{venv}/bin/python\" ")
    assert _stamp(root) == str(root)
    log.unlink()
    result = _source(root)
    assert result.returncode == 0 and result.stderr == "" and not log.exists()  # no reinstall


def test_a_venv_copied_into_a_path_with_a_space_is_made_again(tmp_path):
    root, log = _checkout(tmp_path, "/elsewhere/checkout", "/elsewhere/checkout/.venv",
                          parent=tmp_path / "with space")
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert "(copied or moved)" in result.stderr
    _assert_made_again_for(root, log)
    assert (root / ".venv" / "bin" / "wip").read_text().startswith("#!/bin/sh\n")
    log.unlink()
    assert _source(root).stderr == "" and not log.exists()


def test_a_stamp_naming_this_checkout_by_another_path_starts_nothing(tmp_path):
    root, log = _checkout(tmp_path, None, "/unused")
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    _write_stamp(root, str(alias))
    result = _source(root)
    assert result.returncode == 0 and result.stderr == "" and not log.exists()


def test_a_changed_pyproject_reinstalls_in_place_or_remakes_a_copied_venv(tmp_path):
    root, log = _checkout(tmp_path, None, "/unused")
    _write_stamp(root, str(root), pyproject=b"old pyproject")
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert "pyproject.toml changed" in result.stderr
    assert any(c.startswith("-m pip install") for c in _calls(log))
    assert not any(c.startswith("python3") for c in _calls(log)) and (root / ".venv" / "old-venv-file").exists()
    assert _stamp(root) == str(root)

    for stamp in (root / ".venv").glob(".installed-*"):
        stamp.unlink()
    _write_stamp(root, "/elsewhere/checkout", pyproject=b"old pyproject")
    log.unlink()
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert "installed for /elsewhere/checkout (copied or moved)" in result.stderr
    _assert_made_again_for(root, log)
