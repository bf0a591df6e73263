"""`wip export` never replaces an export file with other contents, says what posted each journal, and
takes the formats' options.

An export file may have been imported already (IIF has no duplicate detection), so a file of the
month's journals in the folder is written again only with the same bytes: after a re-close, the
after-close file exported while the month was reopened (the reversal alone), or the month's file of
close #1, is left as it is and the command says what it holds and what to export instead.

The tests of the option flags (`--xero-tax-rate`, `--intacct-journal`, `--intacct-location-id`,
`--intacct-dept-id`, `--max-lines`) need the change to `costing/cli.py` in /tmp/h/export_cli.patch; until
it is applied they fail (argparse exits 2 on an unknown flag).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from costing.cli import main
from costing.exports import OPTIONS, ExportError, export_journals
from costing.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
OCTOBER = ROOT / "examples" / "demo" / "close-2026-10.yaml"


@pytest.fixture
def closed(tmp_path):
    """A ledger with October closed once, and a close file with other labour for a re-close."""
    db = str(tmp_path / "ledger.db")
    source = OCTOBER.read_text()
    assert source.count("rate: 18.00, actual: 22500.00") == 1
    later = tmp_path / "october-late-invoice.yaml"
    later.write_text(source.replace("rate: 18.00, actual: 22500.00", "rate: 18.00, actual: 23100.00"))
    assert main(["close", str(OCTOBER), "--period", "2026-10", "--ledger", db]) == 0
    return db, later


def export(db: str, out: Path, fmt: str, *more: str) -> int:
    return main(["export", "--period", "2026-10", "--format", fmt, "--out", str(out), "--ledger", db, *more])


def reclose(db: str, close_file: Path) -> None:
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", db]) == 0
    assert main(["close", str(close_file), "--period", "2026-10", "--ledger", db]) == 0


def folder(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def iif_amounts(data: bytes) -> dict[str, int]:
    """How often each DOCNUM starts a transaction (TRNS row) in an IIF file."""
    counts: dict[str, int] = {}
    for record in data.decode("ascii").split("\r\n"):
        fields = record.split("\t")
        if fields[0] == "TRNS":
            counts[fields[5]] = counts.get(fields[5], 0) + 1
    return counts


# --- 1. an after-close file exported while reopened is never replaced after the re-close ---------------

def test_the_reversal_exported_while_reopened_is_never_replaced_by_the_re_close(closed, tmp_path, capsys):
    """The reviewer's case: October's IIF (close #1) imported; reopened; `--after-close 1` gives the 9
    reversals, imported too.  After the re-close the same command would rewrite that file with the
    reversals and close #2, and importing it would post the reversals twice: refused, the file kept,
    saying what it holds and what to export instead — the month's own file (close #2) into a folder of
    its own, which posts close #2 on top of what this folder posts (nothing)."""
    db, later = closed
    out = tmp_path / "out"
    assert export(db, out, "iif") == 0
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", db]) == 0
    assert export(db, out, "iif", "--after-close", "1") == 0
    reversals = (out / "journals-2026-10-after-close-1.iif").read_bytes()
    assert sorted(iif_amounts(reversals)) == [f"R2610-{n:03d}" for n in range(1, 10)]
    assert main(["close", str(later), "--period", "2026-10", "--ledger", db]) == 0
    before = folder(out)
    capsys.readouterr()
    assert export(db, out, "iif", "--after-close", "1") == 2
    err = capsys.readouterr().err
    assert "[EXPORT_REFUSED]" in err and "nothing was written." in err
    assert "holds journals-2026-10-after-close-1.iif, the reversal of close #1 alone (exported while 2026-10 was " \
           "reopened)" in err
    assert "Export 2026-10's journals (the month's own file, close #2) into a folder of its own" in err
    assert "If journals-2026-10-after-close-1.iif was never imported, delete it and export --after-close 1 again" in err
    assert folder(out) == before
    # What the message says to do: the month (close #2) into a folder of its own, each journal once.
    assert export(db, tmp_path / "close-2", "iif") == 0
    docnums = iif_amounts((tmp_path / "close-2" / "journals-2026-10.iif").read_bytes())
    assert sorted(docnums) == [f"2610-{n:03d}/2" for n in range(1, 10)] and set(docnums.values()) == {1}
    assert not set(docnums) & set(iif_amounts(reversals)) & set(iif_amounts(before["journals-2026-10.iif"]))


def test_an_identical_after_close_export_is_written_again(closed, tmp_path):
    db, later = closed
    out = tmp_path / "out"
    assert export(db, out, "gl-csv") == 0
    reclose(db, later)
    assert export(db, out, "gl-csv", "--after-close", "1") == 0
    before = folder(out)
    assert export(db, out, "gl-csv", "--after-close", "1") == 0  # the same bytes: written again, nothing changes
    assert folder(out) == before


def test_the_month_file_of_close_1_is_never_replaced_by_close_2(closed, tmp_path, capsys):
    """The month exported at close #1 (maybe imported); after a re-close, `wip export` would replace it
    with close #2, which imported on top of close #1 posts both: refused, pointing to --after-close 1."""
    db, later = closed
    out = tmp_path / "out"
    assert export(db, out, "gl-csv") == 0
    close_1 = folder(out)
    reclose(db, later)
    capsys.readouterr()
    assert export(db, out, "gl-csv") == 2
    err = capsys.readouterr().err
    assert "holds journals-2026-10.gl.csv, the export of close #1;" in err and "[EXPORT_REFUSED]" in err
    assert "Export --after-close 1 instead (it brings the folder to the current close)" in err
    assert folder(out) == close_1
    assert export(db, out, "gl-csv", "--after-close", "1") == 0
    assert sorted(folder(out)) == ["journals-2026-10-after-close-1.gl.csv", "journals-2026-10.gl.csv"]


# --- 3. the source of a reversal is wip reopen ----------------------------------------------------------

def test_gl_csv_says_wip_reopen_posted_the_reversals(closed, tmp_path):
    db, later = closed
    reclose(db, later)
    assert export(db, tmp_path, "gl-csv", "--after-close", "1") == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "journals-2026-10-after-close-1.gl.csv").read_text("utf-8"))))
    sources = {row["journal_id"]: row["source"] for row in rows}
    assert {sources[i] for i in sources if i.startswith("REV-")} == {"wip reopen 2026-10 (reversal of close #1)"}
    assert {sources[i] for i in sources if not i.startswith("REV-")} == {"wip close 2026-10"}
    assert len(sources) == 18


def test_beancount_says_the_file_holds_reversals(closed, tmp_path):
    db, later = closed
    reclose(db, later)
    assert export(db, tmp_path, "beancount", "--after-close", "1") == 0
    first = (tmp_path / "journals-2026-10-after-close-1.beancount").read_text("utf-8").splitlines()[0]
    assert "journals posted for 2026-10 by wip close and wip reopen (reversals)" in first
    assert "journals of the WIP close" not in first


# --- 4. the formats' options: the API now, the command line with /tmp/h/export_cli.patch --------------

def test_the_api_lists_each_formats_options_and_names_the_option_at_fault(closed, tmp_path):
    assert OPTIONS == {"gl-csv": (), "qbo": (), "xero": ("tax_rate", "max_lines"), "iif": (),
                       "intacct": ("journal", "location_id", "dept_id", "max_lines"), "beancount": ()}
    with Ledger(Path(closed[0])) as ledger:
        book = ledger.current_close("2026-10").journals
    for fmt, options in OPTIONS.items():
        for option in options:
            value = 0 if option == "max_lines" else " padded"
            with pytest.raises(ExportError) as refused:
                export_journals(book, fmt, tmp_path / fmt, **{option: value})
            assert refused.value.option == option
    with pytest.raises(ExportError) as refused:
        export_journals(book, "intacct", tmp_path / "hash", journal="#GJ")
    assert refused.value.option == "journal"
    with pytest.raises(ExportError) as refused:
        export_journals(book.model_copy(update={"currency": "ZZZ"}), "xero", tmp_path / "book")
    assert refused.value.option is None


def test_wip_export_writes_the_xero_tax_rate_given(closed, tmp_path):
    db, _ = closed
    assert export(db, tmp_path, "xero", "--xero-tax-rate", "No VAT") == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "journals-2026-10.xero-1.csv").read_text("utf-8"))))
    assert rows and {row["*TaxRate"] for row in rows} == {"No VAT"}


def test_wip_export_writes_the_intacct_options_given(closed, tmp_path):
    db, _ = closed
    assert export(db, tmp_path, "intacct", "--intacct-journal", "WIPJ", "--intacct-location-id", "100",
                  "--intacct-dept-id", "MFG", "--max-lines", "10") == 0
    files = sorted(tmp_path.glob("journals-2026-10.intacct-*.csv"))
    assert len(files) > 1, "10 lines a file: several files"
    rows = [row for path in files for row in csv.DictReader(io.StringIO(path.read_text("utf-8")))]
    assert {row["JOURNAL"] for row in rows} == {"WIPJ", ""}
    assert {(row["LOCATION_ID"], row["DEPT_ID"]) for row in rows} == {("100", "MFG")}
    for path in files:
        assert len(list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))) <= 10


def test_wip_export_refuses_an_option_of_another_format(closed, tmp_path, capsys):
    db, _ = closed
    capsys.readouterr()
    assert export(db, tmp_path / "out", "iif", "--xero-tax-rate", "No VAT", "--max-lines", "10") == 2
    err = capsys.readouterr().err
    assert "error: --xero-tax-rate: applies to --format xero only, not iif; leave it out [EXPORT_REFUSED]" in err
    assert "error: --max-lines: applies to --format xero or intacct only, not iif; leave it out" in err
    assert err.endswith("2 problems found; nothing was written.\n")
    assert not (tmp_path / "out").exists()


def test_wip_export_locates_a_refused_option_at_its_flag(closed, tmp_path, capsys):
    db, _ = closed
    capsys.readouterr()
    assert export(db, tmp_path / "out", "xero", "--xero-tax-rate", " No VAT") == 2
    err = capsys.readouterr().err
    assert "error: --xero-tax-rate: Xero tax rate ' No VAT' cannot be exported" in err and "[EXPORT_REFUSED]" in err
    with pytest.raises(SystemExit) as exited:
        export(db, tmp_path / "out", "xero", "--max-lines", "0")
    assert exited.value.code == 2
    assert "expected a whole number of journal lines per file, at least 1, found '0'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
