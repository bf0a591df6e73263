"""One reproducer per error code (tests/errors/CODE.yaml); its output is a golden file.

The reproducers double as user documentation (docs/errors.md lists them).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from costing import CostingError, _errors, cost_case, resolve_case
from costing.cli import main
from costing.close import resolve_close

ERRORS = Path(__file__).parent / "errors"
REPRODUCERS = sorted(ERRORS.glob("*.yaml"))
DOCS = Path(__file__).parent.parent / "docs" / "errors.md"


@pytest.mark.parametrize("case_file", REPRODUCERS, ids=lambda p: p.stem)
def test_reproducer(case_file: Path, capsys, file_regression, monkeypatch):
    monkeypatch.chdir(ERRORS.parent.parent)
    status = main(["cost", str(case_file.relative_to(ERRORS.parent.parent))])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""  # nothing written on failure
    assert f"[{case_file.stem}]" in err
    assert "Traceback" not in err
    file_regression.check(err, basename=case_file.stem, extension=".txt")


def test_every_code_is_documented_and_has_a_reproducer():
    documented = set(re.findall(r"^### `([A-Z_]+)`", DOCS.read_text(), re.M))
    reproduced = {p.stem for p in REPRODUCERS}
    # Codes whose reproducer is not a case file (they are about the file itself).
    # INVALID_FORMAT: close files only; USAGE_ERROR: the command line (tests/test_cli_polish.py).
    special = {"FILE_NOT_FOUND", "UNREADABLE_FILE", "INVALID_FORMAT", "USAGE_ERROR"}
    assert reproduced | special == documented


def test_all_problems_are_reported_at_once(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "currency: usd\nmethod: fifo\nstages:\n"
        "  - name: A\n    elements: {m: {kind: material, added: start}}\n"
        "    started: -5\n    completed: 1\n    ending_wip: {units: 2, complete: 1.5}\n"
        "  - name: B\n    elements: {c: {kind: conversion, added: sometimes}}\n    completed: x\n")
    assert main(["cost", str(bad)]) == 2
    err = capsys.readouterr().err
    for code in ("UNKNOWN_CURRENCY", "NEGATIVE_UNITS", "PROGRESS_OUT_OF_RANGE", "INVALID_CHOICE", "NOT_A_NUMBER"):
        assert f"[{code}]" in err, code
    assert "stages[1].elements.c.added" in err and "stages[1].completed" in err


def test_missing_and_unreadable_files(capsys, tmp_path):
    assert main(["cost", str(tmp_path / "nope.yaml")]) == 2
    assert "[FILE_NOT_FOUND]" in capsys.readouterr().err
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert main(["cost", str(binary)]) == 2
    assert "[UNREADABLE_FILE]" in capsys.readouterr().err


def test_command_line_exit_status_and_no_traceback(wip):
    result = wip("cost", "tests/errors/UNIT_FLOW.yaml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "[UNIT_FLOW]" in result.stderr


def test_issue_paths_read_like_the_file():
    assert _errors.format_path(("stages", 1, "ending_wip", "complete", "conversion")) == \
        "stages[1].ending_wip.complete.conversion"


_ONE_STAGE = ("currency: USD\nmethod: weighted_average\nstages:\n  - name: A\n"
              "    elements: {{mat: {{kind: material, added: {added}}}}}\n"
              "    started: {started}\n    completed: {completed}\n    added_costs: {{mat: {cost}}}\n{extra}")


def _cost(tmp_path, capsys, **values) -> tuple[int, str, str]:
    case = tmp_path / "case.yaml"
    case.write_text(_ONE_STAGE.format(**{"added": "start", "started": 100, "completed": 100, "cost": 750,
                                         "extra": "", **values}))
    status = main(["cost", "--json", str(case)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("written", ["0x3E8", "0o17", "1_000", "1:30", "1_000.50", "1:30.5"])
def test_yaml_number_forms_other_than_plain_decimal_are_refused_not_misread(tmp_path, capsys, written):
    """YAML 1.1 reads 0x3E8 as 1000 and 1:30 as 90 (base 60): an accountant sees neither."""
    status, _, err = _cost(tmp_path, capsys, cost=written)
    assert status == 2 and f"found '{written}' [NOT_A_NUMBER]" in err


def test_a_leading_zero_is_a_decimal_number_not_octal(tmp_path, capsys):
    status, out, _ = _cost(tmp_path, capsys, started="0100", completed="0100", cost="0750")
    assert status == 0
    stage = json.loads(out)[0]["stages"][0]
    assert stage["physical_units"]["started"] == "100" and stage["costs_to_account_for"]["added"] == "750.00"


def test_a_list_as_a_mapping_key_is_a_located_syntax_error(tmp_path, capsys):
    status, out, err = _cost(tmp_path, capsys, extra="[a]: 1\n")
    assert status == 2 and out == ""
    assert "line 9, column 1: invalid YAML: a key must be a name, found a list [INVALID_SYNTAX]" in err


def test_an_unknown_locale_is_a_usage_error(tmp_path, capsys):
    case = tmp_path / "case.yaml"
    case.write_text(_ONE_STAGE.format(added="start", started=100, completed=100, cost=750, extra=""))
    with pytest.raises(SystemExit) as exited:
        main(["cost", "--locale", "xx_YY", str(case)])
    assert exited.value.code == 2
    assert "unknown locale 'xx_YY'" in capsys.readouterr().err


def test_a_huge_cost_per_equivalent_unit_prints_in_full(tmp_path, capsys):
    case = tmp_path / "case.yaml"
    case.write_text(_ONE_STAGE.format(added="start", started="0.0000000001", completed="0.0000000001",
                                      cost="999999999999999.99", extra=""))
    assert main(["cost", str(case)]) == 0
    assert "9,999,999,999,999,999,900,000,000.0000" in capsys.readouterr().out


@pytest.mark.parametrize("problem, extra, expected", [
    ("an addition point out of range", "", ["ADDED_OUT_OF_RANGE"]),
    ("an inspection point out of range",
     "    spoilage: {normal: 10, normal_rate: 0.1, abnormal: -3, inspection: 2}\n",
     ["PROGRESS_OUT_OF_RANGE", "NEGATIVE_UNITS", "CONFLICTING_SPOILAGE"]),
])
def test_an_out_of_range_point_neither_hides_nor_invents_other_problems(tmp_path, capsys, problem, extra, expected):
    added = "1.5" if problem.startswith("an addition") else "start"
    status, _, err = _cost(tmp_path, capsys, added=added, extra=extra)
    assert status == 2
    assert re.findall(r"\[([A-Z_]+)\]", err) == expected, err


def test_an_unknown_addition_word_is_quoted_in_the_message(tmp_path, capsys):
    status, _, err = _cost(tmp_path, capsys, added="START")
    assert status == 2 and "such as 0.5, found 'START' [INVALID_CHOICE]" in err


def test_transferred_in_cost_without_equivalent_units_is_located_where_it_was_written(tmp_path, capsys):
    case = tmp_path / "case.yaml"
    case.write_text("currency: USD\nmethod: weighted_average\nstages:\n  - name: A\n"
                    "    elements: {conv: {kind: conversion, added: evenly}}\n"
                    "    transferred_in: {units: 0, cost: 100}\n    completed: 0\n    added_costs: {conv: 0}\n")
    assert main(["cost", str(case)]) == 2
    assert "stages[0].transferred_in.cost: A: transferred_in has cost 100.00" in capsys.readouterr().err


def test_a_refused_header_does_not_hide_the_stages_problems(tmp_path, capsys):
    case = tmp_path / "case.yaml"
    case.write_text("currency: usd\nmethod: FIFO\nstages:\n  - name: A\n"
                    "    elements: {mat: {kind: material, added: start}}\n"
                    "    started: 100\n    completed: 90\n    added_costs: {mat: -100}\n")
    assert main(["cost", str(case)]) == 2
    assert re.findall(r"\[([A-Z_]+)\]", capsys.readouterr().err) == [
        "INVALID_CHOICE", "UNKNOWN_CURRENCY", "NEGATIVE_AMOUNT", "UNIT_FLOW"]


def test_disposal_values_of_every_stage_are_checked_together(tmp_path, capsys):
    """Refused while costing, a stage's disposal value no longer hides the other kind's, or a later
    stage's (that stage is checked with the first one costed without its disposal value)."""
    case = tmp_path / "case.yaml"
    case.write_text(
        "currency: USD\nmethod: weighted_average\nstages:\n"
        "  - name: A\n    elements: {mat: {kind: material, added: start}, conv: {kind: conversion, added: evenly}}\n"
        "    started: 100\n    completed: 80\n    added_costs: {mat: 100, conv: 100}\n"
        "    spoilage: {normal: 10, abnormal: 10, disposal_value: 50}\n"
        "  - name: B\n    elements: {conv: {kind: conversion, added: evenly}}\n    completed: 70\n"
        "    added_costs: {conv: 100}\n    spoilage: {normal: 5, abnormal: 5, disposal_value: 500}\n")
    assert main(["cost", str(case)]) == 2
    err = capsys.readouterr().err
    assert re.findall(r"(stages\[\d\])\.spoilage\.disposal_value: \w: disposal value of (\w+) spoilage", err) == [
        ("stages[0]", "normal"), ("stages[0]", "abnormal"), ("stages[1]", "normal"), ("stages[1]", "abnormal")]


def test_a_json_key_given_twice_is_refused_as_in_yaml(tmp_path, capsys):
    case = tmp_path / "case.json"
    case.write_text('{"currency": "USD", "method": "fifo", "currency": "EUR", "stages": []}')
    assert main(["cost", str(case)]) == 2
    assert "duplicate key 'currency'" in capsys.readouterr().err


def test_every_json_key_given_twice_is_told_with_its_line_and_column(tmp_path, capsys):
    """As YAML's: all at once, located (the first only, unlocated, was told before)."""
    case = tmp_path / "case.json"
    case.write_text('{"currency": "USD", "method": "fifo",\n "currency": "EUR",\n'
                    ' "stages": [{"name": "A", "na\\u006de": "B", "q": {"name": 1}}, {"name": "C"}]}')
    assert main(["cost", str(case)]) == 2
    err = capsys.readouterr().err
    assert re.findall(r"line (\d+), column (\d+): invalid JSON: duplicate key '(\w+)'", err) == [
        ("2", "2", "currency"), ("3", "27", "name")]
    assert "2 problems found" in err


def test_json_reads_as_yaml_does_a_byte_order_mark_and_exponents(tmp_path, capsys):
    """Notepad saves UTF-8 with a byte-order mark: a JSON file so saved was INVALID_SYNTAX while
    the same YAML read; and 3e2 came through as 3E+2 where YAML gives 300 (review)."""
    import yaml

    case = yaml.safe_load((Path(__file__).parent.parent / "examples" / "demo" / "case.yaml").read_text())
    text = json.dumps(case)
    plain = tmp_path / "plain.json"
    plain.write_text(text, encoding="utf-8")
    assert main(["cost", "--json", str(plain)]) == 0
    expected = capsys.readouterr().out
    marked = tmp_path / "marked.json"
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert main(["cost", "--json", str(marked)]) == 0
    assert capsys.readouterr().out == expected
    from costing._casefile import read_data_file

    exponent = tmp_path / "exponent.json"
    exponent.write_text('{"a": 3e2, "b": 1.5E+1, "c": 1e400}')
    data, issues = read_data_file(exponent)
    assert not issues and (str(data["a"]), str(data["b"])) == ("300", "15") and data["c"] == Decimal("1e400")


def test_a_close_file_given_to_wip_cost_gets_a_hint(capsys):
    close_file = Path(__file__).parent.parent / "examples" / "demo" / "close-2026-10.yaml"
    assert main(["cost", str(close_file)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {close_file}: products: this looks like a close file (products, accounts), not a case "
                   f"file: close it with `wip close {close_file} --period YYYY-MM` [UNKNOWN_KEY]", "1 problem found."]


def _zero_work_case(convention: str = "") -> str:
    """Materials added at the end, and no unit got there: cost with no equivalent units."""
    loss = "    normal_loss: {rate: 0, scrap_value: 0}\n" if convention else ""
    return (f"currency: USD\nmethod: weighted_average\n{convention}stages:\n  - name: Mixing\n"
            "    elements:\n      materials: {kind: material, added: end}\n"
            "      conversion: {kind: conversion, added: evenly}\n"
            "    started: 100\n    completed: 0\n    ending_wip: {units: 100, complete: 0.5}\n"
            f"    added_costs: {{materials: 1000, conversion: 900}}\n{loss}")


@pytest.mark.parametrize("convention", ["", "loss_convention: process_account\n"])
def test_zero_equivalent_units_is_worded_once_whoever_finds_it(convention):
    """The resolver finds cost with no work in a case file; the engine finds it in a case built by
    Python code: the same code, location and message (``zero_equivalent_units``)."""
    data = yaml.safe_load(_zero_work_case(convention))
    _, issues = resolve_case(data)
    assert [(i.code, i.path) for i in issues] == [("ZERO_EQUIVALENT_UNITS", "stages[0].added_costs.materials")]
    data["stages"][0]["elements"]["materials"]["added"] = "evenly"  # resolves, then loses the work below
    case, issues = resolve_case(data)
    assert not issues, issues
    stage = case.stages[0]
    ending = replace(stage.ending, completion={**stage.ending.completion, "materials": Decimal(0)})
    with pytest.raises(CostingError) as refused:
        cost_case(replace(case, stages=(replace(stage, ending=ending),)))
    assert [(i.code, i.path, i.message) for i in refused.value.issues] == \
        [(i.code, i.path, i.message) for i in resolve_case(yaml.safe_load(_zero_work_case(convention)))[1]]


@pytest.mark.parametrize("path, extra", [
    ("stages[0].added_costs.mat", ""),
    ("stages[0].spoilage.disposal_value", "    spoilage: {normal: 0, abnormal: 0, disposal_value: -2}\n"),
])
def test_a_negative_amount_is_worded_as_the_close_words_it(tmp_path, capsys, path, extra):
    """What is expected, what was found and what to check, as ``wip close`` says it."""
    text = _ONE_STAGE.format(added="start", started=100, completed=100, cost=-750 if not extra else 750, extra=extra)
    _, issues = resolve_case(yaml.safe_load(text))
    negative = [i for i in issues if i.code == "NEGATIVE_AMOUNT"]
    assert [i.path for i in negative] == [path]
    assert re.search(r"cannot be negative: expected zero or more, found -\d+; check the sign of the value typed "
                     r"here$", negative[0].message), negative[0].message


def test_negative_units_are_worded_as_the_close_words_them():
    """``wip cost`` and ``wip close`` say a negative unit count the same way, worded once where the
    case resolver finds it (the close adds nothing to it)."""
    text = _ONE_STAGE.format(added="start", started=100, completed=-503.5, cost=750, extra="")
    _, issues = resolve_case(yaml.safe_load(text))
    expected = ("units cannot be negative: expected zero or more, found -503.5; check the sign of the value "
                "typed here")
    assert [(i.code, i.path, i.message) for i in issues if i.code == "NEGATIVE_UNITS"] == [
        ("NEGATIVE_UNITS", "stages[0].completed", expected)]
    close = yaml.safe_load((Path(__file__).parent.parent / "examples" / "demo" / "close-2026-10.yaml").read_text())
    close["products"][0]["stages"][0]["completed"] = Decimal("-503.5")
    plan, issues = resolve_close(close, None)
    assert plan is None
    assert [(i.code, i.message) for i in issues if i.path == "products[0].stages[0].completed"] == [
        ("NEGATIVE_UNITS", expected)]


def test_a_negative_scrap_value_is_worded_as_the_close_words_it():
    data = yaml.safe_load((ERRORS / "SCRAP_EXCEEDS_COST.yaml").read_text())
    data["stages"][0]["normal_loss"]["scrap_value"] = -2
    _, issues = resolve_case(data)
    assert [(i.code, i.path, i.message) for i in issues if i.code == "NEGATIVE_AMOUNT"] == [
        ("NEGATIVE_AMOUNT", "stages[0].normal_loss.scrap_value",
         "scrap value cannot be negative: expected zero or more, found -2; check the sign of the value typed here")]


def test_stages_missing_or_not_a_list_is_one_problem(tmp_path, capsys):
    """Not also NO_STAGES at the same path: one mistake, one problem."""
    for text, code in (("currency: USD\nmethod: fifo\n", "MISSING_KEY"),
                       ("currency: USD\nmethod: fifo\nstages: x\n", "WRONG_TYPE")):
        path = tmp_path / "case.yaml"
        path.write_text(text)
        assert main(["cost", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"[{code}]" in err and "NO_STAGES" not in err and "1 problem found" in err


def test_every_key_written_twice_is_reported_at_once(tmp_path, capsys):
    """Only the first duplicate was said; fixing it, the user met the next."""
    case = tmp_path / "case.yaml"
    case.write_text("currency: USD\nmethod: fifo\ncurrency: EUR\nstages:\n  - name: A\n    name: B\n")
    assert main(["cost", str(case)]) == 2
    err = capsys.readouterr().err
    assert "line 3, column 1: invalid YAML: duplicate key 'currency'" in err
    assert "line 6, column 5: invalid YAML: duplicate key 'name'" in err and "2 problems found." in err


def test_a_dash_without_a_space_is_named_in_the_list_refusal(tmp_path, capsys):
    case = tmp_path / "case.yaml"
    case.write_text("currency: USD\nmethod: fifo\nstages:\n  -name: A\n")
    assert main(["cost", str(case)]) == 2
    assert ("stages: expected a list of stages, found dict — a `-` with no space after it (`-name:`) makes a key, "
            "not a list item") in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_values_nested_too_deep_or_too_long_are_told_not_a_traceback(tmp_path, capsys, suffix):
    """Found by fuzzing: 400 nested brackets in place of a number (the message writing it out hit
    Python's recursion limit), 1,000 (the YAML and JSON parsers did), a whole number of 4,301 digits
    (int() refuses more than 4,300), and a YAML alias standing for ten million values (written out
    whole, minutes and megabytes) were tracebacks or hangs."""
    case = tmp_path / f"case{suffix}"
    head = '{"currency": "USD", "method": "fifo", "stages": [{"name": "A", "started": '
    for started, code in (("[" * 400 + "]" * 400, "INVALID_SYNTAX"), ("[" * 1000 + "]" * 1000, "INVALID_SYNTAX"),
                          ("[" * 60 + "]" * 60, "NOT_A_NUMBER"),
                          ("9" * 4301, "NUMBER_TOO_LARGE")):
        case.write_text(head + started + "}]}")
        assert main(["cost", str(case)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and f"[{code}]" in err and len(err) < 1000, err[:300]
    if suffix == ".yaml":
        aliases = "".join(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n" for n in range(1, 8))
        case.write_text("a0: &a0 1\n" + aliases + "currency: USD\nmethod: fifo\nstages: [{name: A, started: *a7}]\n")
        assert main(["cost", str(case)]) == 2
        err = capsys.readouterr().err
        assert "started: expected a number, found a list [[[[[[[1, 1," in err and len(err) < 3000


def test_stages_whose_names_print_alike_are_one_stage_named_twice(tmp_path, capsys):
    """Found by fuzzing: `Assembly` and `Assembly` + U+200D were two stages, and a close's
    `accounts.wip` took `Testing` and `Testing` + U+200E as two: reports showed two rows "Testing"
    with different amounts. Products were already so refused; case still tells stages apart."""
    case = tmp_path / "case.yaml"
    case.write_text("currency: USD\nmethod: fifo\nstages:\n"
                    "  - {name: Assembly, elements: {m: {kind: material, added: start}}, started: 10, completed: 10,"
                    " ending_wip: {units: 0}, added_costs: {m: 100}}\n"
                    "  - {name: \"Assembly\\u200d\", elements: {m: {kind: material, added: start}}, completed: 10,"
                    " ending_wip: {units: 0}, added_costs: {m: 100}}\n")
    assert main(["cost", str(case)]) == 2
    err = capsys.readouterr().err
    assert "stages[1].name: stage name 'Assembly\\u200d' prints as stages[0]'s 'Assembly' (invisible characters: " \
           "U+200D ZERO WIDTH JOINER against none)" in err and "[DUPLICATE_STAGE]" in err
    case.write_text(case.read_text().replace("Assembly\\u200d", "assembly"))
    assert main(["cost", str(case)]) == 0
    # Accents typed apart: é as e and a combining acute accent prints as é.
    case.write_text(case.read_text().replace("Assembly", "Caf\u00e9").replace("assembly", "Cafe\\u0301"))
    assert main(["cost", str(case)]) == 2
    assert "(the same letters, one with its accents written as combining marks)" in capsys.readouterr().err


def test_fifo_on_an_idle_line_is_costed_and_what_it_cannot_cost_is_said(tmp_path, capsys):
    """Nothing started, ending WIP the beginning units at a completion the file gives: it was refused
    (FIFO_BEGINNING_NOT_COMPLETED); it is costed now — 10 units 0.5 complete at 50.00, 0.8 complete
    at the end: 3 equivalent units of this period's work at 30.00 / 3 = 10.00, ending WIP 50 + 30 =
    80.00.  With a unit spoiled, the spoiled unit's beginning work is not given: still refused, saying
    so."""
    case = tmp_path / "case.yaml"
    stage = ("  - {name: Assembly, elements: {c: {kind: conversion, added: evenly}}, started: 0, completed: 0,"
             " beginning_wip: {units: 10, complete: 0.5, cost: {c: 50}}, ending_wip: {units: UNITS, complete: 0.8},"
             " added_costs: {c: 30}SPOILAGE}\n")
    case.write_text("currency: USD\nmethod: fifo\nstages:\n" + stage.replace("UNITS", "10").replace("SPOILAGE", ""))
    assert main(["cost", str(case), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)[0]["stages"][0]
    assert (report["equivalent_units"], report["cost_per_eu"]) == ({"c": "3"}, {"c": "10"})
    assert (report["transferred_out"]["total"], report["ending_wip"]["total"]) == ("0.00", "80.00")
    case.write_text("currency: USD\nmethod: fifo\nstages:\n" + stage.replace("UNITS", "9").replace(
        "SPOILAGE", ", spoilage: {spoiled: 1, normal: 0, inspection: 0.6}"))
    assert main(["cost", str(case)]) == 2
    err = capsys.readouterr().err
    assert "only 0 of its 10 beginning units were completed, and the other 10 are still in process (9) or were " \
           "spoiled (1): this engine costs FIFO with beginning units left only when none was spoiled" in err, err


@pytest.mark.parametrize("ending, said", [
    ("{units: 50, complete: 1.6}", "stages[0].ending_wip.complete: completion 1.6 (160%) is above 100% "
                                   "[PROGRESS_OUT_OF_RANGE]"),
    ("{units: 50, complete: {progress: 0.6, bogus: 1}}", "stages[0].ending_wip.complete.bogus: 'bogus' is not an "
                                                         "element of this stage"),
    ("{units: 50}", "stages[0].ending_wip.complete: 50 units need a completion"),
    ("{units: 0, complete: 0}", "[UNIT_FLOW]"),
    ("{units: 50, complete: {progress: 0.6, conversion: 0.3}}",
     "stages[0].ending_wip.complete.conversion: A: with nothing started or received, ending WIP is 50 of the "
     "beginning units, 0.3 complete in conversion where they began 0.4"),
    # Review: the progress typed is what is quoted and compared (an element added at a point read
    # it as 1 or 0, and a progress gone back across no point passed).
    ("{units: 50, complete: 0.35}", "stages[0].ending_wip.complete: A: with nothing started or received, ending WIP "
                                    "is 50 of the beginning units, 0.35 complete where they began 0.4 complete"),
])
def test_fifo_idle_line_with_a_completion_or_flow_problem_says_that_problem_only(tmp_path, capsys, ending, said):
    """Review: a completion refused on an idle FIFO line was a KeyError traceback (wip cost, the
    whole close, the add-in's table), and a missing ending WIP or completion also drew
    ENDING_WIP_BEHIND_BEGINNING against a completion the file did not give."""
    case = tmp_path / "case.yaml"
    case.write_text("currency: USD\nmethod: fifo\nstages:\n  - name: A\n    elements:\n"
                    "      materials: {kind: material, added: start}\n      conversion: {kind: conversion, added: evenly}\n"
                    "    beginning_wip: {units: 100, complete: 0.4, cost: {materials: 1000, conversion: 400}}\n"
                    f"    started: 0\n    completed: 50\n    ending_wip: {ending}\n"
                    "    added_costs: {materials: 0, conversion: 300}\n")
    assert main(["cost", str(case)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and said in err and "1 problem found" in err, err


@pytest.mark.parametrize("ending, refused", [("0.35", True), ("0.4", False), ("0.6", False)])
def test_weighted_average_idle_line_with_progress_gone_back_is_refused_as_under_fifo(tmp_path, capsys, ending,
                                                                                      refused):
    """Review: under weighted average an idle line whose ending WIP (beginning units, nothing started)
    was less complete than it began was costed, and the variance bridge then showed negative
    equivalent units of work and a negative cost per EU.  A close the ledger holds is read as it was."""
    case = tmp_path / "case.yaml"
    case.write_text("currency: USD\nmethod: weighted_average\nstages:\n  - name: A\n    elements:\n"
                    "      materials: {kind: material, added: start}\n      conversion: {kind: conversion, added: evenly}\n"
                    "    beginning_wip: {units: 100, complete: 0.4, cost: {materials: 1000, conversion: 400}}\n"
                    f"    started: 0\n    completed: 50\n    ending_wip: {{units: 50, complete: {ending}}}\n"
                    "    added_costs: {materials: 0, conversion: 300}\n")
    assert main(["cost", str(case)]) == (2 if refused else 0)
    err = capsys.readouterr().err
    said = ("stages[0].ending_wip.complete: A: with nothing started or received, ending WIP is 50 of the beginning "
            "units, 0.35 complete where they began 0.4 complete (weighted average): work done cannot go backwards")
    assert (said in err and "[ENDING_WIP_BEHIND_BEGINNING]" in err) is refused, err
    if refused:
        from costing._casefile import read_data_file
        from costing._resolve import resolve_case

        data, issues = read_data_file(case)
        assert not issues and resolve_case(data, recorded=True)[0] is not None  # a recorded close: as it was


def test_a_json_duplicate_with_a_later_syntax_problem_tells_both(tmp_path, capsys):
    """Review of the located duplicates: a bracket too many, or a tab in a later string, after a
    repeated key was a traceback (the rest of the file was read as if it parsed)."""
    case = tmp_path / "case.json"
    for text, later in (('{"x": {"a": 1, "a": 2}}}', "line 1, column 24: invalid JSON: Extra data"),
                        ('{"x": {"a": 1, "a": 2}, "n": "Drip\tHome"}',
                         "line 1, column 35: invalid JSON: a tab inside text in quotes")):
        case.write_text(text)
        assert main(["cost", str(case)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "duplicate key 'a'" in err and later in err, err


@pytest.mark.parametrize("text, said", [
    ('{"currency": "USD", "stages": [{"name": "A", "started": ' + "[" * 500 + "]" * 500 + '}]}',
     "values are nested more than 64 levels deep ([[[… or {{{…)"),
    ('{"currency": "USD", "stages": [{"name": 1e99999999999, "started": [1e999999999]}]}',
     "found 1E+99999999999 [WRONG_TYPE]"),
    ('{"currency": "USD", "stages": [{"name": "A", "started": 1e999999999}]}', "found 1E+999999999 [NUMBER_TOO_LARGE]"),
])
def test_json_the_parser_takes_but_nothing_after_it_could_is_told(tmp_path, capsys, text, said):
    """500 levels pass json's C parser and overflowed Python's stack when copied; 1e999999999 was
    written out digit by digit (gigabytes) or overflowed Decimal's default context."""
    case = tmp_path / "case.json"
    case.write_text(text)
    assert main(["cost", str(case)]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err) < 2000


def test_fifo_on_an_idle_line_with_spoilage_says_where_the_beginning_units_went(tmp_path, capsys):
    """Review: 40 beginning units not completed, 30 in ending WIP and 10 spoiled, were all said to be
    "still in process" (and all 40 when none was)."""
    case = tmp_path / "case.yaml"
    base = ("currency: USD\nmethod: fifo\nstages:\n  - {{name: A, elements: {{c: {{kind: conversion, added: evenly}}}},"
            " started: 0, completed: 60, beginning_wip: {{units: 100, complete: 0.5, cost: {{c: 50}}}},"
            " ending_wip: {{units: {ending}, complete: 0.8}}, spoilage: {{abnormal: {spoiled}, inspection: 1}},"
            " added_costs: {{c: 30}}}}\n")
    for ending, spoiled, said in ((30, 10, "the other 40 are still in process (30) or were spoiled (10)"),
                                  (0, 40, "the other 40 were spoiled")):
        case.write_text(base.format(ending=ending, spoiled=spoiled))
        assert main(["cost", str(case)]) == 2
        assert said in capsys.readouterr().err


def test_an_element_behind_through_the_progress_of_a_map_is_located_at_that_progress(tmp_path, capsys):
    """Review: conversion carried 0.8 (given element by element), ending a map whose progress 0.7
    gives conversion: the problem was located at ending_wip.complete, not a key of the file (the
    add-in then pointed at the stage's row)."""
    case = tmp_path / "case.yaml"
    case.write_text("currency: USD\nmethod: fifo\nstages:\n  - name: A\n    elements:\n"
                    "      materials: {kind: material, added: start}\n      conversion: {kind: conversion, added: evenly}\n"
                    "    beginning_wip: {units: 100, complete: {progress: 0.5, conversion: 0.8},"
                    " cost: {materials: 1000, conversion: 400}}\n"
                    "    started: 0\n    completed: 50\n    ending_wip: {units: 50, complete: {progress: 0.7, materials: 1}}\n"
                    "    added_costs: {materials: 0, conversion: 300}\n")
    assert main(["cost", str(case)]) == 2
    err = capsys.readouterr().err
    assert "stages[0].ending_wip.complete.progress: A: with nothing started or received, ending WIP is 50 of the " \
           "beginning units, 0.7 complete in conversion where they began 0.8 complete" in err, err


def test_a_later_process_account_stage_receiving_nothing_says_transferred_in(tmp_path, capsys):
    """Review: the process-account report said 'Started 0' for a later stage that received nothing
    (it starts nothing of its own), where the spoilage convention's says 'Transferred in 0'."""
    case = tmp_path / "case.yaml"
    case.write_text("currency: USD\nmethod: weighted_average\nloss_convention: process_account\nstages:\n"
                    "  - {name: A, elements: {m: {kind: material, added: start}}, started: 10, completed: 0,"
                    " ending_wip: {units: 10, complete: 0.5}, added_costs: {m: 100}, normal_loss: {rate: 0, scrap_value: 0}}\n"
                    "  - {name: B, elements: {c: {kind: conversion, added: evenly}}, completed: 4,"
                    " beginning_wip: {units: 10, complete: 0.5, cost: {transferred_in: 1000.05, c: 300.15}},"
                    " ending_wip: {units: 6, complete: 0.7}, added_costs: {c: 200}, normal_loss: {rate: 0, scrap_value: 0}}\n")
    assert main(["cost", str(case)]) == 0
    b = capsys.readouterr().out.split("B — process account report")[1]
    assert "Transferred in            0" in b and "Started" not in b.split("Step 2")[0], b


def test_a_progress_behind_that_no_element_takes_is_not_refused(tmp_path, capsys):
    """Review: ending {progress: 0.2, every element given and ahead} against beginning 0.3 was
    refused for the progress, which no element's figure rests on."""
    case = tmp_path / "case.yaml"
    case.write_text("currency: USD\nmethod: fifo\nstages:\n  - name: A\n    elements:\n"
                    "      labour: {kind: labour, added: evenly}\n      overhead: {kind: overhead, added: evenly}\n"
                    "    beginning_wip: {units: 100, complete: 0.3, cost: {labour: 300, overhead: 300}}\n"
                    "    started: 0\n    completed: 50\n"
                    "    ending_wip: {units: 50, complete: {progress: 0.2, labour: 0.9, overhead: 0.9}}\n"
                    "    added_costs: {labour: 650, overhead: 650}\n")
    assert main(["cost", str(case), "--json"]) == 0
    stage = json.loads(capsys.readouterr().out)[0]["stages"][0]
    # 50 x 0.7 + 50 x (0.9 - 0.3) = 65 equivalent units at 10.00; ending 150 kept + 300 of work.
    assert stage["equivalent_units"] == {"labour": "65", "overhead": "65"}  # JSON: normalized
    assert stage["ending_wip"]["total"] == "900.00"
