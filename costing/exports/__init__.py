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


def _after_close_files(out_dir: Path, period: str, files: dict[str, bytes], but: str = "") -> list[str]:
    """The after-close files of ``period`` in ``out_dir`` of the format of ``files`` (the month's
    own file names), except those labelled ``but``."""
    if not out_dir.is_dir():
        return []
    month = f"journals-{period}"
    kinds = {_NUMBER.sub("-#", name[len(month):]) for name in files if name.startswith(month + ".")}
    after = re.compile(re.escape(month) + r"-(after-close-[1-9][0-9]*)(\..+)")
    return sorted(entry.name for entry in out_dir.iterdir()
                  if (m := after.fullmatch(entry.name)) and m.group(1) != but and _NUMBER.sub("-#", m.group(2)) in kinds)


def _unchanged(out_dir: Path, period: str, files: dict[str, bytes]) -> bool:
    """Whether the month's own files in ``out_dir`` are absent or hold exactly ``files``."""
    month = f"journals-{period}."
    return all(not (out_dir / name).exists() or ((out_dir / name).is_file() and (out_dir / name).read_bytes() == data)
               for name, data in files.items() if name.startswith(month))


def _refuse_double_count(out_dir: Path, period: str, files: dict[str, bytes], label: str,
                         follows: dict[str, bytes] | None) -> None:
    """A folder never gets files that post a close twice once imported together.

    An after-close file (``label``) reverses close #N and posts the closes after it: the month's own
    file beside it must hold close #N (``follows``, rendered) — unless an earlier after-close file
    is there too, whose effect on the month this cannot see.  And the month's own file must not be
    rewritten beside an after-close file (after a re-close it would be the later close, which that
    file already posts), unless with the very same bytes."""
    month = f"journals-{period}"
    if label:
        if follows is not None and not _after_close_files(out_dir, period, follows, but=label) \
                and not _unchanged(out_dir, period, follows):
            raise ExportError(
                f"{out_dir / next(n for n in follows if n.startswith(month + '.'))} does not hold close "
                f"#{label.rsplit('-', 1)[-1]}, which the journals posted after it reverse: imported together with "
                "the close it does hold, they would post the later close twice. Export them into the folder "
                "holding that close's own export, or into a folder of their own")
        return
    followed = _after_close_files(out_dir, period, files)
    if followed and not (_unchanged(out_dir, period, files)
                         and all((out_dir / name).exists() for name in files if name.startswith(month + "."))):
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
    _refuse_double_count(Path(out_dir), book.period, files, label,
                         render_journals(follows, fmt, **options) if label and follows is not None else None)
    if label:
        files = {name.replace(f"journals-{book.period}", f"journals-{stem}", 1): data for name, data in files.items()}
    return write_atomically(Path(out_dir), files, stale(stem) if stale else lambda name: False)
