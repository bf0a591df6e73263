"""WIP flow and cover: throughput, average WIP and Little's-law cycle time per stage, the trend over
the last periods, forecast completion of open orders, and finished-goods weeks of cover.

Pure.  Works on the closes' stored figures (physical units of the production cost reports, the
closing WIP units after the count, finished-goods units and shipments of the roll-forward); nothing
is recomputed.  Days are calendar days of the month.

- throughput = units a stage completed in the period ÷ days in the period;
- average WIP = (opening + closing WIP units) ÷ 2;
- cycle time = average WIP ÷ throughput, in days (Little's law);
- bottleneck: the stage with the longest cycle time — a stage holding WIP that completed nothing
  (no finite cycle time: work waits there and nothing comes out) before any stage that moves; the
  stage whose WIP grew fastest is flagged too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
import re
from typing import Annotated, Any, Callable, Literal, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from .._errors import Issue, as_written
from .._numbers import NumberError, to_decimal
from .._period import days_in, period_end
from .._report import Quantity
from .._resolve import issues_from_validation_error
from .._spec import Number
from ._history import StoredClose
from ._standards import _meant

__all__ = ["OrderSpec", "OrdersSpec", "Order", "resolve_orders", "PeriodUnits", "units_of",
           "TrendPoint", "StageFlow", "ProductStageFlow", "OrderForecast", "Cover", "FlowReport", "build_flow",
           "period_end", "days_in", "order_reason", "FORECAST_LIMIT_DAYS", "TREND_PERIODS", "COVER_PERIODS"]

_ZERO = Decimal(0)
_TWO = Decimal(2)
_SEVEN = Decimal(7)
_CENT = Decimal("0.01")


def _r(value: Decimal | None) -> Decimal | None:
    """Flow figures are estimates: shown to two places."""
    if value is None:
        return None
    shown = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    return shown if shown else shown.copy_abs()  # never -0.00


GROWTH_PLACES = 3  # the places of ``StageFlow.wip_growth`` (the variance workbook rounds to them too)
_GROWTH = Decimal(1).scaleb(-GROWTH_PLACES)


def _growth_shown(value: Decimal | None) -> Decimal | None:
    """WIP growth, a ratio read as a percentage to one place: three places (``StageFlow.wip_growth``)."""
    if value is None:
        return None
    shown = value.quantize(_GROWTH, rounding=ROUND_HALF_UP)
    return shown if shown else shown.copy_abs()  # a decrease that rounds to zero is 0.000, not -0.000


# ---- open orders --------------------------------------------------------------------------------

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: Any) -> dt.date:
    """A due date as written: a YAML date, or text YYYY-MM-DD (a CSV's, a JSON file's)."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date()
    elif isinstance(value, dt.date):
        return value
    elif isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError("INVALID_FORMAT", "expected a date YYYY-MM-DD, found {found}: no such day",
                                      {"found": as_written(value)}) from None
    raise PydanticCustomError("INVALID_FORMAT", "expected a date YYYY-MM-DD (2026-12-15), found {found}",
                              {"found": as_written(value)})


Day = Annotated[dt.date, PlainValidator(_day), WithJsonSchema({"type": "string", "format": "date"})]


class OrderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, description="order reference, for reports")
    product: str
    units: Number
    due: Day = Field(description="YYYY-MM-DD")


class OrdersSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    orders: list[OrderSpec]


@dataclass(frozen=True)
class Order:
    id: str
    product: str
    units: Decimal
    due: dt.date


def resolve_orders(data: Any, products: set[str] | None = None, where: Sequence[str] | None = None,
                   read_units: Callable[[Any], Any] | None = None) -> tuple[list[Order], list[Issue]]:
    """Open orders from plain data: ``{orders: [...]}`` or the list itself (CSV rows included).

    Every problem at once: each order is checked on its own, and an order whose shape is refused
    (a due date written 15/12/2026) still has its other values checked (its units, its product).
    ``where``: where each order is in the file, for the paths (a CSV's ``line 3``); by default
    ``orders[i]``.  ``read_units``: how units written as text or a number are read (a CSV's, in its
    locale: 1.500 is one thousand five hundred in a de_DE semicolon CSV; a YAML file's 1.500 refused
    for a de_DE close), raising ``NumberError``; by default as a YAML or JSON file's, with a decimal
    point."""
    if data is None:  # YAML reads an empty file (or only comments) as nothing
        return [], [Issue("WRONG_TYPE", "", "the orders file is empty; expected {orders: [{id, product, units, due}]}")]
    if isinstance(data, list):
        data = {"orders": data}
    if not isinstance(data, Mapping):
        return [], [Issue("WRONG_TYPE", "", f"expected a list of orders, found {type(data).__name__}")]
    issues: list[Issue] = []
    try:
        OrdersSpec.model_validate({**data, "orders": []})
    except ValidationError as e:  # the file's top level: not an order's keys
        issues += issues_from_validation_error(e, what="orders file")
    if "orders" not in data:
        return [], issues + [Issue("MISSING_KEY", "orders", "required key 'orders' is missing; expected "
                                                           "{orders: [{id, product, units, due}]}")]
    rows = data["orders"]
    if not isinstance(rows, list):
        return [], issues or [Issue("WRONG_TYPE", "orders", f"expected a list of orders, found {as_written(rows)}")]

    def at(i: int, key: str) -> str:
        if where is not None:
            return f"{where[i]}, {key}" if key else where[i]
        return f"orders[{i}].{key}" if key else f"orders[{i}]"

    orders = []
    for i, raw in enumerate(rows):
        units_refused = False
        if read_units is not None and isinstance(raw, Mapping) and isinstance(raw.get("units"), (str, Decimal, int)) \
                and not isinstance(raw.get("units"), bool):
            try:
                raw = {**raw, "units": read_units(raw["units"])}
            except NumberError as e:
                issues.append(Issue(e.code, at(i, "units"), e.message))
                raw = {k: v for k, v in raw.items() if k != "units"}  # refused: not missing as well
                units_refused = True
        try:
            o = OrderSpec.model_validate(raw)
        except ValidationError as e:
            refused = {err["loc"][0] for err in e.errors(include_url=False) if err["loc"]}
            for issue in issues_from_validation_error(e, what="orders"):
                if units_refused and issue.code == "MISSING_KEY" and issue.path == "units":
                    continue
                issues.append(Issue(issue.code, at(i, issue.path), issue.message))
            if not isinstance(raw, Mapping):
                continue
            # The values the shape did not refuse are still checked.
            product = raw.get("product") if "product" not in refused else None
            try:
                units = to_decimal(raw["units"]) if "units" not in refused and "units" in raw else None
            except NumberError:
                units = None
        else:
            product, units = o.product, o.units
            orders.append(Order(o.id or f"#{i + 1}", o.product, o.units, o.due))
        if units is not None and units <= 0:
            issues.append(Issue("NEGATIVE_UNITS", at(i, "units"), f"must be more than zero, found {units}"))
        if isinstance(product, str) and products is not None and product not in products:
            meant = _meant(product, products)
            issues.append(Issue("UNKNOWN_PRODUCT", at(i, "product"),
                                f"{product!r} is not a product of the ledger's closes; "
                                + (f"did you mean {meant!r}? " if meant else "")
                                + f"expected one of {', '.join(sorted(products))}"))
    return orders, issues


# ---- the figures the report needs from one close ------------------------------------------------

@dataclass(frozen=True)
class PeriodUnits:
    period: str
    stage_order: tuple[str, ...]
    # (product, stage) -> (opening WIP units, units completed, closing WIP units after the count)
    product_stages: dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]]
    product_stage_order: dict[str, tuple[str, ...]]  # product -> its stages in flow order
    shipped: dict[str, Decimal]  # product -> units shipped
    fg_on_hand: dict[str, Decimal]  # product -> finished units on hand at the end


def units_of(stored: StoredClose) -> PeriodUnits:
    closing = {(w.product, w.stage): w.units for w in stored.state.wip.values()}
    product_stages = {}
    orders: dict[str, tuple[str, ...]] = {}
    stage_order: list[str] = []
    for entry in stored.reports:
        product = entry["product"]
        names = []
        for stage in entry["report"]["stages"]:
            units = stage["physical_units"]
            name = stage["name"]
            names.append(name)
            if name not in stage_order:
                stage_order.append(name)
            product_stages[(product, name)] = (Decimal(units["beginning_wip"]), Decimal(units["completed"]),
                                               closing.get((product, name), Decimal(units["ending_wip"])))
        orders[product] = tuple(names)
    shipped = {row.product: row.shipped_units for row in stored.rollforward.finished_goods}
    on_hand = {row.product: row.closing_units for row in stored.rollforward.finished_goods}
    return PeriodUnits(stored.period, tuple(stage_order), product_stages, orders, shipped, on_hand)


# ---- the report ---------------------------------------------------------------------------------

class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class TrendPoint(_Frozen):
    period: str
    throughput_per_day: Quantity
    average_wip: Quantity
    cycle_time_days: Quantity | None  # None: nothing completed


class StageFlow(_Frozen):
    stage: str
    days: int
    completed: Quantity
    opening_wip: Quantity
    closing_wip: Quantity
    average_wip: Quantity
    throughput_per_day: Quantity
    cycle_time_days: Quantity | None
    # (closing − opening) ÷ opening, to three places: a percentage to one place (0.4%, 1.6%), as the
    # variance workbook shows it (at two, 0.4% reads 0% and 1.6% 2%); None without opening WIP.
    wip_growth: Quantity | None
    bottleneck: bool  # longest cycle time of the period
    wip_growing_fastest: bool  # the largest WIP growth of the period (when WIP grew at all)
    trend: tuple[TrendPoint, ...]  # oldest first, this period last
    cycle_time_trend: Literal["rising", "falling", "flat", "n/a"]  # first vs last point, ±5 %


class ProductStageFlow(_Frozen):
    product: str
    stage: str
    completed: Quantity
    opening_wip: Quantity
    closing_wip: Quantity
    average_wip: Quantity
    throughput_per_day: Quantity
    cycle_time_days: Quantity | None


class OrderForecast(_Frozen):
    id: str
    product: str
    units: Quantity
    due: dt.date
    cumulative_units: Quantity  # this order and the product's earlier-due orders
    source: Literal["stock", "wip", "new_starts", "none"]  # where the last unit comes from
    forecast: dt.date | None  # None: no rate to forecast from, or not within FORECAST_LIMIT_DAYS
    slack_days: int | None  # due − forecast
    at_risk: bool
    reason: str  # how, in words (the text report words it in its locale from the fields below)
    units_needed: Quantity = Decimal(0)  # cumulative units beyond finished goods on hand
    units_beyond_wip: Quantity = Decimal(0)  # of those, the units new starts must make
    rate_per_day: Quantity | None = None  # the product's finished units per day (two places)
    # New starts: the sum of the product's own stage cycle times (two places); a stage where the
    # product has no cycle time (it completed nothing there) counts at the plant's cycle time for
    # the stage, all products, and is listed in ``lead_time_plant_stages``.
    lead_time_days: Quantity | None = None
    lead_time_plant_stages: tuple[str, ...] = ()
    beyond_horizon: bool = False  # the forecast is more than FORECAST_LIMIT_DAYS after the period's end


class Cover(_Frozen):
    product: str
    on_hand: Quantity  # finished units at the end of the period
    periods: tuple[str, ...]  # the shipments history used: the months of the window the product was in
    shipped: Quantity  # units shipped over those periods
    days: int  # calendar days of those periods
    weekly_shipments: Quantity  # shipped ÷ (days ÷ 7): average units shipped per week over those periods
    # On hand ÷ weekly shipments, to two places as shown (the flag reads this figure); None:
    # nothing shipped.
    weeks_of_cover: Quantity | None
    expected_from_wip: Quantity  # completions expected within the horizon (0 without one)
    weeks_of_cover_with_wip: Quantity | None  # (on hand + expected from WIP, as shown) ÷ weekly shipments
    flag: Literal["below", "above", ""]  # outside the target band


class FlowReport(_Frozen):
    period: str
    as_of: dt.date
    days: int
    stages: tuple[StageFlow, ...]
    product_stages: tuple[ProductStageFlow, ...]
    orders: tuple[OrderForecast, ...]
    cover: tuple[Cover, ...]
    cover_band: tuple[Quantity, Quantity]
    horizon_days: int
    notes: tuple[str, ...]


def _stage_totals(units: PeriodUnits, stage: str) -> tuple[Decimal, Decimal, Decimal]:
    opening = completed = closing = _ZERO
    for (product, s), (o, c, e) in units.product_stages.items():
        if s == stage:
            opening, completed, closing = opening + o, completed + c, closing + e
    return opening, completed, closing


def _cycle(opening: Decimal, completed: Decimal, closing: Decimal, days: int):
    average = (opening + closing) / _TWO
    throughput = completed / days
    cycle = average / throughput if throughput else None
    return average, throughput, cycle


TREND_PERIODS = 6  # months of the cycle-time trend, by default (`wip flow --periods`)
COVER_PERIODS = 3  # months whose shipments weeks of cover average, by default (`--cover-periods`)


def build_flow(history: list[PeriodUnits], *, trend_periods: int = TREND_PERIODS, orders: list[Order] | None = None,
               cover_periods: int = COVER_PERIODS, band: tuple[Decimal, Decimal] = (Decimal(4), Decimal(8)),
               horizon_days: int = 0) -> FlowReport:
    """``history``: the closed periods' figures in period order, the reported period last."""
    current = history[-1]
    days = days_in(current.period)
    as_of = period_end(current.period)
    notes: list[str] = []
    window = history[-trend_periods:]
    stages: list[dict] = []
    for stage in current.stage_order:
        opening, completed, closing = _stage_totals(current, stage)
        average, throughput, cycle = _cycle(opening, completed, closing, days)
        trend = []
        for past in window:
            if stage not in past.stage_order:
                continue
            a, t, c = _cycle(*_stage_totals(past, stage), days_in(past.period))
            trend.append(TrendPoint(period=past.period, throughput_per_day=_r(t), average_wip=_r(a),
                                    cycle_time_days=_r(c)))
        growth = (closing - opening) / opening if opening else None
        stages.append(dict(stage=stage, days=days, completed=completed, opening_wip=opening, closing_wip=closing,
                           average_wip=_r(average), throughput_per_day=_r(throughput), cycle_time_days=_r(cycle),
                           wip_growth=_growth_shown(growth), trend=tuple(trend), cycle_time_trend=_direction(trend),
                           raw_cycle=cycle, raw_growth=growth, raw_average=average))
    # A stage holding WIP that completed nothing is stalled: its cycle time is unbounded, so it is
    # the bottleneck before any stage that moves (of several, the one holding the most WIP; max()
    # keeps the first in flow order on a tie, as the Flow sheet's formula does).
    ranked = [((1, s["raw_average"]) if s["raw_cycle"] is None else (0, s["raw_cycle"]), s) for s in stages
              if s["raw_cycle"] is not None or s["raw_average"] > 0]
    slowest = max(ranked, key=lambda pair: pair[0])[1]["stage"] if ranked else None
    growing = [s for s in stages if s["raw_growth"] is not None and s["raw_growth"] > 0]
    fastest = max(growing, key=lambda s: s["raw_growth"])["stage"] if growing else None
    for s in stages:
        if s["raw_cycle"] is None and s["completed"] == 0 and (s["opening_wip"] or s["closing_wip"]):
            notes.append(f"{s['stage']}: WIP but nothing completed in {current.period}; no cycle time"
                         + (" (stalled: the bottleneck)" if s["stage"] == slowest else " (stalled)"))
    stage_flows = tuple(StageFlow(**{k: v for k, v in s.items() if not k.startswith("raw_")},
                                  bottleneck=s["stage"] == slowest, wip_growing_fastest=s["stage"] == fastest)
                        for s in stages)

    product_flows = []
    product_cycle: dict[tuple[str, str], Decimal | None] = {}
    for (product, stage), (o, c, e) in current.product_stages.items():
        a, t, cyc = _cycle(o, c, e, days)
        product_cycle[(product, stage)] = _r(cyc)  # as shown: the lead time is the sum of the figures shown
        product_flows.append(ProductStageFlow(product=product, stage=stage, completed=c, opening_wip=o, closing_wip=e,
                                              average_wip=_r(a), throughput_per_day=_r(t), cycle_time_days=_r(cyc)))

    stage_cycle = {s["stage"]: s["cycle_time_days"] for s in stages}
    forecasts = _forecast(current, orders or [], product_cycle, stage_cycle, days, as_of)
    cover = _cover(history, cover_periods, band, horizon_days, days)
    return FlowReport(period=current.period, as_of=as_of, days=days, stages=stage_flows,
                      product_stages=tuple(product_flows), orders=tuple(forecasts), cover=tuple(cover),
                      cover_band=band, horizon_days=horizon_days, notes=tuple(notes))


def _direction(trend: list[TrendPoint]) -> str:
    points = [p.cycle_time_days for p in trend if p.cycle_time_days is not None]
    if len(points) < 2:
        return "n/a"
    if not points[0]:  # no WIP at the first point: any cycle time since is a rise (no percentage of 0)
        return "rising" if points[-1] > 0 else "flat"
    change = (points[-1] - points[0]) / points[0]
    return "rising" if change > Decimal("0.05") else "falling" if change < Decimal("-0.05") else "flat"


def _product_rate(current: PeriodUnits, product: str, days: int) -> tuple[Decimal, Decimal]:
    """(finished units per day, units in the product's WIP pipeline)."""
    stages = current.product_stage_order.get(product, ())
    if not stages:
        return _ZERO, _ZERO
    rate = current.product_stages[(product, stages[-1])][1] / days
    pipeline = sum((current.product_stages[(product, s)][2] for s in stages), _ZERO)
    return rate, pipeline


# A forecast further out than this is no forecast (and past dt.date.max for absurd quantities).
FORECAST_LIMIT_DAYS = 36525
FORECAST_LIMIT_TEXT = "not within 100 years"


def _lead_time(product: str, stages: tuple[str, ...], product_cycle: dict, stage_cycle: dict
               ) -> tuple[Decimal | None, tuple[str, ...]]:
    """(the sum of the product's own stage cycle times as shown (two places), the stages where it
    had none and the plant's cycle time for the stage, all products, stood in); None when neither
    is known for some stage."""
    total, plant = _ZERO, []
    for stage in stages:
        cycle = product_cycle.get((product, stage))
        if cycle is None:
            cycle = stage_cycle.get(stage)
            if cycle is None:
                return None, ()
            plant.append(stage)
        total += cycle
    return (total, tuple(plant)) if stages else (None, ())


def _forecast(current: PeriodUnits, orders: list[Order], product_cycle: dict, stage_cycle: dict, days: int,
              as_of: dt.date) -> list[OrderForecast]:
    """Orders of a product are served in due-date order: first from finished goods on hand, then
    from WIP finishing at the product's rate (its last stage's completions per day), then from new
    starts, which cannot finish before the lead time: the sum of the product's own stage cycle
    times (``product_cycle``), the plant's for the stage (``stage_cycle``) where it has none."""
    by_product: dict[str, list[tuple[int, Order]]] = {}
    for i, order in enumerate(orders):
        by_product.setdefault(order.product, []).append((i, order))
    results: dict[int, OrderForecast] = {}
    for product, items in by_product.items():
        items.sort(key=lambda x: (x[1].due, x[0]))
        on_hand = current.fg_on_hand.get(product, _ZERO)
        rate, pipeline = _product_rate(current, product, days)
        lead, plant = _lead_time(product, current.product_stage_order.get(product, ()), product_cycle, stage_cycle)
        cumulative = _ZERO
        for i, order in items:
            cumulative += order.units
            results[i] = _order_forecast(order, cumulative, on_hand, rate, pipeline, lead, current.period, as_of,
                                         plant)
    return [results[i] for i in range(len(orders))]


def _order_forecast(order: Order, cumulative: Decimal, on_hand: Decimal, rate: Decimal, pipeline: Decimal,
                    lead: Decimal | None, period: str, as_of: dt.date,
                    plant_stages: tuple[str, ...] = ()) -> OrderForecast:
    need = max(cumulative - on_hand, _ZERO)
    beyond_wip = max(need - pipeline, _ZERO)
    forecast: dt.date | None = as_of
    source, beyond = "stock", False
    if need and not rate:
        source, forecast = "none", None
    elif need:
        needed_days = need / rate
        source = "new_starts" if beyond_wip else "wip"
        if beyond_wip and lead is not None and lead > needed_days:
            needed_days = lead
        whole_days = needed_days.to_integral_value(rounding=ROUND_CEILING)
        beyond = whole_days > FORECAST_LIMIT_DAYS
        forecast = None if beyond else as_of + dt.timedelta(days=int(whole_days))
    fields = dict(id=order.id, product=order.product, units=order.units, due=order.due, cumulative_units=cumulative,
                  source=source, forecast=forecast, slack_days=(order.due - forecast).days if forecast else None,
                  at_risk=forecast is None or forecast > order.due, units_needed=need, units_beyond_wip=beyond_wip,
                  rate_per_day=_r(rate) if need else None, lead_time_days=_r(lead) if source == "new_starts" else None,
                  lead_time_plant_stages=plant_stages if source == "new_starts" and lead is not None else (),
                  beyond_horizon=beyond, reason="")
    fields["reason"] = order_reason(OrderForecast(**fields), period, _fmt)
    return OrderForecast(**fields)


def order_reason(o: OrderForecast, period: str, number) -> str:
    """How the forecast was made, in words; ``number`` formats a quantity (the text report passes
    its locale's)."""
    if o.source == "stock":
        text = "from finished goods on hand"
    elif o.source == "none":
        return f"{o.product} completed nothing in {period}: no rate to forecast from"
    elif o.source == "wip":
        text = f"{number(o.units_needed)} units from WIP at {number(o.rate_per_day)} units/day"
    else:
        # Both bounds of the forecast: the units needed at the product's rate, and no sooner than
        # the lead time of new starts (``_order_forecast`` takes the longer).
        text = (f"needs {number(o.units_beyond_wip)} units beyond WIP; {number(o.units_needed)} units at "
                f"{number(o.rate_per_day)} units/day, " +
                (f"no sooner than lead time {number(o.lead_time_days)} days" if o.lead_time_days is not None
                 else "lead time unknown"))
        if o.lead_time_plant_stages:
            text += (f" ({', '.join(o.lead_time_plant_stages)}: {o.product} completed nothing there, so the "
                     "plant's cycle time for the stage, all products)")
    return text + (f"; forecast {FORECAST_LIMIT_TEXT}" if o.beyond_horizon else "")


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _cover(history: list[PeriodUnits], n: int, band: tuple[Decimal, Decimal], horizon: int, days: int) -> list[Cover]:
    current = history[-1]
    window = history[-n:]
    low, high = band
    out = []
    products = list(current.fg_on_hand) + [p for p in current.product_stage_order if p not in current.fg_on_hand]
    for product in products:
        # Only the months the product was in: a product launched this month averaged over months
        # before it existed would look better stocked than it is (and escape the BELOW flag).
        own = [p for p in window if product in p.product_stage_order or product in p.fg_on_hand
               or product in p.shipped]
        shipped = sum((p.shipped.get(product, _ZERO) for p in own), _ZERO)
        window_days = sum(days_in(p.period) for p in own)
        weeks = Decimal(window_days) / _SEVEN
        weekly = shipped / weeks
        on_hand = current.fg_on_hand.get(product, _ZERO)
        cover = on_hand / weekly if weekly else None
        rate, pipeline = _product_rate(current, product, days)
        # Rounded as it is assigned (shown), and used as shown, so the weeks with WIP follow from it.
        expected = _r(min(pipeline, rate * horizon)) if horizon else _ZERO
        with_wip = (on_hand + expected) / weekly if weekly else None
        # Flagged on the figure as shown: 3.999 weeks shows as 4.00, inside a 4–8 band.
        shown = _r(cover)
        if shown is None:
            flag = "above" if on_hand else ""
        else:
            flag = "below" if shown < low else "above" if shown > high else ""
        out.append(Cover(product=product, on_hand=on_hand, periods=tuple(p.period for p in own),
                         shipped=shipped, days=window_days, weekly_shipments=_r(weekly), weeks_of_cover=shown,
                         expected_from_wip=_r(expected), weeks_of_cover_with_wip=_r(with_wip), flag=flag))
    return out
