"""A real spreadsheet engine checks the close workbook's formulas.

The closed demo workbook's formulas are recalculated by LibreOffice headless (Debian package
libreoffice-calc-nogui; scripts/test.sh installs it when missing) and every formula cell's result
must equal the engine's value to the cent.  Before recalculating, every cached value is replaced by
a sentinel, and LibreOffice runs with a profile that recalculates on load, so each compared value
was computed by LibreOffice from the input tables — the proof that the workbook's lineage is real.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from costing.close_service import close_period
from costing.ledger import Ledger
from costing.workbook import read_close_workbook, write_close_results
from costing.workbook._cli import init_workbook
from costing.workbook._template import fill_tables, tables_from_close_data
from tests.demo_data import demo

ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "987654.321"
CENT = Decimal("0.005")

_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("LibreOffice (soffice) is missing: scripts/test.sh installs libreoffice-calc-nogui when run as root")
    pytest.skip("LibreOffice (soffice) not installed; scripts/test.sh installs libreoffice-calc-nogui as root")


def _without_cached_values(src: Path, dst: Path) -> int:
    """A copy whose formula cells all cache the sentinel: LibreOffice must compute every one."""
    count = 0
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
        for item in a.infolist():
            data = a.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'(<c r="[A-Z]+[0-9]+"[^>]*?)(?: t="str")?(>)<f>(.*?)</f><v>[^<]*</v>',
                                  rb"\1\2<f>\3</f><v>" + SENTINEL.encode() + b"</v>", data, flags=re.S)
                count += n
            b.writestr(item, data)
    return count


def _recalculate(books: list[Path], out: Path, profile: Path) -> None:
    profile.joinpath("user").mkdir(parents=True, exist_ok=True)
    profile.joinpath("user", "registrymodifications.xcu").write_text(_PROFILE)
    subprocess.run([_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                    "--convert-to", "xlsx", "--outdir", str(out), *map(str, books)],
                   check=True, capture_output=True, timeout=600)


def _compare(engine_book: Path, recalculated: Path) -> tuple[int, list[str]]:
    formulas = openpyxl.load_workbook(engine_book)
    engine = openpyxl.load_workbook(engine_book, data_only=True)
    office = openpyxl.load_workbook(recalculated, data_only=True)
    count, problems = 0, []
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                count += 1
                want = engine[ws.title][cell.coordinate].value
                got = office[ws.title][cell.coordinate].value
                if isinstance(want, str) or isinstance(got, str) or want is None or got is None:
                    same = want == got
                else:
                    same = abs(Decimal(str(want)) - Decimal(str(got))) < CENT
                if not same:
                    problems.append(f"{ws.title}!{cell.coordinate} {cell.value}: engine {want!r}, LibreOffice {got!r}")
    return count, problems


def _close_into(book: Path, ledger: Ledger) -> None:
    """Close the month the workbook holds and write its result sheets into it."""
    data, issues = read_close_workbook(book)
    assert not issues
    write_close_results(book, close_period(data, ledger, user="t"))


@pytest.fixture(scope="module")
def closed_books(tmp_path_factory) -> list[tuple[str, Path]]:
    """The demo's two months from one workbook, and a weighted-average, half-even, EUR/de_DE variant."""
    _soffice()
    tmp = tmp_path_factory.mktemp("lo")
    books = []
    book = init_workbook(tmp / "demo.xlsx", demo("2026-10"))
    with Ledger(tmp / "demo.wip.db") as ledger:
        _close_into(book, ledger)
        october = tmp / "demo-2026-10.xlsx"
        shutil.copy(book, october)
        books.append(("2026-10", october))
        wb = openpyxl.load_workbook(book)
        fill_tables(wb, tables_from_close_data(demo("2026-11")))
        wb.save(book)
        _close_into(book, ledger)
        books.append(("2026-11", book))
    variant = {**demo("2026-10"), "method": "weighted_average", "finished_goods_method": "weighted_average",
               "rounding": "half_even", "currency": "EUR", "locale": "de_DE", "materiality": 0}
    # Names a SUMIFS criterion would misread: "Test*" is a wildcard that also matches "Test", and
    # ">Drip" a comparison.  (Case twins cannot occur: the workbook's keys ignore case.)
    tricky = _renamed(demo("2026-10"), {"Testing": "Test", "Packaging": "Test*", "Drip Home": ">Drip"})
    for name, label, data in (("variant", "weighted average, half-even, EUR", variant),
                              ("tricky", "names a SUMIFS criterion would misread", tricky)):
        book = init_workbook(tmp / f"{name}.xlsx", data)
        with Ledger(tmp / f"{name}.wip.db") as ledger:
            _close_into(book, ledger)
        books.append((label, book))
    return books


def _renamed(data, names: dict[str, str]):
    """``data`` with every text and mapping key in ``names`` replaced."""
    if isinstance(data, dict):
        return {names.get(k, k): _renamed(v, names) for k, v in data.items()}
    if isinstance(data, list):
        return [_renamed(v, names) for v in data]
    return names.get(data, data) if isinstance(data, str) else data


def test_libreoffice_recalculates_every_formula_to_the_engines_value(closed_books, tmp_path):
    blanked = []
    for label, book in closed_books:
        copy = tmp_path / "in" / book.name
        copy.parent.mkdir(exist_ok=True)
        assert _without_cached_values(book, copy) > 500, label
        blanked.append(copy)
    _recalculate(blanked, tmp_path / "out", tmp_path / "profile")
    for label, book in closed_books:
        count, problems = _compare(book, tmp_path / "out" / book.name)
        assert count > 500, label
        assert problems == [], f"{label}: {len(problems)} of {count} formulas differ:\n" + "\n".join(problems[:20])


def test_rounding_adjustments_show_where_round_differs_from_the_engine(closed_books):
    _, variant = closed_books[-1]  # half-even rounding: some amounts round differently from ROUND
    wb = openpyxl.load_workbook(variant)
    report = wb["Cost Report"]
    headers = {report.cell(4, c).value: c for c in range(1, report.max_column + 1)}
    assert "Rounding adj." in headers
    adjustments = [report.cell(r, c).value for r in range(5, report.max_row + 1)
                   for c in range(1, report.max_column + 1)
                   if report.cell(4, c).value and str(report.cell(4, c).value).startswith("Rounding adj")
                   and report.cell(r, c).value]
    rounded = [c for c in range(1, report.max_column) if str(report.cell(4, c + 1).value).startswith("Rounding adj")]
    formulas = [report.cell(r, c).value for r in range(5, report.max_row + 1) for c in rounded
                if isinstance(report.cell(r, c).value, str) and "ROUND(" in report.cell(r, c).value]
    # Every rounded amount is ROUND(...) plus its own adjustment cell, beside it.
    assert formulas and all(re.fullmatch(r"=.*ROUND\(.*\)\)?\+[A-Z]+\d+", f) for f in formulas), formulas[:5]
    assert adjustments, "half-even rounding of the demo should leave some adjustment cells"
    assert all(abs(Decimal(str(a))) < 1 for a in adjustments)  # never more than cents


def test_a_book_saved_by_libreoffice_with_input_formulas_closes_and_closes_again(tmp_path, capsys):
    """Input formulas calculated by a spreadsheet (one giving empty text): the close reads their
    values, keeps them in the file it writes, and the same command again reads the same inputs."""
    from costing.cli import main

    book = init_workbook(tmp_path / "formulas.xlsx", demo("2026-10"))
    wb = openpyxl.load_workbook(book)
    wb["Costs"]["D4"] = "=30000+6000"
    wb["Production"]["G4"] = "=2/5"
    wb["Production"]["I4"] = '=IF(1=1,"",5)'
    wb.save(book)
    _recalculate([book], tmp_path / "calculated", tmp_path / "profile")
    book = tmp_path / "calculated" / book.name
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    values = openpyxl.load_workbook(book, data_only=True)
    assert (values["Costs"]["D4"].value, values["Production"]["G4"].value) == (36000, 0.4)
    capsys.readouterr()
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    captured = capsys.readouterr()
    assert "FORMULA_NOT_CALCULATED" not in captured.err
    assert "already closed from these inputs" in captured.out
