"""Standard-cost variances: process costing at standard and the textbook decompositions.

Pure.  The standards file as written (``StandardsSpec``, documented by its JSON schema) is
resolved against one period's close (``resolve_standards``, collecting located issues), then
``standards_report`` values this period's work — FIFO equivalent units, whatever the close's
method — at standard and compares it with the cost added (materials and labour at actual, overhead
as applied at the close's predetermined rate; each stage's overhead incurred against applied is
reported beside it, and turns cost added into cost incurred):

- per product, stage and element: total variance = actual cost added − EU × standard cost per EU;
  where a standard quantity and an actual quantity are known, split into price and usage
  (materials) or rate and efficiency (labour, conversion, and overhead applied per product);
- per stage with an overhead standard: variable overhead spending and efficiency, fixed overhead
  spending and production-volume (four-way, when the actual overhead's variable/fixed split is
  given) or spending, efficiency and production-volume (three-way), and the two-way controllable
  variance;
- WIP at standard: beginning WIP, this period's work, completed, ending WIP and spoiled units
  valued at standard cost per EU (a memo valuation; the close itself still posts actual cost).

Each decomposition compares amounts that are rounded once, to the minor unit (actual, actual
quantity at standard price, standard quantity at standard price), so the parts add up to the
total exactly.  Positive = unfavourable (U), negative = favourable (F).
"""

from __future__ import annotations

import copy
import difflib
import re
import types
import typing
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._currency import finer_than_currency, quantum
from .._errors import Issue
from .._model import TRANSFERRED_IN, ElementKind
from .._numbers import ROUNDING_MODES, engine_context
from .._report import Amount, Quantity
from .._spelling import edit_distance
from .._resolve import issues_from_validation_error, negative_amount, negative_units
from .._rounding import allocate
from .._spec import Number
from ..close import CloseResult
from ..close._resolve import read_as_grouped
from ._figures import ordered_elements, work_units
from ._grouping import groups_with_dot, thousand_or_fraction, two_readings

__all__ = ["ElementStandardSpec", "StageStandardSpec", "ProductStandardSpec", "OverheadStandardSpec",
           "OverheadActualsSpec", "StageActualsSpec", "ProductActualsSpec", "PeriodActualsSpec", "StandardsSpec",
           "ElementStandard", "OverheadStandard", "ResolvedStandards", "resolve_standards",
           "Variance", "ElementVariance", "OverheadVariance", "OverheadApplied", "StageAtStandard", "WithoutStandard",
           "StandardsReport",
           "standards_report", "standards_schema"]

_ZERO = Decimal(0)


# ---- the standards file as written -------------------------------------------------------------

class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ElementStandardSpec(_Spec):
    """One element's standard: a cost per equivalent unit, or a quantity per EU and its price or rate."""

    cost_per_eu: Number | None = Field(default=None, description="standard cost per equivalent unit")
    quantity: Number | None = Field(
        default=None, description="standard input per equivalent unit: material quantity (materials), hours "
                                  "(labour, conversion) or driver quantity (overhead, at the stage's overhead rates)")
    price: Number | None = Field(default=None, description="materials: standard price per unit of input")
    rate: Number | None = Field(default=None, description="labour and conversion: standard rate per hour")
    unit: str | None = Field(default=None, description="what the quantity counts (kg, hours), for reports")


class StageStandardSpec(_Spec):
    name: str
    elements: dict[str, ElementStandardSpec] = Field(description="by element name, as in the close file")


class ProductStandardSpec(_Spec):
    name: str
    stages: list[StageStandardSpec]


class OverheadStandardSpec(_Spec):
    """Standard overhead rates on the stage's driver (the close file's overhead driver)."""

    variable_rate: Number = Field(default=Decimal(0), description="standard variable overhead per driver unit")
    fixed_rate: Number | None = Field(default=None, description="standard fixed overhead per driver unit")
    fixed_budget: Number | None = Field(default=None, description="budgeted fixed overhead for one period")
    denominator: Number | None = Field(
        default=None, description="denominator level of the driver (fixed_rate = fixed_budget / denominator)")


class OverheadActualsSpec(_Spec):
    """How the stage's actual overhead (the close file's overhead.<stage>.actual) splits; give one or both."""

    variable: Number | None = None
    fixed: Number | None = None


class StageActualsSpec(_Spec):
    name: str
    quantities: dict[str, Number] = Field(
        description="by element: actual quantity used (materials) or hours worked (labour, conversion)")


class ProductActualsSpec(_Spec):
    name: str
    stages: list[StageActualsSpec]


class PeriodActualsSpec(_Spec):
    overhead: dict[str, OverheadActualsSpec] = Field(default_factory=dict, description="by stage name")
    products: list[ProductActualsSpec] = Field(default_factory=list)


class StandardsSpec(_Spec):
    currency: str | None = Field(default=None, description="ISO 4217; checked against the close's currency")
    overhead: dict[str, OverheadStandardSpec] = Field(default_factory=dict, description="by stage name")
    products: list[ProductStandardSpec]
    actuals: dict[str, PeriodActualsSpec] = Field(
        default_factory=dict, description="by period (YYYY-MM): actual quantities the close file does not record")


def standards_schema() -> dict:
    schema = StandardsSpec.model_json_schema()
    schema["title"] = "WIP standard costs file"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


# ---- resolved ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ElementStandard:
    basis: str  # "cost_per_eu" | "quantity"
    cost_per_eu: Decimal  # standard cost per equivalent unit
    quantity: Decimal | None  # standard input per EU
    price: Decimal | None  # standard price/rate per unit of input (overhead: variable + fixed rate)
    unit: str


@dataclass(frozen=True)
class OverheadStandard:
    variable_rate: Decimal
    fixed_rate: Decimal
    fixed_budget: Decimal
    denominator: Decimal | None


@dataclass(frozen=True)
class ResolvedStandards:
    elements: dict[tuple[str, str, str], ElementStandard]  # (product, stage, element)
    overhead: dict[str, OverheadStandard]  # by stage
    actual_quantities: dict[tuple[str, str, str], Decimal]
    overhead_split: dict[str, tuple[Decimal, Decimal]]  # stage -> (variable, fixed) actual
    notes: tuple[str, ...]
    # Said on stderr, not in the report: a name only noted that is like a name of the close without
    # an entry of its own (NEAR_MISS_NAME), in case it is a typo after all.
    warnings: tuple[Issue, ...] = ()


def resolve_standards(data: Any, result: CloseResult, warnings_out: list[Issue] | None = None
                      ) -> tuple[ResolvedStandards | None, list[Issue]]:
    """Validate a standards file (plain data) against one period's close; all problems, located.
    ``warnings_out``, if given, receives the warnings (``ResolvedStandards.warnings``) also when
    the file is refused: a name only noted that may be a typo is said beside the problems.

    A value the file's shape refuses (``price: "118,00"``) hides nothing else: the rest of the file
    is still checked against the close, and only what depends on the refused value is held back."""
    spec, shape = _parse(data)
    if spec is None:
        return None, shape
    issues = _duplicates(spec)
    notes: list[str] = []
    warnings: list[Issue] = []
    close_spec = result.plan.spec
    period = close_spec.period
    # Numbers written as the close's locale groups thousands (1.300 in de_DE): refused, not read as 1.3.
    shape = shape + _grouped_numbers(spec, period, close_spec.currency, close_spec.locale)
    if spec.currency is not None and spec.currency != close_spec.currency:
        issues.append(Issue("CURRENCY_MISMATCH", "currency",
                            f"standards are in {spec.currency} but {period} was closed in {close_spec.currency}"))
    stages = {(p.name, s.name): s for p in result.plan.products for s in p.case.stages}
    stage_names = {p.name: [s.name for s in p.case.stages] for p in result.plan.products}
    products = {p.name for p in result.plan.products}
    overhead_lines = {line.stage: line for line in result.overhead}

    overhead: dict[str, OverheadStandard] = {}
    overhead_near: dict[str, tuple[str, str]] = {}  # a stage -> the overhead entry like its name, only noted
    for name, oh in spec.overhead.items():
        path = f"overhead.{name}"
        resolved, problems = _overhead_standard(oh, path)
        issues.extend(problems)
        # A given budget or split is an amount: a spending variance of 6,750.5 yen cannot be posted.
        finer = finer_than_currency(oh.fixed_budget, close_spec.currency)
        if finer:
            issues.append(Issue("AMOUNT_PRECISION", f"{path}.fixed_budget", finer))
        if name not in overhead_lines:
            candidates = [s for s in overhead_lines if s not in spec.overhead]
            meant = _typo(name, candidates)
            if meant is None:
                notes.append(f"overhead standard for {name}: the {period} close applies no overhead there")
                said = f"the {period} close applies no overhead in {name!r}"
                near = _warn_near_miss(warnings, name, candidates, path, said, "overhead standard", "stage")
                if near is not None:
                    overhead_near[near] = (name, said)
            else:
                issues.append(Issue("UNKNOWN_STAGE", path, f"the {period} close applies no overhead in {name!r}, "
                                    f"and {meant!r}, where it does, has no overhead standard: did you mean "
                                    f"{meant!r}? (correct the name)"))
                name = meant  # checked further as the stage it was meant to be
        if resolved is not None:
            overhead[name] = resolved
    # The stages the file gives an overhead standard for, as written: one whose entry its shape refused
    # (``Assembly: 5``) is reported already, and its products' overhead quantity standards are not
    # asked for one as well; nor any stage's when the whole section is refused (``overhead: [Assembly]``).
    written = data.get("overhead", {}) if isinstance(data, Mapping) else {}
    overhead_refused = not isinstance(written, Mapping)
    overhead_given = set(spec.overhead) | set(overhead)
    if not overhead_refused:
        for name in written:
            if isinstance(name, str) and name not in spec.overhead:
                overhead_given.add(_typo(name, [s for s in overhead_lines if s not in written]) or name)

    elements: dict[tuple[str, str, str], ElementStandard] = {}
    named = {p.name for p in spec.products}
    for i, product in enumerate(spec.products):
        if product.name == _UNUSABLE:
            continue
        product_name = product.name
        if product_name not in products:
            candidates = sorted(products - named)
            meant = _typo(product_name, candidates)
            if meant is None:
                notes.append(f"standards for {product_name}: not in the {period} close")
                _warn_near_miss(warnings, product_name, candidates, f"products[{i}].name",
                                f"{product_name!r} is not a product of the {period} close", "standards", "product")
                continue
            issues.append(Issue("UNKNOWN_PRODUCT", f"products[{i}].name",
                                f"{product_name!r} is not a product of the {period} close, and {meant!r}, which "
                                f"is, has no standards: did you mean {meant!r}? (correct the name)"))
            product_name = meant  # checked further as the product it was meant to be
        stages_named = {s.name for s in product.stages}
        for j, stage_spec in enumerate(product.stages):
            if stage_spec.name == _UNUSABLE:
                continue
            stage = stages.get((product_name, stage_spec.name))
            if stage is None:
                candidates = [s for s in stage_names[product_name] if s not in stages_named]
                meant = _typo(stage_spec.name, candidates)
                if meant is None:
                    notes.append(f"standards for {product_name} / {stage_spec.name}: no such stage in the "
                                 f"{period} close")
                    _warn_near_miss(warnings, stage_spec.name, candidates, f"products[{i}].stages[{j}].name",
                                    f"{product_name} has no stage {stage_spec.name!r} in the {period} close",
                                    "standards", "stage")
                    continue
                issues.append(Issue("UNKNOWN_STAGE", f"products[{i}].stages[{j}].name",
                                    f"{product_name} has no stage {stage_spec.name!r} in the {period} close, and its "
                                    f"stage {meant!r} has no standards: did you mean {meant!r}? (correct the name)"))
                stage = stages[(product_name, meant)]
            kinds = {e.name: e.kind for e in stage.elements}
            elements_named = set(stage_spec.elements)
            for name, std in stage_spec.elements.items():
                path = f"products[{i}].stages[{j}].elements.{name}"
                if name == TRANSFERRED_IN:
                    issues.append(Issue("UNKNOWN_ELEMENT", path, "transferred-in cost is valued at the previous "
                                        "stage's standard cost per unit; remove this standard"))
                    continue
                if name not in kinds:
                    candidates = [e for e in kinds if e != TRANSFERRED_IN and e not in elements_named]
                    meant = _typo(name, candidates)
                    if meant is None:
                        notes.append(f"standard for {product_name} / {stage.name} / {name}: no such element in "
                                     f"the {period} close")
                        _warn_near_miss(warnings, name, candidates, path, f"{product_name} / {stage.name} has no "
                                        f"element {name!r} in the {period} close", "standard", "element")
                        continue
                    issues.append(Issue("UNKNOWN_ELEMENT", path,
                                        f"{product_name} / {stage.name} has no element {name!r} in the {period} "
                                        f"close, and its element {meant!r} has no standard: did you mean {meant!r}? "
                                        "(correct the name)"))
                    name = meant
                resolved, problems = _element_standard(std, kinds[name], overhead.get(stage.name),
                                                       overhead_refused or stage.name in overhead_given, path)
                if stage.name in overhead_near:  # the warning's near miss, said where it is missed
                    written, said = overhead_near[stage.name]
                    problems = [Issue(p.code, p.path, f"{p.message}; overhead.{written}, like {stage.name}, is only "
                                                      f"noted ({said}): did you mean {stage.name!r}?")
                                if p.code == "MISSING_OVERHEAD_STANDARD" else p for p in problems]
                issues.extend(problems)
                if resolved is not None:
                    elements[(product_name, stage.name, name)] = resolved

    quantities: dict[tuple[str, str, str], Decimal] = {}
    split: dict[str, tuple[Decimal, Decimal]] = {}
    actuals = spec.actuals.get(period)
    if actuals is not None:
        base = f"actuals.{period}"
        for name, given in actuals.overhead.items():
            path = f"{base}.overhead.{name}"
            line = overhead_lines.get(name)
            if line is None:
                meant = _meant(name, overhead_lines)
                issues.append(Issue("UNKNOWN_STAGE", path, f"the {period} close applies no overhead in {name!r}"
                                    + (f" (did you mean {meant!r}?)" if meant else "")))
                continue
            problems = [Issue("AMOUNT_PRECISION", f"{path}.{part}", finer) for part in ("variable", "fixed")
                        if (finer := finer_than_currency(getattr(given, part), close_spec.currency))]
            pair, more = _split(given, line.actual, path) if not problems else (None, [])
            issues.extend(problems + more)
            if pair is not None:
                split[name] = pair
        for i, product in enumerate(actuals.products):
            if product.name == _UNUSABLE:
                continue
            if product.name not in products:
                meant = _meant(product.name, products)
                issues.append(Issue("UNKNOWN_PRODUCT", f"{base}.products[{i}].name",
                                    f"{product.name!r} is not in the {period} close"
                                    + (f" (did you mean {meant!r}?)" if meant else "")))
                continue
            for j, stage_actuals in enumerate(product.stages):
                if stage_actuals.name == _UNUSABLE:
                    continue
                spath = f"{base}.products[{i}].stages[{j}]"
                stage = stages.get((product.name, stage_actuals.name))
                if stage is None:
                    meant = _meant(stage_actuals.name, stage_names[product.name])
                    issues.append(Issue("UNKNOWN_STAGE", f"{spath}.name",
                                        f"{product.name} has no stage {stage_actuals.name!r} in the {period} close"
                                        + (f" (did you mean {meant!r}?)" if meant else "")))
                    continue
                kinds = {e.name for e in stage.elements}
                overhead_kind = {e.name for e in stage.elements if e.kind is ElementKind.OVERHEAD}
                for name, value in stage_actuals.quantities.items():
                    if name in overhead_kind:
                        # Applied overhead's driver quantity is the close's: another here would price
                        # the applied amount at an invented rate (a "rate" variance the close never had).
                        issues.append(Issue("CONFLICTING_INPUT", f"{spath}.quantities.{name}",
                                            f"{name!r} is an overhead element: its actual driver quantity is the "
                                            "close file's "
                                            f"driver_quantity for {product.name} / {stage.name}, the quantity "
                                            "its overhead was applied on; delete it here (correct it in the close "
                                            "file and close the month again if it is wrong)"))
                    elif name not in kinds or name == TRANSFERRED_IN:
                        meant = _meant(name, kinds - {TRANSFERRED_IN})
                        issues.append(Issue("UNKNOWN_ELEMENT", f"{spath}.quantities.{name}",
                                            f"{product.name} / {stage.name} has no element {name!r}"
                                            + (f" (did you mean {meant!r}?)" if meant else "")))
                    elif value < 0:
                        issues.append(negative_units(f"{spath}.quantities.{name}", value, ""))
                    else:
                        quantities[(product.name, stage.name, name)] = value
    issues = shape + [i for i in issues if not any(_overlap(i.path, s.path) for s in shape)]
    if warnings_out is not None:
        warnings_out.extend(warnings)
    if issues:
        return None, issues
    for (product_name, stage_name, name), value in quantities.items():
        # Typed and then silently unused would read as used: said where no quantity standard takes it.
        std = elements.get((product_name, stage_name, name))
        if std is None or std.basis != "quantity":
            why = ("its standard is cost_per_eu, with no quantity and price to split the variance by" if std
                   else "it has no standard")
            notes.append(f"actual quantity of {product_name} / {stage_name} / {name} ({value.normalize():f}) is not "
                         f"used: {why}")
    return ResolvedStandards(elements, overhead, quantities, split, tuple(notes), tuple(warnings)), []


# A hint for a name that is refused anyway (actuals, an order's product): as similar as the close's
# misspelt stages (difflib's ratio, case aside: "Tesitng"/"Testing" 0.86); costing.close uses the same
# cut-off.
_MISSPELT = 0.75


def _meant(name: str, candidates: Iterable[str]) -> str | None:
    """The name among ``candidates`` that ``name`` looks most like, for a "did you mean" on a name
    that is refused either way; None when none is like it.

    >>> _meant("Tesitng", ["Testing", "Packaging"]), _meant("testing", ["Testing"]), _meant("Painting", ["Packaging"])
    ('Testing', 'Testing', None)
    >>> _meant("Drip hom", ["Drip Home"])
    'Drip Home'
    """
    folded = {c.casefold(): c for c in candidates}
    if name.casefold() in folded:
        return folded[name.casefold()]
    found = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=_MISSPELT)
    return folded[found[0]] if found else None


def _typo(name: str, candidates: Iterable[str]) -> str | None:
    """The name among ``candidates`` (the close's names that have no entry of their own in the
    standards file) that ``name`` is a typo of, or None: then the file's entry is another product,
    stage or element (a discontinued one, a stage not run this month), which is only noted.

    A typo is a slip two real names almost never differ by: the same name in other case, or one
    keystroke away inside a word (``_is_slip``).  Names one or two other edits apart are often two
    real names (Packing/Picking, Tee XL/Tee XS, Phase I/Phase II): ``_near_miss``, warned of only.

    >>> _typo("Tesitng", ["Testing", "Packaging"]), _typo("testing", ["Testing"]), _typo("labor", ["labour"])
    ('Testing', 'Testing', 'labour')
    >>> _typo("Drip Home Mini", ["Drip Home"]), _typo("Retesting", ["Testing"]), _typo("Line 2", ["Line 1"])
    (None, None, None)
    >>> _typo("Nesting", ["Testing"]), _typo("Testin", ["Testing"]), _typo("Tee XS", ["Tee S"])
    (None, None, None)
    """
    folded = name.casefold()
    found = []
    for candidate in candidates:
        other = candidate.casefold()
        if other == folded:
            return candidate
        if _is_slip(folded, other):
            found.append(candidate)
    return min(found) if found else None


def _near_miss(name: str, candidates: Iterable[str]) -> str | None:
    """The name among ``candidates`` most like ``name`` without being a typo of it (``_is_alike``),
    or None.

    >>> _near_miss("Nesting", ["Testing"]), _near_miss("Phase II", ["Phase I"]), _near_miss("Line 2", ["Line 1"])
    ('Testing', 'Phase I', None)
    """
    folded = name.casefold()
    found = [(distance, candidate) for candidate in candidates
             if (distance := _is_alike(folded, candidate.casefold()))]
    return min(found)[1] if found else None


def _warn_near_miss(warnings: list[Issue], name: str, candidates: list[str], path: str, said: str, standard: str,
                    kind: str) -> str | None:
    """A name only noted that is like one of ``candidates`` (a name of the close without an entry of
    its own): a warning, since it may be a typo after all and that name goes without a standard.
    Returns the name it is like, if any."""
    near = _near_miss(name, candidates)
    if near is not None:
        warnings.append(Issue("NEAR_MISS_NAME", path, f"{said}, so it is only noted; did you mean {near!r}, which "
                                                      f"has no {standard}? (correct the name if so; if {name!r} is "
                                                      f"another {kind}, nothing is wrong)"))
    return near


_SEPARATORS = " -_"


def _is_slip(a: str, b: str) -> bool:
    """Whether (case-folded) ``a`` is one keystroke from ``b`` in a way two real names almost never
    are: two neighbouring letters swapped (tesitng), or one letter — or a space, hyphen or
    underscore between two letters — dropped or added inside a word (labor, tsting, re-work), where
    neither name holds the other.  Not at a word's start or end: names that differ there are
    often two names (Tee S/Tee XS, Pack 6/Pack 6s, Phase I/Phase II, Mk II/Mk III), nor a letter
    for another (Packing/Picking, Tee XL/Tee XS, SKU-1042A/SKU-1042B).

    >>> [_is_slip(a, b) for a, b in [("tesitng", "testing"), ("labor", "labour"), ("tsting", "testing"),
    ...                              ("re-work", "rework"), ("assembbly", "assembly")]]
    [True, True, True, True, True]
    >>> [_is_slip(a, b) for a, b in [("testin", "testing"), ("tee s", "tee xs"), ("pack 6s", "pack 6"),
    ...                              ("phase ii", "phase i"), ("nesting", "testing"), ("model 1x", "model x1")]]
    [False, False, False, False, False, False]
    """
    if len(a) == len(b):
        differ = [k for k in range(len(a)) if a[k] != b[k]]
        return (len(differ) == 2 and differ[1] == differ[0] + 1 and a[differ[0]] == b[differ[1]]
                and a[differ[1]] == b[differ[0]] and a[differ[0]].isalpha() and a[differ[1]].isalpha())
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = sorted((a, b), key=len)
    if short in long:
        return False
    return any(long[:k] + long[k + 1:] == short and (long[k].isalpha() or long[k] in _SEPARATORS)
               and long[k - 1].isalpha() and long[k + 1].isalpha() for k in range(1, len(long) - 1))


def _is_alike(a: str, b: str) -> int:
    """Whether (case-folded) ``a`` is like ``b``: how many edits apart (letters swapped, dropped,
    added or mistyped: the optimal-string-alignment Damerau-Levenshtein distance) when one or two,
    and the names are still alike (difflib's ratio at least 0.75: Mix is not like Fix); 0 when not.
    Not alike: a name that contains the other with more than one letter added — a word or a prefix
    (Drip Home Mini, Retesting) names something else — nor names whose numbers differ (Line 1, Line
    2; Assembly 2) or whose only difference is a one-letter word (Line A, Line B).

    >>> [_is_alike(a, b) for a, b in [("tesitng", "testing"), ("testin", "testing"), ("retesting", "testing"),
    ...                               ("drip home mini", "drip home"), ("line a", "line b"), ("mix", "fix")]]
    [1, 1, 0, 0, 0, 0]
    """
    if (a in b or b in a) and abs(len(a) - len(b)) > 1:
        return 0
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):
        return 0
    words_a, words_b = re.findall(r"\w+", a), re.findall(r"\w+", b)
    if len(words_a) == len(words_b):
        differ = [(x, y) for x, y in zip(words_a, words_b) if x != y]
        if len(differ) == 1 and len(differ[0][0]) == len(differ[0][1]) == 1:
            return 0
    distance = edit_distance(a, b)
    if distance > 2 or difflib.SequenceMatcher(None, a, b).ratio() < _MISSPELT:
        return 0
    return distance


def _overlap(path: str, other: str) -> bool:
    """Whether one location is the other or inside it: a problem found at an element whose price
    the file's shape refused is that refusal again, not a second problem.

    >>> _overlap("products[0].stages[0].elements.materials", "products[0].stages[0].elements.materials.price")
    True
    >>> _overlap("products[0].stages[0].elements.labour", "products[0].stages[0].elements.labourer")
    False
    """
    if not path or not other:
        return False
    short, long = sorted((path, other), key=len)
    return long == short or long.startswith((short + ".", short + "["))


# The name given to a list entry whose own name (or another key it cannot do without) the file's
# shape refused: it keeps its place, so the entries after it keep their paths, and is checked no
# further (its problems are reported already).
_UNUSABLE = "\x00"


def _parse(data: Any) -> tuple[StandardsSpec | None, list[Issue]]:
    """The standards file as written and its shape problems (located).  When the shape is refused,
    the file with each refused part taken out (``_take_out``) is still returned, with the problems,
    so that the rest of it is checked too; None when it cannot be read that way."""
    if isinstance(data, StandardsSpec):
        return data, []
    if data is None:  # YAML reads an empty file (or only comments) as nothing
        return None, [Issue("WRONG_TYPE", "", "the standards file is empty; expected a mapping with at least "
                                              "products (see `wip standards --schema`)")]
    if not isinstance(data, Mapping):
        return None, [Issue("WRONG_TYPE", "", f"expected a mapping of standards keys, found {type(data).__name__}")]
    try:
        return StandardsSpec.model_validate(data), []
    except ValidationError as e:
        issues = issues_from_validation_error(e, what="standards")
        errors = e.errors(include_url=False)
    rest = copy.deepcopy(dict(data))
    if not all(_take_out(rest, tuple(err["loc"]), err["type"] == "missing") for err in errors):
        return None, issues
    try:
        return StandardsSpec.model_validate(rest), issues
    except ValidationError:
        return None, issues


def _take_out(root: dict, loc: tuple, missing: bool) -> bool:
    """Take the part of the file at ``loc`` that its shape refused out of ``root`` (in place): an
    optional key or an unknown one is removed, an entry of a mapping (an element, a stage's
    overhead) too; a required key's refusal takes out what holds it, and a list entry is kept in
    place with the name ``_UNUSABLE``.  False when nothing can be taken out (the file as a whole)."""
    steps = []  # (container, key, what the key is there, the shape of its value)
    node: Any = root
    shape: Any = StandardsSpec
    for k, key in enumerate(loc):
        if isinstance(shape, type) and issubclass(shape, BaseModel):
            field = shape.model_fields.get(key) if isinstance(key, str) else None
            kind = "extra" if field is None else "required" if field.is_required() else "optional"
            inner = None if field is None else _shape_of(field.annotation)
        elif isinstance(shape, tuple) and shape[0] == "list":
            kind, inner = "item", shape[1]
        elif isinstance(shape, tuple) and shape[0] == "dict":
            kind, inner = "entry", shape[1]
        else:
            return False
        steps.append((node, key, kind, inner))
        if k == len(loc) - 1:
            break
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return True  # taken out already, with what held it
        shape = inner
    for position, (node, key, kind, inner) in reversed(list(enumerate(steps))):
        if missing and position == len(steps) - 1:
            continue  # nothing to take out: what holds it goes
        try:
            if kind in ("extra", "optional", "entry"):
                del node[key]
                return True
            if kind == "item":
                stand_in = _stand_in(inner)
                if stand_in is None:
                    return False
                node[key] = stand_in
                return True
        except (KeyError, IndexError, TypeError):
            return True  # taken out already
    return False


def _shape_of(annotation: Any) -> Any:
    """A field's value as ``_take_out`` walks it: a model, ("list", item), ("dict", value) or None."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return None
            annotation = options[0]
        else:
            break
    if origin is list:
        return ("list", _shape_of(typing.get_args(annotation)[0]))
    if origin is dict:
        return ("dict", _shape_of(typing.get_args(annotation)[1]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _stand_in(model: Any) -> dict | None:
    """A list entry of ``model`` that is checked no further: named ``_UNUSABLE``, otherwise empty."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    stand_in = {}
    for name, field in model.model_fields.items():
        if not field.is_required():
            continue
        shape = _shape_of(field.annotation)
        if field.annotation is str:
            stand_in[name] = _UNUSABLE
        elif isinstance(shape, tuple):
            stand_in[name] = [] if shape[0] == "list" else {}
        else:
            return None
    return stand_in


def _duplicates(spec: StandardsSpec) -> list[Issue]:
    """A product or stage named twice: refused, since the last entry would silently replace the first."""
    issues = _named_twice([p.name for p in spec.products], "products", "DUPLICATE_PRODUCT", "product")
    for i, product in enumerate(spec.products):
        issues += _named_twice([s.name for s in product.stages], f"products[{i}].stages", "DUPLICATE_STAGE",
                               f"{product.name} stage")
    for period, actuals in spec.actuals.items():
        base = f"actuals.{period}.products"
        issues += _named_twice([p.name for p in actuals.products], base, "DUPLICATE_PRODUCT", "product")
        for i, product in enumerate(actuals.products):
            issues += _named_twice([s.name for s in product.stages], f"{base}[{i}].stages", "DUPLICATE_STAGE",
                                   f"{product.name} stage")
    return issues


def _named_twice(names: list[str], path: str, code: str, what: str) -> list[Issue]:
    seen: dict[str, int] = {}
    issues = []
    for i, name in enumerate(names):
        if name == _UNUSABLE:
            continue
        if name in seen:
            issues.append(Issue(code, f"{path}[{i}].name", f"{what} {name!r} is already {path}[{seen[name]}]; "
                                                           "give each one entry (merge the two)"))
        else:
            seen[name] = i
    return issues


def _overhead_standard(oh: OverheadStandardSpec, path: str) -> tuple[OverheadStandard | None, list[Issue]]:
    # The rates and the budget are amounts; the denominator is a level of the driver (hours, units).
    negative = [negative_units(f"{path}.{k}", v, "") if k == "denominator" else negative_amount(f"{path}.{k}", v)
                for k, v in (("variable_rate", oh.variable_rate), ("fixed_rate", oh.fixed_rate),
                             ("fixed_budget", oh.fixed_budget), ("denominator", oh.denominator))
                if v is not None and v < 0]
    # A sign and how the levels fit together are separate problems: both told at once — but not a
    # rate × denominator ≠ budget that only the wrong sign makes (fixed_rate -7.00 × 1,770).
    standard, issues = _overhead_levels(oh, path)
    if not negative:
        return standard, issues
    if any(v is not None and v < 0 for v in (oh.fixed_rate, oh.fixed_budget, oh.denominator)):
        issues = [i for i in issues if i.code != "CONFLICTING_STANDARD"]
    return None, negative + issues


def _overhead_levels(oh: OverheadStandardSpec, path: str) -> tuple[OverheadStandard | None, list[Issue]]:
    rate, budget, den = oh.fixed_rate, oh.fixed_budget, oh.denominator
    if den is not None and not den:
        return None, [Issue("ZERO_DENOMINATOR", f"{path}.denominator", "the denominator level cannot be zero")]
    if rate is None and budget is None and den is None:
        return OverheadStandard(oh.variable_rate, _ZERO, _ZERO, None), []
    if rate is not None and budget is not None and den is not None:
        if rate * den != budget:
            return None, [Issue("CONFLICTING_STANDARD", path,
                                f"fixed_rate {rate} × denominator {den} = {rate * den}, not fixed_budget {budget}; "
                                "give two of the three")]
    elif rate is not None and budget is None and den is not None:
        budget = rate * den
    elif rate is None and budget is not None and den is not None:
        rate = budget / den
    elif not (rate is not None and budget is not None):
        return None, [Issue("INCOMPLETE_STANDARD", path,
                            "fixed overhead needs two of fixed_rate, fixed_budget and denominator (the budget for "
                            "the spending variance, the rate for the production-volume variance)")]
    return OverheadStandard(oh.variable_rate, rate, budget, den), []


def _element_standard(std: ElementStandardSpec, kind: ElementKind, oh: OverheadStandard | None, oh_given: bool,
                      path: str) -> tuple[ElementStandard | None, list[Issue]]:
    # A quantity per EU (kits, hours, driver units) is not an amount: NEGATIVE_UNITS, as in the close.
    negative = [negative_units(f"{path}.{key}", value, "") if key == "quantity" else
                negative_amount(f"{path}.{key}", value)
                for key in ("cost_per_eu", "quantity", "price", "rate")
                if (value := getattr(std, key)) is not None and value < 0]
    # A sign and which fields go together are separate problems: both told at once.
    standard, issues = _element_fields(std, kind, oh, oh_given, path)
    return (None, negative + issues) if negative else (standard, issues)


def _element_fields(std: ElementStandardSpec, kind: ElementKind, oh: OverheadStandard | None, oh_given: bool,
                    path: str) -> tuple[ElementStandard | None, list[Issue]]:
    if std.cost_per_eu is not None and std.quantity is not None:
        return None, [Issue("CONFLICTING_STANDARD", path,
                            "give cost_per_eu or quantity with its price or rate, not both")]
    if std.cost_per_eu is not None:
        if std.price is not None or std.rate is not None:
            return None, [Issue("CONFLICTING_STANDARD", path, "price and rate go with quantity, not with cost_per_eu")]
        return ElementStandard("cost_per_eu", std.cost_per_eu, None, None, std.unit or ""), []
    if std.quantity is None:
        return None, [Issue("INCOMPLETE_STANDARD", path, "give cost_per_eu, or quantity with price (materials), "
                                                         "rate (labour, conversion) or the stage's overhead rates")]
    if kind is ElementKind.MATERIAL:
        if std.price is None or std.rate is not None:
            instead = ", not rate" if std.rate is not None else " beside it"
            return None, [Issue("INCOMPLETE_STANDARD", f"{path}.price",
                                f"a material's quantity standard needs price (per unit of input){instead}")]
        return ElementStandard("quantity", std.quantity * std.price, std.quantity, std.price, std.unit or "units"), []
    if kind in (ElementKind.LABOUR, ElementKind.CONVERSION):
        if std.rate is None or std.price is not None:
            instead = ", not price" if std.price is not None else " beside it"
            return None, [Issue("INCOMPLETE_STANDARD", f"{path}.rate",
                                f"a {kind.value} quantity standard needs rate (per hour){instead}")]
        return ElementStandard("quantity", std.quantity * std.rate, std.quantity, std.rate, std.unit or "hours"), []
    # overhead: the driver quantity per EU, at the stage's standard rates
    if std.price is not None or std.rate is not None:
        return None, [Issue("CONFLICTING_STANDARD", path, "an overhead quantity standard takes its rates from "
                                                          "overhead.<stage>; remove price/rate")]
    if oh is None:
        if oh_given:  # already reported
            return None, []
        return None, [Issue("MISSING_OVERHEAD_STANDARD", path,
                            "an overhead quantity standard needs overhead.<stage>: {variable_rate, fixed_rate, "
                            "fixed_budget}")]
    price = oh.variable_rate + oh.fixed_rate
    return ElementStandard("quantity", std.quantity * price, std.quantity, price, std.unit or "driver units"), []


def _split(given: OverheadActualsSpec, actual: Decimal,
           path: str) -> tuple[tuple[Decimal, Decimal] | None, list[Issue]]:
    var, fixed = given.variable, given.fixed
    if var is None and fixed is None:
        return None, [Issue("MISSING_INPUT", path, "give variable, fixed or both")]
    # Each part typed negative, at its own key (both at once); a part the other leaves negative,
    # at the part given, said as what it is: more than the month's actual overhead.
    negative = [Issue("NEGATIVE_AMOUNT", f"{path}.{key}", f"{key} overhead cannot be negative: expected zero or "
                                                          f"more, found {value}; check the sign of the value typed here")
                for key, value in (("variable", var), ("fixed", fixed)) if value is not None and value < 0]
    if negative:
        return None, negative
    for key, value, other in (("fixed", fixed, var), ("variable", var, fixed)):
        if other is None and value > actual:
            return None, [Issue("ACTUALS_MISMATCH", f"{path}.{key}", (
                f"{key} {value} is more than the close file's actual overhead {actual} (the "
                f"{'variable' if key == 'fixed' else 'fixed'} part would be {actual - value}); check the "
                f"{key} overhead, or give both parts"))]
    if var is None:
        var = actual - fixed
    if fixed is None:
        fixed = actual - var
    if var + fixed != actual:
        return None, [Issue("ACTUALS_MISMATCH", path, f"variable {var} + fixed {fixed} = {var + fixed}, but the close "
                                                      f"file's actual overhead is {actual}; difference "
                                                      f"{var + fixed - actual}")]
    return (var, fixed), []


def _grouped_numbers(spec: StandardsSpec, period: str, currency: str, locale: str) -> list[Issue]:
    """Numbers of the standards file written as the close's locale writes thousands, when it
    separates them with '.' (de_DE): refused rather than read a thousand times too low.

    - A total — a fixed budget, an overhead split — as the close refuses an amount
      (``read_as_grouped``): one to three digits and three places in a currency of fewer (13.650 or
      13.655 in EUR), ``AMOUNT_PRECISION``, most likely 13650: it has more places than the currency.
    - A rate — a cost per EU, a price, a rate — may have places of its own (7.125 USD), so only one
      whose places beyond the currency's are zeros (1.250 USD), or any in a currency without places
      (1.500 or 7.125 JPY), is a thousand or a fraction: ``INVALID_FORMAT`` with both readings.
    - A quantity — per EU, a denominator level, an actual quantity — written 1.300 (one to three
      digits, '.', three digits): 1300 and 1.3 alike, ``INVALID_FORMAT`` with both readings.

    Every entry of the file is looked at, those the period does not use too: the file is wrong
    either way, and would be read wrongly the month it is used.  Only ``actuals`` of other periods
    are left to their own month."""
    if not groups_with_dot(locale):
        return []
    try:
        q = quantum(currency)
    except Exception:  # a currency the close's own checks refused: nothing to measure places by
        return []
    places = -q.as_tuple().exponent
    issues: list[Issue] = []

    def amount(path: str, value: Decimal | None, total: bool = False) -> None:
        # 1.500 to 999.999 only: 13650.000 or 0.500 are no thousands (thousand_or_fraction).
        if thousand_or_fraction(value) is None or value < 0 or not read_as_grouped(value, q, locale):
            return
        zeros = value == value.quantize(q)
        if not total:
            # A rate's places may be its own (7.125 USD); not where they add only zeros to the
            # currency's (1.250 USD) or the currency has none (1.500 JPY): a thousand or a fraction.
            if zeros or places == 0:
                quantity(path, value)
            return
        grouped = format(value, "f").replace(".", "")
        otherwise = (f"{value.quantize(q)}" if zeros else "the amount with no decimal places" if places == 0
                     else f"the amount with at most {places} decimal places")
        issues.append(Issue("AMOUNT_PRECISION", path, f"{value} has more decimal places than {currency} allows "
                            f"({places}): under locale {locale} (the {period} close's) '.' separates thousands, so "
                            f"this is most likely {grouped} — write {grouped} if so (standards files take '.' as the "
                            f"decimal point and no thousands separator), or {otherwise}"))

    def quantity(path: str, value: Decimal | None) -> None:
        text = thousand_or_fraction(value)
        if text is not None and not text.startswith("-"):
            thousands, fraction = two_readings(text)
            issues.append(Issue("INVALID_FORMAT", path, f"{text} is {thousands} if '.' groups thousands and "
                                f"{fraction} if it is the decimal point: standards files take '.' as the decimal "
                                f"point, but the {period} close's locale {locale} writes it between thousands; "
                                f"write {thousands} or {fraction}"))

    for name, oh in spec.overhead.items():
        path = f"overhead.{name}"
        amount(f"{path}.variable_rate", oh.variable_rate)
        amount(f"{path}.fixed_rate", oh.fixed_rate)
        amount(f"{path}.fixed_budget", oh.fixed_budget, total=True)
        quantity(f"{path}.denominator", oh.denominator)
    for i, product in enumerate(spec.products):
        for j, stage in enumerate(product.stages):
            for name, std in stage.elements.items():
                path = f"products[{i}].stages[{j}].elements.{name}"
                for key in ("cost_per_eu", "price", "rate"):
                    amount(f"{path}.{key}", getattr(std, key))
                quantity(f"{path}.quantity", std.quantity)
    actuals = spec.actuals.get(period)
    if actuals is not None:
        base = f"actuals.{period}"
        for name, split in actuals.overhead.items():
            amount(f"{base}.overhead.{name}.variable", split.variable, total=True)
            amount(f"{base}.overhead.{name}.fixed", split.fixed, total=True)
        for i, product in enumerate(actuals.products):
            for j, stage in enumerate(product.stages):
                for name, value in stage.quantities.items():
                    quantity(f"{base}.products[{i}].stages[{j}].quantities.{name}", value)
    return issues


# ---- the report ---------------------------------------------------------------------------------

class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Variance(_Frozen):
    name: str  # total, price, usage, rate, efficiency, spending, variable_spending, ...
    amount: Amount  # positive: unfavourable
    label: Literal["U", "F", ""]  # U unfavourable (cost above standard), F favourable, "" none


def _variance(name: str, amount: Decimal) -> Variance:
    return Variance(name=name, amount=amount, label="U" if amount > 0 else "F" if amount < 0 else "")


class ElementVariance(_Frozen):
    product: str
    stage: str
    element: str
    kind: str
    equivalent_units: Quantity  # FIFO equivalent units of this period's work
    standard_cost_per_eu: Quantity
    standard_cost: Amount  # EU × standard cost per EU
    # The cost the close charged this period: materials and labour at actual, overhead as applied at
    # the close's predetermined rate (not overhead incurred: see StandardsReport.overhead_applied).
    cost_added: Amount
    total: Variance
    basis: str  # cost_per_eu | quantity
    unit: str
    standard_quantity_per_eu: Quantity | None
    standard_quantity: Quantity | None  # allowed for this period's work
    actual_quantity: Quantity | None
    actual_quantity_source: str  # "actuals", "driver_quantity" or "" (not known)
    standard_price: Quantity | None  # per unit of input
    actual_price: Quantity | None
    # price + usage, rate + efficiency, or (overhead) rate + variable efficiency + fixed volume
    # efficiency; empty without an actual quantity
    components: tuple[Variance, ...]


class OverheadVariance(_Frozen):
    """Plant-wide overhead of one stage against its standard (all products)."""

    stage: str
    driver: str
    standard_variable_rate: Quantity
    standard_fixed_rate: Quantity
    fixed_budget: Amount
    actual_driver_quantity: Quantity  # AH: the close's driver quantities, all products
    standard_driver_quantity: Quantity  # SH: EU × standard driver quantity per EU, all products
    actual: Amount  # actual overhead incurred (the close file's overhead.<stage>.actual)
    actual_variable: Amount | None  # given in the standards file's actuals
    actual_fixed: Amount | None
    applied: Amount  # applied by the close at its predetermined rate
    standard: Amount  # SH × standard rates (variable + fixed), rounded once; its products' overhead lines share it
    analysis: Literal["four_way", "three_way"]
    variances: tuple[Variance, ...]
    controllable: Variance  # two-way: actual − (fixed budget + SH × variable rate)
    total: Variance  # actual − standard
    sums_exactly: bool
    # The products' overhead lines added up (applied − standard): rate, variable efficiency (equal
    # to the stage's) and fixed volume efficiency ((AQ − SQ) × fixed rate, the part of the stage's
    # production-volume variance due to the driver quantity), then the
    # stage's actual − applied (``actual_less_applied``: under- or over-applied overhead, which no
    # product line holds), so that they add up to ``total``.
    products: tuple[Variance, ...] = ()
    products_sum_exactly: bool = False  # the products' lines and actual − applied add up to total


class OverheadApplied(_Frozen):
    """One stage's overhead as the close applied it, against the overhead incurred (all products)."""

    stage: str
    driver: str
    incurred: Amount  # actual overhead incurred (the close file's overhead.<stage>.actual)
    applied: Amount  # applied at the close's predetermined rate: what the elements' cost_added holds
    under_over_applied: Variance  # incurred − applied: U under-applied, F over-applied
    disposition: str  # what the close did with it: write_off | prorate
    # Every product's overhead of the stage has a standard: its applied overhead is in the report's
    # cost_added, and its under- or over-applied overhead in the report's under_over_applied.
    in_cost_added: bool


class WithoutStandard(_Frozen):
    """An element the close charged cost to that the standards file gives no standard for: its cost
    added is in no variance, so the report says it beside the totals, which reconcile to the close."""

    product: str
    stage: str
    element: str
    cost_added: Amount  # as the close charged it (overhead as applied)


class StageAtStandard(_Frozen):
    """One product-stage valued at standard (memo): costs to account for = costs accounted for."""

    product: str
    stage: str
    standard_unit_cost: Quantity  # per completed unit, transferred-in included
    beginning_wip: Amount
    work_done: Amount  # this period's work (FIFO EU) at standard, transferred in included
    to_account_for: Amount
    completed: Amount
    ending_wip: Amount  # the counted units the close carried (after the count), at standard
    # Counted − book ending WIP, at standard: the roll-forward's count difference (+ adds to WIP; a
    # shortage is negative).  Accounted for = completed + ending (counted) + spoiled − this.
    count_difference: Amount
    spoiled: Amount  # spoiled units (process accounts: abnormal loss less abnormal gain)
    accounted_for: Amount


class StandardsReport(_Frozen):
    period: str
    close_no: int
    currency: str
    method: str  # the close's method; standard costing always uses this period's work (FIFO EU)
    elements: tuple[ElementVariance, ...]
    overhead: tuple[OverheadVariance, ...]
    at_standard: tuple[StageAtStandard, ...]
    standard_cost: Amount
    cost_added: Amount  # the elements' cost added: overhead as applied, not as incurred
    total: Variance  # cost_added − standard_cost
    # Overhead applied against incurred, every stage the close applied overhead in; their under- or
    # over-applied overhead (stages in cost_added) turns cost added into cost incurred.
    overhead_applied: tuple[OverheadApplied, ...]
    under_over_applied: Variance  # Σ incurred − applied of the stages in cost_added
    cost_incurred: Amount  # cost_added + under_over_applied: overhead as incurred
    total_incurred: Variance  # cost_incurred − standard_cost
    notes: tuple[str, ...]
    # Elements without a standard, and their cost added: cost_added + this is the close's cost
    # added (transferred-in cost aside), so an omitted standard cannot silently shrink the totals.
    without_standard: tuple[WithoutStandard, ...] = ()
    cost_added_without_standard: Amount = Decimal(0)


def standards_report(result: CloseResult, standards: ResolvedStandards, close_no: int = 1,
                     element_order: dict[tuple[str, str], list[str]] | None = None) -> StandardsReport:
    """``element_order``: each product-stage's elements in report order (``StoredClose.element_order``)."""
    plan = result.plan
    spec = plan.spec
    q = plan.quantum
    mode = ROUNDING_MODES[spec.rounding]
    notes = list(standards.notes)
    with localcontext(engine_context(mode)):
        elements: list[ElementVariance] = []
        at_standard: list[StageAtStandard] = []
        sh: dict[str, Decimal] = {}
        sh_missing: dict[str, list[str]] = {}
        oh_lines: dict[str, list[int]] = {}  # stage -> positions in elements of its overhead lines
        oh_unvalued: dict[str, list[str]] = {}  # stage -> products whose overhead there has no standard
        without: list[WithoutStandard] = []
        drivers = {line.stage: line.driver for line in result.overhead}
        for product_plan, product in zip(plan.products, result.products):
            upstream_unit: Decimal | None = _ZERO
            for stage, sr in zip(product_plan.case.stages, product.report.stages):
                oh_element = product_plan.overhead_element.get(stage.name)
                unit_cost: Decimal | None = _ZERO
                for element in ordered_elements(stage, element_order, product.name):
                    name = element.name
                    if name == TRANSFERRED_IN:
                        unit_cost = None if upstream_unit is None or unit_cost is None else unit_cost + upstream_unit
                        continue
                    std = standards.elements.get((product.name, stage.name, name))
                    if std is None:
                        unit_cost = None
                        without.append(WithoutStandard(product=product.name, stage=stage.name, element=name,
                                                       cost_added=sr.costs_to_account_for.added_by_element[name]))
                        if name == oh_element:
                            sh_missing.setdefault(stage.name, []).append(product.name)
                            oh_unvalued.setdefault(stage.name, []).append(product.name)
                        continue
                    if unit_cost is not None:
                        unit_cost += std.cost_per_eu
                    eu = work_units(stage, sr, spec.method, name)
                    actual = sr.costs_to_account_for.added_by_element[name]
                    ev = _element_variance(product.name, stage.name, element.kind, name, eu, actual, std,
                                           standards, product_plan, drivers.get(stage.name), q, mode)
                    elements.append(ev)
                    split_note = _price_quantity_rounding_note(ev, q, mode)
                    if split_note:
                        notes.append(split_note)
                    hours = product_plan.driver_quantity.get(stage.name)
                    # One labour element: the driver's hours are its hours (of several, their sum).
                    single = sum(e.kind is ElementKind.LABOUR for e in stage.elements) == 1
                    if single and element.kind is ElementKind.LABOUR and drivers.get(stage.name) == "labour_hours" \
                            and ev.actual_quantity_source == "actuals" and hours is not None \
                            and ev.actual_quantity != hours:
                        # Two figures for one thing: labour's efficiency and overhead's each use one.
                        notes.append(f"{product.name} / {stage.name} / {name}: the actual hours given here "
                                     f"({ev.actual_quantity.normalize():f}) are not the close file's driver_quantity "
                                     f"({hours.normalize():f} labour hours, which overhead was applied on): labour's "
                                     "variances use the first, overhead's the second")
                    if name == oh_element:
                        if std.basis == "quantity":
                            sh[stage.name] = sh.get(stage.name, _ZERO) + eu * std.quantity
                            oh_lines.setdefault(stage.name, []).append(len(elements) - 1)
                        else:
                            sh_missing.setdefault(stage.name, []).append(product.name)
                if unit_cost is None:
                    notes.append(f"{product.name} / {stage.name}: not every element has a standard, so WIP is not "
                                 "valued at standard here (nor in later stages)")
                else:
                    at_standard.append(_at_standard(product.name, stage, sr, product.closing_wip[stage.name],
                                                    spec.method, unit_cost, upstream_unit, standards, q, mode))
                upstream_unit = unit_cost
        overhead = []
        for line in _in_flow_order(result.overhead, result.stage_order):
            std = standards.overhead.get(line.stage)
            if std is None:
                continue
            if line.stage in sh_missing:
                notes.append(f"overhead {line.stage}: {_listed(sh_missing[line.stage])} "
                             "no standard driver quantity (overhead quantity); no stage analysis")
                continue
            stage_sh = sh.get(line.stage, _ZERO)
            # The stage's overhead at standard, rounded once; its products' lines are shares of it.
            standard = (stage_sh * (std.variable_rate + std.fixed_rate)).quantize(q, rounding=mode)
            analysis = _overhead_variance(line, std, stage_sh, standard, standards.overhead_split.get(line.stage),
                                          q, mode)
            positions = oh_lines.get(line.stage, [])
            product_lines, note = _products_to_stage([elements[i] for i in positions], analysis, std, q, mode)
            for i, ev in zip(positions, product_lines):
                elements[i] = ev
            if note:
                notes.append(note)
            rounding_note = _split_rounding_note(analysis, product_lines, std, stage_sh, q, mode)
            if rounding_note:
                notes.append(rounding_note)
            products = _component_sums(product_lines, q)
            if products:
                products += (_variance("actual_less_applied", line.actual - line.applied),)
            adds_up = bool(products) and sum((v.amount for v in products), _ZERO) == analysis.total.amount
            overhead.append(analysis.model_copy(update={"products": products, "products_sum_exactly": adds_up}))
        applied_lines = []
        # In flow order (the close's stage order), as every other report lists stages.
        for line in _in_flow_order(result.overhead, result.stage_order):
            missing = oh_unvalued.get(line.stage, [])
            if missing:
                notes.append(f"overhead {line.stage}: {_listed(missing)} no overhead standard, so the stage's "
                             "under- or over-applied overhead is not in the cost incurred")
            applied_lines.append(OverheadApplied(
                stage=line.stage, driver=line.driver, incurred=line.actual, applied=line.applied,
                under_over_applied=_variance("under_over_applied", line.actual - line.applied),
                disposition=line.disposition, in_cost_added=not missing))
    zero = _ZERO * q
    standard_total = sum((e.standard_cost for e in elements), zero)
    added_total = sum((e.cost_added for e in elements), zero)
    under_over = sum((a.under_over_applied.amount for a in applied_lines if a.in_cost_added), zero)
    incurred_total = added_total + under_over
    return StandardsReport(period=spec.period, close_no=close_no, currency=spec.currency, method=spec.method,
                           elements=tuple(elements), overhead=tuple(overhead), at_standard=tuple(at_standard),
                           standard_cost=standard_total, cost_added=added_total,
                           total=_variance("total", added_total - standard_total),
                           overhead_applied=tuple(applied_lines),
                           under_over_applied=_variance("under_over_applied", under_over),
                           cost_incurred=incurred_total,
                           total_incurred=_variance("total", incurred_total - standard_total), notes=tuple(notes),
                           without_standard=tuple(without),
                           cost_added_without_standard=sum((w.cost_added for w in without), zero))


def _listed(products: list[str]) -> str:
    """Products and the verb that agrees with them.

    >>> _listed(["Espresso Classic"]), _listed(["Espresso Classic", "Drip Home"])
    ('Espresso Classic has', 'Espresso Classic, Drip Home have')
    """
    return ", ".join(products) + (" has" if len(products) == 1 else " have")


def _in_flow_order(lines, stage_order: tuple[str, ...]) -> list:
    """Overhead lines (by ``.stage``) in the close's flow order; stages it does not list keep their
    order, after those it does."""
    rank = {stage: i for i, stage in enumerate(stage_order)}
    return sorted(lines, key=lambda line: rank.get(line.stage, len(rank)))


def _element_variance(product: str, stage: str, kind: ElementKind, name: str, eu: Decimal, actual: Decimal,
                      std: ElementStandard, standards: ResolvedStandards, product_plan, driver: str | None,
                      q: Decimal, mode: str) -> ElementVariance:
    standard = (eu * std.cost_per_eu).quantize(q, rounding=mode)
    total = actual - standard
    aq, source = standards.actual_quantities.get((product, stage, name)), "actuals"
    if aq is None and std.basis == "quantity":
        # The close records the overhead driver's quantity per product-stage: the actual driver
        # quantity of the overhead element, and the labour hours when that driver is labour hours.
        if kind is ElementKind.OVERHEAD or (kind is ElementKind.LABOUR and driver == "labour_hours"):
            aq = product_plan.driver_quantity.get(stage)
            source = "driver_quantity"
    if aq is None:
        source = ""
    components: tuple[Variance, ...] = ()
    sq = eu * std.quantity if std.quantity is not None else None
    if std.basis == "quantity" and aq is not None:
        flexible = (aq * std.price).quantize(q, rounding=mode)  # actual quantity at standard price
        if kind is ElementKind.OVERHEAD:
            components = _overhead_components(actual, flexible, standard, aq - sq, standards.overhead[stage], q, mode)
        else:
            first, second = ("price", "usage") if kind is ElementKind.MATERIAL else ("rate", "efficiency")
            components = (_variance(first, actual - flexible), _variance(second, flexible - standard))
    return ElementVariance(
        product=product, stage=stage, element=name, kind=kind.value, equivalent_units=eu,
        standard_cost_per_eu=std.cost_per_eu, standard_cost=standard, cost_added=actual,
        total=_variance("total", total), basis=std.basis, unit=std.unit, standard_quantity_per_eu=std.quantity,
        standard_quantity=sq, actual_quantity=aq, actual_quantity_source=source, standard_price=std.price,
        actual_price=(actual / aq if aq else None) if std.basis == "quantity" else None, components=components)


def _largest_remainder(exact: list[Decimal], total: Decimal, q: Decimal, mode: str) -> list[Decimal]:
    """``exact`` rounded to ``q`` so that they add up to ``total``, which may differ from their exact
    sum by a few minor units (it was rounded on its own): each part rounded, then the units missing
    (or over) go to the parts rounded furthest the other way, ties to the earlier part.
    ``costing._rounding.allocate`` (the same rule) needs parts that add up to the total exactly, so
    it cannot take a total that was rounded on its own.

    >>> from decimal import ROUND_HALF_UP as UP
    >>> _largest_remainder([Decimal("9793.5"), Decimal("13710.9")], Decimal("23504"), Decimal(1), UP)
    [Decimal('9793'), Decimal('13711')]
    >>> _largest_remainder([Decimal("2737.575"), Decimal("4562.625")], Decimal("7300.20"), Decimal("0.01"), UP)
    [Decimal('2737.58'), Decimal('4562.62')]
    """
    rounded = [x.quantize(q, rounding=mode) for x in exact]
    steps = int((total - sum(rounded, _ZERO)) / q)
    if not exact or not steps:
        return rounded
    if steps > 0:  # parts rounded down the most get a unit first
        order = sorted(range(len(exact)), key=lambda i: (rounded[i] - exact[i], i))
    else:  # parts rounded up the most give one back first; among equals the later ones
        order = sorted(range(len(exact)), key=lambda i: (exact[i] - rounded[i], -i))
    unit = q if steps > 0 else -q
    for k in range(abs(steps)):
        rounded[order[k % len(order)]] += unit
    return rounded


def _price_quantity_rounding_note(ev: ElementVariance, q: Decimal, mode: str) -> str:
    """A materials usage or labour efficiency variance is the flexible budget AQ × SP less the
    standard EU × standard cost per EU, each rounded as it is an amount (so that price + usage is the
    total variance exactly); it can then be a minor unit off (AQ − SQ) × SP rounded on its own.
    Said, with the unrounded figure, where it is: an auditor re-performing Horngren's formula would
    otherwise find the cent and not know why (overhead's lines say the same, ``_split_rounding_note``)."""
    if ev.kind == ElementKind.OVERHEAD.value or len(ev.components) != 2 or ev.actual_quantity is None \
            or ev.standard_quantity is None or ev.standard_price is None:
        return ""
    first, second = ev.components
    unrounded = (ev.actual_quantity - ev.standard_quantity) * ev.standard_price
    if second.amount == unrounded.quantize(q, rounding=mode):
        return ""
    flexible = ev.cost_added - first.amount
    return (f"{ev.product} / {ev.stage} / {ev.element}, rounding: {second.name} {abs(second.amount):,f} "
            f"{second.label} is AQ × SP {flexible:,f} less the standard {ev.standard_cost:,f}, each rounded, so that "
            f"{first.name} + {second.name} = the total variance; (AQ {_plain(ev.actual_quantity)} − SQ "
            f"{_plain(ev.standard_quantity)}) × SP {_rate_plain(ev.standard_price)} = "
            f"{_plain(unrounded.copy_abs())} {second.label} unrounded")


def _split_rounding_note(stage: "OverheadVariance", product_lines: list[ElementVariance], std: OverheadStandard,
                         sh: Decimal, q: Decimal, mode: str) -> str:
    """Where a split by largest remainder leaves a variance a minor unit off its own units × rate
    rounded, say so and show the unrounded figure: an auditor re-performing (AH − SH) × SVR would
    otherwise find the cent and not know why.  The standard SH × (SVR + SFR) is rounded once and
    split into variable and fixed parts that add up to it; the products' lines are shares of the
    stage's figures that add up to them; each variance is a difference of those rounded amounts."""
    r = lambda x: x.quantize(q, rounding=mode)  # noqa: E731
    ah = stage.actual_driver_quantity
    exact = {"variable_efficiency": (ah - sh) * std.variable_rate, "efficiency": (ah - sh) * std.variable_rate,
             "production_volume": r(std.fixed_budget) - sh * std.fixed_rate}
    off = [f"{v.name.replace('_', ' ')} {abs(v.amount):,f} {v.label} ({_plain(abs(exact[v.name]))} unrounded)"
           for v in stage.variances if v.name in exact and v.amount != r(exact[v.name])]
    per_product = {"variable_efficiency": std.variable_rate, "fixed_volume_efficiency": std.fixed_rate}
    for e in product_lines:
        if not e.components or e.actual_quantity is None or e.standard_quantity is None:
            continue
        for c in e.components:
            if c.name in per_product:
                unrounded = (e.actual_quantity - e.standard_quantity) * per_product[c.name]
                if c.amount != r(unrounded):
                    off.append(f"{e.product} {c.name.replace('_', ' ')} {abs(c.amount):,f} {c.label} "
                               f"({_plain(abs(unrounded))} unrounded)")
    if not off:
        return ""
    variable, fixed = sh * std.variable_rate, sh * std.fixed_rate
    variable_part, fixed_part = _largest_remainder([variable, fixed], stage.standard, q, mode)  # as the analysis
    return (f"overhead {stage.stage}, rounding: the standard {stage.standard:,f} (SH {_plain(sh)} × "
            f"{_rate_plain(std.variable_rate + std.fixed_rate)}) is rounded once and split by largest remainder into "
            f"variable {variable_part:,f} and fixed {fixed_part:,f} ({_plain(variable)} and {_plain(fixed)} "
            "unrounded), and the products' lines are shares of the stage's figures by largest remainder, so "
            "that the parts add up to their whole; a variance taken from them can be a minor unit off units × "
            "rate rounded on its own: " + "; ".join(off))


def _rate_plain(value: Decimal) -> str:
    """A rate with two places at least, exactly: 24.00, 9.125; one that does not end within ten
    places (a budget over a denominator of 1,234) to ten, marked ≈ (see ``_plain``)."""
    shown = value.normalize()
    if shown.as_tuple().exponent < -_NOTE_PLACES:
        return _plain(value)
    return f"{shown if shown.as_tuple().exponent < -2 else value.quantize(Decimal('0.01')):,f}"


# The places an exact figure in a note is shown to: beyond them it is a quotient that never ends
# (18.56158833063209076175040519), which no one re-performs digit by digit.
_NOTE_PLACES = 10


def _plain(value: Decimal) -> str:
    """An exact figure in plain notation, without trailing zeros: 7.425, -13.875, 2,737.575; to ten
    places, marked ≈, where it goes on beyond them.

    >>> _plain(Decimal("2737.5750")), _plain(Decimal(22905) / Decimal(1234)), _plain(Decimal(0))
    ('2,737.575', '≈18.5615883306', '0')
    """
    if not value:
        return "0"
    shown = value.normalize()
    if shown.as_tuple().exponent < -_NOTE_PLACES:
        return f"≈{value.quantize(Decimal(1).scaleb(-_NOTE_PLACES), rounding=ROUND_HALF_UP).normalize():,f}"
    return f"{shown:,f}"


def _overhead_components(actual: Decimal, flexible: Decimal, standard: Decimal, excess: Decimal,
                         std: OverheadStandard, q: Decimal, mode: str) -> tuple[Variance, ...]:
    """One product's overhead: rate (applied at the close's rate vs the standard rates, on the
    actual driver quantity), then the driver quantity above standard (``excess`` = AQ − SQ) split
    as the textbook does: at the variable rate it is the variable efficiency variance; at the fixed
    rate it is the fixed overhead volume efficiency variance (CIMA/ACCA), the part of the stage's
    production-volume variance (budget − SH × SFR) that the driver quantity explains (Horngren: fixed
    overhead has no efficiency variance); the rest of the production-volume variance, the volume
    capacity variance (budget − AH × SFR), is in the stage's actual − applied.  Named apart from the
    stage's ``production_volume``, since it is not that variance."""
    variable, fixed = _largest_remainder([excess * std.variable_rate, excess * std.fixed_rate], flexible - standard,
                                         q, mode)
    return (_variance("rate", actual - flexible), _variance("variable_efficiency", variable),
            _variance("fixed_volume_efficiency", fixed))


def _products_to_stage(lines: list[ElementVariance], stage: "OverheadVariance", std: OverheadStandard, q: Decimal,
                       mode: str) -> tuple[list[ElementVariance], str]:
    """The products' overhead lines made to add up to the stage analysis, by largest remainder:
    their standard costs to the stage's standard, and (when their actual driver quantities are the
    close's) their variable efficiency to the stage's.  Each product's fixed volume efficiency takes
    the rest of its own difference, so that its components still add up to its total."""
    shares = _largest_remainder([e.equivalent_units * e.standard_cost_per_eu for e in lines], stage.standard, q, mode)
    efficiency = next(v.amount for v in stage.variances if v.name in ("efficiency", "variable_efficiency"))
    note = ""
    if all(e.actual_quantity_source == "driver_quantity" and e.components for e in lines) \
            and sum((e.actual_quantity for e in lines), _ZERO) == stage.actual_driver_quantity:
        variables = _largest_remainder([(e.actual_quantity - e.standard_quantity) * std.variable_rate
                                        for e in lines], efficiency, q, mode)
    else:
        variables = [None] * len(lines)
        note = (f"overhead {stage.stage}: the products' actual driver quantities are not the close's, so their "
                "variable efficiency need not add up to the stage's")
    return [_restated(e, share, variable, std, q, mode) for e, share, variable in zip(lines, shares, variables)], note


def _restated(e: ElementVariance, standard: Decimal, variable: Decimal | None, std: OverheadStandard, q: Decimal,
              mode: str) -> ElementVariance:
    """A product's overhead line at its share of the stage's standard (and of its variable efficiency)."""
    update: dict = {"standard_cost": standard, "total": _variance("total", e.cost_added - standard)}
    if e.components:
        flexible = e.cost_added - e.components[0].amount  # rate = applied − flexible budget
        components = _overhead_components(e.cost_added, flexible, standard, e.actual_quantity - e.standard_quantity,
                                          std, q, mode)
        if variable is not None:
            rate, _, _ = components
            components = (rate, _variance("variable_efficiency", variable),
                          _variance("fixed_volume_efficiency", flexible - standard - variable))
        update["components"] = components
    return e.model_copy(update=update)


def _component_sums(lines: list[ElementVariance], q: Decimal) -> tuple[Variance, ...]:
    """The stage's product overhead lines added up, component by component (applied − standard)."""
    names = [c.name for c in lines[0].components] if lines and lines[0].components else []
    if not all(len(e.components) == len(names) for e in lines):
        return ()
    return tuple(_variance(name, sum((e.components[k].amount for e in lines), _ZERO * q))
                 for k, name in enumerate(names))


def _overhead_variance(line, std: OverheadStandard, sh: Decimal, standard: Decimal,
                       split: tuple[Decimal, Decimal] | None, q: Decimal, mode: str) -> OverheadVariance:
    """``standard``: the stage's overhead at standard, SH × (variable + fixed rate) rounded once;
    split into its variable and fixed parts by largest remainder, never rounded part by part (the
    parts could then add up to a cent more or less than it)."""
    ah = line.driver_quantity
    r = lambda x: x.quantize(q, rounding=mode)  # noqa: E731
    var_ah = r(ah * std.variable_rate)
    var_sh, fixed_sh = _largest_remainder([sh * std.variable_rate, sh * std.fixed_rate], standard, q, mode)
    budget = r(std.fixed_budget)
    actual = line.actual
    if split is not None:
        actual_var, actual_fixed = split
        variances = (_variance("variable_spending", actual_var - var_ah),
                     _variance("variable_efficiency", var_ah - var_sh),
                     _variance("fixed_spending", actual_fixed - budget),
                     _variance("production_volume", budget - fixed_sh))
        analysis = "four_way"
    else:
        actual_var = actual_fixed = None
        variances = (_variance("spending", actual - (budget + var_ah)),
                     _variance("efficiency", var_ah - var_sh),
                     _variance("production_volume", budget - fixed_sh))
        analysis = "three_way"
    total = actual - standard
    return OverheadVariance(
        stage=line.stage, driver=line.driver, standard_variable_rate=std.variable_rate,
        standard_fixed_rate=std.fixed_rate, fixed_budget=budget, actual_driver_quantity=ah,
        standard_driver_quantity=sh, actual=actual, actual_variable=actual_var, actual_fixed=actual_fixed,
        applied=line.applied, standard=standard, analysis=analysis, variances=variances,
        controllable=_variance("controllable", actual - (budget + var_sh)), total=_variance("total", total),
        sums_exactly=sum((v.amount for v in variances), _ZERO) == total)


def _at_standard(product: str, stage, sr, closing, method: str, unit_cost: Decimal, upstream_unit: Decimal | None,
                 standards: ResolvedStandards, q: Decimal, mode: str) -> StageAtStandard:
    """Beginning WIP + this period's work = completed + ending WIP (counted) + spoiled − count
    difference, all at standard; the count difference is counted − book, signed as the roll-forward
    signs it (+ adds to WIP, a shortage is negative).

    Ending WIP is the counted WIP the close carried (``closing``), as in the bridge and the flow
    report; the units the count found short of the book (or over it) are their own line rather
    than hidden in spoilage.  Spoiled (or, under the process-account convention, abnormal loss
    less abnormal gain) is what the work done does not carry into completed units and book ending
    WIP.  Exact amounts are rounded by largest remainder so that both sides add up to the same
    total."""
    per_eu = {}
    for element in stage.elements:
        name = element.name
        per_eu[name] = upstream_unit if name == TRANSFERRED_IN else \
            standards.elements[(product, stage.name, name)].cost_per_eu
    beginning = sum((stage.beginning.units * stage.beginning.completion[e] * c for e, c in per_eu.items()), _ZERO)
    work = sum((work_units(stage, sr, method, e) * c for e, c in per_eu.items()), _ZERO)
    completed = sr.physical_units.completed * unit_cost
    book = sum((stage.ending.units * stage.ending.completion[e] * c for e, c in per_eu.items()), _ZERO)
    ending = sum((closing.units * closing.completion.get(e, stage.ending.completion[e]) * c
                  for e, c in per_eu.items()), _ZERO)
    spoiled = beginning + work - completed - book
    total = (beginning + work).quantize(q, rounding=mode)
    b, w = allocate([beginning, work], total, q, mode)
    # Rounded as the parts that account for the cost: the shortage (book − counted) is one of them.
    c, e, short, s = allocate([completed, ending, book - ending, spoiled], total, q, mode)
    return StageAtStandard(product=product, stage=stage.name, standard_unit_cost=unit_cost, beginning_wip=b,
                           work_done=w, to_account_for=b + w, completed=c, ending_wip=e, count_difference=-short,
                           spoiled=s, accounted_for=c + e + short + s)
