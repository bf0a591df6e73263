"""scripts/_venv.sh: a .venv copied or moved with its checkout is set up again for the new checkout;
one installed for this checkout is left alone (no pip, no python started).

The checkout here is a scratch folder holding the script, a pyproject.toml and a stub `costing`;
its .venv's python is a stand-in that logs how it was called, answers `-m pip` with success and
runs anything else with the real interpreter (the stub `costing` on its path)."""

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


def _checkout(tmp_path: Path, installed_for: str | None, wip_venv: str) -> tuple[Path, Path]:
    """A checkout whose .venv was installed for ``installed_for`` (the stamp's text; None: no stamp)
    and whose scripts were made in ``wip_venv``."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "_venv.sh", root / "scripts" / "_venv.sh")
    (root / "pyproject.toml").write_text("[project]\nname = 'stub'\n")
    (root / "costing").mkdir()
    (root / "costing" / "__init__.py").write_text("")
    bin_ = root / ".venv" / "bin"
    bin_.mkdir(parents=True)
    log = tmp_path / "python-calls.log"
    python = bin_ / "python"
    python.write_text("#!/usr/bin/env bash\n"
                      f'echo "$*" >> "{log}"\n'
                      'if [ "$1" = "-m" ]; then exit 0; fi\n'
                      f'PYTHONPATH="{root}" exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    for script in ("wip", "pytest"):
        (bin_ / script).write_text(f"#!{wip_venv}/bin/python\nimport sys\n")
        (bin_ / script).chmod(0o755)
    (bin_ / "activate").write_text(f'VIRTUAL_ENV="{wip_venv}"\nexport VIRTUAL_ENV\n')
    if installed_for is not None:
        digest = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()[:16]
        (root / ".venv" / f".installed-{digest}").write_text(installed_for + "\n" if installed_for else "")
    return root, log


def _source(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", 'source scripts/_venv.sh'], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}, timeout=60)


def _stamp(root: Path) -> str:
    (stamp,) = (root / ".venv").glob(".installed-*")
    return stamp.read_text().strip()


def test_a_venv_copied_from_another_checkout_is_set_up_again_for_this_one(tmp_path):
    root, log = _checkout(tmp_path, "/elsewhere/checkout", "/elsewhere/checkout/.venv")
    result = _source(root)
    assert result.returncode == 0, result.stderr
    assert "installed for /elsewhere/checkout (copied or moved)" in result.stderr
    calls = log.read_text().splitlines()
    assert any(c.startswith("-m pip install") and c.endswith(f"-e {root}[test]") for c in calls)
    venv = root / ".venv"
    assert (venv / "bin" / "wip").read_text().splitlines()[0] == f"#!{venv}/bin/python"
    assert (venv / "bin" / "pytest").read_text().splitlines()[0] == f"#!{venv}/bin/python"
    assert f'VIRTUAL_ENV="{venv}"' in (venv / "bin" / "activate").read_text()
    assert _stamp(root) == str(root)


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
    assert _stamp(root) == str(root)
