"""Close file → a plan the close computes on: one core case per product, plus overhead,
shipments, counts and opening positions.  Returns ``(plan, issues)``; every problem is collected
and located (``products[1].stages[0].driver_quantity: ...``).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from typing import Any, Iterable, Iterator, Mapping

from pydantic import ValidationError

from .._currency import finer_than_currency, is_known_currency, is_known_locale, quantum, unknown_currency_text
from .._errors import Issue
from .._journal import key_problem, name_problem, printed_alike, printed_as
from .._model import PROGRESS, TRANSFERRED_IN, Case, ElementKind
from .._numbers import (NUMBER_LIMIT, ROUNDING_MODES, engine_context, percent_text, reading_recorded,
                        with_separator_hints)
from .._period import is_period, next_period, previous_period
from .._spelling import likely_meant
from .._resolve import (cost_problems, in_file_order, in_stage_order, is_stage_amount, negative_amount,
                        negative_units, parse_sections, resolve_case, revalidated_with_stand_ins)
from .._spec import BeginningWipSpec, CaseSpec
from ._overhead import applied_overhead
from ._spec import (AccountSpec, AccountsSpec, CloseSpec, CloseStageSpec, FinishedGoodsLayerSpec, GeneralLedgerSpec,
                    OverheadSpec, ProductSpec)
from ._state import FinishedGoodsLayer, PriorState, StageWip

__all__ = ["ProductPlan", "ClosePlan", "resolve_close", "resolve_header", "product_plans",
           "product_key", "names_of_close", "Unclean", "groups_with_dot", "read_as_grouped",
           "typed_like_grouped", "count_problem", "plan_refused"]

_ZERO = Decimal(0)


@functools.lru_cache(maxsize=None)
def groups_with_dot(locale: str) -> bool:
    """Whether ``locale`` writes '.' between groups of thousands (de_DE: 36.000,00)."""
    from babel.numbers import get_group_symbol

    try:
        return get_group_symbol(locale) == "."
    except Exception:  # an unknown locale: refused as such (UNKNOWN_LOCALE)
        return False


def read_as_grouped(value: Decimal, q: Decimal, locale: str) -> bool:
    """Whether an amount is, as its digits go, most likely a number with '.' between thousands:
    1 to 3 digits before the point (its sign aside) and exactly three places, in a currency of
    fewer (36.000, 9.450 in EUR), under a locale that groups thousands with '.'.  Such a locale
    writes 36000 as 36.000, and the close would post 36.00; elsewhere (en_US), with other places
    (36.0000), or with digits no thousands group could follow (36000.000, 1234.000, 0.500), the
    places are the amount's own.  This looks at the value only: whether its digits were typed so
    in a close file is ``typed_like_grouped`` (a workbook's cell, read by its locale already, never
    is), and the close asks both.  Shared by the fast path, which must decline what this path refuses.

    >>> read_as_grouped(Decimal("36.000"), Decimal("0.01"), "de_DE"), read_as_grouped(Decimal("36.000"), Decimal("0.01"), "en_US")
    (True, False)
    >>> read_as_grouped(Decimal("36.00"), Decimal("0.01"), "de_DE"), read_as_grouped(Decimal("36.000"), Decimal("0.001"), "de_DE")
    (False, False)
    >>> [read_as_grouped(Decimal(t), Decimal("0.01"), "de_DE") for t in ("36000.000", "1234.000", "0.500", "-9.455", "999.999")]
    [False, False, False, True, True]
    """
    return (value.as_tuple().exponent == -3 and 1 <= abs(value) < 1000 and q.as_tuple().exponent > -3
            and groups_with_dot(locale))


def typed_like_grouped(value: object) -> bool:
    """Whether ``value`` is a number typed in a close file (YAML or JSON) as 1 to 3 digits, '.',
    then 3 digits: ``costing._casefile`` marks it so (``TypedLikeGrouped``) as it reads the file.
    Not one read from a workbook (its locale read the cell: ``36,000`` under de_DE is 36), from the
    ledger's record of a close, or built by Python code.

    >>> typed_like_grouped(Decimal("36.000"))
    False
    """
    return getattr(value, "like_dot_grouped", False) is True


def _grouped_as_typed(value: Any, q: Decimal | None, header: CloseSpec, recorded: bool) -> bool:
    """Whether an amount typed in the close file reads as thousands grouped with '.' under the
    close's locale (``read_as_grouped``): never of a close the ledger holds (``recorded``), which an
    engine before this check accepted and must compute again as it was."""
    return (not recorded and q is not None and typed_like_grouped(value) and value.is_finite()
            and read_as_grouped(value, q, header.locale))


def _grouped_amount(path: str, value: Decimal, q: Decimal, header: CloseSpec) -> Issue:
    """AMOUNT_PRECISION of an amount ``read_as_grouped``: what it was read as, and what to write."""
    places = -q.as_tuple().exponent
    grouped = str(value).replace(".", "")
    otherwise = f"or {value.quantize(q)}" if value == value.quantize(q) else \
        f"or the amount with at most {places} decimal places"
    return Issue("AMOUNT_PRECISION", path,
                 f"{value} has more decimal places than {header.currency} allows ({places}): under locale "
                 f"{header.locale} '.' separates thousands, so this is most likely {grouped} — write {grouped} if so "
                 f"(close files take '.' as the decimal point and no thousands separator), {otherwise}")


def _grouped_amounts(amounts: Iterable[tuple[str, Decimal]], q: Decimal | None, header: CloseSpec,
                     issues: list[Issue], recorded: bool = False) -> None:
    """Appends ``_grouped_amount`` for each (path, amount) ``_grouped_as_typed`` whose extra places
    are zeros (one with other places is refused as having more places than the currency allows,
    and that problem says the grouped reading: ``_said_grouped``)."""
    for path, value in amounts:
        if isinstance(value, Decimal) and _grouped_as_typed(value, q, header, recorded) and value == value.quantize(q):
            issues.append(_grouped_amount(path, value, q, header))


def _said_grouped(issues: Iterable[Issue], typed: Mapping[str, Decimal], q: Decimal | None,
                  header: CloseSpec) -> list[Issue]:
    """``issues`` with each AMOUNT_PRECISION at an amount of ``typed`` (path -> amount
    ``_grouped_as_typed``) told the grouped reading: 9.455 is most likely 9455."""
    return [_grouped_amount(i.path, typed[i.path], q, header)
            if q is not None and i.code == "AMOUNT_PRECISION" and i.path in typed else i for i in issues]


@dataclass(frozen=True)
class ProductPlan:
    name: str
    case: Case  # the product's stages, resolved by the core, overhead applied included
    applied_overhead: dict[str, Decimal]  # stage -> amount applied to this product
    overhead_element: dict[str, str]  # stage -> name of the element that receives applied overhead
    driver_quantity: dict[str, Decimal]  # stage -> driver quantity used
    counts: dict[str, Decimal]  # stage -> counted ending WIP units
    shipments: Decimal
    opening_fg: tuple[FinishedGoodsLayer, ...]


@dataclass(frozen=True)
class ClosePlan:
    spec: CloseSpec  # header fields (products are in ``products``)
    quantum: Decimal
    products: tuple[ProductPlan, ...]
    first_period: bool


def resolve_close(data: Any, prior: PriorState | None, *, recorded: bool = False,
                  vouched: frozenset[str] = frozenset()) -> tuple[ClosePlan | None, list[Issue]]:
    """Validate a close file against the previous close (None when this is the ledger's first);
    ``_resolve_close`` says how.  A number refused as written with a thousands separator or a
    decimal comma (``9.450,00`` under ``locale: de_DE``) is told how to write it."""
    if isinstance(data, Mapping) and "stages" in data and "products" not in data and "accounts" not in data:
        # A case file given to the close: one problem that says so, not a list of keys it lacks.
        return None, [Issue("UNKNOWN_KEY", "stages", "this looks like a case file (stages, no products or "
                                                     "accounts), not a close file: cost it with `wip cost`; a close "
                                                     "file lists products, each with its stages, and the ledger "
                                                     "accounts (see examples/demo/close-2026-10.yaml)")]
    if recorded:  # read as the engine that recorded it read it (``reading_recorded``)
        with reading_recorded():
            plan, issues = _resolve_close(data, prior, recorded=recorded, vouched=vouched)
    else:
        plan, issues = _resolve_close(data, prior, recorded=recorded, vouched=vouched)
    return plan, with_separator_hints(issues)


def _resolve_close(data: Any, prior: PriorState | None, *, recorded: bool = False,
                   vouched: frozenset[str] = frozenset()) -> tuple[ClosePlan | None, list[Issue]]:
    """Validate a close file against the previous close (None when this is the ledger's first).

    ``recorded``: ``data`` are the inputs of a close the ledger holds, computed again (a report, a
    diff, the variance audit).  Its products are, by that record, distinct products whatever their
    spelling: an earlier version accepted two names one ``product_key`` apart, and a month it closed
    so must still compute, as it must still close again after a reopen.  Its names, likewise, are
    read as they were accepted (``name_problem``'s ``vouched``).

    ``vouched``: names the ledger's previous close holds (``names_of_close`` of its inputs), which
    this close may use as they were accepted there, as it may those ``prior`` carries: a month
    closes onwards from a ledger whose names a later engine would refuse."""
    kept_apart = _recorded_products(data) if recorded else frozenset()
    vouched = vouched | _names_of_prior(prior) | (names_of_close(data) if recorded else frozenset())
    if recorded:
        data = _blank_as_not_given(data)
    clean = _resolve_clean(data, prior, kept_apart, vouched, recorded)
    if clean is not None:
        return clean, []
    # Something is not in order: every problem, located, in file order.
    header, products, issues = parse_sections(data, CloseSpec, "products", ProductSpec, "close")
    if isinstance(data, Mapping) and "products" in data and data["products"] in ([], None):
        issues.append(Issue("NO_PRODUCTS", "products", "a close needs at least one product"))
    held = _Held()
    if header is None:
        stubbed = _header_for_the_products(data, issues)
        if stubbed is None:
            return None, issues
        header, held = stubbed
    raw_products = data.get("products") if isinstance(data, Mapping) else None
    raw_products = raw_products if isinstance(raw_products, list) else []
    # A product with refused values is still checked for everything else (units, names, its other
    # amounts, its other stages), a stand-in in place of each: a money amount as zero, a value of a
    # stage as zero or the allowed word most like it (``revalidated_with_stand_ins``).  What reads a
    # stood-in value is held back (``_reads_stood_in``).  The general-ledger tie holds back openings
    # with a problem (``openings_of_specs``): a refused one is not tied as zero.
    stood_in: dict[int, dict[int, frozenset[tuple]]] = {}
    for i, (product, raw) in enumerate(zip(products, raw_products)):
        if product is None:
            checked = revalidated_with_stand_ins(ProductSpec, raw, lambda loc: _is_product_amount(loc, prior))
            if checked is not None:
                products[i], stood_in[i] = checked
    # Of a product checked so, the first stage whose costs were refused (reported above): its costs,
    # and those it transfers on, are not compared with anything.
    refused_from: dict[int, int] = {}
    for issue in issues:
        m = re.match(r"products\[(\d+)\]\.stages\[(\d+)\]", issue.path)
        if m:
            i, j = int(m.group(1)), int(m.group(2))
            refused_from[i] = min(j, refused_from.get(i, j))

    header, q = _check_header(header, prior, issues, held, _stages_used(raw_products), vouched, recorded)
    if any(issue.code == "CURRENCY_MISMATCH" for issue in issues):
        # The products' amounts cannot be checked against an opening in another currency: what
        # they would say (places, the opening's amounts, the tie to the general ledger) follows from
        # the one problem reported, and is held back as for a refused currency.  Their units, names
        # and everything else are checked: fixing the currency should not bring a second round.
        held.currency, held.other_currency, q = True, True, None

    # Names as typed, before any respelling; of a product whose shape was refused too, so that it
    # is not also reported missing from the close (one mistake, one problem).
    written = [p.name if p is not None else _raw_name(raw_products, i) for i, p in enumerate(products)]
    products, respelled = _respelled_as_carried(products, prior, written)
    seen: dict[str, list[int]] = {}  # product_key(name) -> where each product of that key is named
    known = _known_products(prior) | kept_apart
    plans: list[ProductPlan] = []
    for i, product in enumerate(products):
        path = f"products[{i}]"
        if i in respelled and respelled[i][0] is not None:
            issues.append(respelled[i][0].under(path))
        if product is None:
            continue
        earlier = seen.setdefault(product_key(product.name), [])
        first = next((k for k in earlier if not _kept_apart(product.name, products[k].name, known)), None)
        if first is not None:
            issues.append(Issue("DUPLICATE_PRODUCT", f"{path}.name",
                                _duplicate_message(written[i], written[first], first)))
        else:
            earlier.append(i)
        # A product named as another is still checked: its own problems do not depend on its name,
        # and fixing the name should not bring a second round.  Its plan is not used (refused).
        plan, product_issues = _resolve_product(product, header, prior, q, held, vouched, recorded,
                                                cost_checks=True, amounts_refused_from=refused_from.get(i))
        if i in stood_in:
            product_issues = [issue for issue in product_issues
                              if not _reads_stood_in(issue, stood_in[i], len(product.stages))]
        if first is not None and prior is not None:
            # Its opening is the other product's, carried under the name: what compares with it (the
            # unit flow, a count, the shipments against stock, an opening written, a cost) is not this
            # product's.  Its values' own problems are.
            product_issues = [issue for issue in product_issues if issue.code not in _READS_OPENING]
        issues.extend(issue.under(path) for issue in product_issues)
        if plan is not None:
            plans.append(plan)

    if header.accounts.conversion_costs is None and "conversion_costs" not in held.roles:
        users = _conversion_users(raw_products)
        if users:
            issues.append(Issue("MISSING_KEY", "accounts.conversion_costs",
                                f"{_listed(users)} {'has' if len(users) == 1 else 'have'} a conversion element (labour "
                                "and overhead not kept apart), whose added cost the close credits to a conversion "
                                "costs account; add accounts.conversion_costs: {code, name}"))
    if prior is not None:
        named = {name for name in written if name is not None} | {meant for _, meant in respelled.values()} | {
            p.name for p in products if p is not None}  # also those taken as the recorded spelling unsaid
        for (product, stage), wip in sorted(prior.wip.items()):
            if product not in named and wip.units:
                issues.append(Issue("PRODUCT_MISSING", "products",
                                    f"{product!r} has {wip.units} units of closing WIP in {stage} from {prior.period}; "
                                    "include the product in this close"))
        for product, layers in sorted(prior.finished_goods.items()):
            if product not in named and any(layer.units for layer in layers):
                units = sum((layer.units for layer in layers), _ZERO)
                cost = sum((layer.cost for layer in layers), _ZERO)
                issues.append(Issue("PRODUCT_MISSING", "products",
                                    f"{product!r} has {units} units of finished goods on hand ({cost}) from "
                                    f"{prior.period}; include the product in this close (with its shipments, and "
                                    "each of its stages with no units if it makes nothing this month)"))
    if issues:
        # The tie to the general ledger, as far as what it compares is known, reported with the
        # other problems (the close reports it otherwise), before the products' as in the file.
        # A stage with a key it does not take, or a refused value in its beginning WIP, may hold
        # the opening meant (``begining_wip:``): its product's openings are not known.
        in_doubt = {i for i, stages in stood_in.items()
                    if any(value[0] == "beginning_wip" or value[0] not in CloseStageSpec.model_fields
                           for values in stages.values() for value in values)}
        ties = _tie_beside_problems(header, held, q, prior,
                                    [None if i in in_doubt else p for i, p in enumerate(products)], issues)
        at = next((k for k, issue in enumerate(issues) if issue.path.startswith("products")), len(issues))
        issues[at:at] = ties
        return None, in_file_order(issues)
    return ClosePlan(header, q, tuple(plans), prior is None), []


def _reads_stood_in(issue: Issue, stood_in: Mapping[int, frozenset[tuple]], stages: int) -> bool:
    """Whether a problem found in a product (its path within the product) reads a value stood in
    for (``revalidated_with_stand_ins``), the refusal of which is reported already: anything of the
    stage it is in (not known until it is fixed, as a case file's refused stage), the units the
    next stage received when it is the units completed, and the shipments when those are the last
    stage's."""
    for j, values in stood_in.items():
        spath = f"stages[{j}]"
        if issue.path == spath or issue.path.startswith((spath + ".", spath + "[")):
            return True
        if ("completed",) in values and issue.code in _READS_RECEIVED:
            following = f"stages[{j + 1}]"
            if j + 1 < stages and (issue.path == following or issue.path.startswith(following + ".")):
                return True
            if j + 1 == stages and issue.path == "shipments":
                return True
    return False


# The problems of a stage that compare what it received (the units the stage before completed) with
# its own flow, and those of a product that compare the finished units (the last stage's completed)
# with its shipments: held back when those units are not known.  Its values' own problems (a
# negative, a completion out of range) are said.
_READS_RECEIVED = frozenset({"UNIT_FLOW", "FIFO_BEGINNING_NOT_COMPLETED", "ENDING_WIP_BEHIND_BEGINNING",
                             "COUNT_EXCEEDS_FLOW", "COUNT_WITHOUT_BOOK_UNITS", "NORMAL_SPOILAGE_UNABSORBED",
                             "TRANSFERRED_IN_MISMATCH", "SHIPMENTS_EXCEED_STOCK"})


def _is_product_amount(loc: tuple, prior: PriorState | None) -> bool:
    """Whether a location in a product is a money amount that only its own check reads.  Opening
    costs are compared with the prior close's when there is one: not those."""
    match loc:
        case ("stages", int(), *in_stage):
            # A driver quantity only gives the stage's applied overhead, a cost (held back as one).
            return (is_stage_amount(tuple(in_stage)) and (prior is None or in_stage[0] != "beginning_wip")
                    or tuple(in_stage) == ("driver_quantity",))
        case ("opening_finished_goods", int(), "cost"):
            return prior is None
        case ("shipments",):  # relieves finished goods after costing: no check of the stages reads it
            return True
    return False


def _tie_beside_problems(header: CloseSpec, held: _Held, q: Decimal | None, prior: PriorState | None,
                         products: list[ProductSpec | None], issues: list[Issue]) -> list[Issue]:
    """The GL_DOES_NOT_TIE problems of the balances whose tie is known while the close has other
    problems: the month opens from the prior close whatever its products say, or in the ledger's
    first month from the openings the file writes (which do not depend on the month's flow).  Held
    back: a balance with a problem of its own, the account of a chart entry with one (a code shared,
    a stage's account changed), overhead control when the overhead section has a problem, the
    openings when they are not known (``openings_of_specs``), and every balance when the currency or
    the period has one (amounts not known to the cent; an opening that is not this month's)."""
    if header.general_ledger is None or not header.general_ledger.balances or q is None or held.currency:
        return []
    if any(issue.path == "period" for issue in issues):
        return []
    from ._general_ledger import openings_of_prior, openings_of_specs, tie_to_general_ledger

    chart = _known_chart(header)
    doubtful: set[str] = set()
    for issue in issues:
        if issue.path.startswith("general_ledger.balances."):
            doubtful.add(issue.path.removeprefix("general_ledger.balances."))
        elif issue.path.startswith("accounts."):
            account = _account_at(chart, issue.path)
            if account is not None:
                doubtful.add(account.code)
    if held.all_pools or held.pools or any(i.path == "overhead" or i.path.startswith("overhead.") for i in issues):
        doubtful.add(chart.accounts.overhead_control.code)
    openings = openings_of_prior(prior) if prior is not None else \
        openings_of_specs([_as_meant(p, header) for p in products], issues)
    only = None
    if openings is None:  # overhead control's figure is the month's actual overhead, no opening
        openings, only = ([], _ZERO), chart.accounts.overhead_control.code
    balances = {code: balance for code, balance in header.general_ledger.balances.items()
                if code not in doubtful and only in (None, code)}
    if not balances:
        return []
    spec = chart.model_copy(update={"general_ledger": chart.general_ledger.model_copy(update={"balances": balances})})
    return tie_to_general_ledger(spec, openings)[1]


def _account_at(chart: CloseSpec, path: str) -> AccountSpec | None:
    """The account a problem under ``accounts`` is located in (``accounts.wip.Assembly.code``), if any."""
    rest = path.removeprefix("accounts.")
    if rest.startswith("wip."):
        rest = rest.removeprefix("wip.")
        return next((account for stage, account in chart.accounts.wip.items()
                     if rest == stage or rest.startswith(stage + ".")), None)
    role = rest.split(".")[0]
    return getattr(chart.accounts, role) if role in AccountsSpec.model_fields and role != "wip" else None


def _raw_name(raw_products: list, i: int) -> str | None:
    """The name a product of the file is given, as written, when it is text (its shape may be refused)."""
    raw = raw_products[i] if i < len(raw_products) else None
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return name if isinstance(name, str) else None


def _uses_conversion(plan: ProductPlan) -> bool:
    return any(el.kind is ElementKind.CONVERSION for stage in plan.case.stages for el in stage.elements)


def _conversion_users(raw_products: list) -> list[str]:
    """Where the products' stages have a conversion-kind element, as written (``products[0].stages[1]``)."""
    found = []
    for i, raw in enumerate(raw_products):
        stages = raw.get("stages") if isinstance(raw, Mapping) else None
        for j, stage in enumerate(stages if isinstance(stages, list) else ()):
            elements = stage.get("elements") if isinstance(stage, Mapping) else None
            if isinstance(elements, Mapping) and any(
                    isinstance(el, Mapping) and el.get("kind") == ElementKind.CONVERSION.value
                    for el in elements.values()):
                found.append(f"products[{i}].stages[{j}]")
    return found


def _listed(paths: list[str], shown: int = 3) -> str:
    """``a, b and c`` (``a, b, c and 4 more``)."""
    if len(paths) == 1:
        return paths[0]
    head = paths[:shown] if len(paths) > shown else paths[:-1]
    tail = f"{len(paths) - shown} more" if len(paths) > shown else paths[-1]
    return ", ".join(head) + " and " + tail


def _stages_used(raw_products: list) -> dict[str, list[tuple[str, str | None]]]:
    """Stage name -> where the products' stages are named so (``products[0].stages[1]``, and the
    product's name), as written, whether or not the product's shape is refused."""
    used: dict[str, list[tuple[str, str | None]]] = {}
    for i, raw in enumerate(raw_products):
        stages = raw.get("stages") if isinstance(raw, Mapping) else None
        if not isinstance(stages, list):
            continue
        for j, stage in enumerate(stages):
            name = stage.get("name") if isinstance(stage, Mapping) else None
            if isinstance(name, str):
                used.setdefault(name, []).append((f"products[{i}].stages[{j}]", _raw_name(raw_products, i)))
    return used


@dataclass
class _Held:
    """Parts of the header that have a problem of their own, already reported, which the products
    are checked without (one mistake, one problem): what depends on them is held back, the rest of
    each product is checked."""

    company: bool = False  # refused: stood in for by "", which is not refused again as empty
    currency: bool = False  # refused: no minor unit to check the products' amounts against
    # Not the currency the opening is in (CURRENCY_MISMATCH): the opening's amounts are not checked or
    # compared with the file's either.
    other_currency: bool = False
    all_pools: bool = False  # the overhead section refused: no pool known
    pools: dict[str, set[str]] = field(default_factory=dict)  # stage -> fields of its pool not known
    misspelt_pools: dict[str, str] = field(default_factory=dict)  # stage -> the overhead line meant for it
    roles: set[str] = field(default_factory=set)  # account roles not known (refused or missing)
    wip: bool = False  # accounts.wip refused: the plant's stages are not known
    wip_accounts: set[str] = field(default_factory=set)  # stages whose WIP account is refused
    without_account: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    # ^ stages of the products with no WIP account, said once at accounts.wip
    accounts_left: set[str] = field(default_factory=set)  # codes the prior close's balances are in (ACCOUNT_CHANGED)

    def pool(self, stage: str) -> tuple[str | None, set[str]]:
        """The overhead line a product's ``stage`` applies (its own, or one misspelt for it) and
        which of its fields are not known."""
        line = self.misspelt_pools.get(stage, stage)
        return line, ({"driver", "rate", "actual"} if self.all_pools else self.pools.get(line, set()))


# Header keys the products' own checks do not depend on: with one of them wrong, the products are
# still checked (against the header without it), so that every problem is reported at once.
_PRODUCTS_DO_NOT_NEED = frozenset({"company", "locale", "materiality", "overhead_disposition", "finished_goods_method",
                                   "general_ledger"})
# Header keys the products use only in part: with one wrong, they are checked against the header
# with its refused parts stubbed out and those parts' consequences held back (``_Held``).
_STUBBED = frozenset({"currency", "overhead", "accounts"})
_OVERHEAD_STUB = {"driver": "units", "rate": 0, "actual": 0}


def _header_for_the_products(data: Any, issues: list[Issue]) -> tuple[CloseSpec, _Held] | None:
    """The header without the keys its problems are in, when the products do not depend on them
    (the problems stay reported), and what of it is not known; None otherwise."""
    if not isinstance(data, Mapping):
        return None
    keys = [k for k in data if isinstance(k, str)]
    heads = {_head(issue.path, keys) for issue in issues} - {"products"}
    # A key the header does not take (a note someone added) is no part of it: left out — unless it is
    # one of the header's own keys misspelt ('loss_conventon'): the products wait for it as for that key.
    wrong = set()
    for head in heads:
        if head in data and head not in CloseSpec.model_fields:
            meant = likely_meant(head, CloseSpec.model_fields)
            if meant is not None:
                wrong.add(meant)
        else:
            wrong.add(head)
    if not heads or not wrong <= _PRODUCTS_DO_NOT_NEED | _STUBBED:
        return None
    held = _Held()
    kept = {k: v for k, v in data.items() if k not in heads | wrong and k != "products"}
    if "company" in wrong:
        held.company = True
        kept["company"] = ""  # required, and named only on reports: its problem is reported already
    if "currency" in wrong:
        held.currency = True
        kept["currency"] = ""  # no currency: the products' amounts are not checked against its places
    if "overhead" in wrong:
        kept["overhead"] = _stub_overhead(data.get("overhead"), held)
    if "general_ledger" in wrong:
        # The balances that are numbers are still tied (``_tie_beside_problems``); a refused one is not.
        balances = _readable_balances(data.get("general_ledger"))
        if balances:
            kept["general_ledger"] = {"balances": balances}
    accounts = None
    if "accounts" in wrong:
        accounts = _stub_accounts(data.get("accounts"), held)
        kept["accounts"] = {role: {"code": role, "name": role} for role, f in AccountsSpec.model_fields.items()
                            if f.is_required() and role != "wip"} | {"wip": {}}
    try:
        header = CloseSpec.model_validate({**kept, "products": []})
    except ValidationError:
        return None
    if accounts is not None:
        header = header.model_copy(update={"accounts": accounts})
    return header, held


def _readable_balances(raw: Any) -> dict[str, Any]:
    """Of a general_ledger section refused, the balances that are each read as given (a code in
    quotes, a number); none when the section's shape is refused."""
    if not isinstance(raw, Mapping) or set(raw) != {"balances"} or not isinstance(raw["balances"], Mapping):
        return {}
    readable = {}
    refused = set()
    for code, balance in raw["balances"].items():
        try:
            GeneralLedgerSpec.model_validate({"balances": {code: balance}})
        except ValidationError:
            refused.add(str(code))  # 1310 unquoted beside "1310": which balance is meant is not known
            continue
        readable[code] = balance
    return {code: balance for code, balance in readable.items() if code not in refused}


def _head(path: str, keys: list[str]) -> str:
    """The top-level key an issue's path is under ('products_note' is not under 'products', and a
    key may hold a dot: 'my.note')."""
    for key in sorted(keys, key=len, reverse=True):
        if path == key or path.startswith((f"{key}.", f"{key}[")):
            return key
    return path.split(".")[0].split("[")[0]


def _stub_overhead(raw: Any, held: _Held) -> dict[str, dict[str, Any]]:
    """The overhead section with each refused field of a pool stubbed (and noted in ``held``)."""
    if not isinstance(raw, Mapping):
        held.all_pools = True
        return {}
    pools = {}
    for name, pool in raw.items():
        if not isinstance(name, str):
            continue
        fields: dict[str, Any] = {}
        for key, stub in _OVERHEAD_STUB.items():
            value = pool.get(key) if isinstance(pool, Mapping) else None
            try:
                OverheadSpec.model_validate({**_OVERHEAD_STUB, key: value})
                fields[key] = value
            except ValidationError:
                fields[key] = stub
                held.pools.setdefault(name, set()).add(key)
        pools[name] = fields
    return pools


def _stub_accounts(raw: Any, held: _Held) -> AccountsSpec:
    """The chart with each refused or missing account None (and noted in ``held``); the WIP accounts'
    stages kept where the stages are known."""
    if not isinstance(raw, Mapping):
        raw = {}
    accounts: dict[str, Any] = {}
    for role, f in AccountsSpec.model_fields.items():
        if role == "wip":
            continue
        value = raw.get(role)
        if value is None and not f.is_required():
            accounts[role] = None
            continue
        try:
            accounts[role] = AccountSpec.model_validate(value)
        except ValidationError:
            accounts[role] = None
            held.roles.add(role)
    wip: dict[str, AccountSpec | None] = {}
    if isinstance(raw.get("wip"), Mapping):
        for stage, value in raw["wip"].items():
            if not isinstance(stage, str):
                continue
            try:
                wip[stage] = AccountSpec.model_validate(value)
            except ValidationError:
                wip[stage] = None
                held.wip_accounts.add(stage)
    else:
        held.wip = True
    return AccountsSpec.model_construct(**accounts, wip=wip)


def _check_header(header: CloseSpec, prior: PriorState | None, issues: list[Issue], held: _Held | None = None,
                  used: Mapping[str, list[tuple[str, str | None]]] | None = None,
                  vouched: frozenset[str] = frozenset(), recorded: bool = False) -> tuple[CloseSpec, Decimal | None]:
    """The header's own checks (company, currency, locale, sequence, overhead, accounts); appends to
    ``issues`` and returns the header with posted amounts at the currency's places, and the quantum.
    ``held``: the parts of the header refused already (noted further in it: what the products are
    checked without); ``used``: the stages the products name, and where (``_stages_used``);
    ``vouched``: names accepted as a close the ledger holds accepted them (``resolve_close``);
    ``recorded``: as ``resolve_close`` takes it (amounts typed as '.'-grouped are not refused)."""
    held = held if held is not None else _Held()
    # The company heads every report and journal on one line, as a product or stage name does.  One
    # a close the ledger holds was accepted with is not checked: closes before this check did not
    # (nor, before it was refused, an empty one).  A company refused already (not text, missing) is
    # stood in for by "" while the products are checked (``_header_for_the_products``): not refused
    # again as empty.
    problem = None if held.company or header.company in vouched else name_problem(header.company)
    if problem is not None:
        # First, where the file (and the workbook's Settings) gives it.
        # Only spaces (a no-break or ideographic one too) is as empty: trimmed, it would be refused as such.
        blank = not header.company.strip()
        what = (f"is {'empty' if not header.company else 'only spaces'}: it heads every report and journal — give "
                "the company's name" if blank else
                f"{problem}: it heads every report and journal on one line — write it on one line, without "
                "invisible characters or spaces at the ends")
        issues.insert(0, Issue("INVALID_NAME", "company", f"the company name {what}"))
    q = None
    if held.currency:
        pass  # refused already: its problem is reported
    elif not (len(header.currency) == 3 and header.currency.isupper() and is_known_currency(header.currency)):
        issues.append(Issue("UNKNOWN_CURRENCY", "currency", unknown_currency_text(header.currency)))
    else:
        q = quantum(header.currency)
    if not is_known_locale(header.locale):
        issues.append(Issue("UNKNOWN_LOCALE", "locale", f"unknown locale {header.locale!r}; expected e.g. en_US, de_DE"))

    if prior is not None and prior.currency is not None and prior.currency != header.currency and not held.currency:
        issues.append(Issue("CURRENCY_MISMATCH", "currency",
                            f"{prior.period} closed in {prior.currency}, and its closing WIP and finished goods open "
                            f"this month in {prior.currency}; found {header.currency!r}. A ledger keeps one currency"))
    if prior is not None and prior.period != previous_period(header.period):
        issues.append(Issue(
            "PERIOD_OUT_OF_SEQUENCE", "period",
            f"the ledger's last closed period is {prior.period}; the next close must be "
            f"{next_period(prior.period)}, found {header.period}"))
    if prior is not None:
        _check_accounts_kept(header, prior, issues, held)
    if used and not held.wip:
        held.without_account = _stages_without_account(header, used, vouched)
        for name, where in held.without_account.items():
            issues.append(Issue("UNKNOWN_ACCOUNT", "accounts.wip", _without_account_message(name, where, header)))
    for name, oh in header.overhead.items():
        if name not in header.accounts.wip and name not in held.without_account and not held.wip:
            # Every stage has a WIP account (even one idle this month); an overhead line without one
            # is a misspelt stage, whose actual overhead would be written off unnoticed.
            meant = _similar_stage(name, header.accounts.wip)
            issues.append(Issue("UNKNOWN_STAGE", f"overhead.{name}",
                                f"{name!r} has no WIP account (accounts.wip), so it is no stage of this close; "
                                f"stages: {', '.join(header.accounts.wip) or 'none'}"
                                + (f" (did you mean {meant!r}?)" if meant else "")))
            if meant is not None and meant not in header.overhead:
                held.misspelt_pools[meant] = name  # the products' stage applies it, not a pool "missing"
        for key, value in (("rate", oh.rate), ("actual", oh.actual)):
            if value < 0:
                issues.append(negative_amount(f"overhead.{name}.{key}", value))
                held.pools.setdefault(name, set()).add(key)  # not applied from: the products would restate it
        if _grouped_as_typed(oh.actual, q, header, recorded):
            issues.append(_grouped_amount(f"overhead.{name}.actual", oh.actual, q, header))
        elif q is not None and finer_than_currency(oh.actual, header.currency):
            issues.append(Issue("AMOUNT_PRECISION", f"overhead.{name}.actual",
                                finer_than_currency(oh.actual, header.currency)))
    if q is not None:
        # Posted amounts carry the currency's places (22500 -> 22500.00); one with more is refused above.
        header = header.model_copy(update={"overhead": {
            name: oh.model_copy(update={"actual": oh.actual.quantize(q)}) if oh.actual == oh.actual.quantize(q) else oh
            for name, oh in header.overhead.items()}})
    if header.loss_convention == "process_account":
        for role in ("scrap", "abnormal_loss", "abnormal_gain"):
            if getattr(header.accounts, role) is None and role not in held.roles:
                issues.append(Issue("MISSING_KEY", f"accounts.{role}",
                                    f"loss_convention: process_account posts to a {role.replace('_', ' ')} account; "
                                    "add it under accounts"))
    if header.materiality < 0:
        issues.append(negative_amount("materiality", header.materiality))
    if _grouped_as_typed(header.materiality, q, header, recorded):
        # 1.000 would write off a difference of 999 that a materiality of 1000 means to prorate.
        issues.append(_grouped_amount("materiality", header.materiality, q, header))
    elif not recorded and q is not None and finer_than_currency(header.materiality, header.currency):
        # An amount of the currency like any other (the variance audit's --materiality is refused
        # so): a threshold between two units says nothing the next unit up does not.
        issues.append(Issue("AMOUNT_PRECISION", "materiality", finer_than_currency(header.materiality,
                                                                                   header.currency)))
    _check_accounts(header, issues, vouched)
    if not any(issue.code == "CURRENCY_MISMATCH" for issue in issues):  # else its amounts follow from that one
        header = _check_general_ledger(header, q, issues, held, recorded)

    return header, q


def _stages_without_account(header: CloseSpec, used: Mapping[str, list[tuple[str, str | None]]],
                            vouched: frozenset[str] = frozenset()) -> dict[str, list[tuple[str, str | None]]]:
    """The products' stages that are stages of the plant but have no WIP account: those given an
    overhead pool, and names like none of the plant's stages that several product-stages share (a
    name in one product only may be a misspelling there, and is said there)."""
    return {name: where for name, where in used.items()
            if name not in header.accounts.wip and name_problem(name, vouched=name in vouched) is None
            and (name in header.overhead or (len(where) > 1 and _meant_stage(name, header) is None))}


def _without_account_message(name: str, where: list[tuple[str, str | None]], header: CloseSpec) -> str:
    products = list(dict.fromkeys(product for _, product in where if product is not None))
    whose = f"the stages of {_and(products)} ({', '.join(path for path, _ in where)})" if products else \
        f"the product stages {', '.join(path for path, _ in where)}"
    stages = ", ".join(header.accounts.wip)
    pool = name in header.overhead
    return (f"no WIP account for stage {name!r}: {whose} are in it"
            + (f", and overhead.{name} is its overhead pool" if pool else "")
            + f"; every stage needs one, and accounts.wip gives {'one for ' + stages + ' only' if stages else 'none'}. "
            f"Add {name}: {{code, name}} under accounts.wip"
            + ("" if pool else ", and its overhead pool under overhead if it applies overhead, or correct the name "
                               "where it is misspelt"))


def _and(names: list[str]) -> str:
    """Names listed in a sentence.

    >>> _and(["A"]), _and(["A", "B"]), _and(["A", "B", "C"])
    ('A', 'A and B', 'A, B and C')
    """
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _check_general_ledger(header: CloseSpec, q: Decimal | None, issues: list[Issue],
                          held: _Held | None = None, recorded: bool = False) -> CloseSpec:
    """The GL balances the close is to tie to (``_general_ledger``): accounts the close can tie,
    amounts at the currency's places; returned with those that have no problem at those places
    (7449.6 -> 7449.60)."""
    if header.general_ledger is None:
        return header
    from ._general_ledger import reconcilable_accounts, shared_overhead_control

    held = held if held is not None else _Held()
    chart = _known_chart(header)
    accounts = reconcilable_accounts(chart)
    # An account of the chart refused, or a stage without one: a code not found may be that account's.
    partial = held.wip or bool(held.wip_accounts) or bool(held.without_account) or \
        bool(held.roles & {"finished_goods", "overhead_control"})
    balances = header.general_ledger.balances
    if not balances:
        issues.append(Issue("MISSING_INPUT", "general_ledger.balances",
                            "no balance given: give the accounts to tie (WIP, finished goods, overhead control) "
                            "or leave general_ledger out"))
    shared = shared_overhead_control(chart)
    at_places = dict(balances)
    for code, balance in balances.items():
        path = f"general_ledger.balances.{code}"
        if shared and code == chart.accounts.overhead_control.code:
            issues.append(Issue("ACCOUNT_CONFLICT", path,
                                f"{code} is overhead control and also {', '.join(r.replace('_', ' ') for r in shared)}: "
                                "its balance holds more than this month's actual overhead, so it cannot be tied; give "
                                "overhead control an account of its own (or shared with overhead applied only), or "
                                "leave it out here"))
        elif code not in accounts:
            if not partial and code not in held.accounts_left:
                issues.append(Issue("UNKNOWN_ACCOUNT", path,
                                    f"{code!r} is not an account this close can tie to the general ledger; give the "
                                    f"WIP accounts, finished goods and overhead control: {', '.join(sorted(accounts))}"))
        elif _grouped_as_typed(balance, q, header, recorded):
            issues.append(_grouped_amount(path, balance, q, header))
        elif q is not None and finer_than_currency(balance, header.currency):
            issues.append(Issue("AMOUNT_PRECISION", path, finer_than_currency(balance, header.currency)))
        elif q is not None:
            at_places[code] = balance.quantize(q)
    return header.model_copy(update={"general_ledger": header.general_ledger.model_copy(update={"balances": at_places})})


def _known_chart(header: CloseSpec) -> CloseSpec:
    """``header`` with each account refused (None, its problem reported: ``_stub_accounts``) given
    a code no general-ledger balance can have, so that the accounts it does know can be tied."""
    accounts = header.accounts
    unknown = {role: AccountSpec.model_construct(code=f"\0{role}", name="") for role, account in accounts
               if account is None and role != "wip" and AccountsSpec.model_fields[role].is_required()}
    wip = {stage: AccountSpec.model_construct(code=f"\0wip.{stage}", name="") if account is None else account
           for stage, account in accounts.wip.items()}
    if not unknown and wip == accounts.wip:
        return header
    return header.model_copy(update={"accounts": accounts.model_copy(update={**unknown, "wip": wip})})


def _check_accounts_kept(header: CloseSpec, prior: PriorState, issues: list[Issue], held: _Held | None = None) -> None:
    """The opening position stays in the accounts the prior close left it in: a close posts no
    reclass between accounts, so a stage (or finished goods) moved to another account would show
    its opening there while the general ledger kept it in the old one.  The accounts left are noted
    in ``held`` (a balance given for one is not also "unknown")."""
    held = held if held is not None else _Held()
    in_stage: dict[str, Decimal] = {}
    for wip in prior.wip.values():
        in_stage[wip.stage] = in_stage.get(wip.stage, _ZERO) + wip.total
    for stage, amount in in_stage.items():
        before = (prior.wip_accounts or {}).get(stage)
        now = header.accounts.wip.get(stage)
        if amount and before is not None and now is not None and now.code != before:
            held.accounts_left.add(before)
            issues.append(Issue("ACCOUNT_CHANGED", f"accounts.wip.{stage}.code",
                                f"{stage}'s opening WIP of {amount} is in account {before}, where the {prior.period} "
                                f"close posted it; found {now.code}. A close moves no balance between accounts (the "
                                f"general ledger would keep it in {before}): keep {before} for {stage} while it holds WIP"))
    fg = sum((layer.cost for layers in prior.finished_goods.values() for layer in layers), _ZERO)
    before = prior.finished_goods_account
    if fg and before is not None and header.accounts.finished_goods is not None \
            and header.accounts.finished_goods.code != before:
        held.accounts_left.add(before)
        issues.append(Issue("ACCOUNT_CHANGED", "accounts.finished_goods.code",
                            f"the opening finished goods of {fg} are in account {before}, where the {prior.period} close "
                            f"posted them; found {header.accounts.finished_goods.code}. A close moves no balance between "
                            f"accounts: keep {before} while it holds finished goods"))


# Accounts the roll-forward ties to the journals: no other role may post to them.
_INVENTORY_ROLES = ("wip", "finished_goods")


def _check_accounts(header: CloseSpec, issues: list[Issue], vouched: frozenset[str] = frozenset()) -> None:
    """The chart the journals post to, checked where it was typed rather than at export time: every
    code and name a key an accounting system can match; one code, one name and one type (QuickBooks
    and IIF files match accounts by name, the others by code); WIP and finished-goods accounts used
    for nothing else.  Several roles may share an account (one overhead account for applied and
    incurred; stages sharing one WIP account).  ``vouched``: names accepted as a recorded close accepted them."""
    from ._journals import ACCOUNT_TYPES  # the journal side's chart; imported late as _journals imports the plan

    roles = [(f"accounts.{role}", role, getattr(header.accounts, role)) for role in ACCOUNT_TYPES if role != "wip"]
    roles += [(f"accounts.wip.{stage}", "wip", spec) for stage, spec in header.accounts.wip.items()]
    printed: dict[str, str] = {}  # each stage name as it prints -> the stage so printed first
    for stage in header.accounts.wip:  # (a refused account is None: its problem is reported)
        problem = name_problem(stage, vouched=stage in vouched)
        if problem:
            issues.append(Issue("INVALID_NAME", f"accounts.wip.{stage}", f"stage name {stage!r} {problem}"))
        elif printed_as(stage) in printed and stage not in vouched:
            other = printed[printed_as(stage)]
            issues.append(Issue("DUPLICATE_STAGE", f"accounts.wip.{stage}",
                                f"stage name {stage!r} prints as {other!r} {printed_alike(stage, other)}"))
        else:
            printed.setdefault(printed_as(stage), stage)
    by_code: dict[str, tuple[str, str, object]] = {}
    by_name: dict[str, tuple[str, str, object]] = {}
    for path, role, spec in roles:
        if spec is None:
            continue
        bad = False
        for field in ("code", "name"):
            value = getattr(spec, field)
            problem = key_problem(value, vouched=value in vouched)
            if problem:
                bad = True
                issues.append(Issue("INVALID_ACCOUNT", f"{path}.{field}",
                                    f"{getattr(spec, field)!r} {problem}; accounting systems match accounts by code "
                                    "and name, so it could not be exported"))
        if bad:
            continue
        first = by_code.setdefault(spec.code, (path, role, spec))
        if first[2] is not spec:
            other_path, other_role, other = first
            if other.name != spec.name:
                issues.append(Issue("ACCOUNT_CONFLICT", f"{path}.name",
                                    f"account {spec.code} is {other.name!r} at {other_path} but {spec.name!r} here; "
                                    "one code has one name"))
            elif (role in _INVENTORY_ROLES or other_role in _INVENTORY_ROLES) and not (role == other_role == "wip"):
                issues.append(Issue("ACCOUNT_CONFLICT", f"{path}.code",
                                    f"account {spec.code} is also {other_path}; WIP and finished-goods accounts hold "
                                    "only inventory (the roll-forward ties them to the journals): give each its own"))
            elif ACCOUNT_TYPES[role] != ACCOUNT_TYPES[other_role]:
                issues.append(Issue("ACCOUNT_CONFLICT", f"{path}.code",
                                    f"account {spec.code} is also {other_path}, an {ACCOUNT_TYPES[other_role]} "
                                    f"account; {role.replace('_', ' ')} is an {ACCOUNT_TYPES[role]} account"))
        first = by_name.setdefault(spec.name.casefold(), (path, role, spec))
        if first[2].code != spec.code:
            issues.append(Issue("ACCOUNT_CONFLICT", f"{path}.name",
                                f"{spec.name!r} is also the name of account {first[2].code} at {first[0]}; "
                                "QuickBooks and IIF imports match accounts by name, so the two would post as one"))


class Unclean(Exception):
    """``product_plans`` met a problem: ``resolve_close`` says which, with every other one."""


def resolve_header(data: Any, prior: PriorState | None, vouched: frozenset[str] = frozenset(),
                   recorded: bool = False) -> tuple[CloseSpec, Decimal] | None:
    """The header of a close whose header has no problem at all (and whose products are a
    non-empty list), resolved exactly as ``resolve_close`` does; None otherwise.  ``vouched`` and
    ``recorded``: as ``resolve_close`` takes them (with the prior's names, which this adds)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("products"), list) or not data["products"]:
        return None
    header_data = {k: v for k, v in data.items() if k != "products"}
    header_data["products"] = []
    try:
        header = CloseSpec.model_validate(header_data)
    except ValidationError:
        return None
    issues: list[Issue] = []
    header, q = _check_header(header, prior, issues, vouched=vouched | _names_of_prior(prior), recorded=recorded)
    return None if issues or q is None else (header, q)


def product_plans(raw_products: list, header: CloseSpec, prior: PriorState | None,
                  q: Decimal, kept_apart: frozenset[str] = frozenset(),
                  vouched: frozenset[str] = frozenset(), recorded: bool = False) -> Iterator[ProductPlan]:
    """The plans of a close's products, one at a time, as ``resolve_close`` makes them for a
    header from ``resolve_header``; raises ``Unclean`` at the first problem of any kind (then
    ``resolve_close`` gives all of them, located, in its order).  ``vouched``: as ``resolve_close``
    takes it (with the prior's names, which this adds); the fast path declines a name it would not
    accept otherwise, and the general path accepts it."""
    from ._fast import FastResolver  # it builds ProductPlans: imported here, after this module

    fast = FastResolver(header, prior, q)
    seen: set[str] = set()
    # product_key -> the products so far: two spellings of one are a duplicate, unless both are, exactly,
    # products of the prior close (``_kept_apart``).
    keys: dict[str, list[str]] = {}
    # The prior close's products, and their keys: a product it knew spelt otherwise is INCONSISTENT_NAME.
    known = _known_products(prior) | kept_apart
    known_keys = {product_key(name) for name in known}
    vouched = vouched | _names_of_prior(prior)
    for raw in raw_products:
        plan = fast(raw)
        if plan is None:  # not the common clean shape: the general path decides
            try:
                product = ProductSpec.model_validate(raw)
            except ValidationError:
                raise Unclean from None
            plan, issues = _resolve_product(product, header, prior, q, vouched=vouched, recorded=recorded)
            if issues or plan is None:
                raise Unclean
        if header.accounts.conversion_costs is None and _uses_conversion(plan):
            raise Unclean  # the general path says, once, that the account is missing
        key = product_key(plan.name)
        earlier = keys.setdefault(key, [])
        if any(not _kept_apart(plan.name, name, known) for name in earlier) or \
                (plan.name not in known and key in known_keys):
            raise Unclean
        earlier.append(plan.name)
        seen.add(plan.name)
        yield plan
    if prior is not None:
        if any(product not in seen and wip.units for (product, _), wip in prior.wip.items()):
            raise Unclean
        if any(product not in seen and any(layer.units for layer in layers)
               for product, layers in prior.finished_goods.items()):
            raise Unclean


def _resolve_clean(data: Any, prior: PriorState | None, kept_apart: frozenset[str] = frozenset(),
                   vouched: frozenset[str] = frozenset(), recorded: bool = False) -> ClosePlan | None:
    """The plan of a close file with no problem at all, products resolved by the fast path where
    it applies (``costing.close._fast``); None at the first problem of any kind."""
    resolved = resolve_header(data, prior, vouched, recorded)
    if resolved is None:
        return None
    header, q = resolved
    try:
        plans = tuple(product_plans(data["products"], header, prior, q, kept_apart, vouched, recorded))
    except Unclean:
        return None
    return ClosePlan(header, q, plans, prior is None)


def _blank_as_not_given(data: Any) -> Any:
    """Recorded inputs with a stage's ``count`` and its spoilage's ``normal_rate`` left blank (null)
    read as not given, as the engine that recorded them read them: new input refuses such a key
    ("found nothing"), a close the ledger holds is read as it was."""
    if not isinstance(data, Mapping) or not isinstance(data.get("products"), list):
        return data
    products, changed = [], False
    for product in data["products"]:
        stages = product.get("stages") if isinstance(product, Mapping) else None
        if not isinstance(stages, list):
            products.append(product)
            continue
        new_stages = []
        for stage in stages:
            if isinstance(stage, Mapping):
                spoilage = stage.get("spoilage")
                if isinstance(spoilage, Mapping) and "normal_rate" in spoilage and spoilage["normal_rate"] is None:
                    stage = {**stage, "spoilage": {k: v for k, v in spoilage.items() if k != "normal_rate"}}
                    changed = True
                if "count" in stage and stage["count"] is None:
                    stage = {k: v for k, v in stage.items() if k != "count"}
                    changed = True
            new_stages.append(stage)
        products.append({**product, "stages": new_stages})
    return {**data, "products": products} if changed else data


def _resolve_product(product: ProductSpec, header: CloseSpec, prior: PriorState | None,
                     q: Decimal | None, held: _Held | None = None, vouched: frozenset[str] = frozenset(),
                     recorded: bool = False, cost_checks: bool = False,
                     amounts_refused_from: int | None = None) -> tuple[ProductPlan | None, list[Issue]]:
    """``held``: parts of the header refused (reported already), which the product is checked without;
    ``vouched``: names accepted as a close the ledger holds accepted them (``resolve_close``).
    ``cost_checks``: the close has problems (``resolve_close``'s general path): the product's stages
    are costed too, as far as their costs are known, for what compares costs (``DISPOSAL_EXCEEDS_COST``,
    ``SCRAP_EXCEEDS_COST``), which the close finds costing only once there is no other problem;
    ``amounts_refused_from``: the first stage with a refused money amount (reported already, taken as
    zero here), whose costs and those after it are not known."""
    held = held if held is not None else _Held()
    issues: list[Issue] = []
    unapplied: int | None = None  # the first stage whose overhead applied is not known (its pool refused)
    uncosted: int | None = None  # the first stage whose overhead is not applied, for whatever problem
    grouped_from: int | None = None  # the first stage with a cost typed like 36.000 (``_grouped_amounts``)
    problem = name_problem(product.name, vouched=product.name in vouched)
    if problem:
        issues.append(Issue("INVALID_NAME", "name", f"product name {product.name!r} {problem}; it is printed on "
                                                    "reports and carried to the next close"))
    stages = []
    applied: dict[str, Decimal] = {}
    oh_element: dict[str, str] = {}
    drivers: dict[str, Decimal] = {}
    counts: dict[str, Decimal] = {}
    written = {s.name for s in product.stages}
    stage_names = set(written)
    typed: dict[str, Decimal] = {}  # path -> a stage's amount typed as '.'-grouped (``_grouped_as_typed``)
    for j, stage in enumerate(product.stages):
        spath = f"stages[{j}]"
        update: dict[str, Any] = {}
        name = stage.name  # the stage it is, checked further as that (a misspelt one: the stage it was meant to be)
        if name in held.without_account or held.wip:
            pass  # its missing WIP account is said once, at accounts.wip (or the plant's stages are not known)
        elif name not in header.accounts.wip:
            meant = _meant_stage(name, header)
            plant = ", ".join(header.accounts.wip)
            if meant is not None:
                # One mistake, one problem: not an account and an overhead pool to add for a stage
                # that does not exist.  The rest is checked as the stage it was meant to be.
                issues.append(Issue("UNKNOWN_STAGE", f"{spath}.name",
                                    f"unknown stage {name!r}: the plant's stages are {plant} (did you mean {meant!r}?)"))
                if meant not in written:
                    name = meant
                    stage_names.add(meant)
            elif name in header.overhead:  # a stage of the plant's overhead, missing from the chart
                issues.append(Issue("UNKNOWN_ACCOUNT", f"{spath}.name",
                                    f"no WIP account for stage {name!r} (overhead.{name} is its overhead pool); add "
                                    "it under accounts.wip"))
            else:
                # Plausibly a new stage (like none of the plant's): what it needs, in one problem.
                pool = any(el.kind == "overhead" for el in stage.elements.values())
                issues.append(Issue("UNKNOWN_ACCOUNT", f"{spath}.name",
                                    f"no WIP account for stage {name!r}"
                                    + (f", which is none of the plant's stages ({plant})" if plant else "")
                                    + "; if it is a new stage, add it under accounts.wip"
                                    + (f" and its overhead pool under overhead ({name}: {{driver, rate, actual}})"
                                       if pool else "")
                                    + (", otherwise correct the name" if plant else "")))
        # Amounts typed as a '.'-grouping locale shows them (36.000 for 36000): refused, not posted as 36.00;
        # with other places (9.455) the core refuses them, and is told the grouped reading (``_said_grouped``).
        amounts = list(_stage_amounts(stage, spath, opening=prior is None))
        found_before = len(issues)
        _grouped_amounts(amounts, q, header, issues, recorded)
        if len(issues) > found_before and grouped_from is None:
            grouped_from = j  # a cost typed like 36.000: not known as written (36000 meant, most likely)
        typed.update((path, value) for path, value in amounts if _grouped_as_typed(value, q, header, recorded))
        if j == 0 and stage.transferred_in is not None:
            # A department costed on its own receives cost from outside; in a close nothing would
            # credit it, so WIP would hold cost no journal put there.
            issues.append(Issue("TRANSFERRED_IN_FROM_OUTSIDE", f"{spath}.transferred_in",
                                f"{stage.name} is {product.name}'s first stage: in a close a product's units start "
                                "in its first stage, and cost received from outside its flow has no account to "
                                "credit. Give started units and their cost as materials, or include the stages "
                                "before it in this product"))
        # Overhead is applied at the predetermined rate, never typed in as a cost.
        overhead_names = [n for n, el in stage.elements.items() if el.kind == "overhead"]
        if len(overhead_names) > 1:
            issues.append(Issue("SEVERAL_OVERHEAD_ELEMENTS", f"{spath}.elements",
                                f"elements {', '.join(overhead_names)} are all overhead; a stage applies overhead to one element"))
        elif overhead_names:
            element = overhead_names[0]
            line, unknown = held.pool(name)
            config = header.overhead.get(line)
            if unknown & {"driver", "rate"} or q is None:
                unapplied = j if unapplied is None else unapplied
            if element in stage.added_costs:
                issues.append(Issue("OVERHEAD_TYPED_IN", f"{spath}.added_costs.{element}",
                                    f"overhead is applied at the stage's predetermined rate (overhead.{name}); "
                                    "remove this cost"))
            elif config is None:
                if held.all_pools or held.wip and _similar_stage(name, header.overhead):
                    pass  # the pools (or the plant's stages) are not known: a pool "missing" may be given
                elif name in header.accounts.wip or held.wip:  # else said with the stage's name
                    issues.append(Issue("MISSING_OVERHEAD_RATE", f"{spath}.elements.{element}",
                                        f"no overhead rate for stage {name!r}; add overhead.{name}: "
                                        "{driver, rate, actual}"))
            else:
                if "driver" in unknown:  # no quantity can be asked for: only its own problem is said
                    quantity = stage.driver_quantity if stage.driver_quantity is not None else _ZERO
                    if quantity < 0:
                        issues.append(negative_units(f"{spath}.driver_quantity", quantity, ""))
                elif config.driver == "direct_labour_cost":
                    labour = [stage.added_costs.get(n, _ZERO) for n, el in stage.elements.items() if el.kind == "labour"]
                    # A negative labour cost is told where it was typed (NEGATIVE_AMOUNT); overhead
                    # applied from it would be a second, negative amount at a key no one typed.
                    quantity = None if any(c < 0 for c in labour) else sum(labour, _ZERO)
                elif stage.driver_quantity is None:
                    quantity = None
                    issues.append(Issue("MISSING_DRIVER_QUANTITY", f"{spath}.driver_quantity",
                                        f"overhead in {name} is applied on {config.driver}; give {product.name}'s "
                                        f"actual quantity in {name}"))
                else:
                    quantity = stage.driver_quantity
                    if quantity < 0:
                        issues.append(negative_units(f"{spath}.driver_quantity", quantity, ""))
                        quantity = None  # no overhead applied from it: a negative one would be reported again
                if unknown & {"driver", "rate"}:
                    quantity = None  # not applied: what it would give is not known
                if quantity is not None and abs(config.rate * quantity) >= NUMBER_LIMIT:
                    # Like any amount the file gives: beyond it no posting can be made exactly.
                    issues.append(Issue("NUMBER_TOO_LARGE", f"{spath}.driver_quantity",
                                        f"overhead applied in {name} would be rate {config.rate} × {quantity}, "
                                        f"not below {NUMBER_LIMIT:,}; check the rate (overhead.{name}.rate) and "
                                        "this quantity"))
                    quantity = None
                if quantity is not None and q is not None:
                    # Posted per product-stage, rounded as the close rounds (half-up unless half_even).
                    amount = applied_overhead(config.rate, quantity, q, ROUNDING_MODES[header.rounding])
                    applied[name] = amount
                    drivers[name] = quantity
                    oh_element[name] = element
                    update["added_costs"] = {**stage.added_costs, element: amount}
        if overhead_names and "added_costs" not in update and uncosted is None:
            uncosted = j  # its overhead not applied as the close would apply it (a problem said above)
        if stage.count is not None:
            if stage.count < 0:
                issues.append(negative_units(f"{spath}.count", stage.count, ""))
            counts[name] = stage.count

        # Opening WIP: from the file in the ledger's first period, from the ledger afterwards.
        if prior is not None:
            carried = prior.wip.get((product.name, name))
            if stage.beginning_wip is not None:
                if not held.other_currency:  # an opening in another currency is not compared
                    issues.extend(_compare_opening(stage.beginning_wip, carried, prior.period,
                                                   f"{spath}.beginning_wip"))
            beginning = _beginning_from(carried)
            left = [e for e in (beginning.cost if beginning is not None else ()) if e != TRANSFERRED_IN
                    and e != PROGRESS and isinstance(stage.elements, Mapping) and e not in stage.elements]
            if left:
                # The prior close carried opening WIP in an element this month's stage does not declare
                # (renamed, or dropped): not the file's beginning_wip (it gives none), and its cost
                # would leave the books unposted.  An element it carried nothing in goes quietly.
                held_cost = {e: beginning.cost[e] for e in left if beginning.cost[e]}
                if held_cost:
                    issues.append(Issue("ELEMENT_MISSING", f"{spath}.elements", (
                        f"the {prior.period} close carried {beginning.units} units of opening WIP in "
                        + ", ".join(f"{e!r} ({amount})" for e, amount in held_cost.items())
                        + f", which {name} no longer declares: keep "
                        + ("the element" if len(held_cost) == 1 else "the elements")
                        + f" this month (its cost goes on from there), or reopen {prior.period} and close it again "
                          "with this month's elements")))
                beginning = _beginning_without(beginning, left)
            update["beginning_wip"] = beginning
        stages.append(_replace(stage, update) if update else stage)

    carried_wip = prior.wip_of(product.name) if prior is not None else {}
    for sname, wip in carried_wip.items():
        if sname not in stage_names and wip.units:
            issues.append(Issue("STAGE_MISSING", "stages",
                                f"stage {sname!r} has {wip.units} units of closing WIP from {prior.period}; "
                                "include the stage"))

    # Stage names a close the ledger holds was accepted with (``vouched``) are checked as they were; so
    # is an element named ``progress`` where the prior close's WIP of this product and stage holds one
    # (recorded before the name was reserved): the month opens with it.
    progress_stages = frozenset(sname for sname, wip in carried_wip.items() if PROGRESS in wip.cost)
    # Costs are known before the first stage whose overhead is not applied (its pool refused, its
    # driver quantity missing, ...) or whose money amount was refused; what compares them is held
    # back from there on (the stages after it receive its cost).
    known_before = min((j for j in (unapplied, uncosted, amounts_refused_from, grouped_from) if j is not None),
                       default=len(stages))
    case, case_issues = resolve_case(CaseSpec.model_construct(
        currency=header.currency, method=header.method, rounding=header.rounding,
        loss_convention=header.loss_convention, stages=stages), vouched=vouched, recorded=recorded,
        progress_stages=progress_stages, costs_known_before=known_before if cost_checks else 0)
    # The header's fields are the close's own, reported once at the top, not again per product.
    issues.extend(i for i in _said_grouped(case_issues, typed, q, header)
                  if i.path not in ("currency", "method", "rounding", "loss_convention")
                  and not (unapplied is not None and i.code in _COST_COMPARED and _stage_of(i.path) >= unapplied)
                  # In another currency than the opening (CURRENCY_MISMATCH): the opening's places and
                  # costs compared with it follow from that one problem.
                  and not (held.other_currency and i.code in _COST_COMPARED | {"AMOUNT_PRECISION"}))
    if product.shipments < 0:
        issues.append(negative_units("shipments", product.shipments, ""))

    opening_fg: tuple[FinishedGoodsLayer, ...] = ()
    if prior is None:
        opening_fg = tuple(_layer(product.name, layer, header.period) for layer in product.opening_finished_goods or [])
        for k, layer in enumerate(opening_fg):
            path = f"opening_finished_goods[{k}]"
            given_period = product.opening_finished_goods[k].period
            if given_period is not None and not is_period(given_period):
                issues.append(Issue("INVALID_FORMAT", f"{path}.period", f"expected a month YYYY-MM, found {given_period!r}"))
            elif given_period is not None and given_period >= header.period:
                issues.append(Issue("PERIOD_OUT_OF_SEQUENCE", f"{path}.period",
                                    f"a layer on hand when {header.period} opens was produced before it, not in "
                                    f"{given_period}"))
            if layer.units < 0:
                issues.append(negative_units(f"{path}.units", layer.units, ""))
            if layer.cost < 0:
                issues.append(negative_amount(f"{path}.cost", layer.cost))
            if layer.units < 0 or layer.cost < 0:
                continue
            if not layer.units and layer.cost:
                issues.append(Issue("BEGINNING_COST_WITHOUT_UNITS", f"opening_finished_goods[{k}].cost",
                                    f"a finished-goods layer with cost {layer.cost} but no units"))
            elif _grouped_as_typed(layer.cost, q, header, recorded):
                issues.append(_grouped_amount(f"opening_finished_goods[{k}].cost", layer.cost, q, header))
            elif q is not None and finer_than_currency(layer.cost, header.currency):
                issues.append(Issue("AMOUNT_PRECISION", f"opening_finished_goods[{k}].cost",
                                    finer_than_currency(layer.cost, header.currency)))
        if q is not None:
            opening_fg = tuple(FinishedGoodsLayer(l.product, l.period, l.units, l.cost.quantize(q))
                               if l.cost == l.cost.quantize(q) else l for l in opening_fg)
    else:
        opening_fg = prior.finished_goods.get(product.name, ())
        if product.opening_finished_goods is not None:
            # A layer's period counts where the file gives one: it decides the FIFO order.
            given = tuple((layer.units, layer.cost) + ((layer.period,) if layer.period else ())
                          for layer in product.opening_finished_goods)
            carried = tuple((layer.units, layer.cost) + ((layer.period,) if g.period else ())
                            for layer, g in zip(opening_fg, product.opening_finished_goods))
            carried += tuple((layer.units, layer.cost) for layer in opening_fg[len(given):])
            if given != carried:
                issues.append(Issue(
                    "OPENING_MISMATCH", "opening_finished_goods",
                    f"file gives {_fmt_layers(given)}; the {prior.period} close carried {_fmt_layers(carried)} — "
                    "remove opening_finished_goods (it comes from the ledger) or reopen the prior period"))
    # Counts and shipments compare units only: checked whatever else is wrong, unless with the
    # very units they compare (``_units_in_question``).
    for j, stage in enumerate(stages):
        if stage.count is None or stage.count < 0 or _units_in_question(issues, j, prior is None):
            continue
        received = _received(product.stages, j)
        if received is None:
            continue
        problem = count_problem(stage.name, stage.count, stage.ending_wip.units if stage.ending_wip else _ZERO,
                                stage.beginning_wip.units if stage.beginning_wip else _ZERO, received,
                                stage.completed)
        if problem is not None:
            issues.append(problem.under(f"stages[{j}]"))
    if cost_checks and case is not None and q is not None and known_before:
        # The product's stages are in order: what compares their costs is said with the close's
        # other problems (and its own), not once they are fixed.
        issues = in_stage_order(issues, cost_problems(replace(case, stages=case.stages[:known_before])))
    shortfall = _shipments_beyond_stock(product, issues, prior)
    if shortfall is not None:
        issues.append(shortfall)
    if issues:
        return None, issues
    return ProductPlan(product.name, case, applied, oh_element, drivers, counts, product.shipments, opening_fg), []


def _received(stages: list, j: int) -> Decimal | None:
    """The units stage ``j`` received as written: started, or transferred in (the units the stage
    before completed), with units added in the process; None when not given."""
    stage = stages[j]
    if j:
        received = stages[j - 1].completed
    elif stage.started is not None:
        received = stage.started
    elif stage.transferred_in is not None:
        received = stage.transferred_in.units
    else:
        return None
    return received + sum(stage.added_units.values(), _ZERO) if stage.added_units else received


# Where in a stage the units a count or the finished units are compared with are written (a
# problem at the stage itself is its unit flow).
_UNIT_PATHS = ("started", "transferred_in.units", "completed", "ending_wip.units", "count", "added_units",
               "normal_loss.actual", "normal_loss.units")


def _units_in_question(issues: Iterable[Issue], j: int, opening_written: bool) -> bool:
    """Whether a problem is said of stage ``j``'s units (its flow, units received, completed, in
    ending WIP, counted; beginning WIP's where the file gives them, ``opening_written``) or of the
    units the stage before it completed, which it received."""
    spath = f"stages[{j}]"
    paths = tuple(f"{spath}.{key}" for key in _UNIT_PATHS + (("beginning_wip.units",) if opening_written else ()))
    before = f"stages[{j - 1}].completed" if j else None
    return any(i.path == spath or i.path.startswith(paths) or (before is not None and i.path.startswith(before))
               for i in issues)


_ENGINE_PRECISION = engine_context(ROUNDING_MODES["half_up"])  # units are added, not rounded, at its precision


def count_problem(stage: str, counted: Decimal, book: Decimal, beginning: Decimal, received: Decimal,
                  completed: Decimal) -> Issue | None:
    """``COUNT_WITHOUT_BOOK_UNITS`` or ``COUNT_EXCEEDS_FLOW`` of a stage's count (located at ``count``),
    from units alone, as the close words them; None when the count can be booked."""
    if counted == book:
        return None
    if not book:
        return Issue("COUNT_WITHOUT_BOOK_UNITS", "count",
                     f"{stage}: counted {counted} units but the books hold none, so there is no "
                     "cost to value them at; check the count or the ending WIP units")
    # At most what entered the stage and was not completed (no unit lost): more than that
    # means the completed units (or the count) are wrong, not that units were found.  Added in the
    # engine's precision, as the close costing it compares.
    with localcontext(_ENGINE_PRECISION):
        could_be_there = beginning + received - completed
    if counted > could_be_there:
        return Issue("COUNT_EXCEEDS_FLOW", "count",
                     f"{stage}: counted {counted} units, more than the {could_be_there} that "
                     f"entered the stage and were not completed (beginning {beginning} + "
                     f"received {received} − completed {completed}); check "
                     "the count, or the units completed or received")
    return None


def plan_refused(plan: ProductPlan) -> bool:
    """Whether a product's plan has a problem of its counts or shipments, which compare units alone
    (``count_problem``, ``SHIPMENTS_EXCEED_STOCK``): the general path says it, with every other."""
    stages = plan.case.stages
    for stage in stages:
        counted = plan.counts.get(stage.name)
        if counted is not None and count_problem(
                stage.name, counted, stage.ending.units, stage.beginning.units,
                stage.input_units + sum(stage.added_units.values(), _ZERO), stage.completed) is not None:
            return True
    on_hand = sum((layer.units for layer in plan.opening_fg), _ZERO) + (stages[-1].completed if stages else _ZERO)
    return plan.shipments > on_hand


def _stage_amounts(stage: Any, spath: str, opening: bool) -> Iterator[tuple[str, Decimal]]:
    """A stage's costs as written, with where each is: added, received and (``opening``: from the
    file, in the ledger's first month) beginning WIP's."""
    for name, value in stage.added_costs.items():
        yield f"{spath}.added_costs.{name}", value
    if opening and stage.beginning_wip is not None:
        for name, value in stage.beginning_wip.cost.items():
            yield f"{spath}.beginning_wip.cost.{name}", value
    if stage.transferred_in is not None and stage.transferred_in.cost is not None:
        yield f"{spath}.transferred_in.cost", stage.transferred_in.cost


# Problems that compare a stage's cost with a value: not said from a cost lacking the overhead a
# refused pool would apply (in that stage or, transferred in, the stages after it).
_COST_COMPARED = frozenset({"DISPOSAL_EXCEEDS_COST", "SCRAP_EXCEEDS_COST"})
# What compares a product with its opening (the units and costs carried from the prior close): of a
# product named as another, the other's, so not said of it.
_READS_OPENING = _READS_RECEIVED | _COST_COMPARED | {"OPENING_MISMATCH"}


def _stage_of(path: str) -> int:
    """The stage index a case problem is located in (``stages[2].spoilage...`` -> 2), else -1."""
    m = re.match(r"stages\[(\d+)\]", path)
    return int(m.group(1)) if m else -1


# How alike an unknown stage name must be to a known one to be taken for a misspelling of it
# (difflib's ratio, case aside): "Tesitng"/"Testing" 0.86, "Packing"/"Packaging" 0.88; "Casting"/
# "Testing" (0.71) and "Painting"/"Packaging" (0.59) are other stages.
_MISSPELT = 0.75


def _similar_stage(name: str, stages: Iterable[str]) -> str | None:
    """The stage among ``stages`` that ``name`` is most likely a misspelling of, or None.

    >>> _similar_stage("Tesitng", ["Assembly", "Testing", "Packaging"]), _similar_stage("Painting", ["Packaging"])
    ('Testing', None)
    """
    folded = {stage.casefold(): stage for stage in stages}
    if name.casefold() in folded:
        return folded[name.casefold()]
    found = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=_MISSPELT)
    return folded[found[0]] if found else None


def _meant_stage(name: str, header: CloseSpec) -> str | None:
    """The plant's stage (one with a WIP account) that a product's stage ``name``, which has none,
    was meant to be: a similar name, unless an overhead pool was given under this very name (then
    it is a new stage still without its account)."""
    if name in header.accounts.wip or name in header.overhead:
        return None
    return _similar_stage(name, header.accounts.wip)


def _as_meant(product: ProductSpec | None, header: CloseSpec) -> ProductSpec | None:
    """``product`` with each misspelt stage named as the stage it was meant to be (as
    ``_resolve_product`` checks it), e.g. for its opening WIP to count in that stage's account."""
    if product is None:
        return None
    written = {stage.name for stage in product.stages}
    stages = []
    for stage in product.stages:
        meant = _meant_stage(stage.name, header)
        stages.append(_replace(stage, {"name": meant}) if meant is not None and meant not in written else stage)
    return product if all(a is b for a, b in zip(stages, product.stages)) else _replace(product, {"stages": stages})


def product_key(name: str) -> str:
    """What identifies a product: its name with upper/lower case, the spacing between words,
    invisible format characters (Unicode category Cf: joiners, direction marks, tags) and how an
    accented letter is typed (one character, or a letter and a combining accent: NFC/NFD) aside.
    Two names with one key are one product written two ways: names that print alike in every report
    are not two products, whatever invisible character or keyboard one of them was typed with.

    >>> product_key("Espresso  PRO") == product_key("espresso pro") == product_key("Espresso\\u200d Pro\\u200e")
    True
    >>> product_key("Caf\\u00e9 Classic") == product_key("Cafe\\u0301 classic")
    True
    """
    # Invisible characters first: a joiner between two spaces would otherwise leave them two.
    return _case_and_spacing_aside(name if name.isascii() else _visible(name))


def _case_and_spacing_aside(name: str) -> str:
    return " ".join(name.split()).casefold()


@functools.lru_cache(maxsize=4096)  # a workbook folds one name per row, of 50,000 rows naming a few products
def _visible(name: str) -> str:
    """``name`` without its invisible format characters (Unicode category Cf), its accented letters
    composed (NFC: é one character whether typed so or as e and a combining accent)."""
    return unicodedata.normalize("NFC", "".join(c for c in name if unicodedata.category(c) != "Cf"))


def _how_they_differ(name: str, other: str) -> str:
    """What sets apart two names of one ``product_key``, for a message: upper/lower case or spacing,
    invisible characters (named, since they cannot be seen), or both.

    >>> _how_they_differ("Drip home", "Drip  Home")
    'upper/lower case or spacing'
    >>> _how_they_differ("Espresso Classic\\u200d", "Espresso Classic")
    'invisible characters (U+200D ZERO WIDTH JOINER)'
    >>> _how_they_differ("espresso\\u200d  classic", "Espresso Classic")
    'upper/lower case, spacing or invisible characters (U+200D ZERO WIDTH JOINER)'
    """
    if _case_and_spacing_aside(name) == _case_and_spacing_aside(other):
        return "upper/lower case or spacing"
    composed = [unicodedata.normalize("NFC", n) for n in (name, other)]
    if composed[0] != name or composed[1] != other:  # typed with combining accents (NFD) on one side
        if composed[0] == composed[1]:
            return "how an accented letter is typed (one character, or a letter and a combining accent)"
        if _case_and_spacing_aside(composed[0]) == _case_and_spacing_aside(composed[1]):
            return "upper/lower case, spacing or how an accented letter is typed"
    invisible = [c for c in dict.fromkeys(name + other)
                 if unicodedata.category(c) == "Cf" and name.count(c) != other.count(c)]
    invisible = invisible or [c for c in dict.fromkeys(name + other) if unicodedata.category(c) == "Cf"]
    named = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'FORMAT CHARACTER')}" for c in invisible)
    return (f"invisible characters ({named})" if _visible(name) == _visible(other)
            else f"upper/lower case, spacing or invisible characters ({named})")


def _duplicate_message(name: str, first_name: str, first: int) -> str:
    if name == first_name:
        return f"product {name!r} is already products[{first}]"
    return (f"product {name!r} differs from {first_name!r} (products[{first}]) only in "
            f"{_how_they_differ(name, first_name)}, so it is the same product named twice; "
            "merge the two, or name them apart")


def _kept_apart(name: str, other: str, known: set[str]) -> bool:
    """Two products whose names differ only in upper/lower case, spacing or invisible characters that
    are nonetheless two products: both, exactly as written, products of the prior close (a ledger
    from before such names were refused may hold both, each with its own WIP and finished goods, so
    that neither can be renamed nor the two merged).  Any other pair of one ``product_key`` is one
    product named twice."""
    return name != other and name in known and other in known


def _recorded_products(data: Any) -> frozenset[str]:
    """The product names a recorded close's inputs hold, exactly as written."""
    products = data.get("products") if isinstance(data, Mapping) else None
    return frozenset(p["name"] for p in products or () if isinstance(p, Mapping) and isinstance(p.get("name"), str))


def names_of_close(data: Any) -> frozenset[str]:
    """Every name a close's inputs give, as written: the company, the products and their stages, the
    plant's stages and overhead pools, and each account's code and name.  Those of a close the ledger
    holds were accepted by the engine that recorded it, and are accepted again as they were
    (``resolve_close``'s ``recorded`` and ``vouched``)."""
    if not isinstance(data, Mapping):
        return frozenset()
    given: list[Any] = [data.get("company")]  # anything, in a file not checked yet: names are the text ones
    accounts = data.get("accounts")
    if isinstance(accounts, Mapping):
        wip = accounts.get("wip")
        specs = [spec for role, spec in accounts.items() if role != "wip"]
        if isinstance(wip, Mapping):
            given += wip
            specs += wip.values()
        given += [spec.get(field) for spec in specs if isinstance(spec, Mapping) for field in ("code", "name")]
    if isinstance(data.get("overhead"), Mapping):
        given += data["overhead"]
    products = data.get("products")
    for product in products if isinstance(products, list) else ():
        if isinstance(product, Mapping):
            given.append(product.get("name"))
            stages = product.get("stages")
            given += [stage.get("name") for stage in stages if isinstance(stage, Mapping)] \
                if isinstance(stages, list) else []
    return frozenset(name for name in given if isinstance(name, str))


def _names_of_prior(prior: PriorState | None) -> frozenset[str]:
    """The names the prior close's closing position holds: its products and stages, and the WIP and
    finished-goods accounts they are in (as ``_known_products`` vouches for two spellings of one)."""
    if prior is None:
        return frozenset()
    accounts = prior.wip_accounts or {}
    names = _known_products(prior) | {stage for _, stage in prior.wip} | set(accounts) | set(accounts.values())
    if prior.finished_goods_account is not None:
        names.add(prior.finished_goods_account)
    return frozenset(names)


def _known_products(prior: PriorState | None) -> set[str]:
    """The products of the prior close, as it wrote them, whether or not it carried anything for them."""
    if prior is None:
        return set()
    return {name for name, _ in prior.wip} | set(prior.finished_goods)


def _respelled_as_carried(products: list[ProductSpec | None], prior: PriorState | None, written: list[str | None],
                          ) -> tuple[list[ProductSpec | None], dict[int, tuple[Issue | None, str]]]:
    """Products named as the prior close named them but for upper/lower case, spacing or invisible
    characters ("Drip home" for "Drip Home"), renamed as the prior close wrote them, and for each (by
    position) its one problem at the name and the name meant.  A product keeps one spelling from
    month to month: one it carried WIP or finished goods for would otherwise open from nothing, and
    the carried product be reported missing; one it carried nothing for would be another product in
    the ledger's history.  ``written``: each product's name as typed, also of one whose shape was
    refused (None when it has no name in text), which is told the same and not renamed (it is not
    checked further)."""
    if prior is None:
        return products, {}
    known = _known_products(prior)
    carried = {name for (name, _), wip in prior.wip.items() if wip.units}
    carried |= {name for name, layers in prior.finished_goods.items() if any(layer.units for layer in layers)}
    named = {name for name in written if name is not None}
    by_key: dict[str, list[str]] = {}
    for name in sorted(known - named):
        by_key.setdefault(product_key(name), []).append(name)
    if not by_key:
        return products, {}
    respelled: list[ProductSpec | None] = list(products)
    problems: dict[int, tuple[Issue, str]] = {}
    for i, (product, name) in enumerate(zip(products, written)):
        if name is None or name in known:
            continue
        key = product_key(name)
        candidates = by_key.get(key, ())
        if len(candidates) != 1:
            continue
        meant = candidates[0]
        if unicodedata.normalize("NFC", name) == unicodedata.normalize("NFC", meant):
            # Only how an accented letter is typed (one character, or a letter and a combining
            # accent): the two print alike and no one could retype the difference — taken as the
            # recorded spelling, without a word (no problem; the name meant, so that a product
            # whose shape was refused is not also reported missing).
            if product is not None:
                respelled[i] = _replace(product, {"name": meant})
            problems[i] = (None, meant)
            continue
        what = ("whose closing WIP and finished goods this month opens with under that name" if meant in carried
                else "and a product keeps one spelling from month to month")
        # Said when invisible characters set the two apart: the two names print alike.
        differing = (f"it differs from that spelling only in {_how_they_differ(name, meant)}; "
                     if _case_and_spacing_aside(name) != _case_and_spacing_aside(meant) else "")
        problems[i] = (Issue("INCONSISTENT_NAME", "name",
                             f"product {name!r} is written {meant!r} in the {prior.period} close, {what}; "
                             f"{differing}write it {meant!r}"), meant)
        if product is not None:
            respelled[i] = _replace(product, {"name": meant})
        del by_key[key]  # one product takes the prior close's name; another is a product of its own
    return respelled, problems


def _shipments_beyond_stock(product: ProductSpec, issues: list[Issue], prior: PriorState | None) -> Issue | None:
    """Shipments beyond the finished units on hand (opening layers + the last stage's completed
    units), told whatever else is wrong unless with what it compares: the product's shipments,
    opening layers, or the last stage's completed units or unit flow (a flow problem in an earlier
    stage leaves the units the last stage completed as written; a cost problem changes no unit).
    As the close says it (``SHIPMENTS_EXCEED_STOCK``); ``issues``: the product's, located within it."""
    if not product.stages:
        return None
    last = f"stages[{len(product.stages) - 1}]"
    flow = tuple(f"{last}.{key}" for key in ("completed", "normal_loss.actual", "normal_loss.units"))
    if any(i.path in ("", "name", last) or i.path.startswith(("shipments", "opening_finished_goods") + flow)
           for i in issues):
        return None
    shipped, completed = product.shipments, product.stages[-1].completed
    layers = prior.finished_goods.get(product.name, ()) if prior is not None else product.opening_finished_goods or ()
    opening = sum((layer.units for layer in layers), _ZERO)
    on_hand = opening + completed
    if shipped <= on_hand or shipped < 0 or completed < 0:
        return None
    return shipments_exceed_stock(product.name, shipped, on_hand, "shipments")


def shipments_exceed_stock(product: str, shipped: Decimal, on_hand: Decimal, path: str) -> Issue:
    """SHIPMENTS_EXCEED_STOCK, as the close says it whether it finds it costing or resolving."""
    return Issue("SHIPMENTS_EXCEED_STOCK", path,
                 f"{product}: shipped {shipped} units but only {on_hand} finished units were on hand "
                 f"(opening + completed); difference {shipped - on_hand}. Check this month's shipments, then the "
                 "units the last stage completed and the opening finished goods")


_new = object.__new__
_set = object.__setattr__


def _replace(spec: Any, update: dict[str, Any]) -> Any:
    """``spec.model_copy(update=update)`` for our frozen, extra-forbidding specs, without pydantic's
    generic copy machinery (a close copies one stage spec per product-stage)."""
    copy = _new(type(spec))
    _set(copy, "__dict__", {**spec.__dict__, **update})
    _set(copy, "__pydantic_fields_set__", spec.__pydantic_fields_set__ | update.keys())
    _set(copy, "__pydantic_extra__", spec.__pydantic_extra__)
    _set(copy, "__pydantic_private__", spec.__pydantic_private__)
    return copy


def _layer(product: str, spec: FinishedGoodsLayerSpec, period: str) -> FinishedGoodsLayer:
    return FinishedGoodsLayer(product, spec.period or "opening", spec.units, spec.cost)


def _fmt_layers(layers) -> str:
    if not layers:
        return "no layers"
    return "; ".join(f"{u} units at {c}" + (f" from {rest[0]}" if rest else "") for u, c, *rest in layers)


def _beginning_without(beginning: BeginningWipSpec, elements: list[str]) -> BeginningWipSpec:
    """``beginning`` without ``elements`` (their problem said where the close found them)."""
    complete = beginning.complete if not isinstance(beginning.complete, dict) else \
        {e: c for e, c in beginning.complete.items() if e not in elements}
    return BeginningWipSpec.model_construct(units=beginning.units, complete=complete,
                                            cost={e: c for e, c in beginning.cost.items() if e not in elements})


def _beginning_from(carried: StageWip | None) -> BeginningWipSpec | None:
    if carried is None or not carried.units and not any(carried.cost.values()):
        return None
    complete: dict[str, Decimal] = dict(carried.completion)
    if carried.progress is not None:
        complete["progress"] = carried.progress
    complete.pop(TRANSFERRED_IN, None)
    return BeginningWipSpec.model_construct(units=carried.units, complete=complete, cost=dict(carried.cost))


def _compare_opening(given: BeginningWipSpec, carried: StageWip | None, period: str, path: str) -> list[Issue]:
    carried_units = carried.units if carried else _ZERO
    carried_cost = {k: v for k, v in (carried.cost if carried else {}).items() if v}
    given_cost = {k: v for k, v in given.cost.items() if v}
    problems = []
    if given.units != carried_units:
        problems.append(Issue("OPENING_MISMATCH", f"{path}.units",
                              f"file gives {given.units} units; the {period} close carried {carried_units}; "
                              f"difference {given.units - carried_units} — remove beginning_wip (it comes from the "
                              "ledger) or reopen the prior period"))
    if given_cost != carried_cost:
        for element in sorted(set(given_cost) | set(carried_cost)):
            g, c = given_cost.get(element, _ZERO), carried_cost.get(element, _ZERO)
            if g != c:
                problems.append(Issue("OPENING_MISMATCH", f"{path}.cost.{element}",
                                      f"file gives {g}; the {period} close carried {c}; difference {g - c}"))
    if carried is not None and carried.units and given.complete is not None:
        # Completion as written (stage progress, or a map of progress and elements) against what
        # was carried; the carried completion is what this month's equivalent units start from.
        written = given.complete if isinstance(given.complete, dict) else {"progress": given.complete}
        for key, g in written.items():
            c = carried.progress if key == "progress" else carried.completion.get(key)
            if c is not None and g != c:
                where = f"{path}.complete" + (f".{key}" if isinstance(given.complete, dict) else "")
                problems.append(Issue("OPENING_MISMATCH", where,
                                      f"file gives {percent_text(g)} complete; the {period} close carried {percent_text(c)} — remove "
                                      "beginning_wip (it comes from the ledger) or reopen the prior period"))
    return problems

