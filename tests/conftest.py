from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _decimal_as_yaml_number(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    # Tests write back close files they read (numbers are Decimals since costing._casefile keeps
    # the digits written): as YAML numbers with those digits, read back as the same Decimals.
    text = format(value, "f")
    return dumper.represent_scalar("tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int", text)


yaml.SafeDumper.add_representer(Decimal, _decimal_as_yaml_number)


def run_wip(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    """Run the `wip` command in a subprocess, the way a user does."""
    return subprocess.run([sys.executable, "-m", "costing", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, **kw)


@pytest.fixture
def wip():
    return run_wip


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory) -> Path:
    """A ledger with both demo months closed (one per test module that asks for it)."""
    from costing.close_service import close_period
    from costing.ledger import Ledger
    from tests.demo_data import demo

    path = tmp_path_factory.mktemp("demo") / "wip-ledger.db"
    with Ledger(path) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
    return path
