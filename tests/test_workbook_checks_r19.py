"""Review round 19 of the close workbook's formulas and checks, recalculated by LibreOffice.

1. A product whose exact value is a half (190 x 129.45 = 24595.5) is 24595.499999999996 as a
   spreadsheet multiplies binary floats, and LibreOffice's ROUND(x, 0) rounds that down: every
   rounded product is ROUND(ROUND(x, places + 4), places), the inner ROUND taking the binary noise
   out, and the engine predicts it from the exact product the same way — so a zero-decimal currency
   (JPY) recalculates to the engine's yen, half-up and half-even alike.
2. Settings, accounts, stages and elements changed after the close leave the result sheets'
   figures as they are (nothing on them follows those cells), so Checks compares each with what the
   close read: weighted-average in Settings over FIFO figures, or account 1311 while the journals
   post 1310, turns a check red.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from costing.ledger import Ledger
from costing.workbook._cli import init_workbook
from tests.demo_data import demo
from tests.libreoffice import recalculate, soffice, without_cached_values
from tests.test_workbook_libreoffice import _close_into, _compare, _not_in_cents, _with_text_changed

# (label, currency, locale, rounding, the Costs amount of Drip Home / Assembly / materials (D14))
VARIANTS = (("JPY half-up", "JPY", "ja_JP", "half_up", 25890),
            ("JPY half-even", "JPY", "ja_JP", "half_even", 25890),
            ("USD half-up", "USD", "en_US", "half_up", 258.90),
            ("USD half-even", "USD", "en_US", "half_even", 258.90))

# Cells of the closed demo book edited after the close (sheet, cell, text), each leaving the result
# sheets' figures the close's while the setting, element or account they were made with changed.
EDITS = {"method": ("Settings", "B8", "weighted_average"),
         "finished goods method": ("Settings", "B9", "weighted_average"),
         "rounding": ("Settings", "B10", "half_even"),
         "currency": ("Settings", "B6", "EUR"),
         "company": ("Settings", "B4", "Other Works Ltd"),
         "period": ("Settings", "B5", "2026-11"),
         "element added": ("Stages & elements", "H5", "start"),
         "element kind": ("Stages & elements", "G9", "labour"),
         "element name": ("Stages & elements", "F4", "parts"),
         "stage order": ("Stages & elements", "B5", "Packaging"),
         "account code": ("Accounts", "C13", "1311"),
         "account name": ("Accounts", "D13", "WIP - Assembly line"),
         "account role": ("Accounts", "A5", "raw_materials"),
         "overhead driver": ("Overhead Rates", "B4", "machine_hours")}
# Retyped as the close reads them all the same: a choice in other case and spacing, a name with spaces.
SAME_AS_READ = {"method retyped": ("Settings", "B8", " FIFO "),
                "rounding retyped": ("Settings", "B10", "Half-Up"),
                "kind retyped": ("Stages & elements", "G9", " Material"),
                "element retyped": ("Stages & elements", "F4", " Materials")}


# Amounts of ten whole digits: a spreadsheet keeps 15 significant digits, so the inner ROUND of
# 1,810,094,956.514997 cannot keep six places (LibreOffice works at five, and rounded it up to .52
# where the engine's prediction at six gave .51). (label, method, rounding, currency, materials)
LARGE = (("large FIFO", "fifo", "half_up", "USD", "2000000004.41"),
         ("large weighted average half-even", "weighted_average", "half_even", "USD", "2000000004.41"),
         ("large KWD", "fifo", "half_up", "KWD", "200000000.441"))


def _large(tmp: Path, label: str, method: str, rounding: str, currency: str, materials: str) -> Path:
    """The demo's October with Drip Home's Assembly costing about 2e9 (2e8 at three places), its
    ending WIP's exact amount a few millionths of a cent below a half (…6.514997…)."""
    from decimal import Decimal

    from costing.workbook._cli import opening_general_ledger

    data = demo("2026-10")
    data.update(method=method, finished_goods_method=method, rounding=rounding, currency=currency)
    stage = data["products"][2]["stages"][0]
    assert data["products"][2]["name"] == "Drip Home"
    stage.update(started=2001, ending_wip={"units": 1811, "complete": "0.5"})
    stage["added_costs"]["materials"] = Decimal(materials)
    if currency == "KWD":  # three places: every amount of the file written to them
        for product in data["products"]:
            for s in product["stages"]:
                for key, value in list(s.get("added_costs", {}).items()):
                    s["added_costs"][key] = Decimal(str(value)).quantize(Decimal("0.001"))
    data["general_ledger"] = opening_general_ledger(data)
    book = init_workbook(tmp / f"{label.replace(' ', '-')}.xlsx", data)
    with Ledger(tmp / f"{label.replace(' ', '-')}.wip.db") as ledger:
        _close_into(book, ledger)
    return book


def _one_48th(tmp: Path) -> Path:
    """Barista Pro's Testing with a normal spoilage rate of 1/48 as a spreadsheet holds it (15 digits,
    0.0208333333333333), counted in whole units: × 120 good units = 2.499999999999996, the 2.5 it
    stands for, so 3 normal (of 4 spoiled), in the engine and in the sheet's ROUND(ROUND(x, 6), 0)
    alike (the engine rounded the noise down to 2, and five checks turned red)."""
    from decimal import Decimal

    from costing.workbook._cli import opening_general_ledger

    data = demo("2026-10")
    [stage] = [s for p in data["products"] if p["name"] == "Barista Pro" for s in p["stages"] if s["name"] == "Testing"]
    stage["spoilage"].update(normal_rate=Decimal("0.0208333333333333"), spoiled=4)
    stage["ending_wip"]["units"] = 1
    data["general_ledger"] = opening_general_ledger(data)
    book = init_workbook(tmp / "one-48th.xlsx", data)
    with Ledger(tmp / "one-48th.wip.db") as ledger:
        _close_into(book, ledger)
    return book


def _variant(tmp: Path, label: str, currency: str, locale: str, rounding: str, amount) -> Path:
    book = init_workbook(tmp / f"{label.replace(' ', '-')}.xlsx", demo("2026-10"))
    wb = openpyxl.load_workbook(book)
    settings = {row[0].value: row[1] for row in wb["Settings"].iter_rows(min_row=4, max_col=2)}
    settings["Currency"].value, settings["Locale"].value, settings["Rounding"].value = currency, locale, rounding
    assert wb["Costs"]["C14"].value == "materials" and wb["Costs"]["A14"].value == "Drip Home"
    wb["Costs"]["D14"] = amount
    wb.save(book)
    with Ledger(tmp / f"{label.replace(' ', '-')}.wip.db") as ledger:
        _close_into(book, ledger)
    return book


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """label -> (the closed book, as LibreOffice recalculated it from sentinels)."""
    soffice()
    tmp = tmp_path_factory.mktemp("r19")
    (tmp / "in").mkdir()
    closed = {label: _variant(tmp, label, *rest) for label, *rest in VARIANTS}
    closed.update({label: _large(tmp, label, *rest) for label, *rest in LARGE})
    closed["rate 1/48"] = _one_48th(tmp)
    demo_book = init_workbook(tmp / "demo.xlsx", demo("2026-10"))
    with Ledger(tmp / "demo.wip.db") as ledger:
        _close_into(demo_book, ledger)
    closed["demo"] = demo_book
    for label, (sheet, cell, text) in {**EDITS, **SAME_AS_READ}.items():
        edited = tmp / f"{label.replace(' ', '-')}.xlsx"
        _with_text_changed(demo_book, edited, sheet, {cell: text})
        closed[label] = edited
    blanked = {}
    for label, book in closed.items():
        blanked[label] = tmp / "in" / book.name
        without_cached_values(book, blanked[label])
    recalculate(list(blanked.values()), tmp / "out", tmp / "profile")
    return {label: (book, tmp / "out" / book.name) for label, book in closed.items()}


def _failing_checks(recalculated: Path) -> dict[str, object]:
    """Check -> its Result, for each check row not OK, as LibreOffice computed it."""
    ws = openpyxl.load_workbook(recalculated, data_only=True)["Checks"]
    failing = {}
    for r in range(5, ws.max_row + 1):
        if ws.cell(r, 1).value is None:
            break
        if ws.cell(r, 5).value != "OK":
            failing[str(ws.cell(r, 1).value)] = ws.cell(r, 5).value
    return failing


@pytest.mark.parametrize("label", [v[0] for v in VARIANTS + LARGE] + ["rate 1/48"])
def test_a_product_that_is_a_half_recalculates_to_the_engines_amount(books, label):
    """JPY: 190 equivalent units x 129.45 per EU is 24595.5 exactly, 24595.499999999996 in binary;
    the close rounds it half-up to 24596 (half-even: 24596, the even yen).  LibreOffice computes every
    formula cell as the engine cached it, and every check is OK."""
    book, recalculated = books[label]
    count, problems = _compare(book, recalculated)
    assert count > 500
    assert problems == [], f"{label}: {len(problems)} of {count} formulas differ:\n" + "\n".join(problems[:10])
    assert _not_in_cents(book, recalculated) == []
    assert _failing_checks(recalculated) == {}


def test_the_rounded_products_take_the_binary_noise_out_before_rounding(books):
    """The Cost Report's assigned amounts: ROUND(ROUND(product, places + 4), places) + the rounding
    adjustment, the inner ROUND to four places beyond the currency's."""
    book, _ = books["JPY half-up"]
    cr = openpyxl.load_workbook(book)["Cost Report"]
    assert cr["Y25"].value == "=ROUND(ROUND((F25*(1-G25)+I25-F25)*X25,4),0)+Z25"
    values = openpyxl.load_workbook(book, data_only=True)["Cost Report"]
    assert values["Y25"].value == 24596 and values["Z25"].value is None
    usd = openpyxl.load_workbook(books["USD half-up"][0])["Cost Report"]
    assert usd["Y25"].value == "=ROUND(ROUND((F25*(1-G25)+I25-F25)*X25,6),2)+Z25"


def test_the_closed_demo_recalculates_with_every_check_ok(books):
    assert _failing_checks(books["demo"][1]) == {}


@pytest.mark.parametrize("label", list(EDITS))
def test_a_setting_element_or_account_changed_after_the_close_turns_a_check_red(books, label):
    """Nothing on the result sheets follows these cells: the figures stay the close's.  Checks says
    the input is no longer what the close read, and to close the month again."""
    failing = _failing_checks(books[label][1])
    assert len(failing) == 1, failing
    (name, result), = failing.items()
    assert name.startswith("The result sheets refer to the input rows and columns the close read (")
    assert result.startswith("A setting, account, stage or element was changed after the close") \
        and result.endswith("reopen 2026-10 and close it again")
    sheet, cell, text = EDITS[label]
    ws = openpyxl.load_workbook(books[label][1], data_only=True)["Checks"]
    lines = [r for r in range(1, ws.max_row + 1)
             if str(ws.cell(r, 1).value).startswith("Table ") and ws.cell(r, 4).value == 1]
    assert len(lines) == 1, [ws.cell(r, 1).value for r in lines]
    assert f"{cell}" in ws.cell(lines[0], 1).value and text in ws.cell(lines[0], 3).value


@pytest.mark.parametrize("label", list(SAME_AS_READ))
def test_a_cell_retyped_as_the_close_reads_it_stays_green(books, label):
    assert _failing_checks(books[label][1]) == {}


def test_checks_list_the_settings_accounts_stages_and_elements_the_close_read(books):
    """After the input rows and columns the result sheets refer to, the same block lists every row of
    Settings (but the two a formula refers to), Accounts, Stages and Elements and each overhead rate's
    Driver, with what the close read, what the cells hold now and a live Difference; the check row
    counts them with the rest."""
    book, recalculated = books["demo"]
    ws = openpyxl.load_workbook(book)["Checks"]
    values = openpyxl.load_workbook(recalculated, data_only=True)["Checks"]
    title = next(r for r in range(5, ws.max_row + 1)
                 if str(ws.cell(r, 1).value).startswith("Input rows and columns the result sheets refer to"))
    lines = {}
    for r in range(title + 2, ws.max_row + 1):
        if ws.cell(r, 1).value is None:
            break
        lines[ws.cell(r, 1).value] = (ws.cell(r, 2).value, ws.cell(r, 3).value, ws.cell(r, 4).value,
                                      values.cell(r, 3).value, values.cell(r, 4).value)
    method = lines["Table Settings, row 8, as the close read it: Setting A8, Value B8"]
    assert method[0] == "Method / fifo" and method[3:] == ("Method / fifo", 0)
    assert 'SUBSTITUTE(SUBSTITUTE(LOWER(' in method[2] and '="fifo"' in method[2]
    account = lines["Table Accounts, row 13, as the close read it: Role A13, Stage B13, Code C13, Name D13"]
    assert account[0] == "wip / Assembly / 1310 / WIP - Assembly" and 'EXACT(TRIM(Accounts!C13),"1310")' in account[2]
    element = lines["Table Elements, row 4, as the close read it: Product D4, Stage E4, Element F4, Kind G4, Added H4"]
    assert element[0] == " / Assembly / materials / material / start"
    assert lines["Table Stages, row 5, as the close read it: Order A5, Stage B5"][0] == "2 / Testing"
    assert "AND(ISNUMBER('Stages & elements'!A5),ABS('Stages & elements'!A5-(2))<1E-9)" in \
        lines["Table Stages, row 5, as the close read it: Order A5, Stage B5"][2]
    assert lines["Table OverheadRates, row 4 (Stage A4), as the close read it: Driver B4"][0] == "labour_hours"
    # Overhead disposition and Materiality are rows the result sheets refer to (and the disposition
    # check's): listed by their key, not twice.
    assert not any(k.startswith(("Table Settings, row 11,", "Table Settings, row 12,")) for k in lines)
    assert "Table Settings, row 11: Setting A11" in lines
    assert all(v[4] == 0 for v in lines.values())
    check = next(r for r in range(5, title) if str(values.cell(r, 1).value).startswith("The result sheets refer to"))
    n = len(lines)
    assert values.cell(check, 1).value.endswith(f"({n} of {n} unchanged; input rows and columns below)")
