"""Close workbook tables → the close file's data structure, every value located to its cell.

``read_tables(source)`` returns a ``WorkbookInput``: the same dict a close file gives (so
``close_period`` runs the very same close), the problems found (each at a cell:
``Production!F12: completion 1.3 (130%) is above 100%``) and a map from data paths
(``products[1].stages[0].ending_wip.complete``) to cells, which ``locate`` uses to put the close's
own problems at the cells the user typed them in.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from openpyxl.utils.cell import get_column_letter, range_boundaries

from .._currency import is_known_locale
from .._errors import Issue, as_written
from .._journal import name_problem
from .._numbers import from_excel, percent_text
from .._period import is_period
from ..close._resolve import _COST_COMPARED, _MISSPELT, _how_they_differ, product_key
from ._numbers import EXCEL_ERRORS, CellNumberError, cell_decimal, formula_result
from ._schema import SETTINGS, TABLE_BY_NAME, TableSpec, normalise_header
from ._source import Cell, ExcelError, TableData, TableSource

__all__ = ["WorkbookInput", "read_tables", "Row"]

# What a problem found reading the tables leaves out of the close data, so that the close's own
# checks, run on the rest, do not report what follows from it (``WorkbookInput.held``):
_ALL = ("all",)  # anything: the close's checks are not run (a setting, an account, a stage, an element)
_PRODUCT = "product"  # ("product", folded name or None for any): every check of that product
_STAGE = "stage"  # ("stage", product, stage; None for any): the checks of that product-stage
_TIE = ("tie",)  # the tie to the general ledger (an opening balance left out)
# ("cost", product, stage; None for any): the checks comparing a cost with a value (a disposal or
# scrap value above the cost) of that product from that stage on — a cost left out is short there
# and, transferred out, in every stage after it.  They are those the close holds back for a refused
# overhead pool (``_COST_COMPARED``), for the same reason.  (Opening WIP units or a driver quantity
# left out need none: the product's flow or overhead is then a problem, and it is not costed.)
_COST = "cost"
_ROW_HOLDS = {  # table -> what a refused row of it holds back, by its (folded) product and stage
    "Costs": lambda product, stage: ((_COST, product, stage),),  # else only that figure is left out
    # A driver quantity left out: the stage's quantity missing (the close holds back what compares
    # the cost it would apply); a count left out: nothing — the stage is then not counted.
    "Drivers": lambda product, stage: ((_DRIVER, product, stage),),
    "Counts": lambda product, stage: (),
    # The opening tables are read in the ledger's first month only: later the opening is the ledger's.
    "OpeningWIP": lambda product, stage: _first_month((_STAGE, product, stage), _TIE),
    "OpeningWIPCost": lambda product, stage: _first_month((_STAGE, product, stage), (_COST, product, stage), _TIE),
    # Shipments left out are none: nothing but the stock they relieve reads them (never short of none).
    "Shipments": lambda product, stage: (),
    "OpeningFG": lambda product, stage: _first_month((_PRODUCT, product), _TIE),
    "Production": lambda product, stage: ((_PRODUCT, product),),  # a stage missing breaks the product's flow
    # A pool left out: its stages' overhead is not applied (MISSING_OVERHEAD_RATE, and the close holds
    # back the cost comparisons itself), and overhead control's tie misses its actual overhead.
    "OverheadRates": lambda product, stage: ((_POOL, stage), _OVERHEAD_TIE),
    "GeneralLedger": lambda product, stage: (),  # a balance left out is not tied: nothing else reads it
}
_POOL = "pool"  # ("pool", folded stage or None for any): the overhead rate missing for that stage
_OVERHEAD_TIE = ("tie", "overhead control")  # overhead control's tie only (the month's actual overhead)
_FIRST = "first month"  # ("first month", hold): the hold, where the month is the ledger's first
_TIE_OF = "tie of"  # ("tie of", code): that account's tie to the general ledger


def _first_month(*holds: tuple) -> tuple:
    """``holds`` where the month opens from the workbook (the ledger's first): a later month's
    opening is the ledger's, whatever the Opening tables hold (``WorkbookInput.with_close_checks``)."""
    return tuple((_FIRST, hold) for hold in holds)
_DRIVER = "driver"  # ("driver", product, stage; None for any): that product-stage's driver quantity missing
# The close's checks of the header alone (company, currency, locale, period sequence): no product
# row left out of the close's view can explain them, so they are said whatever was held back.
_HEADER_OWN = frozenset({"company", "currency", "locale", "period"})
_PRODUCT_PATH = re.compile(r"products\[([0-9]+)\](?:\.stages\[([0-9]+)\])?")



@dataclass(frozen=True)
class Row:
    """One data row of a table: parsed values and their cells, by column key."""

    values: dict[str, Any]
    cells: dict[str, Cell]
    first: Cell  # the row's first cell, for messages about the whole row

    def get(self, key: str) -> Any:
        return self.values.get(key)


# What the close's messages tell a close file to do, said for the tables of a workbook.
_WORKBOOK_TERMS = (
    ("remove beginning_wip (it comes from the ledger)",
     "clear the OpeningWIP table on the Opening sheet (the opening comes from the ledger)"),
    ("remove opening_finished_goods (it comes from the ledger)",
     "clear the OpeningFG table on the Opening sheet (the opening comes from the ledger)"),
    ("give this month's opening in the file (beginning_wip, opening_finished_goods)",
     "give this month's opening in the Opening sheet's tables (OpeningWIP, OpeningFG)"),
    ("include the product in this close", "add its rows to the Production table (and its costs to the Costs table)"),
    ("; include the product", "; add its rows to the Production table (and its costs to the Costs table)"),
    ("the file gives ", "the workbook gives "),
    ("file gives ", "the workbook gives "),
    ("opens from the file, which gives no opening", "opens from the workbook, whose Opening tables give none"),
)


def _in_workbook_terms(message: str) -> str:
    """A close's message with its close-file advice said in the workbook's tables.

    >>> _in_workbook_terms("... difference 5 — remove beginning_wip (it comes from the ledger) or reopen the prior period")
    '... difference 5 — clear the OpeningWIP table on the Opening sheet (the opening comes from the ledger) or reopen the prior period'
    >>> _in_workbook_terms("at one progress the file gives for both")
    'at one progress the workbook gives for both'
    """
    for close_file, workbook in _WORKBOOK_TERMS:
        if close_file in message:
            message = message.replace(close_file, workbook)
    return message


@dataclass
class WorkbookInput:
    """What was read from a close workbook."""

    data: dict | None
    issues: list[Issue]
    cells: dict[str, Cell] = field(default_factory=dict)  # data path -> cell
    places: dict[str, str] = field(default_factory=dict)  # data path -> where to look when there is no cell
    rows: dict[str, list[Row]] = field(default_factory=dict)  # table name -> rows as read
    tables: dict[str, TableData] = field(default_factory=dict)
    locale: str = "en_US"
    # (issue code, data path) -> cell, for an issue about a mapping's key rather than its value: the
    # close reports an unknown code of ``general_ledger.balances`` at the same path as its balance,
    # and the one belongs at the General Ledger row's code, the other at its balance.
    key_cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    stage_cells: dict[str, Cell] = field(default_factory=dict)  # stage -> its Stage cell in the Stages table
    # The close data as far as it could be read (``data`` itself only when nothing is wrong), and
    # what the problems found leave out of it: the close's checks run on it report the rest.
    partial: dict | None = None
    held: set[tuple] = field(default_factory=set)
    # An opening table (first month only) converted to a range, its rows still on the sheet: a
    # problem only where the close opens from the workbook — the ledger's first month.  After it the
    # opening comes from the ledger, and a month's sheet may keep the first month's figures as a
    # plain range.  Said or dropped by ``against_month_before``.
    first_month_only: list[Issue] = field(default_factory=list)
    # Whether the month is the ledger's first (its openings are the workbook's), once the close's
    # checks are run (``with_close_checks``); None before.
    first_month: bool | None = None
    _prior: Any = None  # the close before, once the close's checks are run (``with_close_checks``)

    def against_month_before(self, prior_of: Callable[[str], Any] | None) -> None:
        """The opening tables' problems (``first_month_only``) made the workbook's where its close
        opens from the workbook — ``prior_of(period)``, the close before, is None: the ledger's first
        month — holding back the close's checks as any missing table does; dropped otherwise.  Not
        known (no ``prior_of``, no period read, a ledger busy a moment): said, never dropped on a
        guess, or the close could record without the opening.  A ledger refusal that shows a month
        before exists (it is reopened; this month is locked) drops them: that refusal is what the
        close says."""
        if not self.first_month_only:
            return
        period = self.partial.get("period") if self.partial is not None else None
        first = True
        if prior_of is not None and isinstance(period, str):
            try:
                first = prior_of(period) is None
            except Exception as e:  # noqa: BLE001 - a LedgerError (the ledger's refusal); else a defect
                if not hasattr(e, "code"):
                    raise
                first = e.code == "LEDGER_BUSY"
        if first:
            self.issues.extend(self.first_month_only)
            self.held.add(_ALL)
            self.data = None
        self.first_month_only = []

    def with_close_checks(self, prior: Any, vouched: frozenset[str] = frozenset()) -> list[Issue]:
        """Every problem at once: the tables' own, then those the close finds in what could be read
        (resolved against ``prior``, the close before, as ``resolve_close`` takes it, with the names
        the ledger ``vouched`` for, and costed when that is clean, as the close does; both as
        ``costing.close_service.read_month_before`` gives them), located to cells, less what
        follows from a problem already said — a cell that cannot be read leaves out only what
        depends on it, not every other product's checks.  The close's checks are not
        run when nothing is wrong (the close itself runs them) or when a problem leaves out what
        every product depends on (a setting, an account, a stage, an element, a missing table)."""
        if not self.issues or self.partial is None or _ALL in self.held:
            return list(self.issues)
        from ..close._resolve import resolve_close

        self.first_month = prior is None
        self._prior = prior
        self.held = {hold[1] if hold[0] == _FIRST else hold for hold in self.held
                     if hold[0] != _FIRST or self.first_month}

        plan, found = resolve_close(self.partial, prior, vouched=frozenset(vouched))
        if plan is not None:  # as the close does: what it finds only costing (a later month's shipments)
            found = self._costed(plan)
        said = {issue.path for issue in self.issues}
        kept = [issue for issue in found if not self._follows(issue)]
        return list(self.issues) + [issue for issue in self.locate(kept) if issue.path not in said]

    def _costed(self, plan: Any) -> list[Issue]:
        """What the close finds costing ``plan`` (``compute_close``).  It stops after costing the
        products when one has a problem; when each is one that follows from a problem already said
        (a disposal value above a cost left out), the others are costed again without those
        products, so that what the close checks after costing (shipments beyond stock) is still
        said of them — but not the tie to the general ledger, which is of every product."""
        from dataclasses import replace

        from .._errors import CostingError
        from ..close import compute_close

        kept = list(range(len(plan.products)))  # the plan's products costed, by their place in it
        found: list[Issue] = []
        while kept:
            try:
                compute_close(replace(plan, products=tuple(plan.products[k] for k in kept)))
                return found
            except CostingError as e:
                issues = [_renumbered(issue, kept) for issue in e.issues]
            if len(kept) < len(plan.products):
                issues = [issue for issue in issues if not issue.path.startswith("general_ledger")]
            found += issues
            stopped_at = {int(at[1]) for issue in issues if (at := _PRODUCT_PATH.match(issue.path))}
            if not stopped_at or not all(self._follows(issue) for issue in issues
                                         if _PRODUCT_PATH.match(issue.path)):
                return found
            kept = [k for k in kept if k not in stopped_at]
        return found

    def _follows(self, issue: Issue) -> bool:
        """Whether the close's ``issue`` may follow from what a problem already said left out."""
        if _TIE in self.held and (issue.code == "GL_DOES_NOT_TIE" or issue.path.startswith("general_ledger")):
            return True
        if issue.code == "GL_DOES_NOT_TIE" and any(hold[0] == _TIE_OF and issue.path == f"general_ledger.balances.{hold[1]}"
                                                   for hold in self.held):
            return True
        if _OVERHEAD_TIE in self.held and issue.code == "GL_DOES_NOT_TIE" and issue.path == (
                f"general_ledger.balances.{((self.partial.get('accounts') or {}).get('overhead_control') or {}).get('code')}"):
            return True
        if issue.path in _HEADER_OWN:
            return False  # checked on the header alone: no product row left out can explain it
        at = _PRODUCT_PATH.match(issue.path)
        if issue.code == "MISSING_OVERHEAD_RATE" and at is not None and self._pool_left_out(at):
            return True
        if at is None:
            # Not a product's.  A product's rows left out make a product missing, and in the ledger's
            # first month leave its opening out of the tie to the general ledger; the chart and the
            # tie to a month opening from the ledger are the header's and the ledger's alone.
            if not any(hold[0] == _PRODUCT for hold in self.held):
                return False
            if issue.code == "GL_DOES_NOT_TIE" or issue.path.startswith("general_ledger"):
                return self.first_month is not False
            if issue.code == "PRODUCT_MISSING":  # of the product named: held back if a row of it was left out
                return self._missing_left_out()
            # An overhead line said to be for no stage: a stage a product's rows left out may use it.
            return issue.path == "products" or issue.path.startswith("products.") or (
                issue.path.startswith("overhead") and issue.code == "UNKNOWN_STAGE")
        products = self.partial.get("products") or []
        i = int(at[1])
        product = _fold(products[i].get("name")) if i < len(products) else None
        if {(_PRODUCT, None), (_PRODUCT, product)} & self.held:
            return True
        if at[2] is None:
            return False
        stages = (products[i].get("stages") or []) if i < len(products) else []
        j = int(at[2])
        stage = _fold(stages[j].get("name")) if j < len(stages) else None
        if {(_STAGE, p, s) for p in (product, None) for s in (stage, None)} & self.held:
            return True
        if issue.code == "MISSING_DRIVER_QUANTITY" and {
                (_DRIVER, p, s) for p in (product, None) for s in (stage, None)} & self.held:
            return True
        return issue.code in _COST_COMPARED and self._cost_short(product, [_fold(s.get("name")) for s in stages], j)

    def _missing_left_out(self) -> bool:
        """Whether a product the close says is missing (PRODUCT_MISSING: the prior close carries it,
        the month's products do not name it) may be one whose rows were left out: held as a product
        (``_PRODUCT``), or like one that was (a name refused, typed otherwise).  Decided from the
        prior close and what was read, not from the message's wording."""
        held = {hold[1] for hold in self.held if hold[0] == _PRODUCT}
        if None in held or self._prior is None:
            return bool(held)
        carried = {product for (product, _), wip in self._prior.wip.items() if wip.units} | {
            product for product, layers in self._prior.finished_goods.items() if any(layer.units for layer in layers)}
        # By exact name: a look-alike the ledger keeps apart is a product of its own (``look_alikes``).
        missing = {_fold(product) for product in carried - {p.get("name") for p in self.partial.get("products") or []}}
        spelt = [h for h in held if isinstance(h, str)]
        return any(m in held or _closest(m, spelt) is not None for m in missing)

    def _pool_left_out(self, at: re.Match) -> bool:
        """Whether the stage of a product-stage path (``_PRODUCT_PATH``'s match) is one whose
        OverheadRates row was refused (left out: its rate is then missing)."""
        pools = {hold[1] for hold in self.held if hold[0] == _POOL}
        if not pools or at[2] is None:
            return False
        products = self.partial.get("products") or []
        i, j = int(at[1]), int(at[2])
        stages = (products[i].get("stages") or []) if i < len(products) else []
        return None in pools or (j < len(stages) and _fold(stages[j].get("name")) in pools)

    def _cost_short(self, product: Any, stages: list[Any], j: int) -> bool:
        """Whether a cost left out of ``product`` (folded name; its ``stages``' folded names, in the
        flow's order) makes its ``j``-th stage's cost short: left out of that stage or one before it,
        whose transferred-out cost it receives.  A cost of a product the month has not (misspelt) is
        meant for the product most like it, or, like none of them, for none; of one that cannot be
        read, for any.  A cost of a stage the product does not have (a
        misspelt or unreadable stage) is meant for the stage most like it, or, like none of them,
        may be meant for any of its stages: the first, to be safe."""
        for hold in self.held:
            if hold[0] != _COST or hold[1] not in (product, None) and self._product_meant(hold[1]) != product:
                continue
            meant = hold[2] if hold[2] in stages else _closest(hold[2], stages)
            from_stage = stages.index(meant) if meant is not None else 0
            if j >= from_stage:
                return True
        return False

    def _product_meant(self, typed: Any) -> Any:
        """The product (folded name) a row naming ``typed`` (folded), which is no product of the
        month's, most likely meant: the one it is most like (``_closest``, as UNKNOWN_PRODUCT
        suggests it), else none."""
        return _closest(typed, [_fold(p.get("name")) for p in self.partial.get("products") or []])

    def cell(self, path: str) -> Cell | None:
        return self.cells.get(path)

    def where(self, path: str) -> tuple[str, str]:
        """(cell reference or table location, the part of ``path`` not matched)."""
        probe = path
        while probe:
            if probe in self.cells:
                return self.cells[probe].ref, path[len(probe):].lstrip(".")
            if probe in self.places:
                return self.places[probe], path[len(probe):].lstrip(".")
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return "", path

    def locate(self, issues: list[Issue] | tuple[Issue, ...]) -> list[Issue]:
        """The close's issues (data paths) moved to the cells the user typed the values in."""
        out = []
        rates_missing = self._without_overhead_rates(issues)
        for issue in issues:
            if not issue.path or "!" in issue.path:
                out.append(issue)
                continue
            if id(issue) in rates_missing:
                said = rates_missing[id(issue)]
                if said is not None:
                    out.append(said)
                continue
            key_cell = self.key_cells.get((issue.code, issue.path))
            if key_cell is not None:
                out.append(Issue(issue.code, key_cell.ref, issue.message, issue.source))
                continue
            production = self.tables.get("Production")
            if issue.code == "PRODUCT_MISSING" and issue.path == "products" and production is not None:
                out.append(Issue(issue.code, production.location, issue.message, issue.source))
                continue
            missing = self._without_wip_account(issue) or self._without_conversion_account(issue)
            if missing is not None:
                out.append(missing)
                continue
            ref, rest = self.where(issue.path)
            if not ref:
                out.append(issue)
                continue
            message = issue.message if not rest else f"{issue.message} (at {issue.path})"
            out.append(Issue(issue.code, ref, message, issue.source))
        return [Issue(i.code, i.path, _in_workbook_terms(i.message), i.source) for i in out]

    def _without_overhead_rates(self, issues: list[Issue] | tuple[Issue, ...]) -> dict[int, Issue | None]:
        """The close's MISSING_OVERHEAD_RATE, once per stage, at the Overhead Rates table — where the
        row is added — and in the workbook's terms.  The close says it at each product's overhead
        element of the stage (``products[i].stages[j].elements.<element>``), in close-file terms
        (``add overhead.Packaging: {driver, rate, actual}``); in a workbook those are mostly one
        Elements row shared by every product.  By ``id`` of each such issue: the issue to say in its
        place, or None for one already said (a stage not recognised: left to ``locate``)."""
        data = self.data if self.data is not None else self.partial
        table = self.tables.get("OverheadRates")
        if not isinstance(data, dict) or table is None:
            return {}
        products_read = data.get("products") or []
        by_stage: dict[str, list[tuple[Issue, str, str]]] = {}  # stage -> (issue, product, element path)
        for issue in issues:
            at = _ELEMENT_PATH.fullmatch(issue.path or "") if issue.code == "MISSING_OVERHEAD_RATE" else None
            if at is None:
                continue
            i, j = int(at[1]), int(at[2])
            stages = products_read[i].get("stages") or [] if i < len(products_read) else []
            if j >= len(stages) or not isinstance(stages[j].get("name"), str):
                continue
            by_stage.setdefault(stages[j]["name"], []).append((issue, products_read[i].get("name"), issue.path))
        said: dict[int, Issue | None] = {}
        for stage, found in by_stage.items():
            products = list(dict.fromkeys(str(product) for _, product, _ in found))
            elements = list(dict.fromkeys(cell.ref for _, _, path in found if (cell := self.cells.get(path))))
            stage_cell = self.stage_cells.get(stage)
            message = (f"no overhead rate for stage {stage!r}" + (f" ({stage_cell.ref})" if stage_cell else "")
                       + ": its elements include overhead" + (f" ({', '.join(elements)})" if elements else "")
                       + f" for {_and(products)}, and the Overhead Rates table has no row for it. Add a row to the "
                       f"Overhead Rates table: Stage {stage}, Driver, Rate and Actual (the month's actual overhead); "
                       "or, if the stage applies no overhead, remove its overhead element from the Elements table")
            first = found[0][0]
            said[id(first)] = Issue(first.code, table.location, message, first.source)
            for issue, _, _ in found[1:]:
                said[id(issue)] = None
        return said

    def _without_wip_account(self, issue: Issue) -> Issue | None:
        """The close's problems of a stage without a WIP account, at the Accounts table — where the
        row is added — and said in the workbook's terms: the stage's row in Stages, the Production rows
        in it, its overhead rate, and the row to add.  The close says them in close-file terms three
        ways: at ``accounts.wip`` (a stage with an overhead pool, or one several products share), at
        ``products[i].stages[j].name`` (a stage one product uses, without an overhead rate: in a close
        file maybe a misspelling) and at ``overhead.<stage>`` (a stage with an overhead rate that no
        product uses).  In a workbook each is a stage of the Stages table.  None for any other issue
        (or a stage not recognised)."""
        data = self.data if self.data is not None else self.partial
        if not isinstance(data, dict) or issue.code not in ("UNKNOWN_ACCOUNT", "UNKNOWN_STAGE"):
            return None  # (checked first: the products are scanned only for these problems)
        wip = data.get("accounts", {}).get("wip", {})
        products_read = data.get("products", [])
        if issue.code == "UNKNOWN_ACCOUNT" and issue.path == "accounts.wip":
            named = {stage.get("name") for product in products_read for stage in product.get("stages", [])
                     if isinstance(stage.get("name"), str) and f"stage {stage.get('name')!r}" in issue.message}
            name = named.pop() if len(named) == 1 else None
        elif issue.code == "UNKNOWN_ACCOUNT" and (at := _STAGE_NAME.fullmatch(issue.path)):
            i, j = int(at[1]), int(at[2])
            stages = products_read[i].get("stages", []) if i < len(products_read) else []
            name = stages[j].get("name") if j < len(stages) else None
        elif issue.code == "UNKNOWN_STAGE" and issue.path.startswith("overhead."):
            name = issue.path[len("overhead."):]
        else:
            return None
        if not isinstance(name, str) or name in wip:
            return None
        used: list[tuple[str, Cell | None]] = []  # (product, its stage's cell) for each product-stage in it
        overhead_elements = False  # whether a product's elements at the stage apply overhead
        for i, product in enumerate(products_read):
            for j, stage in enumerate(product.get("stages", [])):
                if stage.get("name") == name:
                    used.append((product.get("name"), self.cells.get(f"products[{i}].stages[{j}]")))
                    elements = stage.get("elements")
                    overhead_elements = overhead_elements or isinstance(elements, dict) and any(
                        isinstance(e, dict) and e.get("kind") == "overhead" for e in elements.values())
        table = self.places.get("accounts")
        stage_cell = self.stage_cells.get(name)
        # A stage of the Stages table only: another name is the close's own problem (a misspelt stage).
        if not table or (issue.path != "accounts.wip" and stage_cell is None):
            return None
        rows = ", ".join(cell.ref for _, cell in used if cell is not None)
        products = list(dict.fromkeys(product for product, _ in used))
        rate_cell = self.cells.get(f"overhead.{name}")
        have = _and(list(wip)) if wip else ""
        if products:
            produced = (f"{_and(products)} {'is' if len(products) == 1 else 'are'} produced in it"
                        + (f" ({rows})" if rows else ""))
        else:
            produced = "no product is produced in it this month (it has no Production rows)"
        message = (f"no WIP account for stage {name!r}" + (f" ({stage_cell.ref})" if stage_cell is not None else "")
                   + f": {produced}"
                   + (f", and {rate_cell.ref} gives its overhead rate" if rate_cell is not None else "")
                   + "; every stage needs a WIP account" + ("" if products else ", even one idle this month")
                   + ", and the Accounts table has wip rows for " + (f"{have} only" if have else "none")
                   + f". Add a row to the Accounts table: Role wip, Stage {name}, and the Code and Name of its "
                     "WIP account")
        if rate_cell is None and overhead_elements:
            message += (f", and a row to the Overhead Rates table for {name} (Driver, Rate, Actual): its elements "
                        "include overhead")
        if issue.path != "accounts.wip" and products:
            message += f"; or, if {name} misspells another stage, correct it" + (f" in {rows}" if rows else "")
        elif not products:
            message += (f"; or, if {name} is no stage of the plant, delete its rows from the Stages and Overhead "
                        "Rates tables")
        return Issue(issue.code, table, message, issue.source)

    def _without_conversion_account(self, issue: Issue) -> Issue | None:
        """The close's MISSING_KEY at ``accounts.conversion_costs`` (a stage has a conversion element,
        and the chart no account to credit its added cost to), at the Accounts table — where the row
        is added — and in the workbook's terms: each stage with a conversion element, its Elements
        rows and the Production rows of the products made in it, and the row to add.  The close
        names the products' stages by data path (``products[0].stages[1]``) and says to add
        ``accounts.conversion_costs: {code, name}``.  None for any other issue."""
        data = self.data if self.data is not None else self.partial
        table = self.places.get("accounts")
        if issue.code != "MISSING_KEY" or issue.path != "accounts.conversion_costs" or not isinstance(
                data, dict) or not table:
            return None
        by_stage: dict[str, tuple[list[str], list[str]]] = {}  # stage -> (its Elements cells, its Production cells)
        for i, product in enumerate(data.get("products") or []):
            for j, stage in enumerate(product.get("stages") or []):
                elements = stage.get("elements") if isinstance(stage.get("elements"), dict) else {}
                converting = [name for name, element in elements.items()
                              if isinstance(element, dict) and element.get("kind") == "conversion"]
                if not converting or not isinstance(stage.get("name"), str):
                    continue
                element_cells, production_cells = by_stage.setdefault(stage["name"], ([], []))
                path = f"products[{i}].stages[{j}]"
                element_cells.extend(cell.ref for name in converting
                                     if (cell := self.cells.get(f"{path}.elements.{name}")) is not None
                                     and cell.ref not in element_cells)
                if (cell := self.cells.get(path)) is not None:
                    production_cells.append(cell.ref)
        if not by_stage:
            return None
        stages = []
        for stage, (element_cells, production_cells) in by_stage.items():
            said = f"{stage}" + (f" (Elements: {_and(element_cells)}" if element_cells else "")
            if production_cells:
                said += ("; " if element_cells else " (") + f"Production: {_and(_at_most(production_cells))})"
            elif element_cells:
                said += ")"
            stages.append(said)
        message = (f"no conversion costs account: {'stage' if len(stages) == 1 else 'stages'} {'; '.join(stages)} "
                   f"{'has' if len(stages) == 1 else 'have'} a conversion element (labour and overhead together), "
                   "whose added cost the close credits to a conversion costs account, and the Accounts table has "
                   "no row for it. Add a row to the Accounts table: Role conversion_costs, Stage blank, and the "
                   "Code and Name of the account; or, if labour and overhead are kept apart, give those elements "
                   "the kind labour or overhead in the Elements table")
        return Issue(issue.code, table, message, issue.source)


def _at_most(refs: list[str], shown: int = 3) -> list[str]:
    """``refs``, the first ``shown`` of a longer list and how many more.

    >>> _at_most(["A1", "A2"]), _at_most(["A1", "A2", "A3", "A4", "A5"])
    (['A1', 'A2'], ['A1', 'A2', 'A3', '2 more'])
    """
    return refs if len(refs) <= shown + 1 else refs[:shown] + [f"{len(refs) - shown} more"]


_STAGE_NAME = re.compile(r"products\[([0-9]+)\]\.stages\[([0-9]+)\]\.name")
_ELEMENT_PATH = re.compile(r"products\[([0-9]+)\]\.stages\[([0-9]+)\]\.elements\.(.+)")


def _renumbered(issue: Issue, kept: list[int]) -> Issue:
    """``issue`` of the ``k``-th product of those ``kept`` at the ``kept[k]``-th.

    >>> _renumbered(Issue("X", "products[1].shipments", "m"), [0, 2]).path
    'products[2].shipments'
    """
    at = _PRODUCT_PATH.match(issue.path)
    if at is None:
        return issue
    return Issue(issue.code, f"products[{kept[int(at[1])]}]{issue.path[len(f'products[{at[1]}]'):]}", issue.message,
                 issue.source)


def _and(names: list[str]) -> str:
    """Names listed in a sentence.

    >>> _and(["Espresso Classic"]), _and(["A", "B"]), _and(["A", "B", "C"])
    ('Espresso Classic', 'A and B', 'A, B and C')
    """
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# How a newer function is stored in the file (_xlfn.XOR), not how Excel shows it (XOR).
_EXCEL_2013_PREFIX = re.compile(r"_xl(?:fn|ws)\.")


class _Reader:
    def __init__(self, source: TableSource, vouched_for: Callable[[str], frozenset[str]] | None = None):
        self.source = source
        self.vouched_for = vouched_for
        self.period: Any = None  # the Settings' period, as read
        self._vouched: frozenset[str] | None = None
        # Look-alike products the ledger keeps apart, by their exact names (``look_alikes``): None
        # until a table names one product in two spellings (the ledger is asked only then).
        self._apart: frozenset[str] | None = None
        self.issues: list[Issue] = []
        self.locale = "en_US"
        self.result = WorkbookInput(None, self.issues)
        self.bad_rows: dict[str, list[Row]] = {}
        self.unreadable_stage = False  # a Stages row whose Stage cell cannot be read (#N/A)

    # ---- problems ------------------------------------------------------------------------
    def problem(self, code: str, where: str, message: str, held: tuple = (_ALL,)) -> None:
        """A problem at ``where``; ``held``: what of the close's own checks it makes unreliable (see
        ``WorkbookInput.held``) — by default all of them, so a problem not said otherwise hides the
        close's checks rather than lets them report what follows from it."""
        self.issues.append(Issue(code, where, message))
        self.result.held.update(held)

    def hold_row(self, table: str, values: dict[str, Any]) -> None:
        """What a refused row of ``table`` leaves out of the close data, for its follow-ons to be
        held back (``_ROW_HOLDS``): a cost the comparisons of its product's cost from its stage on;
        a driver quantity its product-stage's quantity missing; a count nothing; an opening WIP its
        product-stage (an opening WIP cost also the comparisons); a production row, shipment or
        opening layer its product (its stages' flow); an overhead rate its pool's rate missing."""
        product, stage = _fold(values.get("product")), _fold(values.get("stage"))
        self.result.held.update(_ROW_HOLDS.get(table, lambda p, s: (_ALL,))(product, stage))

    def vouched(self, name: str) -> bool:
        """Whether the ledger vouches for ``name``: the close the workbook's month opens from (or the
        month's own, which it replaces after a reopen) was recorded with it (``vouched_for``: asked
        once, and only about a name with a problem — reading a close's inputs takes a while)."""
        return name in self.vouched_names()

    def vouched_names(self) -> frozenset[str]:
        if self.vouched_for is None or not isinstance(self.period, str):
            return frozenset()
        if self._vouched is None:
            self._vouched = frozenset(self.vouched_for(self.period))
        return self._vouched

    def look_alikes(self, names: Any) -> None:
        """When ``names`` (a table's products, as typed) spell one product two ways, which look-alike
        names are two products: those of which the ledger vouches for two or more spellings of one
        ``product_key`` (a ledger from before such names were folded together may hold both, each
        with its own WIP and finished goods, as the close keeps them apart: ``_kept_apart``)."""
        if self._apart is not None:
            return
        spelt: dict[Any, str] = {}
        if all(spelt.setdefault(_fold(name), name) == name for name in names):
            return
        by_key: dict[str, set[str]] = {}
        for name in self.vouched_names():
            by_key.setdefault(product_key(name), set()).add(name)
        self._apart = frozenset(name for twins in by_key.values() if len(twins) > 1 for name in twins)

    def product_id(self, name: Any) -> Any:
        """What identifies a product in the tables: its name folded (``_fold``), or the exact name of
        a look-alike the ledger keeps apart (``look_alikes``)."""
        return name if self._apart and name in self._apart else _fold(name)

    # ---- tables and cells ---------------------------------------------------------------
    def table(self, name: str, required: bool = True) -> tuple[TableSpec, TableData | None, dict[str, int]]:
        spec = TABLE_BY_NAME[name]
        data = self.source.table(name)
        if data is None:
            if required:
                self.problem("MISSING_TABLE", f"{spec.sheet} (table {name})",
                             f"the workbook has no table named {name!r} ({spec.purpose}); restore it from "
                             "templates/close-template.xlsx or create it with Insert > Table and name it "
                             f"{name} (Table Design > Table Name)")
            else:
                self.no_longer_a_table(spec)
            return spec, None, {}
        self.result.tables[name] = data
        columns: dict[str, int] = {}
        by_header = {normalise_header(c.header): c for c in spec.columns}
        for k, cell in enumerate(data.header):
            col = by_header.get(normalise_header(cell.value))
            if col is None:
                continue
            if col.key in columns:
                # Two columns read as one (case and spaces aside): which figures were meant is not
                # known, and taking the first would close on one of them without a word.
                first = data.header[columns[col.key]]
                self.problem("DUPLICATE_COLUMN", cell.ref,
                             f"table {name} has two {col.header!r} columns ({first.coordinate} {first.value!r} and "
                             f"{cell.coordinate} {cell.value!r}, alike once case and spaces are set aside); keep one of "
                             "them, or rename the other")
                continue
            columns[col.key] = k
        header_ref = f"{data.header[0].ref}:{data.header[-1].coordinate}" if data.header else data.location
        if not data.header_row:  # no header cells at all: one problem, not one per column
            headers = ", ".join(c.header for c in spec.columns if c.required)
            self.problem("MISSING_COLUMN", data.location,
                         f"the header row of table {name} is turned off, so its columns cannot be found by their "
                         f"headers ({headers}); turn it on (Table Design > Header Row) and give the columns "
                         "those headers")
            return spec, data, columns
        for col in spec.columns:
            if col.required and col.key not in columns:
                found = ", ".join(repr(c.value) for c in data.header if c.value is not None)
                self.problem("MISSING_COLUMN", header_ref,
                             f"table {name} has no column {col.header!r}; "
                             + (f"its headers are {found}" if found else "its header row is empty")
                             + "; add the column or correct its header")
        self.data_below(data)
        for rng in data.merged:
            self.problem("MERGED_CELLS", f"{_quote(data.sheet)}!{rng}",
                         f"merged cells inside table {name}; unmerge them (Home > Merge & Center) so that each "
                         "cell holds one value")
        return spec, data, columns

    def no_longer_a_table(self, spec: TableSpec) -> None:
        """An optional table the workbook does not have, whose data is still on its sheet: the table
        converted to a range (Table Design > Convert to Range) or renamed, its header row and rows
        left where they were.  Absent, an optional table is read as empty — shipments, counts, a
        driver quantity, the opening balances or the tie to the general ledger would then be left out
        of the close without a word — so it may be absent only when its sheet holds no such data:
        no row with its required headers side by side (outside the workbook's own tables) with
        anything typed under it.  Only a source that can show a sheet's cells (``sheet_cells``) is
        asked; a header row with nothing under it is nothing to read."""
        sheet_cells = getattr(self.source, "sheet_cells", None)
        found = sheet_cells(spec.sheet) if sheet_cells is not None else None
        if found is None:
            return
        title, cells, tables = found
        ours = [range_boundaries(ref) for table, ref in tables.items() if table.casefold() in _TABLE_NAMES]
        free = {at: v for at, v in cells.items()
                if not any(a <= at[1] <= c and b <= at[0] <= d for a, b, c, d in ours)}
        wanted = {normalise_header(c.header) for c in spec.columns if c.required}
        by_row: dict[int, list[int]] = {}
        for r, c in free:
            by_row.setdefault(r, []).append(c)
        for r in sorted(by_row):
            columns = sorted(by_row[r])
            runs, start = [], columns[0]
            for prev, col in zip(columns, columns[1:] + [None]):
                if col != prev + 1:
                    runs.append((start, prev))
                    start = col
            for first, last in runs:
                if not wanted <= {normalise_header(free[(r, c)]) for c in range(first, last + 1)
                                  if isinstance(free[(r, c)], str)}:
                    continue
                below = sorted({row for row, col in free if row > r and first <= col <= last})
                if not below:
                    continue  # a header row with nothing under it: nothing to read
                end = below[0]
                while end + 1 in below:
                    end += 1
                where = f"{get_column_letter(first)}{r}:{get_column_letter(last)}{end}"
                other = next((table for table, ref in tables.items()
                              if table.casefold() not in _TABLE_NAMES and _inside(ref, r, first)), None)
                if other is not None:
                    message = (f"the rows of table {spec.name} ({spec.purpose}) are here, in a table named "
                               f"{other!r}, and the workbook has no Excel table named {spec.name}, so the close would leave its rows out; rename it "
                               f"{spec.name} (Table Design > Table Name), or, if there is nothing to read, delete "
                               "the rows")
                else:
                    message = (f"the header row and rows of table {spec.name} ({spec.purpose}) are here, but the "
                               f"workbook has no Excel table named {spec.name} — converted to a range? — so the "
                               f"close would leave them out; select {where} and make it a table (Insert > Table, My table has "
                               f"headers) named {spec.name} (Table Design > Table Name), or, if there is nothing to "
                               "read, delete the rows")
                if spec.first_period_only:  # a problem in the ledger's first month only (``in_first_month``)
                    self.result.first_month_only.append(Issue("MISSING_TABLE", f"{_quote(title)}!{where}", message))
                else:
                    self.problem("MISSING_TABLE", f"{_quote(title)}!{where}", message)
                return

    def data_below(self, data: TableData) -> None:
        typed_below = [c for c in data.below if not c.is_blank]
        if not typed_below:
            return
        row = int(_row_number(typed_below[0].coordinate))
        end = int(_row_number(data.ref.split(":")[-1]))
        where = "just below" if row == end + 1 else f"{row - end - 1} blank row(s) below"
        self.problem("DATA_BELOW_TABLE", typed_below[0].ref,
                     f"row {row} has data {where} table {data.name}, which ends at row {end}, so the close would "
                     "not see it; extend the table over it (Table Design > Resize Table) or move it")

    def rows(self, name: str, required: bool = True) -> list[Row]:
        spec, data, columns = self.table(name, required)
        if data is None or any(c.required and c.key not in columns for c in spec.columns):
            self.result.rows[name] = []
            return []
        parsed: list[Row] = []
        blanks: list[Cell] = []
        seen: dict[tuple, Cell] = {}
        if "product" in spec.key:  # each name typed once: a table of 50,000 rows names a few products
            column = columns["product"]
            typed = {raw[column].value for raw in data.rows if column < len(raw) and isinstance(raw[column].value, str)}
            self.look_alikes(_text(name) for name in typed)
        for raw in data.rows:
            mapped = {key: raw[k] for key, k in columns.items() if k < len(raw)}
            if all(c.is_blank for c in raw):
                blanks.append(raw[0])
                continue
            for cell in blanks:  # blank rows followed by data: something was cleared, not deleted
                self.problem("EMPTY_ROW", cell.ref,  # nothing left out: nothing held
                             f"row {cell.coordinate.lstrip('ABCDEFGHIJKLMNOPQRSTUVWXYZ')} of table {name} is "
                             "empty between rows with data; delete the row (right-click > Delete > Table Rows) "
                             "or fill it in", held=())
            blanks = []
            values: dict[str, Any] = {}
            ok = True
            for col in spec.columns:
                cell = mapped.get(col.key)
                if cell is None:
                    continue
                try:
                    value = self.value(cell, col.kind, col.choices, col.header)
                except CellNumberError as e:
                    self.problem(e.code, cell.ref, f"{col.header}: {e.message}", held=())
                    ok = False
                    continue
                if value is None and col.required:
                    self.problem("MISSING_VALUE", cell.ref, f"{col.header} is required in every row of table {name}",
                                 held=())
                    ok = False
                values[col.key] = value
            row = Row(values, mapped, raw[0])
            if not ok:  # reported; kept aside so that rows referring to it do not fail as well
                self.bad_rows.setdefault(name, []).append(row)
                self.hold_row(name, values)
            if spec.key and ok:
                key = tuple(self.product_id(values.get(k)) if k == "product" else _fold(values.get(k))
                            for k in spec.key)
                if key in seen:
                    what = " / ".join(str(values.get(k)) for k in spec.key if values.get(k) is not None)
                    self.problem("DUPLICATE_ROW", raw[0].ref,
                                 f"{what} is already in row {seen[key].ref} of table {name}; keep one row and "
                                 "delete the other", held=())
                    self.hold_row(name, values)
                    ok = False
                else:
                    seen[key] = raw[0]
            if ok:
                parsed.append(row)
        self.result.rows[name] = parsed
        return parsed

    def value(self, cell: Cell, kind: str, choices: tuple[str, ...] = (), header: str = "") -> Any:
        if cell.not_calculated:  # a formula whose result is empty text is calculated: a blank cell
            raise CellNumberError("FORMULA_NOT_CALCULATED",
                                  f"the formula {cell.formula} has no calculated value (the file was saved by a "
                                  "program that does not calculate); open and save it in Excel or LibreOffice, "
                                  "or type the value")
        v = formula_result(cell.value, cell.formula)  # =D5>0 saved by LibreOffice as 1: TRUE
        # Stored as an error (t="e"), whatever it shows, or an error's text typed in (#N/A).
        if isinstance(v, ExcelError) or isinstance(v, str) and v.strip() in EXCEL_ERRORS:
            raise CellNumberError("FORMULA_ERROR", f"the cell shows the error {v.strip()}; correct the formula "
                                                   "or the cells it uses")
        if cell.is_blank:
            return None
        if isinstance(v, bool) and v is not cell.value and kind not in ("text", "choice", "period", "added"):
            # Saved as 1 or 0 under the cell's number format, so the cell shows $1.00 where the
            # message would say TRUE: name the formula (as Excel shows it), which is what to change.
            shown = _EXCEL_2013_PREFIX.sub("", cell.formula or "")
            raise CellNumberError("NOT_A_NUMBER", f"expected a number, found {'TRUE' if v else 'FALSE'}: the "
                                                  f"formula {shown} gives TRUE or FALSE, which the cell's number "
                                                  f"format shows as the number {int(v)}; make it give the number")
        if kind in ("text", "choice"):
            text = _text(v)
            if kind == "choice":
                word = text.strip().lower().replace(" ", "_").replace("-", "_")
                if word not in choices:
                    raise CellNumberError("INVALID_CHOICE", f"expected one of {', '.join(choices)}; found {text!r}")
                return word
            return text
        if kind == "period":
            if isinstance(v, (dt.datetime, dt.date)):
                if v.day != 1:
                    raise CellNumberError("INVALID_PERIOD", f"expected a month YYYY-MM, found the date {v:%Y-%m-%d}")
                return f"{v.year:04d}-{v.month:02d}"
            text = _text(v).strip()
            if not is_period(text):
                raise CellNumberError("INVALID_PERIOD", f"expected a month YYYY-MM, found {text!r}")
            return text
        if kind == "balance":  # a ledger balance: either sign; its places are the close's to check
            return cell_decimal(v, self.locale)
        if kind == "added":
            if isinstance(v, str) and v.strip().lower() in ("start", "end", "evenly"):
                return v.strip().lower()
            try:
                number = cell_decimal(v, self.locale, percent=True)
            except CellNumberError as error:  # a word (or a date, TRUE…): a choice, not a bad number
                if error.code != "NOT_A_NUMBER":
                    raise
                found = repr(_text(v).strip()) if isinstance(v, str) else as_written(v)
                raise CellNumberError("INVALID_CHOICE", f"expected start, end, evenly or a point between 0% and "
                                                        f"100%, found {found}") from None
            if not Decimal(0) < number < Decimal(1):
                raise CellNumberError("ADDED_OUT_OF_RANGE", f"expected start, end, evenly or a point between 0% "
                                                            f"and 100%, found {percent_text(number)}")
            return number
        number = cell_decimal(v, self.locale, percent=kind == "fraction")
        if kind == "fraction":
            what = "completion" if "complete" in header.lower() else "the rate" if "rate" in header.lower() else \
                "the inspection point"
            if number > 1:
                # The percent too, as the close file says it: 55 is 5500%, where 55% (0.55) was meant.
                raise CellNumberError("PROGRESS_OUT_OF_RANGE",
                                      f"{what} {number} ({percent_text(number)}) is above 100%")
            if number < 0:
                raise CellNumberError("PROGRESS_OUT_OF_RANGE", f"{what} {number} ({percent_text(number)}) is below 0%")
        elif kind == "units" and number < 0:
            raise CellNumberError("NEGATIVE_UNITS", f"units cannot be negative, found {number}")
        elif kind in ("amount", "rate") and number < 0:
            raise CellNumberError("NEGATIVE_AMOUNT", f"cannot be negative, found {number}")
        return number

    def mark(self, path: str, cell: Cell | None) -> None:
        if cell is not None:
            self.result.cells[path] = cell

    # ---- the close data -----------------------------------------------------------------
    def read(self) -> WorkbookInput:
        data: dict[str, Any] = {}
        self.read_settings(data)
        accounts = self.read_accounts()
        data["accounts"] = accounts
        general_ledger = self.read_general_ledger()
        if general_ledger is not None:  # an empty table: no tie, and the same data as before the table
            data["general_ledger"] = general_ledger
        stage_order = self.read_stages()
        self.check_wip_account_stages(accounts["wip"], stage_order)
        data["overhead"] = self.read_overhead(stage_order)
        data["products"] = self.read_products(stage_order)
        self.result.data = None if self.issues else data
        self.result.partial = data  # with what could not be read left out: for the close's checks
        self.result.locale = self.locale
        return self.result

    def read_settings(self, data: dict) -> None:
        spec, table, columns = self.table("Settings")
        if table is None or "value" not in columns or "setting" not in columns:
            return
        by_label = {normalise_header(label): (label, key, kind, choices, required)
                    for label, key, kind, choices, required, _ in SETTINGS}
        by_label.update({normalise_header(key.replace("_", " ")): v for v in list(by_label.values())
                         for key in [v[1]]})
        cells: dict[str, tuple[Cell, Cell, tuple]] = {}
        for raw in table.rows:
            label_cell, value_cell = raw[columns["setting"]], raw[columns["value"]]
            if label_cell.is_blank and value_cell.is_blank:
                continue
            try:  # an error value (#N/A) is the formula's problem, not an unknown setting
                self.value(label_cell, "text")
            except CellNumberError as e:
                self.problem(e.code, label_cell.ref, f"Setting: {e.message}")
                continue
            entry = by_label.get(normalise_header(label_cell.value))
            if entry is None:
                known = ", ".join(label for label, *_ in SETTINGS)
                self.problem("UNKNOWN_SETTING", label_cell.ref,
                             f"unknown setting {label_cell.value!r}; the settings are {known}")
                continue
            if entry[1] in cells:
                self.problem("DUPLICATE_ROW", label_cell.ref,
                             f"setting {entry[0]} is already in row {cells[entry[1]][0].ref}; keep one")
                continue
            cells[entry[1]] = (label_cell, value_cell, entry)
        # The locale first: it says how numbers typed as text are read.
        if "locale" in cells:
            cell = cells["locale"][1]
            self.mark("locale", cell)
            try:  # an error value (#NULL!) is the formula's problem, not an unknown locale
                text = self.value(cell, "text")
            except CellNumberError as e:
                self.problem(e.code, cell.ref, f"Locale: {e.message}")
                text = None
            if text is not None:
                if is_known_locale(text):
                    self.locale = text
                    data["locale"] = text
                else:
                    self.problem("UNKNOWN_LOCALE", cell.ref, f"unknown locale {text!r}; expected e.g. en_US, de_DE")
        table_ref = table.location
        for label, key, kind, choices, required, _ in SETTINGS:
            if key == "locale":
                continue
            if key not in cells:
                self.result.places[key] = table_ref
                if required:
                    self.problem("MISSING_VALUE", table_ref, f"setting {label} is missing; add a row {label!r} to "
                                                             "the Settings table")
                continue
            cell = cells[key][1]
            self.mark(key, cell)
            try:
                value = self.value(cell, "text" if kind == "text" else kind, choices, label)
            except CellNumberError as e:
                self.problem(e.code, cell.ref, f"{label}: {e.message}")
                continue
            if value is None:
                if required:
                    self.problem("MISSING_VALUE", cell.ref, f"setting {label} is required")
                continue
            if key == "currency" and not self.known_currency(value, cell):
                continue
            data[key] = value
            if key == "period":
                self.period = value

    def known_currency(self, code: str, cell: Cell) -> bool:
        """Checked here, at the Currency cell, with a hint when only the case is wrong (``usd``)."""
        from .._currency import is_known_currency

        if is_known_currency(code):
            return True
        hint = f"; type it as {code.strip().upper()}" if is_known_currency(code.strip().upper()) else \
            ", e.g. USD, EUR, JPY"
        self.problem("UNKNOWN_CURRENCY", cell.ref, f"Currency: unknown currency {code!r}; expected an ISO 4217 "
                                                   f"code in capitals{hint}")
        return False

    def check_wip_account_stages(self, wip: dict, stages: list[str]) -> None:
        """A WIP account's stage spelled otherwise than in Stages, reported at the account's row
        (the close would report the stages as lacking a WIP account, at the Production rows)."""
        by_fold = {_fold(stage): stage for stage in stages}
        for stage in list(wip):
            if stage in stages or not isinstance(stage, str):
                continue
            cell = self.result.cells.get(f"accounts.wip.{stage}.stage")
            where = cell.ref if cell is not None else "Accounts"
            meant = by_fold.get(_fold(stage))
            if meant is not None:
                self.problem("INCONSISTENT_NAME", where, f"stage {stage!r} is written {meant!r} in the Stages table; "
                                                         "write it the same way here")
            elif not self.unreadable_stage:
                self.problem("UNKNOWN_STAGE", where, f"stage {stage!r} is not in the Stages table; add it there or "
                                                     "correct the name")

    def read_accounts(self) -> dict:
        accounts: dict[str, Any] = {}
        wip: dict[str, Any] = {}
        for row in self.rows("Accounts"):
            role, stage = row.get("role"), row.get("stage")
            entry = {"code": row.get("code"), "name": row.get("name")}
            if role == "wip":
                if not stage:
                    self.problem("MISSING_VALUE", row.cells["role"].ref,
                                 "a wip account needs the Stage it is the WIP account of")
                    continue
                path = f"accounts.wip.{stage}"
                wip[stage] = entry
                self.mark(path + ".stage", row.cells.get("stage"))
            else:
                if stage:
                    self.problem("INVALID_VALUE", row.cells["stage"].ref,
                                 f"only wip accounts belong to a stage; clear the Stage of the {role} account")
                    continue
                path = f"accounts.{role}"
                accounts[role] = entry
            self.mark(path, row.first)
            self.mark(path + ".code", row.cells.get("code"))
            self.mark(path + ".name", row.cells.get("name"))
        accounts["wip"] = wip
        spec, table = TABLE_BY_NAME["Accounts"], self.result.tables.get("Accounts")
        self.result.places["accounts"] = table.location if table else f"{spec.sheet} (table Accounts)"
        return accounts

    def read_general_ledger(self) -> dict | None:
        """The GeneralLedger table (optional; empty: no tie) as ``general_ledger.balances``: code ->
        balance.  Codes are text, read as the Accounts table's are (1310 typed as a number is
        "1310"); which codes the close can tie, and the balances' places, the close checks — its
        issues come back here: about the account (unknown, or overhead control shared with COGS) at
        the row's code cell, the rest at its balance."""
        rows = self.rows("GeneralLedger", required=False)
        table = self.result.tables.get("GeneralLedger")
        if table is not None:
            self.result.places["general_ledger"] = table.location
        balances: dict[str, Decimal] = {}
        first: dict[str, Cell] = {}
        for row in rows:
            code, cell = row.get("code"), row.cells["code"]
            if code in first:  # exact: the close keys accounts by code as typed, upper/lower case included
                self.problem("DUPLICATE_ROW", cell.ref,
                             f"account {code} is already in row {first[code].ref} of table GeneralLedger; give "
                             "each account's balance once: keep one row and delete the other",
                             held=((_TIE_OF, code),))  # which balance is meant is not known: its tie only
                continue
            first[code] = cell
            balances[code] = row.get("balance")
            path = f"general_ledger.balances.{code}"
            self.mark(path, row.cells["balance"])
            for code_issue in _ABOUT_THE_ACCOUNT:
                self.result.key_cells[(code_issue, path)] = cell
        return {"balances": balances} if balances else None

    def read_stages(self) -> list[str]:
        rows = self.rows("Stages")
        orders: dict[Decimal, Cell] = {}
        for row in rows:
            order = row.get("order")
            if order in orders:
                self.problem("DUPLICATE_ROW", row.cells["order"].ref,
                             f"order {order} is already used in {orders[order].ref}; give each stage its own "
                             "place in the flow")
            orders[order] = row.cells["order"]
        # A row refused for its Order still names a stage: the stage is known, only its place in
        # the flow is not (reported at the Order cell).  A row whose Stage cannot be read could
        # name any stage: no name elsewhere is then said to be missing from the table.
        refused = self.bad_rows.get("Stages", [])
        ordered = sorted(rows, key=lambda r: r.get("order")) + [r for r in refused if r.get("stage")]
        self.unreadable_stage = any(not r.get("stage") for r in refused)
        self.stage_rows = {r.get("stage"): r for r in ordered}
        self.result.stage_cells = {r.get("stage"): r.cells["stage"] for r in ordered if "stage" in r.cells}
        return [r.get("stage") for r in ordered]

    def unknown_stage(self, stage: Any, cell: Cell, held: tuple = (_ALL,)) -> None:
        """UNKNOWN_STAGE at ``cell``, unless a Stages row whose Stage cannot be read may be it."""
        if not self.unreadable_stage:
            self.problem("UNKNOWN_STAGE", cell.ref,
                         f"stage {stage!r} is not in the Stages table; add it there or correct the name", held)
        else:
            self.result.held.update(held)

    def misspelt_products(self, products: dict[str, list[Row]]) -> None:
        """A product of the Production table like another (``_closest``) whose stages are those the
        other lacks (``Espreso Classic`` / Assembly beside ``Espresso Classic`` / Testing, Packaging)
        is that product misspelt: said at its cells, and its rows read as the product meant — not a
        product of its own, whose stages every Costs, Drivers or Opening row of the meant product
        would be told are missing (ten problems for one typo).  Look-alikes the ledger keeps apart
        are two products; so are names whose stages overlap (``Line 1`` and ``Line 2``)."""
        by_fold = {_fold(name): name for name in products}
        for name in sorted(products, key=lambda n: len(products[n])):  # the fewer rows are the typo
            if name not in products or not isinstance(name, str) or name in (self._apart or frozenset()):
                continue
            like = _closest(_fold(name), [f for f in by_fold if f != _fold(name) and by_fold[f] in products])
            meant = by_fold.get(like) if like is not None else None
            if meant is None or len(products[meant]) < len(products[name]):
                continue
            theirs = {_fold(r.get("stage")) for r in products[meant]}
            if any(_fold(r.get("stage")) in theirs for r in products[name]):
                continue
            for row in products[name]:
                self.problem("INCONSISTENT_NAME", row.cells["product"].ref,
                             f"product {name!r} is likely {meant!r} misspelt: its rows give the stages "
                             f"{meant!r} lacks ({products[meant][0].cells['product'].ref}); write it the same way "
                             "in every row", held=())
            products[meant].extend(products.pop(name))

    def _refused_cell(self, row: Row, key: str) -> bool:
        """Whether a problem was said at ``row``'s ``key`` cell (the row is then kept aside)."""
        cell = row.cells.get(key)
        return cell is not None and any(issue.path == cell.ref for issue in self.issues)

    def read_overhead(self, stages: list[str]) -> dict:
        overhead = {}
        # A row whose only refused cell is its Actual still applies its rate: the pool is kept, with
        # no actual overhead (only overhead control's tie reads it: held back, ``_ROW_HOLDS``).
        rows = self.rows("OverheadRates")  # reading them keeps the refused ones aside (``bad_rows``)
        refused = [row for row in self.bad_rows.get("OverheadRates", [])
                   if row.get("stage") in stages and row.get("driver") is not None and row.get("rate") is not None
                   and not self._refused_cell(row, "driver") and not self._refused_cell(row, "rate")]
        for row in [*rows, *refused]:
            stage = row.get("stage")
            if row in refused and stage in overhead:
                continue  # a row of its stage was read: it is the one taken (DUPLICATE_ROW otherwise said)
            if stage not in stages:
                # A pool left out: what its stage's overhead would apply, of the stage it most likely
                # meant (of any when like none), and overhead control's tie — nothing else.
                meant = _closest(_fold(stage), [_fold(s) for s in stages])
                self.unknown_stage(stage, row.cells["stage"], held=((_POOL, meant), _OVERHEAD_TIE))
                continue
            actual = row.get("actual")
            overhead[stage] = {"driver": row.get("driver"), "rate": row.get("rate"),
                               "actual": actual if row not in refused else Decimal(0)}
            path = f"overhead.{stage}"
            self.mark(path, row.first)
            for key in ("driver", "rate", "actual"):
                self.mark(f"{path}.{key}", row.cells.get(key))
        return overhead

    def read_products(self, stages: list[str]) -> list[dict]:
        production = self.rows("Production")
        elements = self.rows("Elements")
        costs = self.rows("Costs")
        drivers = self.rows("Drivers", required=False)
        shipments = self.rows("Shipments", required=False)
        counts = self.rows("Counts", required=False)
        opening = self.rows("OpeningWIP", required=False)
        opening_cost = self.rows("OpeningWIPCost", required=False)
        opening_fg = self.rows("OpeningFG", required=False)

        products: dict[str, list[Row]] = {}
        # Each product's one spelling by its folded name (a second spelling is refused below), so a
        # row finds its product's spelling in one look-up, not a scan of every product (50,000 rows).
        # (Look-alikes the ledger keeps apart are two products: ``look_alikes``.)
        spelt: dict[Any, list[str]] = {}
        respelled: list[Row] = []  # rows naming a product in other upper/lower case or spacing: refused, once
        invalid: list[Row] = []  # rows whose product name cannot be printed on one line: refused, once
        for row in production:
            stage = row.get("stage")
            if stage not in stages:
                self.unknown_stage(stage, row.cells["stage"], held=((_PRODUCT, _fold(row.get("product"))),))
                continue
            name = row.get("product")
            problem = name_problem(name) if isinstance(name, str) else None
            if problem and self.vouched(name):  # as the close that recorded it accepted it
                problem = name_problem(name, vouched=True)
            if problem:  # said at this cell; the product's rows spelt well are not measured against it
                self.problem("INVALID_NAME", row.cells["product"].ref,
                             f"product name {name!r} {problem}; it is printed on reports and carried to the next "
                             "close: retype it on one line", held=((_PRODUCT, _fold(name)),))
                invalid.append(row)
                continue
            spellings = spelt.setdefault(_fold(name), [])
            first = next((other for other in spellings
                          if other != name and not {name, other} <= (self._apart or frozenset())), name)
            if first != name:  # two spellings of one product would close as two products
                self.problem("INCONSISTENT_NAME", row.cells["product"].ref,
                             f"product {name!r} differs from {first!r} ({products[first][0].cells['product'].ref}) "
                             f"only in {_how_they_differ(name, first)}; write it the same way in every row",
                             held=((_PRODUCT, _fold(name)),))
                respelled.append(row)
                continue
            if name not in spellings:
                spellings.append(name)
            products.setdefault(name, []).append(row)
        self.misspelt_products(products)
        refused = _Refused([(r.get("product"), r.get("stage")) for r in self.bad_rows.get("Production", [])] +
                           [(r.get("product"), r.get("stage")) for r in production if r.get("stage") not in stages] +
                           [(r.get("product"), r.get("stage")) for r in respelled + invalid])
        index = {name: i for i, name in enumerate(products)}
        folded = {self.product_id(p): p for p in products}  # by ``product_id``
        folds = {_fold(p) for p in products}  # as the close's checks held back are keyed (``_follows``)
        stage_index: dict[tuple[str, str], tuple[int, int]] = {}
        out = []
        for name, rows in products.items():
            rows.sort(key=lambda r: stages.index(r.get("stage")))
            i = index[name]
            self.mark(f"products[{i}]", rows[0].cells["product"])
            self.mark(f"products[{i}].name", rows[0].cells["product"])
            product: dict[str, Any] = {"name": name, "stages": []}
            for j, row in enumerate(rows):
                stage_index[(self.product_id(name), _fold(row.get("stage")))] = (i, j)
                product["stages"].append(self.stage(row, f"products[{i}].stages[{j}]"))
            out.append(product)

        # Elements: a product's own rows for a stage replace the blank-product rows of that stage.
        general: dict[str, list[Row]] = {}
        specific: dict[tuple[str, str], list[Row]] = {}
        for row in elements:
            stage = row.get("stage")
            if stage not in stages:
                self.unknown_stage(stage, row.cells["stage"])
                continue
            if row.get("product") is None:
                general.setdefault(_fold(stage), []).append(row)
            elif refused.product(row.get("product")) and self.product_id(row.get("product")) not in folded:
                continue
            elif self.product_id(row.get("product")) not in folded:
                self.problem("UNKNOWN_PRODUCT", row.cells["product"].ref,
                             f"product {row.get('product')!r} has no rows in the Production table")
            else:
                specific.setdefault((self.product_id(row.get("product")), _fold(stage)), []).append(row)
        for product in out:
            i = index[product["name"]]
            for j, stage in enumerate(product["stages"]):
                path = f"products[{i}].stages[{j}]"
                rows = (specific.get((self.product_id(product["name"]), _fold(stage["name"])))
                        or general.get(_fold(stage["name"]), []))
                if not rows:
                    self.problem("MISSING_ELEMENTS", self.result.cells[path].ref,
                                 f"{product['name']} / {stage['name']}: no cost elements; add rows for stage "
                                 f"{stage['name']!r} to the Elements table",
                                 held=((_STAGE, _fold(product["name"]), _fold(stage["name"])),))
                for row in rows:
                    element = row.get("element")
                    stage["elements"][element] = {"kind": row.get("kind"), "added": row.get("added")}
                    self.mark(f"{path}.elements.{element}", row.cells["element"])
                    self.mark(f"{path}.elements.{element}.kind", row.cells["kind"])
                    self.mark(f"{path}.elements.{element}.added", row.cells["added"])
                if rows:
                    self.result.places[f"{path}.elements"] = rows[0].cells["element"].ref

        def target(row: Row, table: str, with_stage: bool = True, held: tuple | None = None
                   ) -> tuple[int, int] | int | None:
            """The product (and stage) a row of ``table`` is for; None, said, when it names none.
            Left out then, it holds back what a refused row of the table would (``_ROW_HOLDS``),
            of the product and stage it most likely meant — of any when it is like none."""
            product = row.get("product")
            if refused.stage(product, row.get("stage")) or (
                    self.product_id(product) not in folded and refused.product(product)):
                return None
            if self.product_id(product) not in folded:
                like = _closest(self.product_id(product), folded)
                self.problem("UNKNOWN_PRODUCT", row.cells["product"].ref,
                             f"product {product!r} has no rows in the Production table"
                             + (f" (did you mean {folded[like]!r}?)" if like is not None else "")
                             + "; add them or correct the name",
                             held if held is not None else _ROW_HOLDS[table](
                                 _fold(folded[like]) if like is not None else None, None))
                return None
            if not with_stage:
                return index[folded[self.product_id(product)]]
            found = stage_index.get((self.product_id(product), _fold(row.get("stage"))))
            if found is None and not refused.product(product):
                stages_of = [s for (p, s) in stage_index if p == self.product_id(product)]
                self.problem("UNKNOWN_PRODUCT_STAGE", row.cells["stage"].ref,
                             f"{product} / {row.get('stage')} has no row in the Production table; add it or "
                             "correct the product or stage",
                             held if held is not None else _ROW_HOLDS[table](
                                 _fold(folded[self.product_id(product)]), _closest(_fold(row.get("stage")), stages_of)))
            return found

        for row in costs:
            # A cost of no product-stage (a misspelt product or stage) is left out of the one it meant
            # (``WorkbookInput._cost_short``: the product and stage most like those typed).
            found = target(row, "Costs", held=((_COST, _fold(row.get("product")), _fold(row.get("stage"))),))
            if found is not None:
                i, j = found
                element = row.get("element")
                out[i]["stages"][j]["added_costs"][element] = row.get("amount")
                path = f"products[{i}].stages[{j}].added_costs.{element}"
                self.mark(path, row.cells["amount"])
                for code in _ABOUT_THE_ELEMENT:
                    self.result.key_cells[(code, path)] = row.cells["element"]
        for row in drivers:
            found = target(row, "Drivers")
            if found is not None:
                i, j = found
                out[i]["stages"][j]["driver_quantity"] = row.get("quantity")
                self.mark(f"products[{i}].stages[{j}].driver_quantity", row.cells["quantity"])
        drivers_table = self.result.tables.get("Drivers")
        for product in out:
            i = index[product["name"]]
            for j in range(len(product["stages"])):
                path = f"products[{i}].stages[{j}]"
                self.result.places.setdefault(f"{path}.added_costs", self.result.cells[path].ref)
                if drivers_table is not None:
                    self.result.places.setdefault(f"{path}.driver_quantity", drivers_table.location)
        for row in counts:
            found = target(row, "Counts")
            if found is not None:
                i, j = found
                out[i]["stages"][j]["count"] = row.get("units")
                self.mark(f"products[{i}].stages[{j}].count", row.cells["units"])
        for row in shipments:
            i = target(row, "Shipments", with_stage=False)
            if i is not None:
                out[i]["shipments"] = row.get("units")
                self.mark(f"products[{i}].shipments", row.cells["units"])
        # OpeningWIP rows refused (a cell that cannot be read, an unknown product, stage or
        # product-stage): the opening WIP costs of the product-stage they may have meant are not
        # without opening units of their own (MISSING_OPENING_UNITS would say the one mistake again).
        unplaced = [(r.get("product"), r.get("stage")) for r in self.bad_rows.get("OpeningWIP", [])]
        for row in opening:
            found = target(row, "OpeningWIP")
            if found is None:
                unplaced.append((row.get("product"), row.get("stage")))
            if found is not None:
                i, j = found
                wip = {"units": row.get("units"), "cost": {}}
                if row.get("complete") is not None:
                    wip["complete"] = row.get("complete")
                out[i]["stages"][j]["beginning_wip"] = wip
                path = f"products[{i}].stages[{j}].beginning_wip"
                self.mark(path, row.first)
                self.mark(f"{path}.units", row.cells["units"])
                self.mark(f"{path}.complete", row.cells.get("complete"))
        for row in opening_cost:
            found = target(row, "OpeningWIPCost")
            if found is not None:
                i, j = found
                wip = out[i]["stages"][j].get("beginning_wip")
                held = _first_month((_STAGE, _fold(row.get("product")), _fold(row.get("stage"))), _TIE)
                if wip is None and _may_mean(unplaced, out[i], row.get("stage"), folds):
                    self.result.held.update(held)  # the refused OpeningWIP row's follow-on
                    continue
                if wip is None:
                    self.problem("MISSING_OPENING_UNITS", row.first.ref,
                                 f"{row.get('product')} / {row.get('stage')}: opening WIP cost without opening WIP "
                                 "units; add a row to the OpeningWIP table", held=held)
                    continue
                element = row.get("element")
                wip["cost"][element] = row.get("cost")
                path = f"products[{i}].stages[{j}].beginning_wip.cost.{element}"
                self.mark(path, row.cells["cost"])
                for code in _ABOUT_THE_ELEMENT:
                    self.result.key_cells[(code, path)] = row.cells["element"]
        layers: dict[int, list] = {}
        for row in opening_fg:
            i = target(row, "OpeningFG", with_stage=False)
            if i is not None:
                k = len(layers.setdefault(i, []))
                layer = {"units": row.get("units"), "cost": row.get("cost")}
                if row.get("period") is not None:
                    layer["period"] = row.get("period")
                layers[i].append(layer)
                path = f"products[{i}].opening_finished_goods[{k}]"
                self.mark(path, row.first)
                for key in ("units", "cost", "period"):
                    self.mark(f"{path}.{key}", row.cells.get(key))
        for i, product_layers in layers.items():
            out[i]["opening_finished_goods"] = product_layers
            self.result.places[f"products[{i}].opening_finished_goods"] = self.result.cells[
                f"products[{i}].opening_finished_goods[0]"].ref
        return out

    def stage(self, row: Row, path: str) -> dict:
        self.mark(path, row.cells["stage"])
        self.mark(f"{path}.name", row.cells["stage"])
        stage: dict[str, Any] = {"name": row.get("stage"), "elements": {}}
        v = row.values
        if v.get("started") is not None:
            stage["started"] = v["started"]
        self.mark(f"{path}.started", row.cells.get("started"))
        if v.get("transferred_in") is not None:
            stage["transferred_in"] = {"units": v["transferred_in"]}
        self.mark(f"{path}.transferred_in", row.cells.get("transferred_in"))
        if v.get("completed") is not None:
            stage["completed"] = v["completed"]
        self.mark(f"{path}.completed", row.cells.get("completed"))
        if v.get("ending_units") is not None or v.get("ending_complete") is not None:
            ending = {"units": v.get("ending_units") if v.get("ending_units") is not None else Decimal(0)}
            if v.get("ending_complete") is not None:
                ending["complete"] = v["ending_complete"]
            stage["ending_wip"] = ending
        self.mark(f"{path}.ending_wip", row.cells.get("ending_units"))
        self.mark(f"{path}.ending_wip.units", row.cells.get("ending_units"))
        self.mark(f"{path}.ending_wip.complete", row.cells.get("ending_complete"))
        spoilage = {key: v[key] for key in _SPOILAGE_KEYS if v.get(key) is not None}
        if spoilage:
            stage["spoilage"] = spoilage
        first = next((row.cells[k] for k in ("spoiled", "normal", "normal_rate", "abnormal") if k in row.cells), None)
        self.mark(f"{path}.spoilage", first)
        for key in _SPOILAGE_KEYS:
            self.mark(f"{path}.spoilage.{key}", row.cells.get(key))
        stage["added_costs"] = {}
        return stage


# A Production row's spoilage columns, as the close file's ``spoilage`` keys.  normal_from_rate
# (blank, or a workbook without the column: the close's default, exact) says how normal spoilage
# from normal_rate is counted.
_SPOILAGE_KEYS = ("spoiled", "normal", "normal_rate", "normal_from_rate", "abnormal", "inspection", "disposal_value")


def _may_mean(unplaced: list[tuple[Any, Any]], product: dict, stage: Any, products: Any) -> bool:
    """Whether a refused OpeningWIP row, (product, stage) as typed, may be the one meant for
    ``product``'s ``stage``: the same product (or one that cannot be read) and the same stage, or
    a stage the product does not have (a misspelt stage: any of its stages may be meant); a
    product that is none of ``products`` (folded names: a misspelt product) at the same stage.

    >>> espresso = {"name": "Espresso", "stages": [{"name": "Assembly"}, {"name": "Testing"}]}
    >>> known = {"espresso", "drip"}
    >>> _may_mean([("Espresso", "x")], espresso, "Assembly", known)
    True
    >>> _may_mean([("Espreso", "Assembly")], espresso, "Assembly", known)
    True
    >>> _may_mean([("Espresso", "Testing")], espresso, "Assembly", known)  # Testing's own row
    False
    >>> _may_mean([("Drip", "Assembly")], espresso, "Assembly", known)  # another product's row
    False
    """
    name, here = _fold(product["name"]), _fold(stage)
    stages = {_fold(s.get("name")) for s in product["stages"]}
    for typed_product, typed_stage in unplaced:
        same_product = typed_product is None or _fold(typed_product) == name
        same_stage = typed_stage is None or _fold(typed_stage) == here
        if same_product and (same_stage or _fold(typed_stage) not in stages):
            return True
        if not same_product and same_stage and _fold(typed_product) not in products:
            return True
    return False


class _Refused:
    """Production rows already reported (a bad cell, an unknown stage): rows elsewhere that refer to
    their product-stage are not errors of their own.  A key cell that was itself refused (#N/A,
    blank, merged) leaves its product or stage unknown, so it stands for any."""

    def __init__(self, keys: list[tuple[Any, Any]]):
        self.keys = {(_fold(product), _fold(stage)) for product, stage in keys}
        self.products = {p for p, _ in self.keys}

    def stage(self, product: Any, stage: Any) -> bool:
        product, stage = _fold(product), _fold(stage)
        return any(key in self.keys for key in ((product, stage), (None, stage), (product, None), (None, None)))

    def product(self, product: Any) -> bool:
        return _fold(product) in self.products or None in self.products


def _text(value: Any) -> str:
    """What a text cell (a name, an account code) says, when a number was typed in it: the digits
    Excel shows, at its 15 significant digits, without a decimal point for a whole number — so an
    account code typed as 1310 is "1310" whether the cell holds 1310, 1310.0 or (from a live Excel,
    past 2**53) a whole number with binary noise in its last digits.

    >>> _text(1310), _text(1310.0), _text(" 1310 "), _text(0.1 + 0.2)
    ('1310', '1310', '1310', '0.3')
    >>> _text(123456789012345678.0), _text(int(123456789012345678.0))  # Excel keeps 15 digits
    ('123456789012346000', '123456789012346000')
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _EXACT_INTEGERS:
        value = float(value)  # only a double could have given it: read it as Excel shows that double
    if isinstance(value, float) and value == value and value not in (_INF, -_INF):
        number = from_excel(value).normalize()
        return format(number if number else abs(number), "f")  # -0.0 is 0
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


# The close's issues about a General Ledger row's account rather than its balance: at the code.
_ABOUT_THE_ACCOUNT = ("UNKNOWN_ACCOUNT", "ACCOUNT_CONFLICT")
# The close's issues about a Costs or OpeningWIPCost row's element rather than its amount: at the
# Element cell (the close reports them at the amount's path, keyed by the element).
_ABOUT_THE_ELEMENT = ("UNKNOWN_ELEMENT", "OVERHEAD_TYPED_IN")
_EXACT_INTEGERS = 2 ** 53  # from here on, not every whole number is a double
_INF = float("inf")


def _row_number(coordinate: str) -> str:
    return coordinate.lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ")


_TABLE_NAMES = frozenset(name.casefold() for name in TABLE_BY_NAME)  # Excel's table names ignore case


def _inside(ref: str, row: int, col: int) -> bool:
    """Whether the cell at ``row``, ``col`` is in the range ``ref``.

    >>> _inside("A3:B6", 3, 1), _inside("A3:B6", 7, 1)
    (True, False)
    """
    a, b, c, d = range_boundaries(ref)
    return a <= col <= c and b <= row <= d


def _fold(value: Any) -> Any:
    """A name as the close keys products (``product_key``): upper/lower case and spacing aside.

    >>> _fold("Espresso  Classic") == _fold("espresso classic"), _fold(None), _fold(1310)
    (True, None, 1310)
    """
    return product_key(value) if isinstance(value, str) else value


def _closest(name: Any, names: Any) -> Any:
    """The one of ``names`` (folded, as ``_fold`` gives them) that ``name`` (folded) is most likely
    a misspelling of, as the close takes a misspelt stage (difflib, ``_MISSPELT``); None when none
    is like it, or ``name`` is not text (a cell that could not be read).

    >>> _closest(_fold("Drip Hom"), [_fold("Espresso Classic"), _fold("Drip Home")])
    'drip home'
    >>> _closest(_fold("Cold Brew"), [_fold("Espresso Classic"), _fold("Drip Home")]), _closest(None, ["x"])
    (None, None)
    """
    if not isinstance(name, str):
        return None
    found = difflib.get_close_matches(name, [n for n in names if isinstance(n, str)], n=1, cutoff=_MISSPELT)
    return found[0] if found else None


def _quote(sheet: str) -> str:
    from ._source import quote_sheet

    return quote_sheet(sheet)


def read_tables(source: TableSource, vouched_for: Callable[[str], frozenset[str]] | None = None) -> WorkbookInput:
    """Read a close workbook's tables into close data; every problem located to a cell.

    ``vouched_for(period)``: the names the ledger vouches for in a close of ``period`` (the
    second of ``costing.close_service.read_month_before``), which the workbook may use as the close
    that recorded them accepted them, as the close does; asked only about a name with a problem.
    Not given, every name is checked as new input."""
    return _Reader(source, vouched_for).read()
