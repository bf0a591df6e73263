"""The bundled demo factory's close files, read as the close reads them (shared by the tests)."""

from __future__ import annotations

from pathlib import Path

from costing._casefile import read_data_file

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"


def read_clean(path: Path) -> dict:
    """A case, close or standards file that must read without problems."""
    data, issues = read_data_file(path)
    assert not issues, issues
    return data


def demo(period: str) -> dict:
    """The demo close file of ``period`` (2026-10 or 2026-11)."""
    return read_clean(DEMO / f"close-{period}.yaml")
