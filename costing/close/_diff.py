"""Two closes of one period compared: what input changed, and how much of each amount that moved
each input change moved.

The attribution is exact, by sequential substitution: starting from the earlier close's inputs,
the input changes are applied one at a time (plant-wide settings first, then products and their
stages in flow order, then each value by its path) and the month is closed again in memory after
each (pure: no ledger).  What an amount moved between two consecutive closes is the part of its
move due to that change; the parts add up to the whole move, to the cent.  Like any sequential
substitution, a change is valued at the values already substituted before it, so the order
matters and is fixed (and shown).  A change that cannot be closed on its own (units of one stage
changed without the next stage's) is taken together with the changes after it until the inputs
close again; such changes are reported as one step.  When the opening position differs (the prior
month was re-closed in between) that is a step of its own.  The steps are closed by this engine:
when a close was recorded by another engine version, whose rounding may post other cents from
the same inputs, what that accounts for is one step named by the versions ("engine"), first;
anything else the inputs do not explain is reported as such ("unexplained"), never spread over
the changes.

Beside the amounts, three totals are followed the same way (closing WIP, finished goods, COGS as
posted), and each overhead pool whose treatment differs between the two closes is named: its
under/over-applied difference in each and what was done with it (prorated, written off, e.g.
because a changed actual took it across the materiality threshold).
"""

from __future__ import annotations

import copy
import unicodedata
from decimal import Decimal
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict

from .._errors import CostingError
from .._journal import JournalBook
from .._report import Amount
from ._compute import compute_close
from ._journals import build_journals
from ._resolve import resolve_close
from ._rollforward import RollForward, build_rollforward, cogs_as_posted
from ._state import PriorState

__all__ = ["flatten_inputs", "same_input_value", "InputChange", "AmountMove", "DiffStep", "CloseDiff", "close_amounts", "diff_closes", "input_changes",
           "PoolTreatment", "PoolTreatmentChange", "TOTALS", "MAX_STAGE_ROW_CLOSES"]

_ZERO = Decimal(0)

# The totals a diff always shows (kind "total" in ``close_amounts``), by name, in the order shown.
TOTALS = ("closing_wip", "finished_goods", "cogs_as_posted")

# The attribution closes the month again once per step: beyond this many product-stages costed in
# all, the steps are whole products (then one step: every change together) to bound the time.
MAX_STAGE_ROW_CLOSES = 200_000


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class InputChange(_Frozen):
    path: str  # products and stages by name: products[Espresso].stages[Assembly].added_costs.labour
    before: Any  # None: not in the earlier inputs
    after: Any  # None: not in the later inputs


class AmountMove(_Frozen):
    kind: str  # closing_wip | finished_goods | cogs | journal
    name: str  # product / stage / element; product; narration / account (memo)
    amount: Amount


class DiffStep(_Frozen):
    # "inputs" | "opening" (the prior close changed) | "opening+inputs" | "engine" (the closes' engine
    # versions round differently from this one: not an input change) | "unexplained" (not the inputs)
    what: str
    changes: tuple[InputChange, ...]
    moves: tuple[AmountMove, ...]  # this step's part of each amount that moved (non-zero only)


class AmountChange(_Frozen):
    kind: str
    name: str
    before: Amount
    after: Amount
    change: Amount
    by_step: tuple[tuple[int, Amount], ...]  # (step number, from 1; its part), parts add up to change


class PoolTreatment(_Frozen):
    """What one close did with an overhead pool's difference (a stage's applied vs actual overhead)."""
    under_applied: Amount  # actual − applied: positive under-applied, negative over-applied
    treatment: str  # what was done: prorate | write_off | none (no difference)
    asked: str  # the close file's overhead_disposition (prorate: pools below materiality are written off)
    materiality: Amount


class PoolTreatmentChange(_Frozen):
    """An overhead pool treated otherwise by the later close than by the earlier one."""
    pool: str  # the stage whose overhead pool it is
    before: PoolTreatment | None  # None: no such pool in the earlier close
    after: PoolTreatment | None  # None: no such pool in the later close


class CloseDiff(_Frozen):
    period: str
    input_changes: tuple[InputChange, ...]
    steps: tuple[DiffStep, ...]
    amounts: tuple[AmountChange, ...]  # every amount that moved (overall or in a step), with its parts by step
    attributed: bool  # False: the earlier inputs do not close with this engine; moves are not split
    note: str  # how the steps were formed (one per change, by product, all together)
    # (earlier close's, later close's) engine version as recorded; None: not given
    engine_versions: tuple[str, str] | None = None
    this_engine: str | None = None  # the engine version that closed the steps again
    # Closing WIP, finished goods and COGS as posted in all (kind "total", named as in TOTALS), always
    # all three, moved or not, with their parts by step.  Not in ``amounts`` nor in the steps' moves.
    totals: tuple[AmountChange, ...] = ()
    # The pools whose treatment differs, as this engine closes each side's inputs again; None: not
    # known (either side's inputs do not close with it), which is not "none changed".
    pool_treatments: tuple[PoolTreatmentChange, ...] | None = ()


# ---- inputs ------------------------------------------------------------------------------------

def flatten_inputs(data: Any, path: str = "") -> dict[str, Any]:
    """Leaf values by path, products and stages named rather than numbered (stable under reordering).

    >>> flatten_inputs({"products": [{"name": "A", "stages": [{"name": "S", "started": 5}]}]})
    {'products[A].name': 'A', 'products[A].stages[S].name': 'S', 'products[A].stages[S].started': 5}
    """
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten_inputs(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            label = value.get("name") if isinstance(value, dict) and "name" in value else i
            out.update(flatten_inputs(value, f"{path}[{label}]"))
    else:
        out[path] = data
    return out


class _Change:
    """One input change and how to make it on a copy of the inputs."""

    def __init__(self, path: str, before: Any, after: Any, apply: Callable[[dict], None], group: str):
        self.path, self.before, self.after, self.apply, self.group = path, before, after, apply, group

    def public(self) -> InputChange:
        return InputChange(path=self.path, before=self.before, after=self.after)


def _leaves(a: Any, b: Any, prefix: tuple) -> list[tuple[tuple, Any, Any]]:
    """(keys, before, after) of the values that differ between two mappings, mapping by mapping
    (a list, or a mapping on one side only, is one value)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            out += _leaves(a.get(key), b.get(key), prefix + (key,))
        return out
    return [] if same_input_value(a, b, prefix) else [(prefix, a, b)]


# Keys whose values are text even when they look like numbers (an account code 1310 is not 1310.0).
_TEXT_KEYS = frozenset({"accounts", "name", "code", "company", "period", "currency", "locale", "method",
                        "finished_goods_method", "rounding", "overhead_disposition", "loss_convention", "kind",
                        "driver", "basis", "scrap_element"})


def same_input_value(a: Any, b: Any, keys: tuple = ()) -> bool:
    """Equal, or the same number written two ways ("4650.0" and "4650.00": older ledgers stored
    YAML numbers through a float), which is no input change.  Text keys compare as text.

    >>> same_input_value("4650.0", "4650.00"), same_input_value("4650.0", "4800.0"), same_input_value("1310", "01310", ("accounts", "cogs", "code"))
    (True, False, False)
    """
    if a == b:
        return True
    if _TEXT_KEYS.intersection(map(str, keys)):
        return False
    if isinstance(a, (str, int, Decimal)) and isinstance(b, (str, int, Decimal)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        try:
            return Decimal(a) == Decimal(b)
        except (ArithmeticError, ValueError):
            return False
    return False


def _set(data: dict, keys: tuple, value: Any) -> None:
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    if value is None:
        data.pop(keys[-1], None)
    else:
        data[keys[-1]] = copy.deepcopy(value)


def _set_within(data: dict, product: str, keys: tuple, value: Any, stage: str | None = None) -> None:
    """``_set`` inside a product (or one of its stages), found by name."""
    found = next(p for p in data["products"] if p.get("name") == product)
    target = found if stage is None else next(s for s in found["stages"] if s.get("name") == stage)
    _set(target, keys, value)


def _dotted(keys: tuple) -> str:
    return ".".join(map(str, keys))


def _by_name(items: Any) -> dict[str, dict]:
    return {x["name"]: x for x in items if isinstance(x, dict) and isinstance(x.get("name"), str)} \
        if isinstance(items, list) else {}


def _named_as(old: dict, new: dict) -> dict:
    """``old`` with each product whose name differs from one of ``new`` only in how an accented
    letter is typed (one character, or a letter and a combining accent: NFC/NFD) named as in ``new``:
    the close takes the two as one product (the recorded spelling), so the diff matches them — else
    one product would read as removed and a look-alike added, hiding what changed in it."""
    if not isinstance(old.get("products"), list) or not isinstance(new.get("products"), list):
        return old
    spelled = {unicodedata.normalize("NFC", p["name"]): p["name"] for p in new["products"]
               if isinstance(p, dict) and isinstance(p.get("name"), str)}
    products, changed = [], False
    for p in old["products"]:
        name = p.get("name") if isinstance(p, dict) else None
        meant = spelled.get(unicodedata.normalize("NFC", name)) if isinstance(name, str) else None
        if meant is not None and meant != name and meant not in {q.get("name") for q in old["products"]
                                                                  if isinstance(q, dict)}:
            p, changed = {**p, "name": meant}, True
        products.append(p)
    return {**old, "products": products} if changed else old


def input_changes(old_inputs: dict, new_inputs: dict) -> tuple[InputChange, ...]:
    """The changes between two closes' declared inputs, in the order `wip diff` lists (and
    substitutes) them: what the variance audit's late changes show."""
    return tuple(change.public() for change in _changes(_named_as(old_inputs, new_inputs), new_inputs))


def _changes(old: dict, new: dict) -> list[_Change]:
    """The input changes in the order they are substituted: plant-wide settings, then each product
    (added, removed, restructured as a whole; else its own values, then its stages in flow order)."""
    changes: list[_Change] = []
    header_old = {k: v for k, v in old.items() if k != "products"}
    header_new = {k: v for k, v in new.items() if k != "products"}
    for keys, before, after in _leaves(header_old, header_new, ()):
        changes.append(_Change(_dotted(keys), before, after, lambda d, k=keys, v=after: _set(d, k, v), "settings"))
    old_products, new_products = _by_name(old.get("products")), _by_name(new.get("products"))
    order = [p["name"] for p in new.get("products", []) if isinstance(p, dict) and p.get("name") in new_products]

    def place_product(d: dict, name: str) -> None:
        """Insert or replace product ``name`` as in the later inputs, in the later inputs' order."""
        products = [p for p in d.setdefault("products", []) if p.get("name") != name]
        position = order.index(name)
        before_it = set(order[:position])
        at = next((i for i, p in enumerate(products) if p.get("name") not in before_it), len(products))
        products.insert(at, copy.deepcopy(new_products[name]))
        d["products"] = products

    for name in old_products:
        if name not in new_products:
            changes.append(_Change(f"products[{name}]", "(product)", None,
                                   lambda d, n=name: d.update(products=[p for p in d["products"] if p.get("name") != n]),
                                   f"products[{name}]"))
    for name in order:
        group = f"products[{name}]"
        if name not in old_products:
            changes.append(_Change(group, None, "(product)", lambda d, n=name: place_product(d, n), group))
            continue
        a, b = old_products[name], new_products[name]
        stages_a, stages_b = _by_name(a.get("stages")), _by_name(b.get("stages"))
        if list(stages_a) != list(stages_b) or len(stages_a) != len(a.get("stages") or []) \
                or len(stages_b) != len(b.get("stages") or []):
            # Stages added, removed or reordered: the product's flow changed as a whole.
            changes.append(_Change(f"{group}.stages", [s for s in stages_a], [s for s in stages_b],
                                   lambda d, n=name: place_product(d, n), group))
            continue

        for keys, before, after in _leaves({k: v for k, v in a.items() if k != "stages"},
                                           {k: v for k, v in b.items() if k != "stages"}, ()):
            changes.append(_Change(f"{group}.{_dotted(keys)}", before, after,
                                   lambda d, n=name, k=keys, v=after: _set_within(d, n, k, v), group))
        for stage, sa in stages_a.items():
            for keys, before, after in _leaves(sa, stages_b[stage], ()):
                changes.append(_Change(f"{group}.stages[{stage}].{_dotted(keys)}", before, after,
                                       lambda d, n=name, k=keys, v=after, s=stage: _set_within(d, n, k, v, s),
                                       group))
    return changes


# ---- amounts -----------------------------------------------------------------------------------

def close_amounts(rollforward: RollForward, book: JournalBook) -> dict[tuple[str, str], Decimal]:
    """The amounts a diff follows: closing WIP by product, stage and element; finished goods and
    COGS by product; each journal line by narration, account and memo; and the totals (kind
    "total"): closing WIP, finished goods, and COGS as posted (units shipped and the overhead
    true-up's COGS lines, as ``wip rollforward`` reads it from a close of any version)."""
    out: dict[tuple[str, str], Decimal] = {
        ("total", "closing_wip"): sum((r.closing for r in rollforward.rows), _ZERO),
        ("total", "finished_goods"): sum((f.closing for f in rollforward.finished_goods), _ZERO),
        ("total", "cogs_as_posted"): cogs_as_posted(book, rollforward).total}
    for r in rollforward.rows:
        out[("closing_wip", f"{r.product} / {r.stage} / {r.element}")] = r.closing
    for f in rollforward.finished_goods:
        out[("finished_goods", f.product)] = f.closing
        out[("cogs", f.product)] = f.cost_of_goods_sold
    for journal in book.journals:
        for line in journal.lines:
            key = ("journal", f"{journal.narration} / {line.account} ({line.memo})")
            out[key] = out.get(key, _ZERO) + line.debit - line.credit
    return out


def _close(data: dict, prior: PriorState | None, progress=None) \
        -> tuple[dict[tuple[str, str], Decimal], dict[str, PoolTreatment]] | None:
    """The amounts of the month closed in memory from ``data``, and what the close did with each
    overhead pool's difference (by stage); None when the close refuses it."""
    # The general ledger's balances are only tied to before posting: they move no amount, and with
    # them a change of the inputs they tie to (overhead incurred, an opening) would not close apart
    # from its balance.  Each change is closed without them: a balance's change is a step that moves nothing.
    data = {k: v for k, v in data.items() if k != "general_ledger"}
    try:
        plan, issues = resolve_close(data, prior, recorded=True)
        if issues:
            return None
        result = compute_close(plan, progress=progress)
        book = build_journals(result)
        rollforward = build_rollforward(result, book)
    except (CostingError, ValueError, KeyError, TypeError, ArithmeticError):
        return None
    spec = plan.spec
    pools = {line.stage: PoolTreatment(under_applied=line.under_applied,
                                       treatment=line.disposition if line.under_applied else "none",
                                       asked=spec.overhead_disposition, materiality=spec.materiality)
             for line in result.overhead}
    return close_amounts(rollforward, book), pools


def _pool_treatment_changes(before: dict[str, PoolTreatment], after: dict[str, PoolTreatment]) \
        -> tuple[PoolTreatmentChange, ...]:
    """The pools treated otherwise (prorated, written off, no difference; or there in one close only),
    in the earlier close's order, then the later's new pools."""
    def treatment(pool: PoolTreatment | None) -> str | None:
        return None if pool is None else pool.treatment

    return tuple(PoolTreatmentChange(pool=name, before=before.get(name), after=after.get(name))
                 for name in dict.fromkeys(list(before) + list(after))
                 if treatment(before.get(name)) != treatment(after.get(name)))


def _stage_rows(data: dict) -> int:
    return sum(len(p.get("stages") or []) for p in data.get("products") or [] if isinstance(p, dict))


# ---- the diff ----------------------------------------------------------------------------------

def diff_closes(period: str, old_inputs: dict, new_inputs: dict, old_prior: PriorState | None,
                new_prior: PriorState | None, stored_old: dict[tuple[str, str], Decimal],
                stored_new: dict[tuple[str, str], Decimal], *,
                engine_versions: tuple[str, str] | None = None, this_engine: str | None = None,
                progress=None) -> CloseDiff:
    """Compare two closes of ``period``: their inputs, the priors they opened from, and the amounts
    each recorded (``close_amounts`` of what the ledger stored).

    ``engine_versions``: the engine version each close was recorded by (``Event.engine_version``),
    compared with ``this_engine`` (default: this package's version), which closes the steps again:
    a recorded close that this engine does not reproduce because another version computed it is
    then one "engine" step rather than "unexplained" ones.

    ``progress(done, total)``, if given, is called as products are costed, over every close the
    diff makes in memory (for a progress bar: a diff of a large close closes it several times)."""
    if engine_versions is not None and this_engine is None:
        # Imported when called: the package's __init__ sets it after its own imports.
        from .. import __version__ as this_engine
    old_engine, new_engine = engine_versions or (None, None)
    old_inputs = _named_as(old_inputs, new_inputs)
    changes = _changes(old_inputs, new_inputs)
    public = tuple(c.public() for c in changes)
    keys = list(dict.fromkeys(list(stored_old) + list(stored_new)))
    moved = [k for k in keys if stored_old.get(k, _ZERO) != stored_new.get(k, _ZERO)]

    size = max(_stage_rows(old_inputs), _stage_rows(new_inputs), 1)
    groups: list[list[_Change]] = [[c] for c in changes]
    note = "one step per input change"
    if size * (len(groups) + 2) > MAX_STAGE_ROW_CLOSES:
        by_group: dict[str, list[_Change]] = {}
        for c in changes:
            by_group.setdefault(c.group, []).append(c)
        groups, note = list(by_group.values()), "one step per product (a large close: fewer closes)"
        if size * (len(groups) + 2) > MAX_STAGE_ROW_CLOSES:
            groups, note = ([changes] if changes else []), "one step for all changes (a large close)"

    # The closes to make: the earlier inputs, on the later opening when it moved, and one a step.
    planned = 1 + (old_prior != new_prior) + len(groups)
    made = 0

    def close(data: dict, prior: PriorState | None):
        nonlocal made
        tell = None if progress is None else (
            lambda done, total: progress(min(made, planned - 1) * total + done, planned * total))
        closed = _close(copy.deepcopy(data), prior, tell)
        made += 1
        return closed

    baseline_closed = close(old_inputs, old_prior)
    if baseline_closed is None:  # the earlier inputs do not close with this engine: moves are shown unsplit
        return CloseDiff(period=period, input_changes=public, steps=(), amounts=tuple(
            _amount_change(k, stored_old, stored_new, ()) for k in moved if k[0] != "total"), attributed=False,
            note="the earlier close's inputs are refused by this engine version, so the moves are not split",
            engine_versions=engine_versions, this_engine=this_engine,
            totals=tuple(_amount_change(("total", name), stored_old, stored_new, ()) for name in TOTALS),
            pool_treatments=None)
    baseline, pools_before = baseline_closed
    # The later inputs closed on the later opening: the last step, or (no input change) the opening's.
    later_closed = baseline_closed if old_prior == new_prior and not groups else None

    recorded: list[tuple[str, list[_Change], dict[tuple[str, str], Decimal]]] = []
    # What another engine version's rounding accounts for, at either end: one step, first.
    by_engine: dict[tuple[str, str], Decimal] = {}

    def difference(before: dict, after: dict) -> dict[tuple[str, str], Decimal]:
        return {k: after.get(k, _ZERO) - before.get(k, _ZERO) for k in dict.fromkeys(list(before) + list(after))}

    def record(what: str, taken: list[_Change], before: dict, after: dict) -> None:
        recorded.append((what, taken, {k: v for k, v in difference(before, after).items() if v}))

    def by_other_engine(recorded_by: str | None) -> bool:
        return recorded_by is not None and recorded_by != this_engine

    # What the recorded earlier close holds but this engine does not reproduce from its inputs.
    if baseline != stored_old:
        if by_other_engine(old_engine):
            for k, v in difference(stored_old, baseline).items():
                by_engine[k] = by_engine.get(k, _ZERO) + v
        else:
            record("unexplained", [], stored_old, baseline)
    amounts = baseline
    current = copy.deepcopy(old_inputs)
    with_opening = False  # the new opening not yet accounted for: it goes with the next step
    if old_prior != new_prior:
        reopened_closed = close(current, new_prior)
        if reopened_closed is not None:
            reopened = reopened_closed[0]
            record("opening", [], amounts, reopened)
            amounts = reopened
            if not groups:
                later_closed = reopened_closed
        else:
            with_opening = True
    pending: list[_Change] = []
    for k, group in enumerate(groups):
        for change in group:
            change.apply(current)
        pending += group
        last = k == len(groups) - 1
        # The last step closes the later inputs themselves, so the steps end exactly at them.
        after_closed = close(new_inputs if last else current, new_prior)
        if after_closed is None:
            continue  # not closable on its own: taken together with the next change
        after = after_closed[0]
        if last:
            later_closed = after_closed
        record("opening+inputs" if with_opening else "inputs", pending, amounts, after)
        amounts, pending, with_opening = after, [], False
    if amounts != stored_new:  # what is left: changes that never closed, or a different engine
        if not pending and by_other_engine(new_engine):
            for k, v in difference(amounts, stored_new).items():
                by_engine[k] = by_engine.get(k, _ZERO) + v
        else:
            record("unexplained", pending, amounts, stored_new)
    # Both closes by one other version: its cents at either end offset but for how it rounds the
    # changes themselves, which is all this step keeps (no step when that is the same).
    by_engine = {k: v for k, v in by_engine.items() if v}
    if by_engine:
        recorded.insert(0, ("engine", [], by_engine))
    # The totals are shown on their own (``CloseDiff.totals``), not among the amounts they add up.
    steps = [DiffStep(what=what, changes=tuple(c.public() for c in taken),
                      moves=tuple(AmountMove(kind=k[0], name=k[1], amount=v) for k, v in delta.items()
                                  if k[0] != "total"))
             for what, taken, delta in recorded]
    parts = [(n, delta) for n, (_, _, delta) in enumerate(recorded, 1)]
    if note == "one step per input change" and any(len(s.changes) > 1 for s in steps if s.what != "unexplained"):
        note += ", except changes that close only together (one step)"
    # Every amount that moved, overall or in some step only (steps that offset each other).
    touched = moved + [k for k in dict.fromkeys(k for _, delta in parts for k in delta) if k not in set(moved)]
    return CloseDiff(period=period, input_changes=public, steps=tuple(steps),
                     amounts=tuple(_amount_change(k, stored_old, stored_new, parts)
                                   for k in touched if k[0] != "total"),
                     attributed=True, note=note, engine_versions=engine_versions, this_engine=this_engine,
                     totals=tuple(_amount_change(("total", name), stored_old, stored_new, parts) for name in TOTALS),
                     pool_treatments=None if later_closed is None
                     else _pool_treatment_changes(pools_before, later_closed[1]))


def _amount_change(key: tuple[str, str], old: dict, new: dict, parts) -> AmountChange:
    before, after = old.get(key, _ZERO), new.get(key, _ZERO)
    by_step = tuple((n, delta[key]) for n, delta in parts if delta.get(key))
    return AmountChange(kind=key[0], name=key[1], before=before, after=after, change=after - before, by_step=by_step)
