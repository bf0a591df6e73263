"""Writing a close's results into its workbook: result sheets as live formulas, replaced atomically.

Every formula cell is written together with the engine's value for it (``ResultContext.put``);
openpyxl cannot store a formula's cached result, so after saving, the sheets' XML gets each
formula's ``<v>`` (the engine's value) filled in — the numbers show before any recalculation, and a
recalculation (Excel, LibreOffice) must give the same values (``tests/test_workbook_libreoffice.py``).

Result sheets are a registry (``RESULT_SHEETS``): other areas add theirs with
``register_result_sheet`` (e.g. a Variances sheet), from a module ``costing/<area>/_workbook.py``
that is imported here when it exists.  Re-closing removes every sheet the previous close wrote
(their names are kept in the workbook's custom property ``wip.result_sheets``) and input tables
are never touched.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import io
import re
import zipfile
from copy import copy
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any, Callable
from xml.sax.saxutils import escape

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import get_column_letter
from openpyxl.workbook.workbook import Workbook

from .._atomic import refuse_read_only
from .._atomic import replace_atomically as _replace_atomically
from .._currency import minor_unit
from .._numbers import engine_context
from ._formats import DATE_FORMAT, FRACTION_FORMAT, RATE_FORMAT, UNITS_FORMAT, money_format
from ._numbers import EXCEL_ERRORS
from ._openpyxl import is_macro_workbook, sheet_parts
from ._read import WorkbookInput
from ._source import ExcelError, quote_sheet

__all__ = ["write_close_results", "register_result_sheet", "RESULT_SHEETS", "ResultContext", "WorkbookChanged",
           "Layout"]

_PROPERTY = "wip.result_sheets"
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
ADJ_FILL = PatternFill("solid", fgColor="FCE4D6")  # rounding adjustments: visible, never hidden in a formula
ENGINE_FILL = PatternFill("solid", fgColor="EDEDED")  # values taken from the engine or the ledger, not formulas
CHECK_FONT = Font(bold=True)  # a check's result: its colour comes from conditional formatting (``flag``)
PASS_FONT, PASS_FILL = Font(bold=True, color="006100"), PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE")
FAIL_FONT, FAIL_FILL = Font(bold=True, color="9C0006"), PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
NOTE_FONT = Font(italic=True, color="595959")
# A rounded product is first rounded to this many places beyond the currency's (``rounded``): far
# coarser than a float's noise (a few units in the 16th significant digit, 5e-7 of a cent at a
# billion), far finer than a cent.
NOISE_PLACES = 4


class WorkbookChanged(Exception):
    """The workbook no longer holds the inputs that were closed; results are not written."""


@dataclass
class ResultSheet:
    name: str
    write: Callable[["ResultContext", Any], None]


RESULT_SHEETS: list[ResultSheet] = []


def register_result_sheet(name: str, write: Callable[["ResultContext", Any], None], after: str | None = None) -> None:
    """Add (or replace) a result sheet; ``write(ctx, ws)`` fills the new worksheet ``ws``."""
    for k, sheet in enumerate(RESULT_SHEETS):
        if sheet.name == name:
            RESULT_SHEETS[k] = ResultSheet(name, write)
            return
    position = len(RESULT_SHEETS)
    if after is not None:
        position = next((k + 1 for k, s in enumerate(RESULT_SHEETS) if s.name == after), position)
    RESULT_SHEETS.insert(position, ResultSheet(name, write))


class Layout:
    """Named columns of a result sheet: ``layout.col('eu')`` → 18, ``layout.at('eu', 7)`` → 'R7'."""

    def __init__(self, columns: list[tuple[str, str, str | None]], first: int = 1):
        self.columns = columns
        self.index = {key: first + k for k, (key, _, _) in enumerate(columns)}
        self.letter = {key: get_column_letter(i) for key, i in self.index.items()}
        self.kind = {key: kind for key, _, kind in columns}

    def col(self, key: str) -> int:
        return self.index[key]

    def at(self, key: str, row: int) -> str:
        return f"{self.letter[key]}{row}"

    def span(self, key: str, first: int, last: int) -> str:
        return f"{self.letter[key]}{first}:{self.letter[key]}{last}"


def _lines_needed(title: str, width: int = 14) -> int:
    """How many lines a wrapped column title takes at about ``width`` characters a line."""
    lines, current = 1, 0
    for word in title.split():
        if current and current + 1 + len(word) > width:
            lines, current = lines + 1, len(word)
        else:
            current += (1 if current else 0) + len(word)
    return lines


def _printable(ws, header_row: int | None = None) -> None:
    """A result sheet prints for the close binder: landscape, as wide as one page, the column
    titles repeated on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if header_row is not None:
        ws.print_title_rows = f"{header_row}:{header_row}"


@dataclass
class ResultContext:
    """What a result sheet writer gets: the close, the inputs' cells, formats, and ``put``."""

    outcome: Any  # costing.close_service.CloseOutcome
    input: WorkbookInput
    engine: dict[str, dict[str, Any]] = field(default_factory=dict)  # sheet -> cell -> engine value
    cells: dict[str, dict[int, dict[int, tuple]]] = field(default_factory=dict)  # sheet -> row -> col -> cell
    shared: dict[str, Any] = field(default_factory=dict)  # what earlier sheets publish for later ones
    # Input cells the formulas refer to, in the order first referred to: Checks verifies that the
    # rows and columns holding them are still the ones the close read (``refer``).
    referred: dict[tuple[str, str], None] = field(default_factory=dict)
    # Writers of cells that need every result sheet laid out first, called once all are written.
    after_all_sheets: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        spec = self.outcome.result.plan.spec
        self.result = self.outcome.result
        self.plan = self.result.plan
        self.spec = spec
        self.q = self.plan.quantum
        self.places = minor_unit(spec.currency)
        self.money = money_format(spec.currency, spec.locale)
        self.first_period = self.plan.first_period
        self._formats = {"money": self.money, "units": UNITS_FORMAT, "rate": RATE_FORMAT, "fraction": FRACTION_FORMAT,
                         "date": DATE_FORMAT, None: None, "text": None}

    # ---- cells --------------------------------------------------------------------------
    # Cells are collected here and written as sheet XML in one pass (openpyxl's cell objects and
    # serialiser take ~30 µs a cell; a plant of 5,000 products has millions of result cells).
    def put(self, ws, row: int, col: int, value: Any, engine: Any = None, fmt: str | None = None, fill=None,
            font=None, wrap: bool = False) -> None:
        """A cell.  A formula is text starting with '=' given with the engine's value for it;
        text starting with '=' without one is text (a product named "=Deluxe" stays a name: the
        writers never build a formula without its value, and the tests look for formula-like text)."""
        if isinstance(value, float):
            value = Decimal(str(value))
        sheet = self.cells.get(ws.title)
        if sheet is None:
            sheet = self.cells[ws.title] = {}
        cells = sheet.get(row)
        if cells is None:
            cells = sheet[row] = {}
        cells[col] = (value, (fmt, fill, font, wrap), engine)

    def header(self, ws, row: int, layout: Layout, groups: dict[str, str] | None = None) -> None:
        for key, title, _ in layout.columns:
            self.put(ws, row, layout.col(key), title, font=HEADER_FONT, wrap=True)
        for key, title in (groups or {}).items():
            self.put(ws, row - 1, layout.col(key), title, font=HEADER_FONT)
        ws.freeze_panes = f"A{row + 1}"
        # Wrapped titles get the height they need (a spreadsheet would draw them over the first row).
        ws.row_dimensions[row].height = 15 * max(1, max(_lines_needed(title) for _, title, _ in layout.columns))
        _printable(ws, header_row=row)

    def title(self, ws, text: str, note: str = "") -> None:
        self.put(ws, 1, 1, text, font=TITLE_FONT)
        if note:
            self.put(ws, 2, 1, note, font=NOTE_FONT)
        _printable(ws)

    def flag(self, ws, cells: str, kind: str = "difference") -> None:
        """Conditional formatting of check cells ``cells`` (``E5:E28``): green when the check passes,
        red otherwise, as the workbook recalculates.  ``kind`` "result": a cell showing "OK" or what
        is wrong; "difference": a number that must be zero (blank cells are left alone)."""
        top = cells.split(":")[0].replace("$", "")
        if kind == "result":
            passes, fails = f'{top}="OK"', f'AND({top}<>"OK",{top}<>"")'
        elif kind == "difference":
            passes, fails = f"AND(ISNUMBER({top}),{top}=0)", f'AND({top}<>"",NOT(AND(ISNUMBER({top}),{top}=0)))'
        else:
            raise ValueError(f"unknown check kind {kind!r}")
        ws.conditional_formatting.add(cells, FormulaRule(formula=[passes], font=PASS_FONT, fill=PASS_FILL))
        ws.conditional_formatting.add(cells, FormulaRule(formula=[fails], font=FAIL_FONT, fill=FAIL_FILL))

    def cents(self, expression: str) -> str:
        """``ROUND(expression, places)``: an amount added up from amounts in cents is a float in a
        spreadsheet (0.1+0.2 is 0.30000000000000004); rounded, it is the engine's cents exactly (a
        closing balance of zero shows 0.00, never -0.00)."""
        return f"ROUND({expression},{self.places})"

    def fmt(self, kind: str | None) -> str | None:
        return self._formats[kind]

    # ---- input references ---------------------------------------------------------------
    def ref(self, path: str, blank_reads_as_used: bool = False) -> str | None:
        """A formula reference to the input cell of ``path``, if it holds a number a formula can use.

        ``blank_reads_as_used``: the formula over this cell gives what the close used when the cell
        reads as 0 (the caller compares).  Then an input cell left empty is referred to as well —
        ``=Production!F11`` shows 0, traces to the input, and follows the cell if it is filled in
        later — instead of a typed 0.  Only a truly empty cell: one holding spaces, or a formula
        showing "", would be text in arithmetic (#VALUE!).  Not for a bare argument of MIN, MAX or
        SUM, which skip empty cells instead of reading them as 0.
        """
        cell = self.input.cells.get(path)
        if cell is None:
            return None  # no input cell (e.g. a stage without an Opening row): the caller types the value, grey
        if blank_reads_as_used and cell.value is None and cell.formula is None:
            return self.refer(cell)
        if cell.is_blank:
            return None
        if isinstance(cell.value, (str, bool)) or cell.value is None:
            return None  # text (read in the workbook's locale): formulas use the value the close used
        return self.refer(cell)

    def choice_ref(self, path: str) -> str | None:
        """A formula reference to the input cell of ``path`` whatever it holds (a choice is text, and
        blank is its default), for a formula that follows the choice; None without such a cell."""
        cell = self.input.cells.get(path)
        return None if cell is None else self.refer(cell)

    def refer(self, cell) -> str:
        """A formula reference to an input cell (``Production!F11``), remembered for Checks.

        A reference is a position: sorting an input table after the close moves another row under
        it (a spreadsheet's sort carries values, not the references to them).  Checks compares the
        key cells of each row referred to (product, stage, element…) and the header of each column
        with what the close read there."""
        self.referred[(cell.sheet, cell.coordinate)] = None
        return f"{quote_sheet(cell.sheet)}!{cell.coordinate}"

    def num(self, path: str, value: Decimal) -> str:
        """The input cell's reference (an empty cell too, when the close used 0), or the value the
        close used as a literal."""
        return self.ref(path, blank_reads_as_used=value == 0) or literal(value)

    def rounded(self, expression: str, places: int | None = None, beyond: int = NOISE_PLACES,
                value: Decimal | None = None) -> str:
        """``ROUND(ROUND(expression, places + NOISE_PLACES), places)``: a product or quotient rounded
        to the currency's places (``places``: others, e.g. 0 for whole units), its binary noise taken
        out first.  A spreadsheet multiplies binary floats: 190 x 129.45 is 24595.5 exactly but
        24595.499999999996 as a float, and LibreOffice's ROUND(x, 0) rounds that down (its ROUND to
        decimals, like Excel's, corrects such a last-bit error; to 0 places it does not).  Rounded
        first to four places beyond, the product is the double nearest its decimal value, which
        ROUND then rounds half away from zero in Excel and LibreOffice alike.  ``round_hu`` gives
        what the formula gives.  ``beyond``: the places beyond ``places`` rounded first (whole units
        of normal spoilage: six, as units carry fractions of their own and stay small).  ``value``:
        the exact amount, as given to ``round_hu``, whose size may leave fewer places (``_beyond``)."""
        places = self.places if places is None else places
        beyond = _beyond(value, places, beyond)
        return f"ROUND(ROUND({expression},{places + beyond}),{places})" if beyond else f"ROUND({expression},{places})"

    def rounded_as_posted(self, expression: str, value: Decimal, engine: Decimal) -> str:
        """``expression`` rounded to the currency's places in the close's own rounding mode
        (``rounded_in_mode``), for an amount the engine rounds once, alone (a share of an amount
        already in cents), where no rounding adjustment cell stands beside it: where 15 digits
        cannot tell which way the amount rounds (a share within a trillionth of a half), the
        formula adds ``engine``'s difference as a constant, in sight."""
        formula, gives = self.rounded_in_mode(expression, value)
        return formula if gives == engine else f"({formula}+{literal(engine - gives)})"

    def rounded_in_mode(self, expression: str, value: Decimal) -> tuple[str, Decimal]:
        """(formula, what it gives): ``expression`` (exactly ``value``) rounded to the currency's
        places in the close's own rounding mode.  Binary noise is taken out at all the places a
        spreadsheet's 15 digits leave (not ``rounded``'s four: a share of 0.49998 of a cent would
        read as a half), and a half-even tie, which spreadsheets cannot ROUND, is spelt out: the
        amount in minor units is a tie when its fraction is exactly .5 (exact in binary), and a
        tie goes to the even neighbour."""
        beyond = _beyond(value, self.places, SPREADSHEET_DIGITS)
        with localcontext(engine_context(ROUND_HALF_UP)):
            inner = value.quantize(self.q.scaleb(-beyond), rounding=ROUND_HALF_UP)
        if self.spec.rounding != "half_even":
            return (f"ROUND(ROUND({expression},{self.places + beyond}),{self.places})",
                    inner.quantize(self.q, rounding=ROUND_HALF_UP))
        scale = 10 ** self.places
        y = f"ROUND(({expression})*{scale},{beyond})"
        # y-INT(y), not MOD(y,1): Excel's MOD fails on large dividends.
        return (f"IF({y}-INT({y})=0.5,2*ROUND({y}/2,0),ROUND({y},0))/{scale}",
                inner.quantize(self.q, rounding=ROUND_HALF_EVEN))

    def round_hu(self, value: Decimal) -> Decimal:
        """What ``rounded`` gives a spreadsheet for the exact ``value`` (given to ``rounded`` too):
        ROUND to four places beyond the currency's (fewer for a large amount, see ``_beyond``), then
        to its places (each half away from zero), exactly.  The two roundings differ from one only
        where ``value`` lies within half a unit of the last place beyond below a half (0.4999996
        cent): there the rounding adjustment cell holds the cent back."""
        beyond = _beyond(value, self.places, NOISE_PLACES)
        with localcontext(engine_context(ROUND_HALF_UP)):
            inner = value.quantize(self.q.scaleb(-beyond), rounding=ROUND_HALF_UP) if beyond else value
            return inner.quantize(self.q, rounding=ROUND_HALF_UP)


# A spreadsheet keeps 15 significant digits: rounding 1,810,094,956.514997 to 6 places asks for 16,
# and LibreOffice's ROUND then works at 5.  The places rounded first stop at 15 digits in all.
SPREADSHEET_DIGITS = 15


def _beyond(value: Decimal | None, places: int, beyond: int) -> int:
    """The places beyond ``places`` that ``rounded`` takes out first for an amount about ``value``:
    ``beyond``, fewer where the amount's whole digits leave less of 15 (none at all from 13 whole
    digits at 2 places); ``beyond`` itself when the amount is not known (units, small).

    >>> _beyond(Decimal("24595.5"), 0, 4), _beyond(Decimal("1810094956.514997"), 2, 4), _beyond(None, 0, 6)
    (4, 3, 6)
    >>> _beyond(Decimal("-0.004"), 2, 4), _beyond(Decimal("12345678901234"), 2, 4)
    (4, 0)
    """
    if value is None:
        return beyond
    whole = value.adjusted() + 1 if value and abs(value) >= 1 else 0
    return max(0, min(beyond, SPREADSHEET_DIGITS - places - whole))


def literal(value: Decimal | int) -> str:
    """A number as a formula literal.

    >>> literal(Decimal("0.40")), literal(Decimal("-5")), literal(Decimal("1E+2"))
    ('0.40', '(-5)', '100')
    """
    text = format(Decimal(value), "f")
    return f"({text})" if text.startswith("-") else text


# ---- writing the workbook --------------------------------------------------------------------

def _load_extensions() -> None:
    """Areas that add result sheets keep them in costing/<area>/_workbook.py (e.g. variances)."""
    for module in ("costing.variance._workbook",):
        try:
            if importlib.util.find_spec(module.rsplit(".", 1)[0]) and importlib.util.find_spec(module):
                importlib.import_module(module)
        except ModuleNotFoundError:
            continue


def write_close_results(path: str | Path, outcome: Any, *, drop_unsupported: bool = False) -> dict[str, dict[str, Any]]:
    """Replace the result sheets of the workbook at ``path`` with the close's results.

    Atomic: the new workbook is written beside the old one and renamed over it, so a failure
    leaves the workbook as it was.  Returns the engine's value of every formula cell written,
    by sheet and cell.  Everything else is kept as openpyxl keeps it — plus the cached results of
    the other sheets' formulas (openpyxl drops them) and, for an .xlsm, its VBA project — and the
    workbook is not written at all if saving it would drop content openpyxl cannot write
    (``ContentWouldBeLost``), unless ``drop_unsupported`` (for a throwaway copy whose result sheets
    are taken elsewhere, as the Excel add-in does).  A read-only workbook raises PermissionError.
    """
    from . import _sheets  # noqa: F401  (registers the standard sheets)

    _load_extensions()
    path = Path(path)
    refuse_read_only(path)
    source, found = _source_of(path, outcome)
    formulas = source.formulas
    _check_same_inputs(found, outcome)
    if not drop_unsupported:
        refuse_losses(source.losses, formulas)
    kept = kept_cached_values(source, result_sheet_names(formulas))
    ctx = ResultContext(outcome, found)
    _remove_result_sheets(formulas)
    for sheet in RESULT_SHEETS:
        ws = formulas.create_sheet(sheet.name)
        sheet.write(ctx, ws)
    for finish in ctx.after_all_sheets:  # cells that refer to every sheet (the Checks' error count)
        finish()
    _remember_result_sheets(formulas, [s.name for s in RESULT_SHEETS])
    formulas.calculation.fullCalcOnLoad = True
    sheet_xml = _render_cells(formulas, ctx)
    buffer = io.BytesIO()
    formulas.save(buffer)
    data = fill_cached_values(buffer.getvalue(), ctx.engine, sheet_xml, kept=kept)
    if formulas.vba_archive is not None:
        _check_macro_parts(path, data)
    _replace_atomically(path, data)
    return ctx.engine


def _source_of(path: Path, outcome: Any):
    """(source, found): the workbook the close was read from if unchanged since (no second load).
    Read again (the Close month button writes into a copy), its names are checked as the close
    that was just recorded accepted them: names the ledger vouched for stay accepted."""
    from . import _take_last_read
    from ._openpyxl import OpenpyxlSource, load_workbook_pair
    from ._read import read_tables

    last = _take_last_read(path)
    if last is not None:
        return last
    formulas, values, losses = load_workbook_pair(path)
    source = OpenpyxlSource(formulas, values, str(path), losses)
    accepted = _names_the_close_accepted(outcome)
    return source, read_tables(source, lambda period: accepted)


def _names_the_close_accepted(outcome: Any) -> frozenset[str]:
    """The company, products, stages and account codes and names of the close ``outcome`` records."""
    from ..close._resolve import names_of_close

    plan = outcome.result.plan
    data = plan.spec.model_dump()
    data["products"] = [{"name": p.name, "stages": [{"name": s.name} for s in p.case.stages]} for p in plan.products]
    return names_of_close(data)


class ContentWouldBeLost(WorkbookChanged):
    """Saving the workbook through openpyxl would drop content of the user's (sparklines, slicers…).

    A ``WorkbookChanged``: like it, the results are not written and the workbook is left as it was.
    """


def refuse_losses(losses: list, wb: Workbook) -> None:
    """Raise ContentWouldBeLost if openpyxl would drop content outside the result sheets."""
    lost = [loss for loss in losses if loss.sheet not in result_sheet_names(wb)]
    if lost:
        raise ContentWouldBeLost("the workbook has content that the writer (openpyxl) cannot keep and would delete: "
                                 + "; ".join(describe_loss(loss) for loss in lost)
                                 + " — remove it from the workbook, or close a copy saved without it")


def describe_loss(loss) -> str:
    """``sparklines (Sparkline Group extension) on sheet 'Production'``."""
    return f"{loss.what} on sheet {loss.sheet!r}" if loss.sheet is not None else f"in the workbook: {loss.what}"


def result_sheet_names(wb: Workbook) -> set[str]:
    """Sheets a close replaces: ours by name and those a previous close recorded writing."""
    names = {s.name for s in RESULT_SHEETS}
    prop = _custom_property(wb)
    if prop:
        names |= set(prop.split("\n"))
    input_sheets = {ws.title.casefold() for ws in wb.worksheets if ws.tables}
    replaced = {name.casefold() for name in names} - input_sheets
    # Each by its name and, as Excel finds a sheet, by the sheet's own title in any upper/lower case
    # (``CHECKS`` is ``Checks``: left in place, openpyxl would write the new one as ``Checks1``).
    return {name for name in names if name.casefold() in replaced} | {
        title for title in wb.sheetnames if title.casefold() in replaced}


def kept_cached_values(source, skip: set[str]) -> dict[str, dict[str, tuple[bytes, bytes]]]:
    """Each formula's cached result on the sheets the close does not replace (the input tables and
    the user's own sheets), as (type attribute, <v> text): openpyxl writes formulas without them,
    and a workbook whose input formulas have no values cannot be read for the next close."""
    epoch = source.formulas.epoch
    kept: dict[str, dict[str, tuple[bytes, bytes]]] = {}
    for ws in source.formulas.worksheets:
        if ws.title in skip:
            continue
        cells = {}
        for cell in ws._cells.values():  # the cells the sheet has, none created by looking
            if cell.data_type == "f":
                cached = _kept_text(source.cached(ws.title, cell.coordinate), epoch)
                if cached is not None:
                    cells[cell.coordinate] = cached
        if cells:
            kept[ws.title] = cells
    return kept


def _kept_text(value: Any, epoch) -> tuple[bytes, bytes] | None:
    """A cached result as the file held it: (type attribute, <v> text); None: there was none.

    >>> _kept_text(36000.299999999996, None), _kept_text(36000, None), _kept_text("", None)
    ((b'', b'36000.299999999996'), (b'', b'36000'), (b' t="str"', b''))
    >>> _kept_text("#N/A", None), _kept_text(True, None)
    ((b' t="e"', b'#N/A'), (b' t="b"', b'1'))
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return b' t="b"', b"1" if value else b"0"
    if isinstance(value, float):  # the very double the file held: the next read gives the same number
        return b"", repr(value).encode()
    if isinstance(value, int):
        return b"", str(value).encode()
    if isinstance(value, Decimal):
        return b"", format(value, "f").encode()
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):  # a date-formatted number
        from openpyxl.utils.datetime import WINDOWS_EPOCH, to_excel

        return b"", repr(float(to_excel(value, epoch or WINDOWS_EPOCH))).encode()
    if isinstance(value, ExcelError) or isinstance(value, str) and value in EXCEL_ERRORS:
        return b' t="e"', value.encode()
    return b' t="str"', _text(str(value)).encode("utf-8")


def _check_macro_parts(path: Path, data: bytes) -> None:
    """The saved macro workbook must still be one: its VBA project byte for byte, the macro-enabled
    content type, and every legacy drawing (form-control buttons such as Close month) it had."""
    with zipfile.ZipFile(path) as before, zipfile.ZipFile(io.BytesIO(data)) as after:
        problems = []
        if "xl/vbaProject.bin" in before.namelist() and (
                "xl/vbaProject.bin" not in after.namelist()
                or before.read("xl/vbaProject.bin") != after.read("xl/vbaProject.bin")):
            problems.append("its VBA project (xl/vbaProject.bin)")
        if is_macro_workbook(path) and b"macroEnabled" not in after.read("[Content_Types].xml"):
            problems.append("its macro-enabled content type")
        lost = sorted(set(_legacy_drawings(before)) - set(_legacy_drawings(after)))
        if lost:
            problems.append(f"the buttons/controls (legacy drawing) of sheet(s) {', '.join(lost)}")
    if problems:
        raise ContentWouldBeLost(f"saving the macro workbook would lose {'; '.join(problems)}; results were not "
                                 "written")


def _legacy_drawings(archive: zipfile.ZipFile) -> list[str]:
    """Sheets whose XML refers to a legacy (VML) drawing: form controls, buttons, comments."""
    names = set(archive.namelist())
    return [sheet for sheet, part in sheet_parts(archive).items()
            if part in names and b"<legacyDrawing " in archive.read(part)]


def _check_same_inputs(found: WorkbookInput, outcome: Any) -> None:
    from ..close_service import inputs_sha256  # the ledger's own hashing: both sides agree by construction

    if found.data is None:
        raise WorkbookChanged("the workbook's tables have problems now; results were not written: "
                              + "; ".join(map(str, found.issues[:3])))
    if inputs_sha256(found.data) != outcome.event.inputs_sha256:
        raise WorkbookChanged("the workbook's inputs changed after they were read for the close; results were "
                              "not written — close again from the saved workbook")


def _remove_result_sheets(wb: Workbook) -> None:
    """Each sheet a close replaces, in whatever upper/lower case (``result_sheet_names``).  A user's
    own sheet of such a name is refused before the close (``RESULT_SHEET_NAME_TAKEN``)."""
    for name in result_sheet_names(wb):
        if name in wb.sheetnames:
            del wb[name]


def _custom_property(wb: Workbook) -> str | None:
    props = getattr(wb, "custom_doc_props", None)
    if props is None:
        return None
    for prop in props.props:
        if prop.name == _PROPERTY:
            return str(prop.value)
    return None


def _remember_result_sheets(wb: Workbook, names: list[str]) -> None:
    from openpyxl.packaging.custom import StringProperty

    props = wb.custom_doc_props
    props.props = [p for p in props.props if p.name != _PROPERTY]
    props.append(StringProperty(name=_PROPERTY, value="\n".join(names)))


# ---- cached values ---------------------------------------------------------------------------

_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v></v>)?</c>', re.S)
# A formula cell as openpyxl writes the sheets it keeps: any <f> (array, data table), no cached value.
_KEPT_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)>(<f\b[^>]*/>|<f\b[^>]*>.*?</f>)(?:<v\s*/>|<v></v>)?</c>', re.S)


def _cached_text(value: Any) -> tuple[str, str]:
    """(type attribute, <v> text) for a formula's cached value."""
    cls = value.__class__
    if cls is Decimal or cls is int:
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
            if len(text) > 18:  # a rate at 34 digits: a spreadsheet holds a double; give it that, exactly
                text = repr(float(value))
        return "", text if text not in ("-0", "") else "0"
    if cls is bool:
        return ' t="b"', "1" if value else "0"
    if isinstance(value, (int, Decimal)):
        return _cached_text(Decimal(value))
    return ' t="str"', escape(str(value))


def _cached(value: Any) -> tuple[bytes, bytes]:
    kind, text = _cached_text(value)
    return kind.encode(), text.encode("utf-8")


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text(value: str) -> str:
    return escape(_ILLEGAL.sub("", value))


def _formula_text(value: str) -> str:
    """A formula we generated (no control characters), escaped for XML."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _render_cells(wb: Workbook, ctx: ResultContext) -> dict[str, bytes]:
    """Each result sheet's ``<sheetData>``, cached values included.

    A sheet whose writer also used openpyxl cells directly (an extension) gets the collected cells
    through openpyxl instead, and its cached values are filled in after saving.
    """
    styles: dict[tuple, int] = {}
    style_cells: dict[tuple, Any] = {}
    scratch = wb.create_sheet("__wip_styles")
    out: dict[str, bytes] = {}
    letters: dict[int, str] = {}
    epoch = wb.epoch
    for title, rows in ctx.cells.items():
        ws = wb[title]
        direct = bool(ws._cells)
        parts: list[str] = []
        engine = ctx.engine.setdefault(title, {})
        texts: dict[str, str] = {}
        max_col = 1
        # Row heights the writer set (wrapped column titles): the rendered <row> elements replace
        # the ones openpyxl would write, so they carry the heights themselves.
        heights = {r: dim.ht for r, dim in ws.row_dimensions.items() if dim.ht}
        for r in sorted(rows.keys() | heights.keys()):
            cells = rows.get(r, {})
            row_parts = []
            for c in sorted(cells):
                value, key, engine_value = cells[c]
                if key not in styles:
                    cell = scratch.cell(len(styles) + 1, 1)
                    fmt, fill, font, wrap = key
                    if fmt:
                        cell.number_format = fmt
                    if fill is not None:
                        cell.fill = fill
                    if font is not None:
                        cell.font = font
                    if wrap:
                        cell.alignment = Alignment(wrap_text=True, vertical="top")
                    styles[key] = cell.style_id
                    style_cells[key] = cell
                letter = letters.get(c) or letters.setdefault(c, get_column_letter(c))
                ref = f"{letter}{r}"
                is_formula = engine_value is not None and value.__class__ is str and value.startswith("=")
                if is_formula:
                    engine[ref] = engine_value
                if direct:
                    target = ws.cell(r, c, value)
                    if value.__class__ is str and not is_formula:
                        target.data_type = "s"  # text, even when it starts with '='
                    target._style = copy(style_cells[key]._style)
                    continue
                style = styles[key]
                s = f' s="{style}"' if style else ""
                if is_formula:
                    kind, text = _cached_text(engine_value)
                    row_parts.append(f'<c r="{ref}"{s}{kind}><f>{_formula_text(value[1:])}</f><v>{text}</v></c>')
                elif isinstance(value, str):
                    escaped = texts.get(value)
                    if escaped is None:
                        escaped = texts[value] = _text(value)
                    row_parts.append(f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escaped}'
                                     "</t></is></c>")
                elif isinstance(value, bool):
                    row_parts.append(f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>')
                elif isinstance(value, (int, Decimal)):
                    row_parts.append(f'<c r="{ref}"{s}><v>{_cached_text(value)[1]}</v></c>')
                elif isinstance(value, dt.date):  # a real date: its serial number in the workbook's epoch
                    row_parts.append(f'<c r="{ref}"{s}><v>{_date_serial(value, epoch)}</v></c>')
                elif value is None:
                    if style:
                        row_parts.append(f'<c r="{ref}"{s}/>')
                else:
                    raise TypeError(f"{title}!{ref}: cannot write {type(value).__name__}")
                max_col = max(max_col, c)
            height = heights.get(r)
            if row_parts or height:
                tall = f' ht="{height:g}" customHeight="1"' if height else ""
                parts.append(f'<row r="{r}"{tall}>' + "".join(row_parts) + "</row>")
        if not direct:
            last = max(rows) if rows else 1
            out[title] = (f'<dimension ref="A1:{get_column_letter(max_col)}{last}"/>', "<sheetData>" + "".join(parts)
                          + "</sheetData>")
    del wb["__wip_styles"]
    return {k: (v[0].encode(), v[1].encode()) for k, v in out.items()}


def _date_serial(value: dt.date, epoch) -> str:
    """A date as the number a spreadsheet stores (days since the workbook's epoch, 1900 or 1904).

    >>> from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900
    >>> _date_serial(dt.date(2026, 10, 31), CALENDAR_WINDOWS_1900), _date_serial(dt.date(2026, 10, 31), CALENDAR_MAC_1904)
    ('46326', '44864')
    """
    from openpyxl.utils.datetime import to_excel

    serial = to_excel(value, epoch)
    return str(int(serial)) if float(serial).is_integer() else repr(float(serial))


def fill_cached_values(xlsx: bytes, engine: dict[str, dict[str, Any]],
                       sheet_xml: dict[str, tuple[bytes, bytes]] | None = None,
                       kept: dict[str, dict[str, tuple[bytes, bytes]]] | None = None) -> bytes:
    """Put the rendered sheets' cell data in, each remaining formula's engine value as its cached
    result, and on the ``kept`` sheets (not the close's) the cached results the file held."""
    sheet_xml = sheet_xml or {}
    kept = kept or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        paths = {p: name for name, p in sheet_parts(src).items()}
        for item in src.infolist():
            data = src.read(item.filename)
            sheet = paths.get(item.filename)
            if sheet is not None and sheet in sheet_xml:
                dimension, cells = sheet_xml[sheet]
                data, n = re.subn(rb"<sheetData\s*/>|<sheetData>.*?</sheetData>", lambda m: cells, data, count=1,
                                  flags=re.S)
                if n != 1:
                    raise ValueError(f"{sheet}: no sheetData in {item.filename}")
                data = re.sub(rb"<dimension [^>]*/>", lambda m: dimension, data, count=1)
            elif sheet is not None and engine.get(sheet):
                values = engine[sheet]
                missing: list[str] = []

                def fill(m: re.Match) -> bytes:
                    ref = m.group(1).decode()
                    if ref not in values:
                        missing.append(ref)
                        return m.group(0)
                    kind, text = _cached(values[ref])
                    attrs = re.sub(rb'\s+t="[^"]*"', b"", m.group(2))
                    return b'<c r="' + m.group(1) + b'"' + attrs + kind + b"><f>" + m.group(3) + b"</f><v>" + text + \
                        b"</v></c>"

                data = _CELL.sub(fill, data)
                if missing:
                    raise ValueError(f"{sheet}: formula cells without the engine's value: {', '.join(missing[:5])}")
            elif sheet is not None and kept.get(sheet):
                data = _put_kept_values(data, kept[sheet])
            dst.writestr(item, data)
    return out.getvalue()


def _put_kept_values(xml: bytes, values: dict[str, tuple[bytes, bytes]]) -> bytes:
    """Formula cells get back the cached results they had; those that had none stay without."""

    def fill(m: re.Match) -> bytes:
        found = values.get(m.group(1).decode())
        if found is None:
            return m.group(0)
        kind, text = found
        attrs = re.sub(rb'\s+t="[^"]*"', b"", m.group(2))
        return b'<c r="' + m.group(1) + b'"' + attrs + kind + b">" + m.group(3) + b"<v>" + text + b"</v></c>"

    return _KEPT_CELL.sub(fill, xml)
