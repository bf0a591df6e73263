"""Journal exports: one writer per import format, for the journals of a month-end close.

An adapter: it reads ``costing._journal.JournalBook`` and writes files; nothing in the core imports
it.  Every writer keeps the same rules (``docs/exports.md``): the book must balance (checked before
anything is written), a journal is never split across files, output is byte-for-byte deterministic,
amounts carry exactly the currency's minor-unit places with '.' whatever the locale, lines that net
to zero are dropped, text is guarded against spreadsheet formulas, files appear in ``out_dir``
only once all of them have been written, and a folder never posts a close twice (``_folder``).

>>> FORMATS
('gl-csv', 'qbo', 'xero', 'iif', 'intacct', 'beancount')
>>> {fmt: options for fmt, options in OPTIONS.items() if options}
{'xero': ('tax_rate', 'max_lines'), 'intacct': ('journal', 'location_id', 'dept_id', 'max_lines')}
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable, Sequence

from .._journal import JournalBook, PostedBook
from . import _beancount, _gl, _iif, _intacct, _qbo, _xero
from ._common import ExportError, folder_locked, prepare, write_atomically
from ._folder import refuse_double_count

__all__ = ["FORMATS", "OPTIONS", "ExportError", "render_journals", "export_journals"]

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
# format name -> the options its writer takes (keyword arguments of render_journals/export_journals):
# read from the writers, so a command line can refuse an option of another format before exporting.
OPTIONS: dict[str, tuple[str, ...]] = {
    fmt: tuple(name for name, p in inspect.signature(render).parameters.items() if p.kind is p.KEYWORD_ONLY)
    for fmt, (render, _) in _WRITERS.items()}


def _writer(fmt: str):
    try:
        return _WRITERS[fmt]
    except KeyError:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


def render_journals(book: JournalBook, fmt: str, **options: Any) -> dict[str, bytes]:
    """The files of an export as ``{file name: bytes}``, in order, without touching the disk.

    ``options`` are the format's own (``OPTIONS[fmt]``): ``xero`` takes ``tax_rate`` and ``max_lines``;
    ``intacct`` takes ``journal``, ``location_id``, ``dept_id`` and ``max_lines``; the others take none
    (another format's option is a ``TypeError``).  Raises ``UnbalancedJournal`` or ``ExportError`` (both
    ``ValueError``) for a book it cannot write; an ``ExportError`` about an option names it (``option``).
    """
    render, _ = _writer(fmt)
    return render(prepare(book), **options)


def export_journals(book: JournalBook, fmt: str, out_dir: Path, after_close: int | None = None,
                    history: Sequence[PostedBook] = (), **options: Any) -> list[Path]:
    """Write the journals of ``book`` in format ``fmt`` into ``out_dir``; return the paths written.

    Files are named ``journals-<period>.<kind>.<ext>`` (see ``docs/exports.md``), or with
    ``after_close`` N ``journals-<period>-after-close-N.<kind>.<ext>``: ``book`` is then every
    journal posted after close #N (``costing._journal.posted_after(history, N)``), for a system that
    imported close #N.  Beancount also writes ``accounts.beancount``, the chart's ``open`` directives
    added to those the folder's accounts file holds already (none is ever removed; an account that file
    opens under another name is refused), so that several months load together.  Every file is
    rendered and written to a temporary directory inside ``out_dir`` before any is renamed into
    place, so a refused book or a failed write leaves ``out_dir`` untouched.

    A folder never gets a set of files that posts a close twice, or misses one, once imported
    (``ExportError`` otherwise): ``history``, the period's books in posting order (every close and
    reversal: ``PostedBook``), identifies what each export of the month in the folder holds.  A file
    already there is never replaced with other contents (it may have been imported): the month's own
    file is written unchanged or into a folder without the month's exports of the format; an
    after-close-N file unchanged, into a folder without the month's exports, or where the folder's
    files — the month's (close #k), after-close-k's (up to close #m), after-close-m's, ... — post
    close #N.  An after-close export needs ``history``.
    """
    _, stale = _writer(fmt)
    files = render_journals(book, fmt, **options)
    if after_close is not None and not history:
        raise TypeError("an after-close export needs the period's history (history=...), to tell what the folder "
                        "holds")
    with folder_locked(Path(out_dir)):  # what the folder holds is read, checked, then written: one at a time
        return _export_into(Path(out_dir), book, fmt, files, after_close, history, stale, options)


def _export_into(out_dir: Path, book: JournalBook, fmt: str, files: dict[str, bytes], after_close: int | None,
                 history: Sequence[PostedBook], stale, options: dict[str, Any]) -> list[Path]:
    refuse_double_count(Path(out_dir), lambda b: render_journals(b, fmt, **options), book.period, files,
                        after_close, history)
    stem = book.period if after_close is None else f"{book.period}-after-close-{after_close}"
    files = {name.replace(f"journals-{book.period}", f"journals-{stem}", 1): data for name, data in files.items()}
    accounts = Path(out_dir) / _beancount.ACCOUNTS_FILE
    if fmt == "beancount" and accounts.is_file():  # an open there is never removed: a later month may use it
        files[_beancount.ACCOUNTS_FILE] = _beancount.merge_accounts(accounts.read_bytes(),
                                                                    files[_beancount.ACCOUNTS_FILE], str(accounts))
    return write_atomically(Path(out_dir), files, stale(stem) if stale else lambda name: False)
