"""The month-end close arithmetic: cost every product, apply and true up overhead, move finished
goods, relieve COGS, book count differences.  Pure: a plan in, a result out, no I/O.

Amounts are rounded where they are posted (applied overhead per product-stage, COGS per layer
taken, count adjustments, overhead proration) with largest-remainder allocation, so every journal
built from them balances and the roll-forward ties to the cent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Iterable, NamedTuple

from .._engine import beginning_cost_completed, cost_resolved_case
from .._errors import CostingError, Issue
from .._model import ElementKind, FrozenDict, Method, _freeze_fields
from .._numbers import ROUNDING_MODES, engine_context
from .._report import CaseReport, ProcessAccountStageReport
from .._rounding import allocate
from ._general_ledger import GeneralLedgerTie, openings_of_plans, tie_to_general_ledger
from ._resolve import ClosePlan, ProductPlan, count_problem, shipments_exceed_stock
from ._spec import CloseSpec
from ._state import FinishedGoodsLayer, StageWip

__all__ = ["CountAdjustment", "OverheadLine", "ProductResult", "ProrationShare", "CloseResult", "compute_close",
           "compute_streamed"]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class CountAdjustment:
    stage: str
    book_units: Decimal
    counted_units: Decimal
    by_element: dict[str, Decimal]  # negative: shortage written off at cost (a FrozenDict)

    def __post_init__(self) -> None:
        _freeze_fields(self, ("by_element",))

    @property
    def amount(self) -> Decimal:
        return sum(self.by_element.values(), _ZERO)


@dataclass(frozen=True)
class ProductResult:
    name: str
    report: CaseReport
    applied_overhead: dict[str, Decimal]
    count_adjustments: dict[str, CountAdjustment]
    overhead_adjustment: dict[str, dict[str, Decimal]]  # stage -> element -> prorated amount
    closing_wip: dict[str, StageWip]  # stage -> after count and overhead proration
    fg_opening: tuple[FinishedGoodsLayer, ...]
    fg_completed_units: Decimal
    fg_completed_cost: Decimal
    cogs_units: Decimal
    cogs: Decimal  # cost of units shipped, before overhead true-up
    cogs_overhead_adjustment: Decimal
    fg_overhead_adjustment: Decimal
    fg_closing: tuple[FinishedGoodsLayer, ...]

    def __post_init__(self) -> None:
        # Its maps are FrozenDicts (``overhead_adjustment``'s inner ones too): a result cannot change.
        _freeze_fields(self, ("applied_overhead", "count_adjustments", "closing_wip"))
        adjustment = self.overhead_adjustment
        if type(adjustment) is not FrozenDict or any(type(v) is not FrozenDict for v in adjustment.values()):
            object.__setattr__(self, "overhead_adjustment",
                               FrozenDict({stage: FrozenDict(by) for stage, by in adjustment.items()}))


@dataclass(frozen=True)
class OverheadLine:
    stage: str
    driver: str
    rate: Decimal
    driver_quantity: Decimal
    applied: Decimal
    actual: Decimal
    disposition: str  # write_off | prorate (what was done, after the materiality test)

    @property
    def under_applied(self) -> Decimal:
        """Positive: under-applied (actual above applied); negative: over-applied."""
        return self.actual - self.applied


class ProrationShare(NamedTuple):  # a tuple: a large plant has one per product-stage element
    """One place the prorated overhead difference went, with its weight: this period's overhead
    applied that it holds (exact, as the engine weighed it) and the amount allocated to it."""
    pool: str  # the overhead pool (department) whose difference this is: the stage that applied it
    bucket: str  # wip | fg | cogs
    product: int  # index in the close's products
    stage: str  # the WIP stage ("" for finished goods and COGS)
    element: str  # the WIP element holding that overhead: the stage's own, or transferred-in ("" for FG, COGS)
    weight: Decimal
    amount: Decimal


@dataclass(frozen=True)
class CloseResult:
    plan: ClosePlan
    products: tuple[ProductResult, ...]
    overhead: tuple[OverheadLine, ...]
    written_off_to_cogs: Decimal  # under(+)/over(-)-applied overhead written off
    stage_order: tuple[str, ...] = field(default=())  # stage names in first-seen flow order
    # With proration, per pool (pool, its buckets ((kind, product[, stage, element]), weight), the
    # parts allocated to them) in allocation order; ``proration`` lists them as shares (a close
    # workbook shows the weights and recomputes each amount).  Kept as allocated, not as one object
    # per share: a large plant has hundreds of thousands.  A finished-goods part with none of this
    # period's layer left on hand is moved on to COGS after allocation: ``products[i].fg_overhead_adjustment``
    # says where it ended.  Tuples all the way down, as every field here.
    allocations: tuple[tuple[str, tuple, tuple], ...] = field(default=())
    # The general ledger's balances the close file gave, tied to the WIP ledger before posting.
    general_ledger: tuple[GeneralLedgerTie, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("products", "overhead", "stage_order", "general_ledger"):
            if type(getattr(self, name)) is not tuple:
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if any(type(buckets) is not tuple or type(parts) is not tuple for _, buckets, parts in self.allocations) \
                or type(self.allocations) is not tuple:
            object.__setattr__(self, "allocations", tuple((pool, tuple(buckets), tuple(parts))
                                                          for pool, buckets, parts in self.allocations))

    @property
    def proration(self) -> tuple[ProrationShare, ...]:
        return tuple(ProrationShare(pool, key[0], key[1], key[2] if key[0] == "wip" else "",
                                    key[3] if key[0] == "wip" else "", weight, part)
                     for pool, buckets, parts in self.allocations for (key, weight), part in zip(buckets, parts))

    @property
    def period(self) -> str:
        return self.plan.spec.period


def compute_close(plan: ClosePlan, progress=None) -> CloseResult:
    """``progress(done, total)``, if given, is called as products are costed (for progress bars)."""
    with localcontext(engine_context(ROUNDING_MODES[plan.spec.rounding])):
        _, staged, extras, problems = _cost_products(plan.products, len(plan.products), plan.spec, plan.quantum,
                                                     progress)
        return _compute(plan, plan.quantum, staged, extras, problems)


def compute_streamed(spec: CloseSpec, q: Decimal, first_period: bool, products: Iterable[ProductPlan], total: int,
                     progress=None) -> CloseResult:
    """``compute_close`` of the plan ``ClosePlan(spec, q, tuple(products), first_period)``, costing
    each product as it comes (``products`` may be produced while this runs)."""
    with localcontext(engine_context(ROUNDING_MODES[spec.rounding])):
        plans, staged, extras, problems = _cost_products(products, total, spec, q, progress)
        return _compute(ClosePlan(spec, q, tuple(plans), first_period), q, staged, extras, problems)


def _cost_products(products: Iterable[ProductPlan], total: int, spec: CloseSpec, q: Decimal, progress):
    """Each product costed by the core, with its closing WIP and count differences; and what the
    close's later steps need of that product alone (``_product_extras``), worked out here so that a
    close fed by another process does it while it waits for the next products."""
    problems: list[Issue] = []
    staged: list[tuple[ProductPlan, CaseReport, dict[str, CountAdjustment], dict[str, StageWip]]] = []
    extras: list[tuple | None] = []
    plans: list[ProductPlan] = []
    for index, product in enumerate(products):
        plans.append(product)
        try:
            report = cost_resolved_case(product.case)
        except CostingError as e:
            problems.extend(i.under(f"products[{index}]") for i in e.issues)
            continue
        if progress is not None and (index % 250 == 0 or index + 1 == total):
            progress(index + 1, total)
        counts, wip, count_issues = _counts(product, report, q)
        problems.extend(i.under(f"products[{index}]") for i in count_issues)
        staged.append((product, report, counts, wip))
        extras.append(None if problems else _product_extras(product, report, spec, q))
    return plans, staged, extras, problems


def _product_extras(product: ProductPlan, report: CaseReport, spec: CloseSpec, q: Decimal) -> tuple | None:
    """(finished goods in and out, this period's overhead content if the close may prorate) of one
    product: the same computations ``_compute`` makes, ahead of time; None if they fail here (then
    ``_compute`` makes them in its own order)."""
    try:
        return _fg_move(product, report, spec, q), (
            _overhead_content(product, report, spec.method) if spec.overhead_disposition == "prorate" else None)
    except Exception:  # noqa: BLE001 - redone by _compute, which then reports it in its order
        return None


def _fg_move(product: ProductPlan, report: CaseReport, spec: CloseSpec, q: Decimal) -> tuple:
    """Finished goods in and out of one product, before any proration."""
    last = report.stages[-1]
    completed_units = last.physical_units.completed
    completed_cost = last.transferred_out.total
    layers = list(product.opening_fg)
    if completed_units or completed_cost:
        layers.append(FinishedGoodsLayer(product.name, spec.period, completed_units, completed_cost))
    taken, remaining, shortfall = _relieve(layers, product.shipments, spec.finished_goods_method,
                                           product.name, spec.period, q)
    return completed_units, completed_cost, taken, remaining, shortfall, layers


def _compute(plan: ClosePlan, q: Decimal, staged: list, extras: list, problems: list[Issue]) -> CloseResult:
    spec = plan.spec
    # The tie to the general ledger is reported with every other problem (header first, as in the file).
    general_ledger, gl_issues = tie_to_general_ledger(spec, openings_of_plans(plan.products))
    if problems:
        raise CostingError(gl_issues + problems)

    # Overhead applied vs actual, by stage; the disposition decides where the difference goes.
    stage_order: list[str] = []
    for product, *_ in staged:
        for stage in product.case.stages:
            if stage.name not in stage_order:
                stage_order.append(stage.name)
    overhead_lines = []
    for stage_name, config in spec.overhead.items():
        applied = sum((p.applied_overhead.get(stage_name, _ZERO) for p, *_ in staged), _ZERO * q)
        quantity = sum((p.driver_quantity.get(stage_name, _ZERO) for p, *_ in staged), _ZERO)
        overhead_lines.append(OverheadLine(stage_name, config.driver, config.rate, quantity, applied, config.actual,
                                           spec.overhead_disposition))
    # Each department's difference is its own pool, tested for materiality and prorated on its own:
    # netting them would credit an over-applied department's WIP with another's under-application.
    prorated_pools = {l.stage for l in overhead_lines if spec.overhead_disposition == "prorate"
                      and l.under_applied and abs(l.under_applied) >= spec.materiality}

    # Finished goods in and out, before any proration.
    fg_moves = []
    for (product, report, counts, wip), extra in zip(staged, extras):
        move = extra[0] if extra is not None else _fg_move(product, report, spec, q)
        completed_units, completed_cost, taken, remaining, shortfall, layers = move
        if shortfall:
            on_hand = sum((layer.units for layer in layers), _ZERO)
            problems.append(shipments_exceed_stock(product.name, product.shipments, on_hand,
                                                   f"products[{plan.products.index(product)}].shipments"))
        fg_moves.append((completed_units, completed_cost, taken, remaining))
    if problems or gl_issues:
        raise CostingError(gl_issues + problems)

    # Proration of each pool's under/over-applied overhead in proportion to that pool's overhead of
    # this period in ending WIP, finished goods and COGS (Horngren's "overhead allocated component"
    # method, department by department).
    wip_adj: list[dict[str, dict[str, Decimal]]] = [{} for _ in staged]
    fg_adj = [_ZERO * q for _ in staged]
    cogs_adj = [_ZERO * q for _ in staged]
    written_off = _ZERO * q
    allocations: list[tuple[str, list, list]] = []
    contents = []
    if prorated_pools:
        for i, (product, report, counts, wip) in enumerate(staged):
            extra = extras[i]
            contents.append(extra[1] if extra is not None and extra[1] is not None else
                            _overhead_content(product, report, spec.method))
    buckets_of = _pool_buckets(prorated_pools, staged, fg_moves, contents, spec) if prorated_pools else {}
    exact_per_weight: list[Decimal] = []  # per allocated pool: its difference / its weight
    for line in overhead_lines:
        pool = line.stage
        if pool not in prorated_pools:
            written_off += line.under_applied
            continue
        buckets = buckets_of.get(pool, [])
        weight = sum((w for _, w in buckets), _ZERO)
        if not weight:  # none of this pool's overhead anywhere to carry the difference: write it off
            prorated_pools.discard(pool)
            written_off += line.under_applied
            continue
        difference = line.under_applied
        per_weight = difference / weight  # one division: a large plant has a bucket per product-stage element
        parts = allocate([w * per_weight for _, w in buckets], difference, q, None)
        allocations.append((pool, buckets, parts))
        exact_per_weight.append(per_weight)
    if allocations:
        # What this period's finished-goods layer holds on hand, as posted, where a product has one
        # (its finished-goods part lands there; without one it goes on to COGS, below).
        fg_held = {i: sum((l.cost for l in move[3] if l.period == spec.period), _ZERO * q)
                   for i, move in enumerate(fg_moves) if any(l.period == spec.period for l in move[3])}
        _keep_wip_elements_at_or_above_zero(allocations, exact_per_weight, staged, q, fg_held)
    for pool, buckets, parts in allocations:
        for (key, _), part in zip(buckets, parts):
            if key[0] == "wip":
                # Each element's part goes where its weight is: the stage's own overhead, or the
                # overhead that came in with transferred-in cost (never below zero, see
                # _keep_wip_elements_at_or_above_zero).
                _, i, stage_name, element = key
                by_element = wip_adj[i].setdefault(stage_name, {})
                by_element[element] = by_element.get(element, _ZERO) + part
            elif key[0] == "cogs":
                cogs_adj[key[1]] += part
            else:  # never below zero either (_keep_wip_elements_at_or_above_zero)
                fg_adj[key[1]] += part
    overhead_lines = [OverheadLine(l.stage, l.driver, l.rate, l.driver_quantity, l.applied, l.actual,
                                   "prorate" if l.stage in prorated_pools else "write_off") for l in overhead_lines]

    results = []
    for i, ((product, report, counts, wip), move) in enumerate(zip(staged, fg_moves)):
        completed_units, completed_cost, taken, remaining = move
        closing = {}
        for stage_name, w in wip.items():
            adj = wip_adj[i].get(stage_name, {})
            cost = {e: w.cost[e] + adj.get(e, _ZERO) for e in w.cost}
            closing[stage_name] = StageWip(w.product, w.stage, w.units, w.progress, w.completion, FrozenDict(cost))
        if fg_adj[i] and not any(l.period == spec.period for l in remaining):
            cogs_adj[i] += fg_adj[i]  # nothing of this period left on hand: it was all sold
            fg_adj[i] = _ZERO * q
        if fg_adj[i]:  # the proration lands on this period's layer, which holds this period's overhead
            remaining = [FinishedGoodsLayer(l.product, l.period, l.units, l.cost + fg_adj[i])
                         if l.period == spec.period else l for l in remaining]
        results.append(ProductResult(
            name=product.name, report=report, applied_overhead=product.applied_overhead,
            count_adjustments=counts, overhead_adjustment=wip_adj[i], closing_wip=closing,
            fg_opening=product.opening_fg, fg_completed_units=completed_units, fg_completed_cost=completed_cost,
            cogs_units=product.shipments, cogs=sum((t.cost for t in taken), _ZERO * q),
            cogs_overhead_adjustment=cogs_adj[i], fg_overhead_adjustment=fg_adj[i], fg_closing=tuple(remaining)))
    return CloseResult(plan, tuple(results), tuple(overhead_lines), written_off, tuple(stage_order),
                       tuple(allocations), general_ledger)


def _counts(product: ProductPlan, report: CaseReport, q: Decimal):
    """Closing WIP per stage, with counted-vs-book differences booked at cost."""
    issues: list[Issue] = []
    counts: dict[str, CountAdjustment] = {}
    wip: dict[str, StageWip] = {}
    for j, (stage, sr) in enumerate(zip(product.case.stages, report.stages)):
        book = stage.ending.units
        cost = sr.ending_wip.by_element  # only read here: StageWip keeps its own frozen copy
        units = book
        counted = product.counts.get(stage.name)
        if counted is not None and counted != book:
            # Said with every other problem by the resolution (``count_problem``): a plan reaching
            # here with one was built otherwise (Python code), and gets the same words.
            pu = sr.physical_units
            problem = count_problem(stage.name, counted, book, pu.beginning_wip, pu.started + pu.transferred_in,
                                    pu.completed)
            if problem is not None:
                issues.append(Issue(problem.code, f"stages[{j}].count", problem.message))
                continue
            diff = counted - book
            # The difference at book cost is one amount, rounded once (book ending WIP x units
            # short or over / book units), then split over the elements in proportion to their
            # ending WIP cost by largest remainder: rounding each element would miss it by a cent.
            total = (sum(cost.values(), _ZERO) * diff / book).quantize(q)
            by_element = FrozenDict(zip(cost, allocate([amount * diff / book for amount in cost.values()], total, q,
                                                        None)))
            counts[stage.name] = CountAdjustment(stage.name, book, counted, by_element)
            cost = {e: cost[e] + by_element[e] for e in cost}
            units = counted
        # StageWip keeps frozen copies of the stage's completion and of the cost (as it kept copies before).
        wip[stage.name] = StageWip(product.name, stage.name, units, stage.ending.progress,
                                   stage.ending.completion, cost)
    return counts, wip, issues


def _relieve(layers: list[FinishedGoodsLayer], shipped: Decimal, method: str, product: str, period: str,
             q: Decimal) -> tuple[list[FinishedGoodsLayer], list[FinishedGoodsLayer], bool]:
    """Take ``shipped`` units out of finished goods: (layers taken, layers left, shortfall?)."""
    on_hand = sum((layer.units for layer in layers), _ZERO)
    if shipped > on_hand:
        return [], layers, True
    if method == "weighted_average":
        cost = sum((layer.cost for layer in layers), _ZERO * q)
        if not on_hand:
            return [], layers, False
        taken_cost = (cost * shipped / on_hand).quantize(q) if shipped != on_hand else cost
        taken = [FinishedGoodsLayer(product, period, shipped, taken_cost)] if shipped else []
        left = ([FinishedGoodsLayer(product, period, on_hand - shipped, cost - taken_cost)]
                if on_hand - shipped or cost - taken_cost else [])
        return taken, left, False
    taken, left, need = [], [], shipped
    for layer in layers:  # FIFO: oldest layer first
        if need <= 0:
            left.append(layer)
            continue
        if layer.units <= need:
            taken.append(layer)
            need -= layer.units
        else:
            part = (layer.cost * need / layer.units).quantize(q)
            taken.append(FinishedGoodsLayer(product, layer.period, need, part))
            left.append(FinishedGoodsLayer(product, layer.period, layer.units - need, layer.cost - part))
            need = _ZERO
    return taken, left, False


def leaves_wip(sr, element: str) -> Decimal:
    """Cost of an element that leaves WIP other than as transferred out or ending WIP: abnormal
    spoilage and spoiled goods (US), or normal loss scrap, abnormal loss less abnormal gain (UK)."""
    if isinstance(sr, ProcessAccountStageReport):
        return (sr.normal_loss.by_element[element] + sr.abnormal_loss.by_element[element]
                - sr.abnormal_gain.by_element[element])
    return (sr.abnormal_spoilage.by_element[element] + sr.normal_spoilage.disposal_value_by_element[element]
            + sr.abnormal_spoilage.disposal_value_by_element[element])


def leaves_wip_by_element(sr, elements) -> dict[str, Decimal]:
    """``leaves_wip`` of each of ``elements``, the stage's kind of report looked at once."""
    if isinstance(sr, ProcessAccountStageReport):
        return {e: leaves_wip(sr, e) for e in elements}
    abnormal, normal_disposal, abnormal_disposal = (sr.abnormal_spoilage.by_element,
                                                    sr.normal_spoilage.disposal_value_by_element,
                                                    sr.abnormal_spoilage.disposal_value_by_element)
    return {e: abnormal[e] + normal_disposal[e] + abnormal_disposal[e] for e in elements}


def _pool_buckets(pools: set[str], staged: list, fg_moves: list, contents: list, spec: CloseSpec) -> dict:
    """For each pool, every place its overhead of this period went, with the amount of it there
    (a pool's weights add up to its overhead applied): pool -> [((kind, product index[, stage,
    element]), weight)].  One pass over the products for all pools."""
    buckets: dict[str, list[tuple[tuple, Decimal]]] = {pool: [] for pool in pools}
    for i, ((product, report, counts, wip), move, content) in enumerate(zip(staged, fg_moves, contents)):
        expensed = dict(content["expensed"])  # abnormal spoilage and spoiled goods: period costs
        for stage_name, by_element in content["wip"].items():
            count = counts.get(stage_name)
            # A shortage's share of the pool's overhead left WIP with the cost written off: each
            # element keeps the part of it that its cost kept as posted (after the adjustment, over
            # before it), not counted / book units — the adjustment is rounded and split by largest
            # remainder, so an element can lose more than its units' share, and a weight above what
            # the element holds could prorate it below zero.  Units found keep the book's overhead:
            # theirs was credited to count difference, not applied by the pool, so a weight never
            # exceeds what the pool put there (nor goes negative).
            shortage = count if count is not None and count.counted_units < count.book_units else None
            closing_cost = wip[stage_name].cost if shortage is not None else None
            for element, by_pool in by_element.items():
                if shortage is not None:
                    after = closing_cost[element]
                    before = after - shortage.by_element[element]
                for pool, amount in by_pool.items():
                    if pool not in buckets:
                        continue
                    if shortage is not None:  # what the element kept; the rest was expensed with the shortage
                        kept = amount * after / before if before else _ZERO
                        expensed[pool] = expensed.get(pool, _ZERO) + amount - kept
                        amount = kept
                    buckets[pool].append((("wip", i, stage_name, element), amount))
        completed_units, _, taken, remaining = move
        if spec.finished_goods_method == "weighted_average":  # one pool of units: sold in proportion
            on_hand = sum((t.units for t in taken), _ZERO) + sum((r.units for r in remaining), _ZERO)
            share_sold = product.shipments / on_hand if on_hand else _ZERO
        else:  # FIFO: what was taken from this period's layer
            shipped_from_period = sum((t.units for t in taken if t.period == spec.period), _ZERO)
            share_sold = shipped_from_period / completed_units if completed_units else _ZERO
        completed = content["completed"]
        for pool, pool_buckets in buckets.items():
            fg_content = completed.get(pool, _ZERO)
            sold = fg_content * share_sold
            pool_buckets.append((("cogs", i), sold + expensed.get(pool, _ZERO)))
            pool_buckets.append((("fg", i), fg_content - sold))
    return buckets


def _keep_wip_elements_at_or_above_zero(allocations: list, exact_per_weight: list[Decimal], staged: list,
                                        q: Decimal, fg_held: dict[int, Decimal] | None = None) -> None:
    """Repair, in place, the parts of over-applied pools that together would take an element of
    closing WIP, or this period's finished-goods layer on hand, below zero.

    The rule: each pool is allocated on its own by largest remainder, so each part is within a
    minor unit of its exact share; one pool's part never exceeds what an element holds, but a
    later stage's transferred-in element holds several pools' overhead, each possibly a fraction
    of a cent, and their parts can each round up (0.005 + 0.005 held, posted 0.01: -0.01 each).
    Where the over-applied pools' parts in an element exceed what it holds as posted, a minor unit
    of one of them (the pool whose part there rounded furthest beyond its exact share, then the
    earlier pool) moves to another place of that same pool whose part rounded short of its exact
    share (the largest remainder first, then the earlier place) and which has room for it:
    COGS, finished goods with a minor unit to spare, or a WIP element with one; failing that,
    through a chain of such moves (breadth first, the shortest).  Each pool's parts still add up
    to its difference, and every part stays within a minor unit of its exact share.  Under-applied
    pools only add to what an element holds and are left as allocated.  Nothing moves where no
    element would go below zero.

    Finished goods too, and there even one pool can do it: the layer of this period left on hand
    (``fg_held``: product index -> its cost as posted) is what was completed less the cost of the
    units shipped from it, rounded (``_relieve``), so it can hold up to half a minor unit less than
    the exact remainder its weights come from (completed 0.01 of overhead for 2 units, 1 shipped
    half-up: 0.01 shipped, 0.00 left on hand, weight 0.005, its part -0.01 — COGS won the tie).
    Its parts rounded towards zero always fit it (it holds at least the whole minor units of that
    exact remainder).  A chain exists for both: a place below zero holds a part rounded beyond its
    exact share, so its pool has a place that rounded short, and each chain raises the place by a
    minor unit while the places it passes through net to nothing (tests/test_proration_finished_
    goods_floor.py searches it).  Were none found, the parts are left as allocated rather than
    guessed.  A product without this period's layer on hand has its finished-goods part moved on
    to COGS (``_compute``), which, like COGS itself, takes any part.
    """
    fg_held = fg_held or {}

    def protected(key: tuple) -> bool:  # a place that must not go below zero
        return key[0] == "wip" or (key[0] == "fg" and key[1] in fg_held)

    over = [k for k, per_weight in enumerate(exact_per_weight) if per_weight < 0]
    # Cheap test first (a large plant has a part per product-stage element): a place can go below
    # zero only if some part in it exceeds the pool's overhead it holds (its weight).  Finished
    # goods too: the layer holds at least its weights less half a minor unit, so parts each within
    # their weights, adding up to whole minor units, fit it.
    suspects: dict[tuple, None] = {}  # in allocation order, for the same journals on every run
    for k in over:
        _, buckets, parts = allocations[k]
        for (key, weight), part in zip(buckets, parts):
            if part + weight < 0 and protected(key):
                suspects[key] = None
    if not suspects:
        return
    at: dict[tuple, list[tuple[int, int]]] = {}  # protected place -> (allocated pool, its part's index)
    for k in over:
        for j, (key, _) in enumerate(allocations[k][1]):
            if protected(key):
                at.setdefault(key, []).append((k, j))
    held_of = {key: staged[key[1]][3][key[2]].cost[key[3]] if key[0] == "wip" else fg_held[key[1]] for key in at}

    def beyond(k: int, j: int) -> Decimal:  # part - exact share: < 0 rounded beyond it, > 0 short of it
        _, buckets, parts = allocations[k]
        return parts[j] - buckets[j][1] * exact_per_weight[k]

    def room(key: tuple) -> Decimal:  # what the element holds after the over-applied pools' parts
        return held_of[key] + sum((allocations[k][2][j] for k, j in at[key]), _ZERO)

    def chain(start: tuple) -> list[tuple[int, int, int]] | None:
        """The shortest chain of moves (pool, from part, to part) giving ``start`` a minor unit."""
        came_by: dict[tuple, tuple | None] = {start: None}
        takers_of: dict[int, list[int]] = {}  # pool -> its parts short of their exact share, best first
        queue = deque([start])
        while queue:
            element = queue.popleft()
            givers = sorted((kj for kj in at[element] if beyond(*kj) < 0), key=lambda kj: (beyond(*kj), kj[0]))
            for k, j in givers:
                buckets = allocations[k][1]
                if k not in takers_of:
                    takers_of[k] = sorted((t for t in range(len(buckets)) if beyond(k, t) > 0),
                                          key=lambda t: (-beyond(k, t), t))
                for t in takers_of[k]:
                    key = buckets[t][0]
                    if key in came_by:
                        continue
                    came_by[key] = (element, k, j, t)
                    if key not in at or room(key) >= q:
                        moves, step = [], came_by[key]
                        while step is not None:
                            moves.append(step[1:])
                            step = came_by[step[0]]
                        return moves
                    queue.append(key)
        return None

    for key in suspects:
        while room(key) < 0:
            moves = chain(key)
            if moves is None:  # not seen (see above); left as allocated rather than guessed
                break
            for k, giver, taker in moves:
                parts = allocations[k][2]
                parts[giver] += q
                parts[taker] -= q


def _overhead_content(product: ProductPlan, report: CaseReport, method: str) -> dict:
    """This period's applied overhead contained in each stage's ending WIP (by the element holding
    it: the stage's overhead element, or transferred-in cost) and in completed units.

    Followed element by element through transferred-in cost: a stage's transferred-in pool holds
    the upstream stage's overhead in proportion to what was transferred (exact fractions, used
    only as proration weights).
    """
    fifo = method == Method.FIFO.value
    upstream: dict[str, Decimal] = {}  # pool -> this period's overhead of it in what the stage received
    expensed: dict[str, Decimal] = {}
    wip_content: dict[str, dict[str, dict[str, Decimal]]] = {}
    for stage, sr in zip(product.case.stages, report.stages):
        ctaf = sr.costs_to_account_for
        out_content: dict[str, Decimal] = {}
        end_content: dict[str, dict[str, Decimal]] = {}
        for element in stage.elements:
            name = element.name
            if name == product.overhead_element.get(stage.name):
                content = {stage.name: ctaf.added_by_element[name]}
            elif element.kind is ElementKind.TRANSFERRED_IN:
                content = upstream
            else:
                continue
            beginning, added = ctaf.beginning_wip_by_element[name], ctaf.added_by_element[name]
            pool_cost = added if fifo else beginning + added
            if not pool_cost or not content:
                continue
            # What fraction of the element's pool of cost left with the units, stayed in ending WIP
            # or was expensed; each overhead pool in it goes the same way (weights only: exact to
            # the engine's precision, never posted).  FIFO: beginning WIP's cost (last period's
            # overhead) is not in the pool; it went out with the completed units, or on an idle
            # line stayed in part with the units still in process.
            b_out, b_end = (beginning if fifo else _ZERO), _ZERO
            if fifo and beginning and sr.physical_units.completed < sr.physical_units.beginning_wip:  # idle line
                pu = sr.physical_units
                b_out = beginning_cost_completed(beginning, pu.beginning_wip, pu.completed, product.case.quantum,
                                                 ROUNDING_MODES[product.case.rounding])
                b_end = beginning - b_out
            out_part = (sr.transferred_out.by_element[name] - b_out) / pool_cost
            end_part = (sr.ending_wip.by_element[name] - b_end) / pool_cost
            expensed_part = leaves_wip(sr, name) / pool_cost
            by_pool = end_content.setdefault(name, {})
            for pool, amount in content.items():
                out_content[pool] = out_content.get(pool, _ZERO) + amount * out_part
                by_pool[pool] = amount * end_part
                expensed[pool] = expensed.get(pool, _ZERO) + amount * expensed_part
        wip_content[stage.name] = end_content
        upstream = out_content
    return {"wip": wip_content, "completed": upstream, "expensed": expensed}
