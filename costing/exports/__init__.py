"""Journal exports: one writer per import format, for the journals of a month-end close.

An adapter: it reads ``costing._journal.JournalBook`` and writes files; nothing in the core imports
it.  Every writer keeps the same rules (``docs/exports.md``): the book must balance (checked before
anything is written), a journal is never split across files, output is byte-for-byte deterministic,
amounts carry exactly the currency's minor-unit places with '.' whatever the locale, lines that net
to zero are dropped, text is guarded against spreadsheet formulas, and files appear in ``out_dir``
only once all of them have been written.

>>> FORMATS
('gl-csv', 'qbo', 'xero', 'iif', 'intacct', 'beancount')
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from .._journal import JournalBook
from . import _beancount, _gl, _iif, _intacct, _qbo, _xero
from ._common import ExportError, prepare, write_atomically

__all__ = ["FORMATS", "ExportError", "render_journals", "export_journals"]

# format name -> (writer, which earlier files of the same export it replaces, given the period)
_WRITERS: dict[str, tuple[Callable[..., dict[str, bytes]], Callable[[str], Callable[[str], bool]] | None]] = {
    "gl-csv": (_gl.render, None),  # generic GL detail for auditors
    "qbo": (_qbo.render, None),  # QuickBooks Online journal import
    "xero": (_xero.render, _xero.stale),  # Xero manual journals, numbered files of <= 300 lines
    "iif": (_iif.render, None),  # QuickBooks Desktop IIF
    "intacct": (_intacct.render, _intacct.stale),  # Sage Intacct GL journal entries, numbered files
    "beancount": (_beancount.render, None),  # plain-text accounting
}
FORMATS: tuple[str, ...] = tuple(_WRITERS)

_NUMBER = re.compile(r"-[0-9]+(?=\.[^.]+$)")  # journals-2026-10.xero-2.csv: the file's number


def _refuse_wrong_base(out_dir: Path, period: str, label: str, base: dict[str, bytes]) -> None:
    """An after-close file reverses close #N: the month's file beside it, if any, must be close #N."""
    month = f"journals-{period}."
    present = [name for name in base if name.startswith(month) and (out_dir / name).is_file()]
    if any((out_dir / name).read_bytes() != base[name] for name in present):
        raise ExportError(
            f"{out_dir / present[0]} does not hold close #{label.rsplit('-', 1)[-1]}, which the journals posted after "
            "it reverse: imported together with the close it does hold, they would post the later close twice. "
            "Export them into the folder holding that close's own export, or into a folder of their own")


def _refuse_double_count(out_dir: Path, period: str, files: dict[str, bytes]) -> None:
    """A folder holding a month's after-close file (the reversal of close #N and the re-close) must
    keep the month's own file as it was: that file is close #N, which the after-close file reverses.
    Writing the month again — after a re-close it is the new close — would post the re-close twice
    once the folder is imported.  Writing the very same bytes again changes nothing and is allowed."""
    if not out_dir.is_dir():
        return
    month = f"journals-{period}"
    kinds = {_NUMBER.sub("-#", name[len(month):]) for name in files if name.startswith(month + ".")}
    after = re.compile(re.escape(month) + r"-after-close-([1-9][0-9]*)(\..+)")
    followed = sorted(entry.name for entry in out_dir.iterdir()
                      if (m := after.fullmatch(entry.name)) and _NUMBER.sub("-#", m.group(2)) in kinds)
    if not followed:
        return
    unchanged = all((out_dir / name).is_file() and (out_dir / name).read_bytes() == data
                    for name, data in files.items() if name.startswith(month + "."))
    if not unchanged:
        raise ExportError(
            f"{out_dir} holds {', '.join(followed)}, which reverses the close its month file was exported from "
            f"and posts the close after it; writing {period}'s journals there again would post that later close "
            "twice when the folder is imported. Export into another folder, or leave this one as it is")


def _writer(fmt: str):
    try:
        return _WRITERS[fmt]
    except KeyError:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


def render_journals(book: JournalBook, fmt: str, **options: Any) -> dict[str, bytes]:
    """The files of an export as ``{file name: bytes}``, in order, without touching the disk.

    ``options`` are the format's own: ``xero`` takes ``tax_rate`` and ``max_lines``; ``intacct``
    takes ``journal``, ``location_id``, ``dept_id`` and ``max_lines``; the others take none.
    Raises ``UnbalancedJournal`` or ``ExportError`` (both ``ValueError``) for a book it cannot write.
    """
    render, _ = _writer(fmt)
    return render(prepare(book), **options)


def export_journals(book: JournalBook, fmt: str, out_dir: Path, label: str = "", follows: JournalBook | None = None,
                    **options: Any) -> list[Path]:
    """Write the journals of ``book`` in format ``fmt`` into ``out_dir``; return the paths written.

    Files are named ``journals-<period>.<kind>.<ext>`` (see ``docs/exports.md``), or with a
    ``label`` ``journals-<period>-<label>.<kind>.<ext>`` (the journals posted after a close, beside
    that close's own files); beancount also writes ``accounts.beancount``, the chart's ``open``
    directives, the same for every export of that chart, so that several months load together.
    Every file is rendered and written to a temporary directory inside ``out_dir`` before any is
    renamed into place, so a refused book or a failed write leaves ``out_dir`` untouched.  Numbered files left over from an earlier, longer export of the same
    format, period and label are removed.

    A folder never gets a set of files that posts a close twice once imported: the month's own file
    is not rewritten beside an after-close file unless unchanged, and an after-close file (``label``)
    whose close #N (``follows``) is not what the month's file in the folder holds is refused.
    """
    _, stale = _writer(fmt)
    files = render_journals(book, fmt, **options)
    stem = f"{book.period}-{label}" if label else book.period
    if label:
        if follows is not None:
            _refuse_wrong_base(Path(out_dir), book.period, label, render_journals(follows, fmt, **options))
        files = {name.replace(f"journals-{book.period}", f"journals-{stem}", 1): data for name, data in files.items()}
    else:
        _refuse_double_count(Path(out_dir), book.period, files)
    return write_atomically(Path(out_dir), files, stale(stem) if stale else lambda name: False)
