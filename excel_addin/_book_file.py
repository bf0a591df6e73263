"""Where the workbook is on this computer: the folder the ledger is kept in (Close month) and a
relative ledger path is read from (the ledger functions).

Excel's FullName is a web address (https://d.docs.live.net/..., https://....sharepoint.com/...)
for a workbook on OneDrive or SharePoint, even one opened from the folder the sync client keeps
on this computer (xlwings issue #1630).  xlwings' ``Book.fullname`` maps such an address to the
synced file and raises when it cannot; an address that still reaches us is mapped here with the
same function (``xlwings.utils.fullname_url_to_local_path``).  What cannot be mapped is said as
what it is — a workbook on OneDrive/SharePoint — not as a workbook never saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["BookFile", "book_file", "UNSAVED", "WEB", "UNREACHABLE"]

UNSAVED, WEB, UNREACHABLE = "unsaved", "web", "unreachable"


class BookFile(NamedTuple):
    """``path``: the workbook's file on this computer, or None and ``why`` (UNSAVED, WEB or
    UNREACHABLE) with ``what``: Excel's name for an unsaved book (Book1), the web address, or what
    went wrong asking Excel."""

    path: Path | None
    why: str = ""
    what: str = ""


def book_file(book: Any) -> BookFile:
    try:
        fullname = str(book.fullname)
    except Exception as e:  # noqa: BLE001 - xlwings could not map a web address, or Excel is busy
        address = _excel_fullname(book)
        if address is not None and "://" in address:
            return BookFile(None, WEB, address)
        return BookFile(None, UNREACHABLE, str(e) or type(e).__name__)
    if "://" in fullname:
        local = _synced_file(fullname)
        if local is None:
            return BookFile(None, WEB, fullname)
        fullname = local
    path = Path(fullname)
    if not path.is_absolute():
        return BookFile(None, UNSAVED, fullname)
    return BookFile(path)


def _excel_fullname(book: Any) -> str | None:
    """Excel's own FullName (the web address xlwings could not map), or None."""
    try:
        return str(book.api.FullName)
    except Exception:  # noqa: BLE001
        return None


def _synced_file(address: str) -> str | None:
    """The file the OneDrive/SharePoint sync client keeps for ``address`` on this computer, or None."""
    try:
        from xlwings.utils import fullname_url_to_local_path

        local = fullname_url_to_local_path(address)
    except Exception:  # noqa: BLE001 - XlwingsError: not synced here, or no such setting
        return None
    return str(local) if local and Path(local).is_absolute() else None
