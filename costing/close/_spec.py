"""The close file as the user wrote it (YAML/JSON): one period of a plant, several products.

Products' stages use the case file's stage keys (``costing._spec.StageSpec``) plus the driver
quantity for overhead and an optional physical count.  Opening WIP (``beginning_wip``) and opening
finished goods are given for the very first period only; afterwards they come from the ledger.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from .._spec import Number, StageSpec

__all__ = ["AccountSpec", "AccountsSpec", "OverheadSpec", "CloseStageSpec", "FinishedGoodsLayerSpec",
           "ProductSpec", "GeneralLedgerSpec", "CloseSpec", "OVERHEAD_DRIVERS"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountSpec(_Spec):
    code: str
    name: str


class AccountsSpec(_Spec):
    """Chart-of-accounts mapping: which GL account each posting goes to."""

    raw_materials: AccountSpec
    accrued_payroll: AccountSpec
    overhead_applied: AccountSpec
    overhead_control: AccountSpec
    finished_goods: AccountSpec
    cogs: AccountSpec
    abnormal_spoilage: AccountSpec
    spoiled_goods: AccountSpec
    count_difference: AccountSpec
    conversion_costs: AccountSpec | None = Field(
        default=None, description="credited for conversion-kind elements (labour and overhead not tracked apart)")
    # loss_convention: process_account only (ACCA/CIMA process accounts).
    scrap: AccountSpec | None = Field(default=None, description="scrap of lost units at scrap value (asset)")
    abnormal_loss: AccountSpec | None = Field(default=None, description="abnormal loss (expense)")
    abnormal_gain: AccountSpec | None = Field(default=None, description="abnormal gain (income)")
    wip: dict[str, AccountSpec] = Field(description="one WIP account per stage name")


# Overhead drivers: what the predetermined rate is multiplied by.
OVERHEAD_DRIVERS = ("labour_hours", "machine_hours", "direct_labour_cost", "units")


class OverheadSpec(_Spec):
    driver: Literal["labour_hours", "machine_hours", "direct_labour_cost", "units"]
    rate: Number = Field(description="per driver unit; for direct_labour_cost a fraction (0.6 = 60% of labour)")
    actual: Number = Field(description="actual overhead incurred by the stage this period")


class CloseStageSpec(StageSpec):
    driver_quantity: Number | None = Field(
        default=None, description="actual quantity of the stage's overhead driver (hours, units) for this product")
    # Not ``| None``: absent is no count, but a key left blank (`count:`) is refused, "found nothing",
    # rather than read as no count (the count difference silently dropped).
    count: Number = Field(default=None, description="physically counted ending WIP units; leave the key out "  # type: ignore[assignment]
                                                    "when there is no count")


class FinishedGoodsLayerSpec(_Spec):
    units: Number
    cost: Number
    period: str | None = Field(default=None, description="period the layer was produced (YYYY-MM), for FIFO order")


class ProductSpec(_Spec):
    name: str
    stages: list[CloseStageSpec]
    shipments: Number = Field(default=Decimal(0), description="units sold this period")
    opening_finished_goods: list[FinishedGoodsLayerSpec] | None = Field(
        default=None, description="first period only: finished-goods layers on hand, oldest first")


class GeneralLedgerSpec(_Spec):
    balances: dict[str, Number] = Field(
        description="by account code (quoted text, as in accounts): each WIP account, finished goods and overhead "
                    "control as the general ledger shows them before this close's journals are posted, debit "
                    "positive; the close refuses to post if they differ from the WIP ledger")

    @field_validator("balances", mode="before")
    @classmethod
    def _codes_are_text(cls, value):
        # YAML reads an unquoted 1310 as a number; say how to write it rather than "expected text".
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    raise PydanticCustomError(
                        "WRONG_TYPE", "account codes are text: write {key} in quotes (\"{key}\"), as under accounts",
                        {"key": str(key)})
        return value


class CloseSpec(_Spec):
    # Checked as a name where the ledger is known (close._resolve): a company a recorded close holds
    # is read as it was accepted then, which a check here, on every read of the inputs, could not do.
    company: str
    period: str = Field(description="YYYY-MM", pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    currency: str
    locale: str = "en_US"
    method: Literal["weighted_average", "fifo"]
    finished_goods_method: Literal["weighted_average", "fifo"] = "fifo"
    rounding: Literal["half_up", "half_even"] = "half_up"
    loss_convention: Literal["spoilage", "process_account"] = Field(
        default="spoilage", description="spoilage (US, Horngren) | process_account (ACCA/CIMA normal/abnormal loss)")
    overhead_disposition: Literal["write_off", "prorate"] = "write_off"
    materiality: Number = Field(default=Decimal(0), description="under/over-applied overhead below this is written off")
    accounts: AccountsSpec
    overhead: dict[str, OverheadSpec] = Field(default_factory=dict, description="by stage name")
    general_ledger: GeneralLedgerSpec | None = Field(
        default=None, description="optional: GL balances to tie the WIP ledger to before posting")
    products: list[ProductSpec]
