"""Period-over-period bridge: the change in each amount, decomposed by sequential substitution.

For every line (product, stage, element; products only for COGS) the amount is
``V = Q × c × P``: Q units (equivalent units of work, units completed, WIP units, units shipped),
c completion (ending WIP only, else 1), P cost per equivalent unit.  Factors change one at a time
in a fixed order, each at the values already substituted:

1. **volume**: the pool's units (all products in the same stage and element; for the cost of goods
   manufactured, all products' units completed to finished goods) change at period-1 mix,
   completion and rate: ``(QT₂·s₁ − Q₁)·c₁·P₁``;
2. **mix**: the product's share of the pool changes at period-1 completion and rate:
   ``(Q₂ − QT₂·s₁)·c₁·P₁`` (zero when one product makes up the pool);
3. **completion** (ending WIP only): ``Q₂·(c₂ − c₁)·P₁``;
4. **price**: the cost per equivalent unit changes at period-2 quantities: the remainder,
   ``V₂ − V₁ − volume − mix − completion`` (= ``Q₂·c₂·(P₂ − P₁)`` whenever P₁ is defined).

Components are computed at full precision and rounded by largest-remainder allocation so that the
rounded components add up to the change exactly, to the minor unit; roll-ups (by stage, by product,
total) add the rounded line components, so they add up exactly too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from .._model import TRANSFERRED_IN
from .._numbers import ROUNDING_MODES, engine_context
from .._report import Amount, Quantity
from .._rounding import allocate
from ._figures import METRIC_ORDER, LineFigures, Metric, PeriodFigures

__all__ = ["COMPONENTS", "Materiality", "Drivers", "ComponentAmount", "Explanation", "BridgeLine", "CloseRef",
           "Bridge", "build_bridge", "METRIC_LABELS", "element_label", "explanation_text", "PlainNumbers", "LABELLED",
           "uf_label", "final_stages", "final_stage_label"]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
# The largest share of a line's change an explanation states ("drives 188 % of the change": the
# other components took back less than half of the driver).  Beyond it, or when the driver moved
# the other way from the change, a share reads as nonsense (-2989 %: a driver of +291.47 on a change
# of -9.75): the explanation names the driver's amount and what offset it instead.
MAX_SHARE_SHOWN = Decimal(200)

# The fixed order of substitution (also the order of the components in every report).
COMPONENTS = ("volume", "mix", "completion", "price")
# The amounts of a bridge line that carry a U/F label: only the price component, the one that
# compares a cost with the same per-unit cost of the earlier period.  The change, volume, mix and
# completion are more or fewer units, or a balance that grew or shrank: signed, neither better nor
# worse (producing more is not unfavourable).
LABELLED = ("price",)


def uf_label(amount: Decimal) -> Literal["U", "F", ""]:
    """The cost-variance convention, for a cost compared with a standard, a budget or the same
    per-unit cost of the earlier period: U (unfavourable) when the amount is positive — more cost
    —, F (favourable) when negative, "" when zero.

    >>> uf_label(Decimal("9055.20")), uf_label(Decimal("-15.42")), uf_label(Decimal("0.00"))
    ('U', 'F', '')
    """
    return "U" if amount > 0 else "F" if amount < 0 else ""

# COGS here is the cost of the units shipped, before the overhead true-up the close writes off or
# prorates to COGS: named so wherever it is shown (the reports reconcile it to COGS as posted).
METRIC_LABELS = {Metric.COST_ADDED: "cost added", Metric.TRANSFERRED_OUT: "cost transferred out",
                 Metric.ENDING_WIP: "ending WIP", Metric.COGS: "COGS before overhead true-up"}
_QUANTITY_LABELS = {Metric.COST_ADDED: "equivalent units of work", Metric.TRANSFERRED_OUT: "units transferred out",
                    Metric.ENDING_WIP: "ending WIP units", Metric.COGS: "units shipped"}
# The pool the cost of goods manufactured is measured against (``_cogm_calcs``).
_FINISHED_GOODS_UNITS = "units completed to finished goods"
_RATE_LABELS = {Metric.COST_ADDED: "cost per EU", Metric.TRANSFERRED_OUT: "transferred-out cost per unit",
                Metric.ENDING_WIP: "cost per EU", Metric.COGS: "cost per unit shipped"}


def element_label(name: str) -> str:
    """How an element is named in words (the implicit transferred_in element reads "transferred-in")."""
    return "transferred-in" if name == TRANSFERRED_IN else name


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Materiality(_Frozen):
    """A line is flagged when its change is at least ``absolute`` and at least ``percent`` % of its
    period-1 amount (any change of at least ``absolute`` when the period-1 amount is zero)."""

    absolute: Amount
    percent: Quantity


class Drivers(_Frozen):
    """The quantities behind one line (line level only); rates and shares at full precision."""

    units_before: Quantity
    units_after: Quantity
    completion_before: Quantity | None  # ending WIP only
    completion_after: Quantity | None
    rate_before: Quantity | None  # cost per equivalent unit; None where there were no equivalent units
    rate_after: Quantity | None
    pool_units_before: Quantity  # all products' units in the same metric, stage and element
    pool_units_after: Quantity
    share_before: Quantity | None  # this product's share of the pool
    share_after: Quantity | None


class ComponentAmount(_Frozen):
    """Part of a line's change other than its driver's: a component's amount."""

    component: Literal["volume", "mix", "completion", "price"]
    amount: Amount
    # True: the rest of the driver's own component — its other lines (a roll-up's), or for volume
    # its other pools.
    other_lines: bool = False


class Explanation(_Frozen):
    """The driver that moved a line most, as data (``explanation_text`` words it; the text report
    formats its numbers in the report's locale)."""

    component: Literal["volume", "mix", "completion", "price"]
    driver: str  # what moved, in words: "Testing conversion cost per EU", "Drip Home share of ..."
    measure: Literal["units", "share", "rate"]  # how before/after read: quantities, percentages, money per unit
    before: Quantity | None
    after: Quantity | None
    pct_change: Quantity | None  # (after − before) ÷ before, in percent, to one place (units and rates)
    metric: str  # the metric's label ("ending WIP")
    # The driver's percent of the line's change, 0 to MAX_SHARE_SHOWN; None when it is not stated: the
    # line's change is zero, the driver moved the other way, or others offset more than half of it.
    share_of_change: Quantity | None
    amount: Amount  # the driver's amount (shown when no share is)
    change: Amount | None = None  # the line's change (the net of ``amount`` and ``others``)
    # When no share is stated: the rest of the change by component, largest first, zeros left out.
    others: tuple[ComponentAmount, ...] = ()


class BridgeLine(_Frozen):
    level: Literal["line", "product", "stage", "total"]
    metric: str
    product: str  # "" on stage and total roll-ups
    stage: str  # "" on product and total roll-ups, and for COGS
    element: str  # "" on roll-ups and for COGS
    before: Amount
    after: Amount
    change: Amount
    volume: Amount
    mix: Amount
    completion: Amount
    price: Amount
    components_sum: Amount  # volume + mix + completion + price, shown so that the check can be seen
    sums_exactly: bool  # components_sum == change (always, by construction)
    flagged: bool  # above both materiality thresholds
    explanation: str  # the driver that moved most, in one line ("" when nothing moved)
    drivers: Drivers | None = None
    explained: Explanation | None = None  # the explanation as data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def labels(self) -> dict[str, Literal["U", "F", ""]]:
        """U/F of the price component, from its sign (``uf_label``): a cost per unit above the
        earlier period's is unfavourable.  The change and the other components carry none (``LABELLED``)."""
        return {name: uf_label(getattr(self, name)) for name in LABELLED}


class CloseRef(_Frozen):
    period: str
    close_no: int
    method: str


class Bridge(_Frozen):
    before: CloseRef
    after: CloseRef
    currency: str
    order: tuple[str, ...]
    materiality: Materiality | None
    lines: tuple[BridgeLine, ...]  # per metric: total, stage roll-ups, product roll-ups, lines
    # Each product's last stage in each month (``final_stages``), which completes to finished goods.
    # Transferred out's product and total lines take only it: cost of goods manufactured.  A sum
    # over stages would count the same cost once per stage it passes through (Assembly's transfer is
    # in Testing's, and so on).
    final_stages_before: dict[str, str] = {}
    final_stages_after: dict[str, str] = {}

    @property
    def all_sum_exactly(self) -> bool:
        return all(line.sums_exactly for line in self.lines)

    def total(self, metric: Metric | str) -> BridgeLine:
        name = Metric(metric).value
        for line in self.lines:
            if line.level == "total" and line.metric == name:
                return line
        raise KeyError(name)

    def line(self, metric: Metric | str, product: str = "", stage: str = "", element: str = "",
             level: str | None = None) -> BridgeLine:
        name = Metric(metric).value
        if level is None:
            level = "line" if product and (element or Metric(metric) is Metric.COGS) else \
                "product" if product else "stage" if stage else "total"
        for line in self.lines:
            key = (line.level, line.metric, line.product, line.stage, line.element)
            if key == (level, name, product, stage, element):
                return line
        raise KeyError((level, name, product, stage, element))


@dataclass
class _Calc:
    """One line's exact and rounded components, with what the explanations need."""

    metric: Metric
    product: str
    stage: str
    element: str
    before: Decimal
    after: Decimal
    rounded: dict[str, Decimal]
    drivers: Drivers
    pool_products: int
    extra: dict = field(default_factory=dict)
    # True: a cost of goods manufactured calculation, measured against all products' units completed
    # to finished goods (``_cogm_calcs``), not against its stage and element's pool.
    finished_goods_pool: bool = False


def build_bridge(before: PeriodFigures, after: PeriodFigures, materiality: Materiality | None = None) -> Bridge:
    """Decompose every change between two periods (or two closes of one period)."""
    if before.currency != after.currency:
        raise ValueError(f"{before.period} is in {before.currency} and {after.period} in {after.currency}; "
                         "a bridge needs one currency")
    q = after.quantum
    mode = ROUNDING_MODES[after.rounding]
    with localcontext(engine_context(mode)):
        calcs = _line_calcs(before, after, q, mode)
        final_before, final_after = final_stages(before), final_stages(after)
        cogm = _cogm_calcs(before, after, final_before, final_after, q, mode)
        lines = _assemble(calcs, cogm, q, materiality)
    return Bridge(before=CloseRef(period=before.period, close_no=before.close_no, method=before.method),
                  after=CloseRef(period=after.period, close_no=after.close_no, method=after.method),
                  currency=after.currency, order=COMPONENTS, materiality=materiality,
                  final_stages_before=final_before, final_stages_after=final_after, lines=tuple(lines))


def final_stages(figures: PeriodFigures) -> dict[str, str]:
    """Each product's last stage in one month, the one that completes to finished goods: the last of
    the product's own stages (a product's lines come in its flow order).  Per product, since products
    need not pass through the same stages, and per month, since a product's flow can change.

    >>> def out(product, stage):
    ...     return LineFigures(Metric.TRANSFERRED_OUT, product, stage, "labour", Decimal(1), Decimal(1))
    >>> final_stages(PeriodFigures("2026-10", 1, "fifo", "USD", Decimal("0.01"), "half_up", (
    ...     out("A", "Assembly"), out("A", "Packaging"), out("B", "Assembly"), out("B", "Testing"),
    ...     out("B", "Packaging"))))
    {'A': 'Packaging', 'B': 'Packaging'}
    """
    last: dict[str, str] = {}
    for line in figures.lines:
        if line.metric is Metric.TRANSFERRED_OUT:
            last[line.product] = line.stage
    return last


def final_stage_label(before: str | None, after: str | None) -> str:
    """A product's last stage as the reports name it: "Testing → Packaging" when it changed between
    the two months, else the one stage.

    >>> final_stage_label("Packaging", "Packaging"), final_stage_label("Testing", "Packaging")
    ('Packaging', 'Testing → Packaging')
    >>> final_stage_label(None, "Testing")
    'Testing'
    """
    if before and after and before != after:
        return f"{before} → {after}"
    return after or before or ""


def _line_calcs(before: PeriodFigures, after: PeriodFigures, q: Decimal, mode: str) -> list[_Calc]:
    b_lines = {line.key: line for line in before.lines}
    a_lines = {line.key: line for line in after.lines}
    keys: list[tuple] = []
    seen = set()
    for metric in METRIC_ORDER:
        for line in after.lines + before.lines:
            if line.metric is metric and line.key not in seen:
                seen.add(line.key)
                keys.append(line.key)

    pools: dict[tuple, list[Decimal]] = defaultdict(lambda: [_ZERO, _ZERO])
    pool_products: dict[tuple, set[str]] = defaultdict(set)
    for side, lines in ((0, before.lines), (1, after.lines)):
        for line in lines:
            pool = (line.metric, line.stage, line.element)
            pools[pool][side] += line.units
            if line.units:  # a product with no units there holds none of the pool ("all products'" or own)
                pool_products[pool].add(line.product)

    calcs = []
    for key in keys:
        b, a = b_lines.get(key), a_lines.get(key)
        ref = a or b
        pool = (ref.metric, ref.stage, ref.element)
        qt1, qt2 = pools[pool]
        calcs.append(_decompose(ref, b, a, qt1, qt2, len(pool_products[pool]), q, mode))
    return calcs


def _cogm_calcs(before: PeriodFigures, after: PeriodFigures, final_before: dict[str, str],
                final_after: dict[str, str], q: Decimal, mode: str) -> dict[str, list[_Calc]]:
    """Each product's cost of goods manufactured, as the calculations its roll-up adds, every one
    measured against the same pool: all products' units completed to finished goods, each product's
    from its own last stage in that month.  (Its last stage's pool — Packaging's units — is the
    stage view's: a product that completes from Testing in one month only would move it, and with it
    every other product's volume and mix, although no unit more or less reached finished goods.)

    A product whose last stage is the same in both months (or that is in one month only) has one
    calculation per element of that stage's transfer, each element's units against the pool.  When
    the last stage changed (Testing in October, Packaging in November), the two months' amounts are
    different stages' lines: the product is one line of its units completed to finished goods and
    their cost (volume and mix as any product's, price: the cost per finished unit)."""
    products = list(final_after) + [p for p in final_before if p not in final_after]
    # Each month's transfers out by (product, stage), read once: scanning every line for every
    # product made a plant of 2,000 products take minutes (quadratic).
    out_before, out_after = _transfers_out(before), _transfers_out(after)
    units_before = {p: _completed_to_finished_goods(before, out_before, p, stage, stage).units
                    for p, stage in final_before.items()}
    units_after = {p: _completed_to_finished_goods(after, out_after, p, stage, stage).units
                   for p, stage in final_after.items()}
    qt1, qt2 = sum(units_before.values(), _ZERO), sum(units_after.values(), _ZERO)
    n_products = len([p for p in products if units_before.get(p) or units_after.get(p)])
    out: dict[str, list[_Calc]] = {}
    for product in products:
        stage_before, stage_after = final_before.get(product), final_after.get(product)
        if stage_before is None or stage_after is None or stage_before == stage_after:
            stage = stage_after or stage_before
            # Each element at the product's units to finished goods (every element of a stage
            # transfers the same units completed), so that its share of the pool is the product's.
            mine: dict[tuple, list[LineFigures | None]] = {}
            for side, transfers, units in ((1, out_after, units_after), (0, out_before, units_before)):
                for line in transfers.get((product, stage), ()):
                    mine.setdefault(line.key, [None, None])[side] = replace(line, units=units[product])
            out[product] = [_decompose(a or b, b, a, qt1, qt2, n_products, q, mode) for b, a in mine.values()]
        else:
            label = final_stage_label(stage_before, stage_after)
            b = _completed_to_finished_goods(before, out_before, product, stage_before, label)
            a = _completed_to_finished_goods(after, out_after, product, stage_after, label)
            out[product] = [_decompose(a, b, a, qt1, qt2, n_products, q, mode)]
        for c in out[product]:
            c.finished_goods_pool = True
    return out


def _transfers_out(figures: PeriodFigures) -> dict[tuple[str, str], list[LineFigures]]:
    """A month's transferred-out lines by (product, stage), in the figures' order."""
    out: dict[tuple[str, str], list[LineFigures]] = {}
    for line in figures.lines:
        if line.metric is Metric.TRANSFERRED_OUT:
            out.setdefault((line.product, line.stage), []).append(line)
    return out


def _completed_to_finished_goods(figures: PeriodFigures, transfers: dict[tuple[str, str], list[LineFigures]],
                                 product: str, stage: str, label: str) -> LineFigures:
    """A product's transfer to finished goods in one month (``transfers``: ``_transfers_out`` of
    ``figures``), all elements in one line (every element of a stage transfers the same units completed)."""
    lines = transfers.get((product, stage), [])
    value = sum((line.value for line in lines), _ZERO * figures.quantum)
    return LineFigures(Metric.TRANSFERRED_OUT, product, label, "", value, lines[0].units)


def _decompose(ref: LineFigures, b: LineFigures | None, a: LineFigures | None, qt1: Decimal, qt2: Decimal,
               n_products: int, q: Decimal, mode: str) -> _Calc:
    v1 = b.value if b else _ZERO * q
    v2 = a.value if a else _ZERO * q
    q1 = b.units if b else _ZERO
    q2 = a.units if a else _ZERO
    # A side with no units has no completion to speak of (the ledger records 0 for it): WIP new to
    # the line is all volume or mix at the new completion, WIP gone all volume or mix at the old —
    # a completion variance needs units on both sides.
    c1 = b.completion if b and q1 else None
    c2 = a.completion if a and q2 else None
    if c1 is None:
        c1 = c2 if c2 is not None else (b.completion if b else (a.completion if a else Decimal(1)))
    if c2 is None:
        c2 = c1
    eu1, eu2 = q1 * c1, q2 * c2
    p2 = v2 / eu2 if eu2 else None
    p1 = v1 / eu1 if eu1 else None
    rate1 = p1 if p1 is not None else (p2 if p2 is not None else _ZERO)  # a new line: all volume
    s1 = q1 / qt1 if qt1 else None
    s2 = q2 / qt2 if qt2 else None
    share1 = s1 if s1 is not None else (s2 if s2 is not None else _ZERO)

    volume = (qt2 * share1 - q1) * c1 * rate1
    mix = (q2 - qt2 * share1) * c1 * rate1
    completion = q2 * (c2 - c1) * rate1
    change = v2 - v1
    price = change - volume - mix - completion
    exact = {"volume": volume, "mix": mix, "completion": completion, "price": price}
    rounded = _round_components(exact, change, q, mode)
    wip = ref.metric is Metric.ENDING_WIP
    drivers = Drivers(units_before=q1, units_after=q2,
                      completion_before=c1 if wip else None, completion_after=c2 if wip else None,
                      rate_before=p1, rate_after=p2, pool_units_before=qt1, pool_units_after=qt2,
                      share_before=s1, share_after=s2)
    return _Calc(ref.metric, ref.product, ref.stage, ref.element, v1, v2, rounded, drivers, n_products)


def _round_components(exact: dict[str, Decimal], change: Decimal, q: Decimal, mode: str) -> dict[str, Decimal]:
    """Rounded components that add up to ``change`` exactly (largest remainder, ties to the
    earlier component); components that are exactly zero stay zero."""
    zero = _ZERO * q
    names = [c for c in COMPONENTS if exact[c]]
    out = {c: zero for c in COMPONENTS}
    if not names:
        if change:  # cannot happen: the price is the remainder
            raise ValueError(f"change {change} with no component")
        return out
    if len(names) == 1:
        out[names[0]] = change
        return out
    parts = allocate([exact[c] for c in names], change, q, mode)
    out.update(zip(names, parts))
    return out


def _assemble(calcs: list[_Calc], cogm: dict[str, list[_Calc]], q: Decimal,
              materiality: Materiality | None) -> list[BridgeLine]:
    out: list[BridgeLine] = []
    for metric in METRIC_ORDER:
        mine = [c for c in calcs if c.metric is metric]
        if not mine:
            continue
        groups: list[tuple[str, str, str, list[_Calc]]] = [("total", "", "", mine)]
        if metric is not Metric.COGS:  # COGS lines have no stage, and are already per product
            by_stage: dict[str, list[_Calc]] = {}
            by_product: dict[str, list[_Calc]] = {}
            for c in mine:
                by_stage.setdefault(c.stage, []).append(c)
                by_product.setdefault(c.product, []).append(c)
            if metric is Metric.TRANSFERRED_OUT:  # cost of goods manufactured: last stages only
                by_product = {product: cogm.get(product, []) for product in by_product}
                groups = [("total", "", "", [c for members in by_product.values() for c in members])]
            groups += [("stage", "", stage, members) for stage, members in by_stage.items()]
            groups += [("product", product, "", members) for product, members in by_product.items()]
        for level, product, stage, members in groups:
            out.append(_rollup(metric, level, product, stage, members, q, materiality))
        for c in mine:
            out.append(_line(c, materiality))
    return out


def _line(c: _Calc, materiality: Materiality | None) -> BridgeLine:
    change = c.after - c.before
    total = sum(c.rounded.values(), _ZERO * change)
    return BridgeLine(level="line", metric=c.metric.value, product=c.product, stage=c.stage, element=c.element,
                      before=c.before, after=c.after, change=change, **c.rounded, components_sum=total,
                      sums_exactly=total == change, flagged=_flag(c.before, change, materiality),
                      drivers=c.drivers, **_explanation(c.metric, c.rounded, change, [c], include_product=False))


def _rollup(metric: Metric, level: str, product: str, stage: str, members: list[_Calc], q: Decimal,
            materiality: Materiality | None) -> BridgeLine:
    zero = _ZERO * q
    before = sum((c.before for c in members), zero)
    after = sum((c.after for c in members), zero)
    comps = {k: sum((c.rounded[k] for c in members), zero) for k in COMPONENTS}
    change = after - before
    total = sum(comps.values(), zero)
    several_products = len({c.product for c in members}) > 1
    return BridgeLine(level=level, metric=metric.value, product=product, stage=stage, element="",
                      before=before, after=after, change=change, **comps, components_sum=total,
                      sums_exactly=total == change, flagged=_flag(before, change, materiality),
                      **_explanation(metric, comps, change, members, include_product=several_products))


def _flag(before: Decimal, change: Decimal, m: Materiality | None) -> bool:
    if m is None or not change or abs(change) < m.absolute:
        return False
    if not before:
        return True
    return abs(change) * _HUNDRED >= m.percent * abs(before)


def _explanation(metric: Metric, comps: dict[str, Decimal], change: Decimal, members: list[_Calc],
                 include_product: bool) -> dict:
    """``explanation`` (plain text, as in the JSON) and ``explained`` (the same as data)."""
    explained = _explain(metric, comps, change, members, include_product)
    return {"explained": explained, "explanation": explanation_text(explained) if explained else ""}


def _explain(metric: Metric, comps: dict[str, Decimal], change: Decimal, members: list[_Calc],
             include_product: bool) -> Explanation | None:
    """The component that moved most, and the one line that moved it most."""
    if not any(comps.values()):
        return None
    component = max(COMPONENTS, key=lambda k: abs(comps[k]))
    if component in ("volume", "mix"):
        # The volume driver is a pool's units (all products in one stage and element, or all
        # products' units completed to finished goods): credit the pool with the volume of all its
        # lines in scope.  A mix driver is a product's share of a pool: one line's, or — to finished
        # goods, which all of a product's elements share — the product's, over its lines in scope.
        groups: dict[tuple, Decimal] = {}
        for c in members:
            key = _driver_key(c, component)
            groups[key] = groups.get(key, _ZERO) + c.rounded[component]
        group = max(groups, key=lambda k: abs(groups[k]))
        line = next(c for c in members if _driver_key(c, component) == group)
        amount = groups[group]
    else:
        line = max(members, key=lambda c: abs(c.rounded[component]))
        amount = line.rounded[component]
    share = _share_shown(amount, change)
    others = () if share is not None else _others(comps, component, amount)
    return _driver(line, component, include_product).model_copy(
        update={"metric": METRIC_LABELS[metric], "share_of_change": share, "amount": amount, "change": change,
                "others": others})


def _driver_key(c: _Calc, component: str) -> tuple:
    """What one volume or mix driver covers: a pool (its stage and element, or units completed to
    finished goods), or for mix a line (a product's share of units completed to finished goods)."""
    if c.finished_goods_pool:
        return ("finished goods",) if component == "volume" else ("finished goods", c.product)
    return (c.stage, c.element) if component == "volume" else (c.stage, c.element, c.product)


def _share_shown(amount: Decimal, change: Decimal) -> Decimal | None:
    """The driver's share of the change in percent, whole, when it means what it says: the driver
    moved the line the way it went, and the other components took back at most half of it.

    >>> _share_shown(Decimal("516.78"), Decimal("724.78")), _share_shown(Decimal("37.58"), Decimal("20.00"))
    (Decimal('71'), Decimal('188'))
    >>> _share_shown(Decimal("291.47"), Decimal("-9.75")), _share_shown(Decimal("1330.28"), Decimal("370.32"))
    (None, None)
    >>> _share_shown(Decimal("5.00"), Decimal("0.00")), _share_shown(Decimal("0.00"), Decimal("3.00"))
    (None, Decimal('0'))
    """
    if not change:
        return None
    ratio = amount / change * _HUNDRED
    if ratio < 0 or ratio > MAX_SHARE_SHOWN:
        return None
    return _unsigned_zero(ratio.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _unsigned_zero(value: Decimal) -> Decimal:
    """A value rounded to zero without its sign: a small decrease rounds to -0.0, which is no change.

    >>> _unsigned_zero(Decimal("-0.0")), _unsigned_zero(Decimal("-0.1"))
    (Decimal('0.0'), Decimal('-0.1'))
    """
    return value if value else value.copy_abs()


def _others(comps: dict[str, Decimal], component: str, amount: Decimal) -> tuple[ComponentAmount, ...]:
    """The line's change less the driver's amount, by component, largest first (ties in the order of
    substitution): the driver's own component less the driver is its other lines (or pools)."""
    parts = [ComponentAmount(component=k, amount=comps[k] - amount if k == component else comps[k],
                             other_lines=k == component) for k in COMPONENTS]
    ranked = sorted((p for p in parts if p.amount), key=lambda p: -abs(p.amount))  # stable: ties keep the order
    return tuple(ranked)


def _driver(c: _Calc, component: str, include_product: bool) -> Explanation:
    d = c.drivers
    element = element_label(c.element) if c.element else ""
    where = " ".join(p for p in ((c.product if include_product else ""), c.stage, element) if p)
    pool = " ".join(p for p in (c.stage, element) if p)
    units = _QUANTITY_LABELS[c.metric]
    if c.finished_goods_pool:  # cost of goods manufactured: all products' units to finished goods
        pool, units = "", _FINISHED_GOODS_UNITS
    if component == "volume":
        # The pool's units, not the line's own (which the mix moves): said so where the pool holds
        # other products' units too.
        whose = "all products' " if c.pool_products > 1 else ""
        text = f"{whose}{pool + ' ' if pool else ''}{units}"
        return _said(component, _capital(text), "units", d.pool_units_before, d.pool_units_after)
    if component == "mix":
        text = f"{c.product} share of {pool + ' ' if pool else ''}{units}"
        return _said(component, text, "share", d.share_before, d.share_after)
    if component == "completion":
        return _said(component, f"{_capital(where)} completion of ending WIP", "share", d.completion_before,
                     d.completion_after)
    text = f"{where} {_RATE_LABELS[c.metric]}" if where else _RATE_LABELS[c.metric]
    if c.metric is Metric.COGS and not include_product:
        text = _RATE_LABELS[c.metric]
    elif c.metric is Metric.COGS:
        text = f"{c.product} {_RATE_LABELS[c.metric]}"
    return _said(component, _capital(text), "rate", d.rate_before, d.rate_after)


def _said(component: str, driver: str, measure: str, before: Decimal | None, after: Decimal | None) -> Explanation:
    pct = None
    if measure != "share" and before and after is not None:
        pct = _unsigned_zero(((after - before) / before * _HUNDRED).quantize(Decimal("0.1"),
                                                                            rounding=ROUND_HALF_UP))
    return Explanation(component=component, driver=driver, measure=measure, before=before, after=after,
                       pct_change=pct, metric="", share_of_change=None, amount=_ZERO)


class PlainNumbers:
    """How ``explanation_text`` writes numbers: plain English notation (the JSON's ``explanation``).
    The text report passes one that writes them in its locale.  Values come already rounded to
    what is shown: a writer only formats them."""

    def number(self, value: Decimal) -> str:
        """A quantity, exactly, without trailing zeros: 1,234.5"""
        return f"{value.normalize():,f}" if value else "0"

    def exact(self, value: Decimal) -> str:
        """A value with the places it was rounded to: 1,234.50"""
        return f"{value:,f}"

    def percent(self, value: Decimal) -> str:
        """A percentage with the places it was rounded to, ungrouped: -25.0, 4026"""
        return f"{value:f}"


def explanation_text(e: Explanation, numbers: PlainNumbers | None = None) -> str:
    """One line: the driver, its before → after, and its share of the change — or, when no share is
    stated (``MAX_SHARE_SHOWN``), the driver's amount, what offset it and the net change.

    >>> e = Explanation(component="price", driver="Testing conversion cost per EU", measure="rate",
    ...                 before=Decimal(52), after=Decimal("61.57"), pct_change=Decimal("18.4"), metric="ending WIP",
    ...                 share_of_change=Decimal(71), amount=Decimal("100.00"))
    >>> explanation_text(e)
    'Testing conversion cost per EU +18.4 % (52.00 → 61.57) drives 71 % of the change in ending WIP'
    >>> pool = Explanation(component="volume", driver="All products' Packaging labour ending WIP units",
    ...     measure="units", before=Decimal(12), after=Decimal(20), pct_change=Decimal("66.7"), metric="ending WIP",
    ...     share_of_change=None, amount=Decimal("20.00"), change=Decimal("-0.99"), others=(
    ...         ComponentAmount(component="mix", amount=Decimal("-14.00")),
    ...         ComponentAmount(component="completion", amount=Decimal("-7.20")),
    ...         ComponentAmount(component="price", amount=Decimal("0.21"))))
    >>> print(explanation_text(pool))
    All products' Packaging labour ending WIP units +66.7 % (12 → 20) moves ending WIP by +20.00, offset by mix -14.00 and completion -7.20 (net -0.99, with price +0.21)
    """
    n = numbers or PlainNumbers()
    if e.measure == "share":
        moved = f"{_pct(e.before, n)} → {_pct(e.after, n)}"
    elif e.component == "price" and (e.before is None or e.after is None):
        # A price component with no rate on one side is cost charged where that month had no work
        # to carry it (weighted average accepts it), not a line new or gone (those are volume/mix).
        moved = f"({_or_na(e.before, _rate_shown, n)} → {_or_na(e.after, _rate_shown, n)}: cost on no equivalent " \
                f"units of work in {'the earlier' if e.before is None else 'the later'} month)"
    else:
        show = _rate_shown if e.measure == "rate" else (lambda v, n: n.number(v))
        moved = f"{_pct_change(e.before, e.after, e.pct_change, n)} ({_or_na(e.before, show, n)} → " \
                f"{_or_na(e.after, show, n)})"
    if e.share_of_change is not None:
        return f"{e.driver} {moved} drives {n.percent(e.share_of_change)} % of the change in {e.metric}"
    said = f"{e.driver} {moved} moves {e.metric} by {_signed(e.amount, n)}"
    if not e.others or e.change is None:
        return f"{said}, offset by the other components"
    # What moved the other way from the driver, then the net; what moved the same way is named
    # beside the net, so that the amounts shown add up to it.
    against = [p for p in e.others if (p.amount > 0) != (e.amount > 0)]
    along = [p for p in e.others if (p.amount > 0) == (e.amount > 0)]
    text = f"{said}, offset by {_listed(against, n)}" if against else said
    net = f"net {_signed(e.change, n)}"
    return f"{text} ({net}, with {_listed(along, n)})" if along else f"{text} ({net})"


def _signed(amount: Decimal, n: PlainNumbers) -> str:
    """An amount with its sign, + included: +291.47, -9.75, 0.00"""
    return f"{'+' if amount > 0 else ''}{n.exact(amount)}"


def _listed(parts: list[ComponentAmount], n: PlainNumbers) -> str:
    """ "mix -14.00 and completion -7.20"; the rest of the driver's own component is its other
    lines' (for volume: other pools')."""
    words = []
    for p in parts:
        name = (("other pools' " if p.component == "volume" else "other lines' ") if p.other_lines else "") + \
            p.component
        words.append(f"{name} {_signed(p.amount, n)}")
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _or_na(value: Decimal | None, show, n) -> str:
    return "n/a" if value is None else show(value, n)


def _rate_shown(value: Decimal, n) -> str:
    """A cost per unit, shown to the cent (it is a rate, carried at full precision)."""
    return n.exact(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pct_change(before: Decimal | None, after: Decimal | None, pct: Decimal | None,
                n: PlainNumbers) -> str:
    """
    >>> n = PlainNumbers()
    >>> _pct_change(Decimal(52), Decimal("61.57"), Decimal("18.4"), n), _pct_change(Decimal(0), Decimal(5), None, n)
    ('+18.4 %', 'new')
    >>> _pct_change(Decimal(4), Decimal(3), Decimal("-25.0"), n)
    '-25.0 %'
    >>> _pct_change(Decimal("18.10"), Decimal("18.0999"), Decimal("-0.0"), n)
    '0.0 %'
    >>> _pct_change(Decimal(0), Decimal(0), None, n)
    '0.0 %'
    """
    if not before:
        return "new" if after else "0.0 %"
    if after is None or pct is None:
        return "gone"
    # Signed as amounts are (``_signed``): + on an increase, none on a change that rounds to zero.
    return f"{'+' if pct > 0 else ''}{n.percent(_unsigned_zero(pct))} %"


def _pct(value: Decimal | None, n: PlainNumbers) -> str:
    """
    >>> n = PlainNumbers()
    >>> _pct(Decimal("0.5"), n), _pct(Decimal("0.4545454545"), n), _pct(None, n)
    ('50 %', '45.5 %', 'n/a')
    """
    if value is None:
        return "n/a"
    shown = _unsigned_zero((value * _HUNDRED).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP))  # never -0 %
    return f"{n.percent(shown.normalize())} %"
