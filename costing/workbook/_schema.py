"""The close workbook's input tables: names, sheets, columns and what each column holds.

One description shared by the template builder (headers, drop-downs, number formats), the reader
(which finds tables by name and columns by header, never by position) and the demo filler.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..close._spec import OVERHEAD_DRIVERS

__all__ = ["Column", "TableSpec", "TABLES", "TABLE_BY_NAME", "SETTINGS", "ACCOUNT_ROLES", "ELEMENT_KINDS",
           "ADDITION_POINTS", "METHODS", "DISPOSITIONS", "ROUNDINGS", "NORMAL_FROM_RATE", "normalise_header",
           "INPUT_SHEETS"]

# What a column holds, for the reader's checks and the template's validation and formats:
#   text     — a name or code, kept as typed (numbers typed in a text column become their digits)
#   units    — a quantity of units, >= 0 (fractions allowed: kg, litres)
#   fraction — completion or an addition point, 0..1 (a cell formatted as % holds the fraction)
#   amount   — money in the workbook's currency, >= 0, at most the currency's minor-unit places
#   balance  — money in the workbook's currency as a ledger shows it: debit positive, credit negative,
#              at most the currency's minor-unit places (checked by the close)
#   rate     — a positive multiplier (overhead rate per driver unit)
#   choice   — one of ``choices``
KINDS = ("text", "units", "fraction", "amount", "balance", "rate", "choice", "added")


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: str = "text"
    required: bool = False  # a row without a value here is an error
    choices: tuple[str, ...] = ()
    width: int = 14
    help: str = ""  # shown as the input message of the column's data validation


@dataclass(frozen=True)
class TableSpec:
    name: str  # the Excel table (ListObject) name
    sheet: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # column keys that identify a row; a second row with the same key is an error
    purpose: str = ""
    first_period_only: bool = False
    origin: str = "A3"  # where the template puts the header row (users may move tables)

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


# Choices, each with what it means for the accountant (shown in the Instructions sheet).
METHODS = {"fifo": "FIFO: beginning WIP keeps its own cost and is completed first",
           "weighted_average": "weighted average: beginning WIP cost is pooled with this month's cost"}
ROUNDINGS = {"half_up": "0.005 rounds up to 0.01, as Excel's ROUND does",
             "half_even": "banker's rounding: 0.005 to 0.00, 0.015 to 0.02"}
DISPOSITIONS = {"write_off": "under/over-applied overhead goes to cost of goods sold",
                "prorate": "above materiality, prorated over ending WIP, finished goods and COGS"}
ELEMENT_KINDS = {"material": "direct materials issued to the stage", "labour": "direct labour charged to the stage",
                 "overhead": "overhead applied at the stage's predetermined rate (never typed in as a cost)",
                 "conversion": "labour and overhead together, when not tracked apart"}
# How normal spoilage from a rate is counted (the close file's ``spoilage.normal_from_rate``).
NORMAL_FROM_RATE = {"exact": "rate x good units passing inspection, fractions kept (litres, kg); the default",
                    "whole_units": "rounded half-up to a whole unit (machines), then capped at the units spoiled"}
ADDITION_POINTS = {"start": "added when units enter the stage", "end": "added when units leave the stage",
                   "evenly": "added in proportion to progress"}
DRIVER_HELP = {"labour_hours": "direct labour hours", "machine_hours": "machine hours",
               "direct_labour_cost": "the product-stage's direct labour cost (rate 0.6 = 60%)",
               "units": "units of the driver, e.g. batches"}
assert set(DRIVER_HELP) == set(OVERHEAD_DRIVERS)

ACCOUNT_ROLES = ("raw_materials", "accrued_payroll", "conversion_costs", "overhead_applied", "overhead_control",
                 "finished_goods", "cogs", "abnormal_spoilage", "spoiled_goods", "count_difference", "wip")

# Settings: one row per setting (label in the Setting column, value in Value).
# (label, close-file key, kind, choices, required, help)
SETTINGS: tuple[tuple[str, str, str, tuple[str, ...], bool, str], ...] = (
    ("Company", "company", "text", (), True, "the company name printed on reports and journals"),
    ("Period", "period", "period", (), True, "the month being closed, YYYY-MM (type it as text: '2026-10)"),
    ("Currency", "currency", "text", (), True, "ISO 4217 code, e.g. USD, EUR, JPY"),
    ("Locale", "locale", "text", (), False, "number and currency formats, e.g. en_US, de_DE; also how numbers "
                                            "typed as text are read"),
    ("Method", "method", "choice", tuple(METHODS), True, "WIP costing method"),
    ("Finished goods method", "finished_goods_method", "choice", tuple(METHODS), False,
     "how shipments relieve finished goods"),
    ("Rounding", "rounding", "choice", tuple(ROUNDINGS), False, "how assigned amounts are rounded"),
    ("Overhead disposition", "overhead_disposition", "choice", tuple(DISPOSITIONS), False,
     "what happens to under/over-applied overhead"),
    ("Materiality", "materiality", "amount", (), False, "under/over-applied overhead below this is written off"),
)

_P, _S = "Product", "Stage"

TABLES: tuple[TableSpec, ...] = (
    TableSpec("Settings", "Settings", (
        Column("Setting", "setting", required=True, width=24),
        Column("Value", "value", width=24),
        Column("Notes", "notes", width=70),
    ), key=("setting",), purpose="company, period, currency, locale, method, finished-goods method, rounding, "
                                 "overhead disposition, materiality"),
    TableSpec("Accounts", "Accounts", (
        Column("Role", "role", "choice", required=True, choices=ACCOUNT_ROLES, width=20,
               help="which postings go to this account"),
        Column(_S, "stage", width=18, help="for role wip only: the stage whose WIP account this is"),
        Column("Code", "code", required=True, width=10),
        Column("Name", "name", required=True, width=36),
    ), key=("role", "stage"), purpose="chart-of-accounts mapping; one wip row per stage"),
    # Codes are compared exactly, as the close keys accounts (``_read.read_general_ledger`` checks
    # for duplicates itself: the generic row key ignores case).
    TableSpec("GeneralLedger", "Accounts", (
        Column("Account code", "code", required=True, width=14,
               help="a WIP account, finished goods or overhead control: its code as in the Accounts table"),
        Column("GL balance", "balance", "balance", required=True, width=16,
               help="the general ledger's balance before this close's journals are posted; debit positive, "
                    "credit negative"),
    ), purpose="optional: the general ledger's balances before this close's journals are posted (WIP accounts, "
               "finished goods, overhead control); the close ties them to the WIP ledger before posting and "
               "refuses on a difference; leave the table empty for no tie", origin="F3"),
    TableSpec("Stages", "Stages & elements", (
        Column("Order", "order", "units", required=True, width=8, help="flow order: 1 is the first stage"),
        Column(_S, "stage", required=True, width=18),
    ), key=("stage",), purpose="the plant's stages in flow order"),
    TableSpec("Elements", "Stages & elements", (
        Column(_P, "product", width=20, help="blank: every product at this stage"),
        Column(_S, "stage", required=True, width=18),
        Column("Element", "element", required=True, width=16),
        Column("Kind", "kind", "choice", required=True, choices=tuple(ELEMENT_KINDS), width=12),
        Column("Added", "added", "added", required=True, width=10,
               help="start, end, evenly, or the stage progress (e.g. 50%) at which it is added"),
    ), key=("product", "stage", "element"), purpose="cost elements of each stage; a product's own rows replace "
                                                    "the blank-product rows of that stage", origin="D3"),
    TableSpec("Production", "Production", (
        Column(_P, "product", required=True, width=20),
        Column(_S, "stage", required=True, width=16),
        Column("Started", "started", "units", help="first stage only: units started this month"),
        Column("Transferred in", "transferred_in", "units", help="later stages: optional check of units received"),
        Column("Completed", "completed", "units", required=True, help="good units transferred out"),
        Column("Ending WIP units", "ending_units", "units", width=16),
        Column("Ending WIP complete", "ending_complete", "fraction", width=18, help="stage progress, 0% to 100%"),
        Column("Spoiled units", "spoiled", "units", help="total spoiled; abnormal = spoiled - normal"),
        Column("Normal spoilage", "normal", "units", help="normal spoilage units (or give a rate)"),
        Column("Normal spoilage rate", "normal_rate", "fraction", width=18,
               help="normal spoilage as a share of good units passing inspection"),
        Column("Abnormal spoilage", "abnormal", "units"),
        Column("Inspection point", "inspection", "fraction", width=16, help="stage progress at inspection (100% = end)"),
        Column("Disposal value", "disposal_value", "amount", help="per spoiled unit"),
        # Optional, last: a workbook made before the column reads as before (blank = exact), and
        # the columns before it keep their letters.
        Column("Normal spoilage from rate", "normal_from_rate", "choice", choices=tuple(NORMAL_FROM_RATE), width=18,
               help="how normal spoilage from the rate is counted: exact (blank) keeps fractions; whole_units "
                    "rounds it half-up to a whole unit, at most the units spoiled"),
    ), key=("product", "stage"), purpose="units and completion per product and stage"),
    TableSpec("Costs", "Costs", (
        Column(_P, "product", required=True, width=20),
        Column(_S, "stage", required=True, width=16),
        Column("Element", "element", required=True, width=16),
        Column("Amount", "amount", "amount", required=True, width=16),
    ), key=("product", "stage", "element"), purpose="materials, labour and conversion costs added this month "
                                                    "(overhead is applied, never typed in)"),
    TableSpec("Drivers", "Costs", (
        Column(_P, "product", required=True, width=20),
        Column(_S, "stage", required=True, width=16),
        Column("Driver quantity", "quantity", "units", required=True, width=16,
               help="this product's actual hours or units of the stage's overhead driver"),
    ), key=("product", "stage"), purpose="overhead driver quantities", origin="G3"),
    TableSpec("OverheadRates", "Overhead Rates", (
        Column(_S, "stage", required=True, width=16),
        Column("Driver", "driver", "choice", required=True, choices=tuple(OVERHEAD_DRIVERS), width=20),
        Column("Rate", "rate", "rate", required=True, help="predetermined rate per driver unit"),
        Column("Actual", "actual", "amount", required=True, width=16, help="actual overhead incurred this month"),
    ), key=("stage",), purpose="predetermined overhead rates and actual overhead by stage"),
    TableSpec("Shipments", "Shipments", (
        Column(_P, "product", required=True, width=20),
        Column("Units shipped", "units", "units", required=True, width=16),
    ), key=("product",), purpose="units sold this month"),
    TableSpec("Counts", "Counts", (
        Column(_P, "product", required=True, width=20),
        Column(_S, "stage", required=True, width=16),
        Column("Counted units", "units", "units", required=True, width=16),
    ), key=("product", "stage"), purpose="physical count of ending WIP units (optional)"),
    TableSpec("OpeningWIP", "Opening", (
        Column(_P, "product", required=True, width=20),
        Column(_S, "stage", required=True, width=16),
        Column("Units", "units", "units", required=True),
        Column("Complete", "complete", "fraction", help="stage progress of the opening units"),
    ), key=("product", "stage"), purpose="first month only: opening WIP units", first_period_only=True),
    TableSpec("OpeningWIPCost", "Opening", (
        Column(_P, "product", required=True, width=20),
        Column(_S, "stage", required=True, width=16),
        Column("Element", "element", required=True, width=16, help="an element of the stage, or transferred_in"),
        Column("Cost", "cost", "amount", required=True),
    ), key=("product", "stage", "element"), purpose="first month only: opening WIP cost by element",
        first_period_only=True, origin="G3"),
    TableSpec("OpeningFG", "Opening", (
        Column(_P, "product", required=True, width=20),
        Column("Produced in", "period", "period", width=12, help="YYYY-MM, for FIFO order"),
        Column("Units", "units", "units", required=True),
        Column("Cost", "cost", "amount", required=True),
    ), purpose="first month only: finished-goods layers on hand, oldest first", first_period_only=True,
        origin="L3"),
)

TABLE_BY_NAME = {t.name: t for t in TABLES}
INPUT_SHEETS = tuple(dict.fromkeys(t.sheet for t in TABLES))


def normalise_header(text: object) -> str:
    """How headers are matched: case, spacing and line breaks do not matter.

    >>> normalise_header("  Ending WIP\\ncomplete "), normalise_header("ending wip complete")
    ('ending wip complete', 'ending wip complete')
    """
    return " ".join(str(text or "").split()).lower()

