"""``wip diff``: what changed between the last two closes of a period, and which input change
moved which amount (amounts are matched to input changes of the same product and stage)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["flatten_inputs", "diff_closes"]


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


def diff_closes(old: dict, new: dict) -> dict:
    """Compare two stored closes (inputs, roll-forward rows, journal lines); data for the writer."""
    a, b = flatten_inputs(old["inputs"]), flatten_inputs(new["inputs"])
    changes = [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]

    def closing(rf: dict) -> dict[tuple[str, str, str], Decimal]:
        return {(r["product"], r["stage"], r["element"]): Decimal(r["closing"]) for r in rf.get("rows", [])}

    before, after = closing(old["rollforward"]), closing(new["rollforward"])
    moved = []
    for key in sorted(set(before) | set(after)):
        x, y = before.get(key, Decimal(0)), after.get(key, Decimal(0))
        if x != y:
            product, stage, element = key
            prefix = f"products[{product}].stages[{stage}]."
            causes = [k[len(prefix):] for k, _, _ in changes if k.startswith(prefix)]
            upstream = [k for k, _, _ in changes if k.startswith(f"products[{product}].") and not k.startswith(prefix)]
            general = [k for k, _, _ in changes if not k.startswith("products[")]
            moved.append({"product": product, "stage": stage, "element": element, "before": x, "after": y,
                          "change": y - x, "inputs_here": causes, "inputs_elsewhere_in_product": upstream,
                          "inputs_plant_wide": general})

    def lines(book: dict) -> dict[tuple[str, str], Decimal]:
        out: dict[tuple[str, str], Decimal] = {}
        for j in book["journals"]:
            narration = j["narration"]
            for line in j["lines"]:
                key = (narration, line["account"])
                out[key] = out.get(key, Decimal(0)) + Decimal(line["debit"]) - Decimal(line["credit"])
        return out

    jb, ja = lines(old["journals"]), lines(new["journals"])
    # A WIP account belongs to a stage: its moves are matched to input changes of that stage in any
    # product; other accounts (finished goods, COGS, overhead, ...) to every changed input.
    wip_stage = {spec.get("code"): stage for stage, spec in
                 ((new.get("inputs") or {}).get("accounts", {}).get("wip", {}) or {}).items() if isinstance(spec, dict)}
    journal_moves = []
    for n, acc in sorted(set(jb) | set(ja)):
        if jb.get((n, acc)) == ja.get((n, acc)):
            continue
        stage = wip_stage.get(acc)
        causes = [k for k, _, _ in changes if f".stages[{stage}]." in k] if stage else [k for k, _, _ in changes]
        journal_moves.append({"narration": n, "account": acc, "before": jb.get((n, acc), Decimal(0)),
                              "after": ja.get((n, acc), Decimal(0)), "stage": stage or "",
                              "inputs": causes})
    return {"input_changes": [{"path": k, "before": x, "after": y} for k, x, y in changes],
            "closing_wip_moves": moved, "journal_moves": journal_moves}
