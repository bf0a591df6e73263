"""Product names that print alike are one product.  A joiner or a direction mark spells a Persian,
Indic, emoji or mixed-direction name and is accepted in a name, so ``product_key`` sets every
invisible format character aside, as it does upper/lower case and spacing: a November
"Espresso Classic" followed by a zero-width joiner is October's "Espresso Classic" written otherwise
(INCONSISTENT_NAME), and beside it in one file the same product named twice (DUPLICATE_PRODUCT) —
not a second product that looks like the first in every report.  Characters that never spell in a
name (the invisible mathematical operators, the deprecated format controls, the interlinear
annotation marks) are refused outright (INVALID_NAME)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from costing._journal import name_problem
from costing.cli import main
from costing.close import resolve_close
from costing.ledger import Ledger
from tests.demo_data import demo, on_another_october

ZWJ = "\u200d"
LOOK_ALIKE = f"Espresso Classic{ZWJ}"
SCOTLAND_FLAG = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # tag characters
PERSIAN_PRODUCT = "\u0642\u0647\u0648\u0647\u200c\u0633\u0627\u0632"  # "qahve-saz", its ZWNJ part of the spelling


def with_product_named(data: dict, name: str) -> dict:
    """``data`` with a copy of Espresso Classic named ``name`` after its products."""
    data = copy.deepcopy(data)
    twin = copy.deepcopy(next(p for p in data["products"] if p["name"] == "Espresso Classic"))
    twin["name"] = name
    data["products"].append(twin)
    data.pop("general_ledger", None)  # the demo's balances are of one Espresso Classic
    return data


def renamed(data: dict, old: str, new: str) -> dict:
    data = copy.deepcopy(data)
    next(p for p in data["products"] if p["name"] == old)["name"] = new
    return data


def problems(err: str) -> list[str]:
    """The problems a refused command printed, each without the "error: <file>: " before it."""
    return [line.split(": ", 2)[2] for line in err.splitlines() if line.startswith("error: ") and line.endswith("]")]


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def close_file(tmp_path: Path, data: dict, stem: str = "close") -> Path:
    path = tmp_path / f"{stem}-{data['period']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("look_alike", [
    LOOK_ALIKE,  # zero-width joiner at the end
    "Espresso\u200c Classic",  # zero-width non-joiner between ASCII letters and a space
    "\u200eEspresso Classic",  # left-to-right mark
    "Espresso Cla\u200fssic",  # right-to-left mark inside a word
    "Espresso \u180eClassic",  # Mongolian vowel separator
    "Espresso Classic\U000e0041",  # a tag character
], ids=["ZWJ", "ZWNJ", "LRM", "RLM", "Mongolian vowel separator", "tag"])
def test_a_look_alike_of_a_product_in_one_file_is_the_same_product_named_twice(look_alike):
    assert name_problem(look_alike) is None  # accepted as a name: it is the second product that is refused
    _, issues = resolve_close(with_product_named(demo("2026-10"), look_alike), None)
    assert [(i.code, i.path) for i in issues] == [("DUPLICATE_PRODUCT", "products[3].name")]
    assert "differs from 'Espresso Classic' (products[0]) only in invisible characters (U+" in issues[0].message


def test_the_duplicate_names_the_invisible_character_and_nothing_is_written(tmp_path, capsys):
    ledger = tmp_path / "ledger.db"
    status, out, err = run(capsys, "close", close_file(tmp_path, with_product_named(demo("2026-10"), LOOK_ALIKE)),
                           "--period", "2026-10", "--ledger", ledger)
    assert (status, out) == (2, "")
    assert ("products[3].name: product 'Espresso Classic\\u200d' differs from 'Espresso Classic' (products[0]) only "
            "in invisible characters (U+200D ZERO WIDTH JOINER), so it is the same product named twice; merge the "
            "two, or name them apart [DUPLICATE_PRODUCT]") in problems(err)
    assert not ledger.exists()


def test_a_look_alike_differing_in_case_too_says_both():
    _, issues = resolve_close(with_product_named(demo("2026-10"), f"espresso{ZWJ}  classic"), None)
    assert [(i.code, i.path) for i in issues] == [("DUPLICATE_PRODUCT", "products[3].name")]
    assert ("only in upper/lower case, spacing or invisible characters (U+200D ZERO WIDTH JOINER)"
            in issues[0].message)


@pytest.fixture(scope="module")
def october_ledger(tmp_path_factory) -> Path:
    """The demo's October, closed."""
    folder = tmp_path_factory.mktemp("october")
    db = folder / "ledger.db"
    assert main(["close", str(close_file(folder, demo("2026-10"))), "--period", "2026-10", "--ledger", str(db)]) == 0
    return db


def test_november_writing_an_october_product_with_an_invisible_character_is_inconsistent_name(
        october_ledger, tmp_path, capsys):
    november = renamed(demo("2026-11"), "Espresso Classic", LOOK_ALIKE)
    before = october_ledger.read_bytes()
    status, out, err = run(capsys, "close", close_file(tmp_path, november), "--period", "2026-11",
                           "--ledger", october_ledger)
    assert (status, out) == (2, "")
    assert problems(err) == [
        "products[0].name: product 'Espresso Classic\\u200d' is written 'Espresso Classic' in the 2026-10 close, "
        "whose closing WIP and finished goods this month opens with under that name; it differs from that spelling "
        "only in invisible characters (U+200D ZERO WIDTH JOINER); write it 'Espresso Classic' [INCONSISTENT_NAME]"]
    assert october_ledger.read_bytes() == before


def test_a_product_written_in_other_case_says_nothing_of_invisible_characters(october_ledger):
    with Ledger(october_ledger) as ledger:
        prior = ledger.current_close("2026-10").state
    _, issues = resolve_close(renamed(demo("2026-11"), "Espresso Classic", "Espresso classic"), prior)
    assert [(i.code, i.path) for i in issues] == [("INCONSISTENT_NAME", "products[0].name")]
    assert "invisible" not in issues[0].message


@pytest.mark.parametrize("character, named", [
    ("\u2061", "U+2061 FUNCTION APPLICATION"), ("\u2062", "U+2062 INVISIBLE TIMES"),
    ("\u2063", "U+2063 INVISIBLE SEPARATOR"), ("\u2064", "U+2064 INVISIBLE PLUS"),
    ("\u206a", "U+206A INHIBIT SYMMETRIC SWAPPING"), ("\u206f", "U+206F NOMINAL DIGIT SHAPES"),
    ("\ufff9", "U+FFF9 INTERLINEAR ANNOTATION ANCHOR"), ("\ufffb", "U+FFFB INTERLINEAR ANNOTATION TERMINATOR"),
])
def test_a_new_name_with_a_character_that_never_spells_is_invalid_name(character, named):
    data = renamed(demo("2026-10"), "Espresso Classic", f"Espresso{character} Classic")
    _, issues = resolve_close(data, None)
    assert [(i.code, i.path) for i in issues] == [("INVALID_NAME", "products[0].name")]
    assert f"has an invisible character ({named}), which only hides" in issues[0].message


def test_a_persian_name_spelt_with_a_zero_width_non_joiner_closes_month_after_month(tmp_path, capsys):
    ledger = tmp_path / "ledger.db"
    for period in ("2026-10", "2026-11"):
        month = renamed(on_another_october(demo(period)), "Espresso Classic", PERSIAN_PRODUCT)
        status, _, err = run(capsys, "close", close_file(tmp_path, month), "--period", period, "--ledger", ledger)
        assert (status, err) == (0, "")
    with Ledger(ledger) as opened:
        assert PERSIAN_PRODUCT in {product for product, _ in opened.current_close("2026-11").state.wip}


def test_names_told_apart_by_letters_beside_an_invisible_character_are_two_products():
    """Folding the invisible characters must not join what the letters keep apart."""
    data = with_product_named(demo("2026-10"), f"Tea {SCOTLAND_FLAG}")
    data = with_product_named(data, f"Coffee {SCOTLAND_FLAG}")
    plan, issues = resolve_close(data, None)
    assert issues == []
    assert {f"Tea {SCOTLAND_FLAG}", f"Coffee {SCOTLAND_FLAG}"} <= {product.name for product in plan.products}
