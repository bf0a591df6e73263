"""xero: Xero manual journal import (CSV), split into numbered files of at most 300 lines.

Xero makes one journal of the rows sharing a Narration and a Date, so the narration starts with
the journal id (``WIP-2026-10-003: Transfer to Finishing``) and is unique per journal.  Account by
*code*; Amount signed, positive is a debit; TaxRate is the full name of a no-tax rate in the
organisation's tax settings (``tax_rate``, default "Tax Exempt"); tracking columns left blank.
Files are ``journals-YYYY-MM.xero-1.csv``, ``-2``, ...; a journal is never split across two.
"""

from __future__ import annotations

from ._common import (ExportError, PreparedBook, csv_bytes, dmy, file_name, numbered_family, option_key,
                      split_journals, text)

__all__ = ["render", "stale", "MAX_LINES", "TAX_RATE"]

HEADER = ("*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount",
          "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2")
MAX_LINES = 300  # journal lines per file, header not counted (Xero: "up to 300 lines in one template file")
TAX_RATE = "Tax Exempt"


def narration(journal) -> str:
    return f"{journal.id}: {journal.narration}" if journal.narration else journal.id


def _check_one_journal_per_narration(book: PreparedBook) -> None:
    """Xero groups rows by Narration and Date, so two journals must never share both: an id with
    ': ' in it could make ``A: B`` + ``C`` read like ``A`` + ``B: C``."""
    seen: dict[tuple[str, object], str] = {}
    for journal in book.journals:
        other = seen.setdefault((text(narration(journal)), journal.date), journal.id)
        if other != journal.id:
            raise ExportError(f"journals {other} and {journal.id} have the same Xero narration and date, so Xero "
                              f"would import them as one journal; give them ids without ': '")


def render(book: PreparedBook, *, tax_rate: str = TAX_RATE, max_lines: int = MAX_LINES) -> dict[str, bytes]:
    option_key(tax_rate, "Xero tax rate", required=True, option="tax_rate")  # Xero matches the rate by its full name
    _check_one_journal_per_narration(book)
    files = {}
    for number, journals in enumerate(split_journals(book.journals, max_lines, "Xero", MAX_LINES), start=1):
        rows = []
        for journal in journals:
            for line in journal.lines:
                rows.append((text(narration(journal)), dmy(journal.date), text(line.memo), line.account.code,
                             tax_rate, book.amount(line.amount), "", "", "", ""))
        files[file_name(book.period, "xero", "csv", number)] = csv_bytes(HEADER, rows)
    return files


def stale(period: str):
    return numbered_family(period, "xero", "csv")
