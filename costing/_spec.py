"""The case file as the user wrote it: optional fields, raw values, exact key names.

These models only check shape (known keys, numbers where numbers belong, one of the allowed
words).  Everything that needs more than one field — unit flow, completions per element, the
first stage's input — is checked when the spec is resolved (``_resolve``), so that all problems are
reported together.  ``CaseSpec.model_json_schema()`` is what ``wip schema`` prints.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PlainValidator, Tag, WithJsonSchema
from pydantic_core import PydanticCustomError

from ._numbers import NumberError, to_decimal, to_fraction

__all__ = [
    "Number",
    "Fraction",
    "ElementSpec",
    "CompletionSpec",
    "BeginningWipSpec",
    "TransferredInSpec",
    "EndingWipSpec",
    "SpoilageSpec",
    "NormalLossSpec",
    "StageSpec",
    "CaseSpec",
]


def _number(value: Any) -> Decimal:
    try:
        return to_decimal(value)
    except NumberError as e:
        raise PydanticCustomError(e.code, e.message) from None


def _fraction(value: Any) -> Decimal:
    try:
        return to_fraction(value)
    except NumberError as e:
        raise PydanticCustomError(e.code, e.message) from None


_NUMBER_SCHEMA = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$"}]}
_FRACTION_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*%?\s*$"},
    ]
}

# A number: int, decimal string, or a float converted with Decimal(str(x)).
Number = Annotated[Decimal, PlainValidator(_number), WithJsonSchema(_NUMBER_SCHEMA)]
# A fraction of completion or a rate: 0.6 or "60%".
Fraction = Annotated[Decimal, PlainValidator(_fraction), WithJsonSchema(_FRACTION_SCHEMA)]


class _Spec(BaseModel):
    # "Exactly these keys": an unknown key is almost always a typo that would otherwise be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _addition_point(value: Any) -> str | Decimal:
    if isinstance(value, str) and value.strip() in ("start", "end", "evenly"):
        return value.strip()
    try:
        return to_fraction(value)
    except NumberError:
        raise PydanticCustomError(
            "INVALID_CHOICE", "expected start, end, evenly or a fraction of progress such as 0.5, found {found}",
            {"found": repr(value)}) from None


# Where in the stage an element goes in: start | end | evenly | a fraction of progress.
AdditionPoint = Annotated[
    Union[Literal["start", "end", "evenly"], Decimal],
    PlainValidator(_addition_point),
    WithJsonSchema({"anyOf": [{"enum": ["start", "end", "evenly"]}, _FRACTION_SCHEMA]}),
]


class ElementSpec(_Spec):
    """One cost element of a stage and when in the stage it is added."""

    kind: Literal["material", "labour", "overhead", "conversion"] = Field(
        description="material | labour | overhead | conversion")
    added: AdditionPoint = Field(
        description="start | end | evenly | a fraction p in (0,1) of stage progress where the element is added")


# A completion: stage progress as one number, or a map {progress: 0.6, <element>: 0.9, ...}.
CompletionSpec = Annotated[
    Union[Annotated[Fraction, Tag("<number>")], Annotated[dict[str, Fraction], Tag("<map>")]],
    Discriminator(lambda v: "<map>" if isinstance(v, dict) else "<number>"),
]


class BeginningWipSpec(_Spec):
    units: Number
    complete: CompletionSpec | None = None
    cost: dict[str, Number] = Field(default_factory=dict, description="cost by element, incl. transferred_in")


class TransferredInSpec(_Spec):
    units: Number
    cost: Number | None = Field(default=None, description="first stage only: cost of the units received")


class EndingWipSpec(_Spec):
    units: Number
    complete: CompletionSpec | None = None


class SpoilageSpec(_Spec):
    normal: Number | None = Field(default=None, description="normal spoilage, units")
    # Not ``| None``: a rate key left blank is refused ("found nothing"), not read as no rate (every
    # spoiled unit then abnormal, to the P&L); absent, the other keys say the split.
    normal_rate: Fraction = Field(default=None,  # type: ignore[assignment]
                                  description="normal spoilage as a fraction of good units passing inspection")
    normal_from_rate: Literal["exact", "whole_units"] = Field(
        default="exact",
        description="how normal spoilage computed from normal_rate is counted: exact = rate x good units passing "
                    "inspection, fractions kept (litres, kg); whole_units = rounded half-up to a whole unit "
                    "(machines), then capped at the units spoiled")
    abnormal: Number | None = Field(default=None, description="abnormal spoilage, units")
    spoiled: Number | None = Field(default=None, description="total spoiled units; abnormal = spoiled - normal")
    inspection: Fraction = Field(default=Decimal(1), description="stage progress at which spoilage is detected")
    disposal_value: Number = Field(default=Decimal(0), description="disposal value per spoiled unit")


class NormalLossSpec(_Spec):
    """Process-account convention: the normal loss of a stage and the scrap value of lost units."""

    rate: Fraction | None = Field(default=None, description="normal loss as a fraction of the basis (units entering the process, or those inspected: see basis)")
    units: Number | None = Field(default=None, description="normal loss in units, instead of rate")
    basis: Literal["input", "inspected"] = Field(
        default="input",
        description="what rate applies to: input = units entering the process this period (started or transferred in, "
                    "plus added_units); inspected = units reaching the inspection point this period")
    scrap_value: Number = Field(default=Decimal(0), description="scrap value per lost unit, normal or abnormal")
    actual: Number | None = Field(
        default=None, description="actual loss in units, as a check: it must equal units in - good output - closing WIP")
    inspection: Fraction = Field(
        default=Decimal(1), description="stage progress at which losses are detected (1 = end); lost units carry "
                                        "the elements added up to it")
    scrap_element: str | None = Field(
        default=None, description="element whose cost the scrap value of the normal loss reduces; default: the first "
                                  "material element, else transferred_in, else the first element")


class StageSpec(_Spec):
    name: str
    elements: dict[str, ElementSpec]
    beginning_wip: BeginningWipSpec | None = None
    started: Number | None = Field(default=None, description="first stage: units started this period")
    transferred_in: TransferredInSpec | None = Field(
        default=None, description="first stage costed alone: units and cost received from a prior department")
    completed: Number = Field(description="good units transferred out")
    ending_wip: EndingWipSpec | None = None
    added_costs: dict[str, Number] = Field(default_factory=dict, description="current-period cost by element")
    spoilage: SpoilageSpec | None = None
    normal_loss: NormalLossSpec | None = Field(default=None, description="loss_convention: process_account only")
    added_units: dict[str, Number] = Field(
        default_factory=dict, description="loss_convention: process_account only; units put into the process with "
                                          "an element added at the start (material that adds to the unit count)")


class CaseSpec(_Spec):
    """A case file: one period of one process line, stages in flow order."""

    currency: str = Field(description="ISO 4217 code; its minor unit comes from CLDR (USD 2, JPY 0, KWD 3)")
    method: Literal["weighted_average", "fifo"]
    rounding: Literal["half_up", "half_even"] = "half_up"
    loss_convention: Literal["spoilage", "process_account"] = Field(
        default="spoilage",
        description="spoilage = US method (Horngren); process_account = ACCA/CIMA normal loss at scrap value, "
                    "abnormal loss and gain")
    stages: list[StageSpec]
