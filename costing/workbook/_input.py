"""One reader interface for the close's inputs, whatever they are typed in.

``CloseInput.read()`` gives ``(data, issues)`` — the close file's data structure — and
``CloseInput.locate(issues)`` moves the close's own problems (data paths such as
``products[1].stages[0].ending_wip.complete``) to where the user typed the value: the same path
in a close file, a cell (``Production!G12``) in a workbook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

from .._errors import Issue
from ._read import WorkbookInput, read_tables
from ._source import TableSource

__all__ = ["CloseInput", "CloseFileInput", "WorkbookCloseInput", "open_close_input", "is_workbook"]


@runtime_checkable
class CloseInput(Protocol):
    description: str

    def read(self) -> tuple[Any, list[Issue]]: ...

    def locate(self, issues: Sequence[Issue]) -> list[Issue]: ...


class CloseFileInput:
    """A close file (YAML or JSON): paths are already where the user looks."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.description = str(path)

    def read(self) -> tuple[Any, list[Issue]]:
        from .._casefile import read_data_file

        return read_data_file(self.path)

    def locate(self, issues: Sequence[Issue]) -> list[Issue]:
        return list(issues)


class WorkbookCloseInput:
    """A close workbook behind any ``TableSource`` (openpyxl file, in-memory fake, live Excel)."""

    def __init__(self, source: TableSource, description: str = ""):
        self.source = source
        self.description = description
        self.workbook: WorkbookInput | None = None

    def read(self) -> tuple[Any, list[Issue]]:
        self.workbook = read_tables(self.source)
        return self.workbook.data, list(self.workbook.issues)

    def locate(self, issues: Sequence[Issue]) -> list[Issue]:
        if self.workbook is None:
            self.read()
        return self.workbook.locate(issues)


def is_workbook(path: str | Path) -> bool:
    return str(path).lower().endswith((".xlsx", ".xlsm"))


def open_close_input(path: str | Path) -> CloseInput:
    """The reader for a path: a workbook (.xlsx/.xlsm) or a close file."""
    if is_workbook(path):
        return WorkbookCloseInput(_LazySource(path), str(path))
    return CloseFileInput(path)


class _LazySource:
    """Opens the workbook on first use (so a missing file is a located issue, not a traceback)."""

    def __init__(self, path: str | Path):
        self.path = path
        self._source = None

    def _open(self):
        if self._source is None:
            from ._openpyxl import OpenpyxlSource

            self._source = OpenpyxlSource.open(self.path)
        return self._source

    def table(self, name: str):
        return self._open().table(name)

    def table_names(self):
        return self._open().table_names()

    def sheet_cells(self, sheet: str):
        """The sheet's cells, for an optional table's data left on it (``OpenpyxlSource.sheet_cells``)."""
        return self._open().sheet_cells(sheet)
