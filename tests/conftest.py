from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_wip(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    """Run the `wip` command in a subprocess, the way a user does."""
    return subprocess.run([sys.executable, "-m", "costing", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, **kw)


@pytest.fixture
def wip():
    return run_wip
