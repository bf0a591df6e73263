"""``wip variance``, ``wip standards`` and ``wip flow``: the variance audit's commands.

Registered by ``costing.cli`` (``register(subparsers)``).  Problems with the input (a period not
closed, a bad standards or orders file) print located issues and exit 2; a report whose totals do
not tie to the stored roll-forwards exits 1.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
import re
import sys
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Callable, Sequence

from .._cli_common import (DEFAULT_LEDGER, EXIT_INPUT, ledger_argument, open_ledger, period_argument, print_issues,
                           progress_bar)
from .._errors import CostingError, Issue, shown_safely
from .._numbers import LIKE_DOT_GROUPED, NUMBER_LIMIT, NumberError, other_digits, to_decimal
from .._text import locale_argument
from ._flow import COVER_PERIODS, TREND_PERIODS

__all__ = ["register"]

DEFAULT_STANDARDS = "wip-standards.yaml"


def register(subparsers) -> None:
    def common(p, xlsx_help: str, locale_checked_by_command: bool = False):
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.add_argument("--xlsx", metavar="FILE", help=xlsx_help)
        # A command that checks --locale itself reports it with its other arguments' problems.
        p.add_argument("--locale", type=None if locale_checked_by_command else locale_argument,
                       help="locale for numbers in the text report (default: the close's, as wip journal)")
        p.add_argument("--ledger", type=ledger_argument, help=f"ledger file (default: {DEFAULT_LEDGER})")

    p = subparsers.add_parser(
        "variance", help="bridge two month-ends: cost added, transferred out, ending WIP and COGS by volume, mix, "
                         "completion and price")
    p.add_argument("--from", dest="from_period", required=True, type=period_argument, metavar="P1",
                   help="YYYY-MM (the base)")
    p.add_argument("--to", dest="to_period", required=True, type=period_argument, metavar="P2",
                   help="YYYY-MM; equal to --from: the last two closes of a reopened period")
    p.add_argument("--materiality", metavar="AMOUNT",
                   help="flag changes of at least this amount (default: the --to close file's materiality)")
    p.add_argument("--materiality-pct", metavar="PCT", default="5",
                   help="... and at least this percent of the base amount (default 5)")
    p.add_argument("--detail", action="store_true", help="every product, stage and element line in the text report")
    common(p, "write the Variances sheet (and the Flow sheet of --to) into this workbook",
           locale_checked_by_command=True)
    p.set_defaults(run=_cmd_variance)

    p = subparsers.add_parser("standards", help="standard-cost variances of a period: price/usage, rate/efficiency, "
                                                "overhead spending/efficiency/volume")
    # Not required=True: --schema alone prints the schema; without either, MISSING_INPUT (located, exit 2).
    p.add_argument("--period", type=period_argument, help="YYYY-MM (required unless --schema)")
    p.add_argument("--standards", metavar="FILE", help=f"standards file, YAML or JSON (default: {DEFAULT_STANDARDS})")
    p.add_argument("--schema", action="store_true", help="print the standards file's JSON schema")
    common(p, "write the Standards sheet into this workbook")
    p.set_defaults(run=_cmd_standards)

    p = subparsers.add_parser("flow", help="WIP flow: throughput, cycle time, bottleneck, order forecasts, "
                                           "finished-goods weeks of cover")
    p.add_argument("--period", required=True, type=period_argument, help="YYYY-MM")
    p.add_argument("--orders", metavar="FILE",
                   help="open orders (CSV separated by commas, semicolons or tabs — .csv, .tsv or .txt — YAML or "
                        "JSON: product, units, due[, id])")
    p.add_argument("--periods", type=_at_least(1), default=TREND_PERIODS, metavar="N",
                   help="trend over the last N periods (default 6)")
    p.add_argument("--cover-periods", type=_at_least(1), default=COVER_PERIODS, metavar="N",
                   help="average weekly shipments over the last N periods (default 3)")
    p.add_argument("--cover-band", default="4-8", metavar="LOW-HIGH", help="target weeks of cover (default 4-8)")
    p.add_argument("--horizon-days", type=_at_least(0), default=0, metavar="D",
                   help="count WIP expected to finish within D days in the cover (default 0: finished goods only)")
    common(p, "write the Flow sheet into this workbook")
    p.set_defaults(run=_cmd_flow)


# ---- helpers ------------------------------------------------------------------------------------

def _at_least(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number of at least ``minimum`` (argparse's usage error otherwise,
    as for a period that is not YYYY-MM).

    >>> _at_least(1)("6")
    6
    >>> _at_least(1)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a whole number of at least 1, found '0'
    >>> _at_least(1)("\u0666")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a whole number of at least 1, found '٦'
    """
    def parse(text: str) -> int:
        # Digits 0-9 only: int() would take '٦' or '６' as 6 and '1_0' as 10.
        value = int(text) if re.fullmatch(r"[0-9]+", text) else None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, found {text!r}")
        return value
    return parse


def _locale(args, stored) -> str:
    """``--locale``, or the locale of the close the report is of (as ``wip journal`` and
    ``wip report`` default to it)."""
    return args.locale or stored.parameters.get("locale", "en_US")


def _print_issues(args, issues: Sequence[Issue]) -> None:
    # These commands write only a workbook's sheets, and only with --xlsx.
    print_issues(issues, writes=bool(getattr(args, "xlsx", None)))


def _open(args):
    # These commands write only a workbook's sheets, and only with --xlsx (``_print_issues``).
    return open_ledger(Path(args.ledger or DEFAULT_LEDGER), writes=bool(getattr(args, "xlsx", None)))[0]


def _not_closed(ledger, period: str) -> Issue:
    return Issue("NOT_CLOSED", "", f"{ledger.state_said(period)}; close it first "
                                   "(wip close), or name a closed period")


def _decimal(text: str, what: str, percent: bool = False) -> Decimal | Issue:
    """An option's number, read as the input files' are (the digits 0-9, no exponent, grouping or
    underscores; an empty one — an unset variable — is no number, not the default)."""
    try:
        value = to_decimal(text.strip().removesuffix("%") if percent else text.strip()) if text.strip() else None
    except NumberError as e:
        written = text.strip().removesuffix("%") if percent else text.strip()
        hint = "; a percentage goes to --materiality-pct" if what == "--materiality" and written.endswith("%") else ""
        return Issue(e.code, what, e.message.replace(repr(written), repr(text)) + hint)
    if value is None:
        return Issue("NOT_A_NUMBER", what, f"expected a number, found {text!r}")
    if value < 0:  # the code the input files give a negative amount
        return Issue("NEGATIVE_AMOUNT", what, f"expected zero or more, found {text!r}")
    if value >= NUMBER_LIMIT:  # as in the input files: beyond it quantizing fails mid-report
        return Issue("NUMBER_TOO_LARGE", what, f"expected a number below {NUMBER_LIMIT:,}, found {text!r}")
    return value


def _dump(model) -> None:
    sys.stdout.write(model.model_dump_json(indent=2) + "\n")


_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")  # what openpyxl opens
_WORKBOOK_PARTS = ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels")


def _not_a_workbook(name: str, why: str) -> Issue:
    return Issue("INVALID_FORMAT", "--xlsx", f"{name} is not an Excel workbook ({why}); give an .xlsx workbook, or "
                                             "the name of a new .xlsx file to create")


def _xlsx_problem(name: str) -> Issue | None:
    """Why the sheets cannot go into ``--xlsx``, found before anything is written: a folder, a
    folder that does not exist, a file that is not a workbook."""
    import zipfile

    path = Path(name)
    if path.is_dir():
        return Issue("CANNOT_WRITE", "--xlsx", f"{name} is a folder; give a workbook file (e.g. "
                                               f"{path / 'report.xlsx'})")
    if not path.exists():
        folder = path.parent
        if not folder.exists():
            return Issue("CANNOT_WRITE", "--xlsx", f"cannot create {name}: the folder {folder} does not exist; "
                                                   "create it first, or give a path in an existing folder")
        if not folder.is_dir():
            return Issue("CANNOT_WRITE", "--xlsx", f"cannot create {name}: {folder} is a file, not a folder; give "
                                                   "a path in an existing folder")
        if not path.name.lower().endswith(".xlsx"):
            return Issue("INVALID_FORMAT", "--xlsx", f"{name}: a new workbook is an .xlsx file; give a name ending "
                                                     "in .xlsx")
        return None
    if not path.name.lower().endswith(_WORKBOOK_SUFFIXES):
        return _not_a_workbook(name, "its name does not end in .xlsx or .xlsm")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return _not_a_workbook(name, "not a zip package")
    except OSError as e:
        return Issue("CANNOT_WRITE", "--xlsx", f"cannot read {name} to add the sheets: {e.strerror or e}; give a "
                                               "workbook you can read and write")
    missing = [part for part in _WORKBOOK_PARTS if part not in names]
    if missing:
        return _not_a_workbook(name, f"a zip package without {missing[0]}")
    return None


def _emit(args: argparse.Namespace, report, render: Callable[[], str], sheets: dict, sheet_names: str) -> bool:
    """A report's output: its sheets into ``--xlsx`` when asked, then JSON (``--json``) or its text
    (``render()``, only then).  False (the problem printed, nothing written) when the workbook
    cannot take the sheets."""
    if args.xlsx:
        import zipfile

        from openpyxl.utils.exceptions import InvalidFileException

        from .._atomic import is_read_only
        from ..workbook._results import WorkbookChanged
        from ._xlsx import write_sheets

        problem = _xlsx_problem(args.xlsx)
        if problem is None:
            try:
                write_sheets(args.xlsx, **sheets)
            except (zipfile.BadZipFile, InvalidFileException, SyntaxError) as e:  # a package openpyxl cannot read
                problem = _not_a_workbook(args.xlsx, str(e) or type(e).__name__)
            except WorkbookChanged as e:  # content openpyxl would drop
                problem = Issue("CANNOT_WRITE", "--xlsx", f"{args.xlsx}: {e}")
            except OSError as e:  # read-only, locked by Excel, a folder we may not write into
                if Path(args.xlsx).exists() and is_read_only(Path(args.xlsx)):
                    message = (f"{args.xlsx} is read-only; make it writable (chmod u+w, or clear Read-only in its "
                               "Properties), or give another workbook")
                else:
                    message = (f"cannot write {args.xlsx}: {e.strerror or e}; close it in Excel if it is open, or "
                               "give a workbook in a folder you can write to")
                problem = Issue("CANNOT_WRITE", "--xlsx", message)
        if problem is not None:
            _print_issues(args, [problem])
            return False
    if args.json:
        _dump(report)
        return True
    sys.stdout.write(render())
    if args.xlsx:
        print(f"  Wrote the {sheet_names} into {args.xlsx}")
    return True


def _flow_for(ledger, period: str, args=None, orders=None):
    from ._flow import build_flow, units_of
    from ._ledger import each_current_close

    kw = {}
    if args is not None:
        kw = dict(trend_periods=args.periods, cover_periods=args.cover_periods, band=args.band,
                  horizon_days=args.horizon_days)
    # Only the months the trend and the cover read, one close decoded at a time (a year of a large
    # plant's closes at once took gigabytes), without their journals.
    months = max(kw.get("trend_periods", TREND_PERIODS), kw.get("cover_periods", COVER_PERIODS))
    history = []
    for stored in each_current_close(ledger, period, last=months, light=True):
        history.append(units_of(stored))
        del stored  # before the next month's close is decoded
    if not history or history[-1].period != period:
        return None
    report = build_flow(history, orders=orders, **kw)
    # A month reopened now has no current close: the trend and the averages go without it, which
    # the figures alone do not show.
    recent = [p for p in ledger.periods() if p <= period][-months:]
    reopened = [p for p in recent if ledger.status(p) == "reopened"]
    if reopened:
        report = report.model_copy(update={"notes": report.notes + tuple(
            f"{p} is reopened: not in the trend or the shipments averaged until it is closed again" for p in reopened)})
    return report


# ---- wip variance -------------------------------------------------------------------------------

def _stale_note(period: str, root: str, order: list[str], reopened: bool = False) -> str:
    """The report's note on a month whose opening rests on a superseded close of ``root``: the month
    it opened from when that is another flagged month (not ``root``), and the months to re-close in
    order (``Ledger.re_close_order``), as `wip history` and the close say it; while ``root`` is
    reopened, that its re-close decides."""
    if reopened:
        return (f"{period}'s opening rests on a close of {root}, reopened now: its figures may change — closing "
                f"{root} again says whether {period} needs a re-close")
    if len(order) > 1:
        return (f"{period} opened from the close of {order[-2]}, which rests on a superseded close of {root}: it "
                f"may need a re-close — re-close {', then '.join(order)}, in that order, each after the first only if "
                "the re-close before it says so")
    return f"{period} opened from a close of {root} that has since been superseded: it needs a re-close"


def _materiality(given: Decimal | None, recorded: str, currency: str) -> Decimal | None:
    """The bridge's materiality in ``currency``: ``--materiality`` as given (None: it has more
    places than the currency), else the close's own.  A close recorded before the close checked
    its places may hold more (JPY 15000.5); changes are whole units of the currency, so "at least
    15000.5" flags what "at least 15001" does: the next unit up is the same threshold, not a rounding.

    >>> _materiality(None, "15000.5", "JPY"), _materiality(Decimal("250"), "100.00", "USD")
    (Decimal('15001'), Decimal('250.00'))
    >>> _materiality(Decimal("0.5"), "100", "JPY") is None
    True
    """
    from .._currency import quantum

    q = quantum(currency)
    if given is None:
        return Decimal(recorded).quantize(q, rounding=ROUND_CEILING)
    return given.quantize(q) if given.quantize(q) == given else None


def _variance_arguments(args: argparse.Namespace) -> tuple[list[Issue], Decimal | None, Decimal | None]:
    """``wip variance``'s own arguments, read once before the ledger is: (every problem with them,
    all together — the periods' order, --materiality, --materiality-pct, --locale —; the
    materiality amount, None when not given; the materiality percent)."""
    from .._currency import is_known_locale

    p1, p2 = args.from_period, args.to_period
    problems = []
    if p1 > p2:
        problems.append(Issue("PERIODS_OUT_OF_ORDER", "--from", f"--from {p1} comes after --to {p2}; "
                                                                "give the earlier period first"))
    absolute = _decimal(args.materiality, "--materiality") if args.materiality is not None else None
    percent = _decimal(args.materiality_pct, "--materiality-pct", percent=True)
    problems += [x for x in (absolute, percent) if isinstance(x, Issue)]
    if args.locale is not None and not is_known_locale(args.locale):
        # As ``locale_argument`` words it for the other commands.
        problems.append(Issue("UNKNOWN_LOCALE", "--locale", f"unknown locale {args.locale!r}; expected e.g. "
                                                            "en_US, de_DE"))
    return problems, absolute, percent


def _cmd_variance(args: argparse.Namespace) -> int:
    from ._bridge import Materiality
    from ._history import build_variance_report
    from ._ledger import load_closes, reclosed_periods
    from ._render import render_variance

    p1, p2 = args.from_period, args.to_period
    problems, given_materiality, percent = _variance_arguments(args)
    if problems:
        _print_issues(args, problems)
        return EXIT_INPUT
    ledger = _open(args)
    if ledger is None:
        return EXIT_INPUT
    with ledger:
        problems = [_not_closed(ledger, p) for p in dict.fromkeys((p1, p2)) if ledger.status(p) != "closed"]
        if problems:
            _print_issues(args, problems)
            return EXIT_INPUT
        if p1 == p2:
            closes = load_closes(ledger, p1)
            if len(closes) < 2:
                _print_issues(args, [Issue("NOTHING_TO_COMPARE", "", f"{p1} has {len(closes)} close; --from and --to "
                                                              "equal compare a reopened period's last two closes")])
                return EXIT_INPUT
            before, after = closes[-2], closes[-1]
        else:
            before, after = load_closes(ledger, p1)[-1], load_closes(ledger, p2)[-1]
        reclosed = reclosed_periods(ledger, list(dict.fromkeys((p1, p2))))
        stale = ledger.stale_periods()
        currency = after.parameters.get("currency", "USD")
        absolute = _materiality(given_materiality, after.parameters.get("materiality", "0"), currency)
        if absolute is None:  # as an amount in the input files: not rounded here
            _print_issues(args, [Issue("AMOUNT_PRECISION", "--materiality",
                                       f"{given_materiality} has more decimal places than {currency} has")])
            return EXIT_INPUT
        try:
            report = build_variance_report(before, after, reclosed=reclosed,
                                           materiality=Materiality(absolute=absolute, percent=percent),
                                           progress=progress_bar)
        except CostingError as e:
            _print_issues(args, list(e.issues))
            return EXIT_INPUT
        notes = [_stale_note(p, root, ledger.re_close_order(p), ledger.status(root) == "reopened")
                 for p, root in sorted(stale.items()) if p in (p1, p2)]
        if notes:
            report = report.model_copy(update={"needs_re_close": tuple(notes)})
        flow = _flow_for(ledger, p2) if args.xlsx else None
    locale = _locale(args, after)
    if not _emit(args, report, lambda: render_variance(report, locale, detail=args.detail),
                 {"variance": report, "flow": flow}, "Variances and Flow sheets"):
        return EXIT_INPUT
    return 0 if report.ties_ok and report.all_sum_exactly else 1


# ---- wip standards ------------------------------------------------------------------------------

def _cmd_standards(args: argparse.Namespace) -> int:
    from .._casefile import read_data_file
    from ._history import recompute
    from ._ledger import load_closes
    from ._render import render_standards
    from ._standards import resolve_standards, standards_report, standards_schema

    if args.schema:
        json.dump(standards_schema(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not args.period:
        _print_issues(args, [Issue("MISSING_INPUT", "--period", "give --period YYYY-MM (or --schema)")])
        return EXIT_INPUT
    path = args.standards or DEFAULT_STANDARDS
    data, issues = read_data_file(path)
    if issues:
        _print_issues(args, issues)
        return EXIT_INPUT
    ledger = _open(args)
    if ledger is None:
        return EXIT_INPUT
    with ledger:
        if ledger.status(args.period) != "closed":
            _print_issues(args, [_not_closed(ledger, args.period)])
            return EXIT_INPUT
        stored = load_closes(ledger, args.period)[-1]
        stale = ledger.needs_re_close(args.period)  # said as every reader of the month says it
    try:
        result = recompute(stored)
    except CostingError as e:
        _print_issues(args, list(e.issues))
        return EXIT_INPUT
    warnings: list[Issue] = []
    standards, issues = resolve_standards(data, result, warnings)
    for warning in warnings:  # a name only noted that may be a typo: said, not refused (also beside problems)
        print(f"warning: {shown_safely(str(warning.with_source(path)))}", file=sys.stderr)
    if issues:
        _print_issues(args, [i.with_source(path) for i in issues])
        return EXIT_INPUT
    report = standards_report(result, standards, stored.close_no, stored.element_order)
    if stale is not None:
        print(f"warning: {stale} [NEEDS_RE_CLOSE]", file=sys.stderr)
    locale = _locale(args, stored)
    if not _emit(args, report, lambda: render_standards(report, locale), {"standards": report}, "Standards sheet"):
        return EXIT_INPUT
    return 0


# ---- wip flow -----------------------------------------------------------------------------------

_ORDER_COLUMNS = ("product", "units", "due", "id")


def _delimiter(header: str) -> str:
    r"""The CSV's delimiter, from its header: the one of comma, semicolon (Excel's in locales with a
    decimal comma, de_DE) and tab that splits it into the most of the orders' columns (upper or lower
    case alike); a comma when none does.

    >>> _delimiter("product;units;due"), _delimiter("id,product,units,due"), _delimiter("Product\tUnits\tDue")
    (';', ',', '\t')
    """
    def known(delimiter: str) -> int:
        fields = next(csv.reader([header], delimiter=delimiter), [])
        return sum(1 for f in fields if f.strip().casefold() in _ORDER_COLUMNS)
    return max((",", ";", "\t"), key=known) if any(known(d) for d in ";\t") else ","


def _header_problems(names: list[str], line: str, path: str) -> list[Issue]:
    """An orders table's header: each column one an order takes (``_ORDER_COLUMNS``), those it needs
    there.  A column left unnamed is ignored, as its values are.

    >>> [i.message for i in _header_problems(["product", "unit", "due"], "line 1", "o.csv")]
    ["unknown column 'unit' (did you mean 'units'?); an order takes product, units, due and id"]
    >>> [i.code for i in _header_problems(["item", "qty", "due"], "line 1", "o.csv")]
    ['UNKNOWN_KEY', 'UNKNOWN_KEY', 'MISSING_KEY', 'MISSING_KEY']
    """
    from .._spelling import likely_meant

    issues, meant_for = [], set()
    for name in names:
        if name and name not in _ORDER_COLUMNS:
            meant = likely_meant(name, [c for c in _ORDER_COLUMNS if c not in names and c not in meant_for])
            meant_for.add(meant)
            issues.append(Issue("UNKNOWN_KEY", line, f"unknown column {name!r}"
                                + (f" (did you mean {meant!r}?)" if meant else "")
                                + "; an order takes product, units, due and id", path))
    # A column misspelt is one problem, not also the column it meant missing.
    issues += [Issue("MISSING_KEY", line, f"required column {column!r} is missing", path)
               for column in _ORDER_COLUMNS[:3] if column not in names and column not in meant_for]
    return issues


def _column(name: str) -> str:
    """A CSV header's column name: an order's key in lower case (Excel users write ``Units``);
    anything else as written, to be refused as an unknown key."""
    name = name.strip()
    return name.casefold() if name.casefold() in _ORDER_COLUMNS else name


# The one shape of a number that reads 1000 times apart by the two conventions: 1.500 and 1,500 are
# one thousand five hundred where the separator groups thousands and one and a half where it is the
# decimal separator.  costing._numbers.LIKE_DOT_GROUPED with either separator: ASCII digits, and no
# leading zero (0.500 and 0,500 are no group of thousands, only a fraction).
_THOUSAND_OR_FRACTION = re.compile(LIKE_DOT_GROUPED.pattern.replace(r"\.", "([.,])"))
# The decimal separator a CSV's delimiter implies: Excel writes a comma-separated CSV where the
# decimal separator is a point, a semicolon-separated one where it is a comma (de_DE, fr_FR); a tab
# says nothing.
_FILE_DECIMAL = {",": ".", ";": ","}
_DELIMITER_NAME = {",": "comma", ";": "semicolon", "\t": "tab"}
_SPACES = " \u00a0\u202f"


def _symbol(character: str) -> str:
    """A locale's separator in words where it cannot be seen."""
    return {" ": "a space", "\u00a0": "a no-break space", "\u202f": "a narrow no-break space",
            "\u2019": "an apostrophe"}.get(character, repr(character))


def _refuse_other_digits(text: str) -> None:
    r"""Refuse units written with digits other than 0-9 (``NOT_A_NUMBER``; ``costing._numbers.other_digits``)
    before the locale's reading, which would take a grouped ``1,٥00`` apart without looking at its digits.

    >>> _refuse_other_digits("1,500.5")
    >>> _refuse_other_digits("1٥00")
    Traceback (most recent call last):
    ...
    costing._numbers.NumberError: '1٥00' holds ٥ (ARABIC-INDIC DIGIT FIVE, U+0665), not one of the digits 0-9; write 1500
    """
    other = other_digits(text)
    if other:
        raise NumberError("NOT_A_NUMBER", f"{text!r} {other}")


def _units_reader(delimiter: str, locale: str) -> Callable[[str], Decimal]:
    r"""How an orders CSV's units are read: Excel writes numbers as they are shown, in its locale
    (``#.##0`` is 1.500 for one thousand five hundred in de_DE, ``#,##0`` 1,500 in en_US).  A
    comma-separated file is read with a decimal point: plain (1500.5), or grouped as the close's
    locale writes thousands when its decimal separator is a point too (1,500 in en_US); a semicolon-
    or tab-separated one as the close's locale writes numbers, strictly (babel).  1.500 or 1,500 — a
    thousand apart by the two conventions — is read only where the file's delimiter and the close's
    locale agree on the decimal separator; otherwise it is refused (``INVALID_FORMAT``) rather than
    guessed.

    >>> de, en = _units_reader(";", "de_DE"), _units_reader(";", "en_US")
    >>> de("1.500"), de("10,5"), de("1.500,25"), de("1500"), _units_reader(",", "en_US")("1.500")
    (Decimal('1500'), Decimal('10.5'), Decimal('1500.25'), Decimal('1500'), Decimal('1.500'))
    >>> de("0,500"), en("0.500"), _units_reader("\t", "en_US")("0.500"), _units_reader(",", "de_DE")("0.500")
    (Decimal('0.500'), Decimal('0.500'), Decimal('0.500'), Decimal('0.500'))
    >>> comma = _units_reader(",", "en_US")
    >>> comma("1,500"), comma("1,500.5"), comma("1,234,567"), comma("+1500")
    (Decimal('1500'), Decimal('1500.5'), Decimal('1234567'), Decimal('1500'))
    >>> comma("1,5")
    Traceback (most recent call last):
    ...
    costing._numbers.NumberError: expected a number as the close's locale en_US writes it (1500 or 1,500.5), found '1,5'
    >>> en("1.500")
    Traceback (most recent call last):
    ...
    costing._numbers.NumberError: '1.500' is 1500 if '.' groups thousands and 1.5 if it is the decimal separator: a semicolon-separated file (as Excel writes one where a comma is the decimal separator) and the close's locale en_US (a decimal point) disagree on which; write 1500 or 1.5
    >>> de("10.5")
    Traceback (most recent call last):
    ...
    costing._numbers.NumberError: expected a number as the close's locale de_DE writes it (1500 or 1.500,5), found '10.5'
    """
    from babel.numbers import NumberFormatError, format_decimal, get_decimal_symbol, get_group_symbol, \
        parse_decimal

    decimal, group = get_decimal_symbol(locale), get_group_symbol(locale)
    file_decimal = _FILE_DECIMAL.get(delimiter)
    example = f"1500 or {format_decimal(Decimal('1500.5'), locale=locale)}"

    def ambiguous(text: str, separator: str) -> NumberError:
        sign = "-" if text.startswith("-") else ""
        whole, fraction = text.lstrip("+-").split(separator)
        thousands = f"{sign}{whole}{fraction}"
        fraction = fraction.rstrip("0")
        fraction += "0" if len(fraction) == 3 else ""  # 1.234 would be as ambiguous: 1.2340
        as_fraction = f"{sign}{whole}" + (f"{'.' if delimiter == ',' else decimal}{fraction}" if fraction else "")
        if file_decimal is None:
            why = "a tab-separated file does not say which"
        elif delimiter == ";" and decimal != "," and group != ",":
            # de_CH: Excel writes a semicolon-separated file with a decimal point there too.
            why = (f"a semicolon-separated file does not say which: Excel writes one where a comma is the decimal "
                   f"separator, and also for the close's locale {locale}, whose decimal separator is "
                   f"{_symbol(decimal)}")
        elif file_decimal != decimal:
            said = {".": "a decimal point", ",": "a decimal comma"}.get(decimal, f"{decimal!r} for decimals")
            why = (f"a {_DELIMITER_NAME[delimiter]}-separated file (as Excel writes one where "
                   f"{'a comma' if file_decimal == ',' else 'a point'} is the decimal separator) and the close's "
                   f"locale {locale} ({said}) disagree on which")
        else:
            why = (f"the close's locale {locale} writes {_symbol(decimal)} for decimals and {_symbol(group)} for "
                   "thousands")
        return NumberError("INVALID_FORMAT", f"{text!r} is {thousands} if {separator!r} groups thousands and "
                                             f"{as_fraction} if it is the decimal separator: {why}; write "
                                             f"{thousands} or {as_fraction}")

    def read(value: str) -> Decimal:
        text = value.strip()
        _refuse_other_digits(text)  # before to_decimal, which reads them as their digit
        shape = _THOUSAND_OR_FRACTION.fullmatch(text)
        if shape and not (file_decimal == decimal and shape[1] in (decimal, group)):
            raise ambiguous(text, shape[1])
        if delimiter == ",":
            try:
                return to_decimal(text)  # plain notation: 1500, 1500.5
            except NumberError as e:
                if e.code != "NOT_A_NUMBER":
                    raise
            if decimal != ".":  # a decimal point by the file, another separator by the locale: plain only
                raise NumberError("NOT_A_NUMBER", f"expected a number with a decimal point and no thousands "
                                                  f"separator, as a comma-separated file for a close in "
                                                  f"{locale} is read (1500 or 1500.5), found {value.strip()!r}")
            # Grouped as the close's locale writes it, as Excel writes a #,##0 cell: 1,500 in en_US
        if group in _SPACES:  # Excel writes a no-break space (U+00A0 or U+202F) where babel may want the other
            text = re.sub(f"[{_SPACES}]", group, text)
        elif group in "'\u2019":  # de_CH: Windows writes an apostrophe, CLDR a right single quote
            text = re.sub("['\u2019]", group, text)
        refused = NumberError("NOT_A_NUMBER", f"expected a number as the close's locale {locale} writes it "
                                              f"({example}), found {value.strip()!r}")
        if not re.fullmatch(f"[+-]?[0-9{re.escape(decimal + group)}]+", text):  # no exponents, other digits
            raise refused
        try:
            number = parse_decimal(text, locale, strict=True)
        except NumberFormatError:
            raise refused from None
        return to_decimal(number)  # below NUMBER_LIMIT
    return read


def _yaml_units_reader(locale: str) -> Callable[[object], object] | None:
    r"""How a YAML or JSON orders file's units are looked at for a close whose locale writes '.'
    between thousands (de_DE): 1.500 — a number or a string, as written — is a thousand apart by the
    two conventions, and refused (``INVALID_FORMAT``) with both readings rather than read as 1.5.
    Anything else is left as written, for the file's shape to check; None where the locale does not
    group with '.' (the decimal point is then the only reading).

    >>> read = _yaml_units_reader("de_DE")
    >>> read(Decimal("1.5")), read("12"), _yaml_units_reader("en_US")
    (Decimal('1.5'), '12', None)
    >>> read(Decimal("1.500"))
    Traceback (most recent call last):
    ...
    costing._numbers.NumberError: 1.500 is 1500 if '.' groups thousands and 1.5 if it is the decimal point: YAML and JSON files take '.' as the decimal point, but the close's locale de_DE writes it between thousands; write 1500 or 1.5
    """
    from ._grouping import groups_with_dot, thousand_or_fraction, two_readings

    if not groups_with_dot(locale):
        return None

    def read(value: object) -> object:
        text = thousand_or_fraction(value)
        if text is None:
            return value
        thousands, fraction = two_readings(text)
        raise NumberError("INVALID_FORMAT", f"{text} is {thousands} if '.' groups thousands and {fraction} if it is "
                                            "the decimal point: YAML and JSON files take '.' as the decimal point, "
                                            f"but the close's locale {locale} writes it between thousands; write "
                                            f"{thousands} or {fraction}")
    return read


# Read as a table: a CSV, or a table saved as text (Excel's "Text (Tab delimited)" is a .txt).
_TABLE_SUFFIXES = (".csv", ".tsv")
_ORDERS_FILES = ("orders files are a table with a header row product, units, due[, id] (CSV: separated by commas, "
                 "semicolons or tabs, saved as .csv, .tsv or .txt) or YAML/JSON {orders: [{id, product, units, "
                 "due}]} (docs/variance.md)")


def _a_table(path: str) -> bool:
    """Whether an orders file is read as a table: a .csv or .tsv, or a .txt whose first line is a
    header of the orders' columns separated by commas, semicolons or tabs."""
    suffix = Path(path).suffix.lower()
    if suffix in _TABLE_SUFFIXES:
        return True
    if suffix != ".txt":
        return False
    try:
        with open(path, "rb") as f:
            start = f.read(4096)
    except OSError:
        return False  # said by the reader it goes to
    # Leniently: a byte that is not text is said, located, by the table's reader.
    header = next(iter(start.decode(_table_encoding(start), errors="replace").splitlines()), "")
    fields = next(csv.reader([header], delimiter=_delimiter(header)), [])
    return len(fields) > 1 and any(f.strip().casefold() in _ORDER_COLUMNS for f in fields)


def _table_encoding(raw: bytes) -> str:
    """How an orders table's bytes are decoded: UTF-16 when they start with its byte-order mark
    (Excel's "Unicode Text (*.txt)", little-endian; big-endian too), else UTF-8 (Excel's "CSV UTF-8
    (Comma delimited)" starts with a byte-order mark, which is no content).  Nothing else is guessed:
    Windows-1252, which Excel's "CSV (Comma delimited)" writes, is refused (``_table_text``)."""
    return "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"


# Excel's "CSV (Comma delimited)" and "Text (Tab delimited)" save in the Windows code page
# (Windows-1252 in Western Europe and the Americas: é in Café is the one byte 0xe9).
_SAVE_AS_UTF8 = ("Excel's \"CSV (Comma delimited)\" and \"Text (Tab delimited)\" save in the Windows code page "
                 "(Windows-1252 in Western Europe), which is not read, since a wrong guess at it would change "
                 "names; save it from Excel as 'CSV UTF-8 (Comma delimited)' (or 'Unicode Text (*.txt)', which "
                 "is read too)")


def _table_text(raw: bytes, path: str) -> tuple[str | None, Issue | None]:
    """The text of an orders table (``_table_encoding``), or the problem (``UNREADABLE_FILE``)
    located at the first byte that is not text in its encoding: line and column for a byte that is
    not UTF-8, as a YAML or JSON file's is (``costing._casefile``)."""
    encoding = _table_encoding(raw)
    try:
        return raw.decode(encoding), None
    except UnicodeDecodeError as e:
        if encoding == "utf-16":  # cut short (an odd number of bytes) or half of a character pair
            # The 'utf-16' codec counts from the byte-order mark: what precedes the error decodes.
            before = raw[:e.start].decode(encoding)
            line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
            return None, Issue("UNREADABLE_FILE", f"line {line}, column {column}", "the file starts as UTF-16 text "
                               f"(Excel's \"Unicode Text\") but is not UTF-16 from here ({e.reason}): it was cut "
                               "short or damaged; save it from Excel again", path)
        from .._casefile import _not_utf8  # where, said as for YAML and JSON files: line, column (characters)

        where = _not_utf8(raw, e, path).path
        byte = e.object[e.start:e.start + 1]  # e.object: the bytes after a byte-order mark
        try:
            if_1252 = f" ({byte.decode('cp1252')} in Windows-1252)"  # what to look for on the line
        except UnicodeDecodeError:  # one of its five unused bytes
            if_1252 = ""
        return None, Issue("UNREADABLE_FILE", where, f"byte 0x{byte[0]:02x}{if_1252} is not UTF-8 text: "
                                                     f"{_SAVE_AS_UTF8}", path)


def _orders_file_issue(issue: Issue) -> Issue:
    """A file-shape problem of a YAML or JSON reading said for an orders file: its message names the
    close and case files a table is refused from."""
    if issue.code == "WRONG_TYPE" and ": close and case files are" in issue.message:
        said = issue.message.split(": close and case files are")[0]
        return Issue(issue.code, issue.path, f"{said}: {_ORDERS_FILES}", issue.source)
    return issue


def _read_orders(path: str):
    """(the orders as plain data, where each one is for the problems' paths — a CSV's line numbers —
    or None, a CSV's delimiter or None, problems)."""
    from .._casefile import read_data_file

    if not _a_table(path):
        data, issues = read_data_file(path)
        return data, None, None, [_orders_file_issue(i) for i in issues]
    rows, where, issues = [], [], []
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None, None, None, [Issue("FILE_NOT_FOUND", "", f"no such file: {path}", path)]
    except OSError as e:
        return None, None, None, [Issue("UNREADABLE_FILE", "", f"cannot read {path}: {e.strerror or e}", path)]
    text, problem = _table_text(raw, path)
    if problem is not None:
        return None, None, None, [problem]
    try:
        with io.StringIO(text, newline="") as f:  # newline="": a quoted value's line breaks are the csv module's
            header = f.readline()
            f.seek(0)
            delimiter = _delimiter(header)
            reader = csv.reader(f, delimiter=delimiter)
            names: list[str] | None = None
            while True:
                line = f"line {reader.line_num + 1}"  # where the record starts: a quoted value may span lines
                try:
                    record = next(reader)
                except StopIteration:
                    break
                if not record:  # a blank line
                    continue
                if names is None:
                    names = [_column(name) for name in record]
                    twice = sorted({n for n in names if n and names.count(n) > 1})
                    if twice:
                        return None, None, delimiter, [Issue(
                            "INVALID_FORMAT", line, f"column {twice[0]!r} is in the header twice (upper or lower "
                                                    "case alike); give each column once", path)]
                    header_issues = _header_problems(names, line, path)
                    if header_issues:  # said once, at the header, not again at every order
                        return None, None, delimiter, header_issues
                    continue
                if len(record) > len(names):
                    issues.append(Issue("INVALID_FORMAT", line, f"{len(record)} values for {len(names)} columns "
                                        f"({', '.join(names)}); check for a separator inside a value (quote it)",
                                        path))
                    continue
                rows.append({k: v.strip() for k, v in zip(names, record) if k and v.strip()})
                where.append(line)
    except csv.Error as e:
        return None, None, None, [Issue("UNREADABLE_FILE", "", f"cannot read {path}: {e}", path)]
    return rows, where, delimiter, issues


def _cmd_flow(args: argparse.Namespace) -> int:
    from ._flow import resolve_orders
    from ._render import render_flow

    band = args.cover_band.split("-")
    values = [_decimal(x, "--cover-band") for x in band] if len(band) == 2 else \
        [Issue("INVALID_FORMAT", "--cover-band", f"expected LOW-HIGH weeks, e.g. 4-8; found {args.cover_band!r}")]
    bad = [v for v in values if isinstance(v, Issue)]
    if not bad and values[0] > values[1]:
        bad = [Issue("INVALID_RANGE", "--cover-band", f"{args.cover_band}: LOW {band[0].strip()} is above HIGH "
                                                      f"{band[1].strip()}; give the lower number of weeks first, "
                                                      "e.g. 4-8")]
    if bad:
        _print_issues(args, bad)
        return EXIT_INPUT
    args.band = (values[0], values[1])
    ledger = _open(args)
    if ledger is None:
        return EXIT_INPUT
    with ledger:
        if ledger.status(args.period) != "closed":
            _print_issues(args, [_not_closed(ledger, args.period)])
            return EXIT_INPUT
        from ._ledger import load_closes

        stored = load_closes(ledger, args.period)[-1]
        orders = None
        if args.orders:
            from ._flow import units_of

            data, where, delimiter, issues = _read_orders(args.orders)
            if data is not None or not issues:  # an empty YAML file is None: resolve_orders says so
                products = set(units_of(stored).product_stage_order)
                # A CSV's units as Excel wrote them: in the locale of the close they are for; a YAML or
                # JSON file's with a decimal point, 1.500 refused where that locale groups with '.'.
                locale = stored.parameters.get("locale", "en_US")
                units = _units_reader(delimiter, locale) if delimiter else _yaml_units_reader(locale)
                orders, problems = resolve_orders(data, products, where, read_units=units)
                issues = issues + problems
            if issues:
                _print_issues(args, [i if i.source else i.with_source(args.orders) for i in issues])
                return EXIT_INPUT
        report = _flow_for(ledger, args.period, args, orders)
        stale = ledger.needs_re_close(args.period)
    if stale is not None:  # said as every reader of the month says it
        print(f"warning: {stale} [NEEDS_RE_CLOSE]", file=sys.stderr)
    locale = _locale(args, stored)
    if not _emit(args, report, lambda: render_flow(report, locale), {"flow": report}, "Flow sheet"):
        return EXIT_INPUT
    return 0
