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


def on_another_october(november: dict) -> dict:
    """November's demo close without its general-ledger balances: they are those of the demo's own
    October close, and a test that closes November on another October (or in another currency)
    would have the close refuse them (GL_DOES_NOT_TIE), as it should."""
    return {k: v for k, v in november.items() if k != "general_ledger"}
