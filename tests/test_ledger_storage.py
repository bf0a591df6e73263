"""What the ledger stores compactly reads back exactly as the close made it; rows written in the
first storage format still read and verify."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from costing.close import StageWip
from costing.close_service import canonical_inputs, close_period
from costing.ledger import Ledger
from costing.ledger._codec import REPORTS_FORMAT, ROLLFORWARD_FORMAT, STATE_FORMAT, decode_state, encode_state
from costing.ledger._sqlite import canonical_json
from tests.demo_data import demo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_close import make_plant  # noqa: E402


def process_account_demo() -> dict:
    """The demo month under the process-account convention: spoilage becomes normal loss."""
    data = demo("2026-10")
    data["loss_convention"] = "process_account"
    data["accounts"].update(scrap={"code": "1260", "name": "Scrap"},
                            abnormal_loss={"code": "5830", "name": "Abnormal loss"},
                            abnormal_gain={"code": "4830", "name": "Abnormal gain"})
    for product in data["products"]:
        for stage in product["stages"]:
            spoilage = stage.pop("spoilage", None)
            if spoilage:
                stage["normal_loss"] = {"rate": "0.02", "scrap_value": str(spoilage.get("disposal_value", 0))}
    return data


def stored(db: Path, seq: int) -> sqlite3.Row:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    row = con.execute("SELECT * FROM events WHERE seq = ?", (seq,)).fetchone()
    con.close()
    return row


def assert_reads_back(ledger: Ledger, outcome) -> None:
    closed = ledger.current_close(outcome.result.period)
    assert closed.reports == [{"product": p.name, "report": p.report.model_dump(mode="json")}
                              for p in outcome.result.products]
    assert closed.rollforward == outcome.rollforward.model_dump(mode="json")
    assert json.dumps(closed.rollforward) == json.dumps(json.loads(outcome.rollforward.model_dump_json()))
    wip = {(w.product, w.stage): w for p in outcome.result.products for w in p.closing_wip.values()}
    assert closed.state.wip == wip
    assert closed.state.finished_goods == {p.name: p.fg_closing for p in outcome.result.products if p.fg_closing}
    assert closed.journals == outcome.journals


def test_demo_months_read_back_exactly(tmp_path):
    with Ledger(tmp_path / "l.db") as ledger:
        for period in ("2026-10", "2026-11"):
            outcome = close_period(demo(period), ledger, user="test")
            assert_reads_back(ledger, outcome)
        row = stored(tmp_path / "l.db", 1)
    assert json.loads(row["reports"])["format"] == REPORTS_FORMAT
    assert json.loads(row["rollforward"])["format"] == ROLLFORWARD_FORMAT
    assert json.loads(row["state"])["format"] == STATE_FORMAT


@pytest.mark.parametrize("method", ["fifo", "weighted_average"])
def test_a_generated_plant_reads_back_exactly(tmp_path, method):
    plant = make_plant(40, 6)
    plant["method"] = method
    plant["products"][3]["stages"][2]["count"] = 10  # a count difference in the stored roll-forward
    with Ledger(tmp_path / "l.db") as ledger:
        outcome = close_period(plant, ledger, user="test")
        assert any(p.count_adjustments for p in outcome.result.products)
        assert any(p.overhead_adjustment for p in outcome.result.products)
        assert_reads_back(ledger, outcome)
        assert ledger.verify() == []


def test_process_account_reports_are_stored_as_their_json(tmp_path):
    with Ledger(tmp_path / "l.db") as ledger:
        outcome = close_period(process_account_demo(), ledger, user="test")
        assert outcome.rollforward.ties_ok
        assert_reads_back(ledger, outcome)
        assert ledger.verify() == []
        row = stored(tmp_path / "l.db", 1)
    reports = json.loads(row["reports"])
    assert all(isinstance(entry, dict) for entry in reports["products"])
    assert "rows" in json.loads(row["rollforward"])  # stored whole: nothing to rebuild it from


def test_the_stored_rows_are_much_smaller_than_pydantic_json(tmp_path):
    with Ledger(tmp_path / "l.db") as ledger:
        outcome = close_period(make_plant(60, 10), ledger, user="test")
        row = stored(tmp_path / "l.db", 1)
    first_format = (sum(len(p.report.model_dump_json()) for p in outcome.result.products)
                    + len(outcome.rollforward.model_dump_json()))
    assert len(row["reports"]) + len(row["rollforward"]) < first_format / 3


def _first_format_close(ledger: Ledger, data: dict, outcome) -> None:
    """Append a close exactly as the first storage format wrote it (pydantic JSON, state as to_json)."""
    wip = [w for p in outcome.result.products for w in p.closing_wip.values()]
    layers = [layer for p in outcome.result.products for layer in p.fg_closing]
    inputs = canonical_json(canonical_inputs(data))
    row = {
        "kind": "close", "period": outcome.result.period, "close_no": 1, "opening_from": None,
        "recorded_at": dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc).isoformat(timespec="seconds"),
        "recorded_by": "old", "reason": "", "engine_version": "0.1.0",
        "inputs_sha256": hashlib.sha256(inputs.encode()).hexdigest(), "inputs": inputs, "parameters": "{}",
        "reports": "[" + ",".join(f'{{"product":{json.dumps(p.name)},"report":{p.report.model_dump_json()}}}'
                                  for p in outcome.result.products) + "]",
        "state": canonical_json({"wip": [w.to_json() for w in wip], "finished_goods": [l.to_json() for l in layers]}),
        "rollforward": outcome.rollforward.model_dump_json(), "journals": outcome.journals.model_dump_json(),
    }
    db = ledger._db
    db.execute("BEGIN IMMEDIATE")
    seq = ledger._append(row)
    db.executemany("INSERT INTO closing_wip VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(seq, w.product, w.stage, e, str(w.units), str(w.completion.get(e, "")), str(c))
                    for w in wip for e, c in w.cost.items()])
    db.executemany("INSERT INTO fg_layers VALUES (?, ?, ?, ?, ?, ?)",
                   [(seq, l.product, i, l.period, str(l.units), str(l.cost)) for i, l in enumerate(layers)])
    ledger._insert_journal_lines(seq, outcome.journals)
    db.execute("COMMIT")


def test_rows_in_the_first_storage_format_still_read_verify_and_open_the_next_month(tmp_path):
    with Ledger(":memory:") as scratch:
        october = close_period(demo("2026-10"), scratch, user="test")
    with Ledger(tmp_path / "old.db") as ledger:
        _first_format_close(ledger, demo("2026-10"), october)
        assert ledger.verify() == []
        assert_reads_back(ledger, october)
        november = close_period(demo("2026-11"), ledger, user="test")  # opens from the old-format state
        assert_reads_back(ledger, november)
        assert ledger.verify() == []
    with Ledger(tmp_path / "new.db") as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        again = close_period(demo("2026-11"), ledger, user="test")
    assert again.journals.model_dump_json() == november.journals.model_dump_json()
    assert again.rollforward.model_dump_json() == november.rollforward.model_dump_json()


@pytest.mark.parametrize("sql, problem", [
    ("UPDATE closing_wip SET units = '31' WHERE rowid = 2", "closing_wip rows differ"),
    ("UPDATE fg_layers SET cost = '1.00' WHERE rowid = 1", "fg_layers rows differ"),
    ("UPDATE journal_lines SET memo = 'x' WHERE rowid = 3", "journal_lines differ"),
    ("UPDATE events SET reports = replace(reports, '\"Assembly\"', '\"Assembly \"') WHERE seq = 1",
     "contents do not match its hash"),
    ("UPDATE events SET rollforward = replace(rollforward, '0.00', '0.01') WHERE seq = 1",
     "contents do not match its hash"),
    ("UPDATE events SET state = replace(state, '\"29\"', '\"30\"') WHERE seq = 1", "contents do not match its hash"),
])
def test_verify_names_any_hand_edited_row(tmp_path, sql, problem):
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    con = sqlite3.connect(db)
    for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {trigger}")
    assert con.execute(sql).rowcount == 1
    con.commit()
    con.close()
    with Ledger(db) as ledger:
        problems = ledger.verify()
    assert any(problem in p for p in problems), problems


def test_stage_wip_with_differing_element_maps_is_stored_as_maps():
    odd = StageWip("P", "S", units=Decimal("3"), progress=None, completion={"a": Decimal("0.5")},
                   cost={"a": Decimal("1.00"), "b": Decimal("2.00")})
    text, rows, _ = encode_state([odd], [])
    assert decode_state("2026-10", json.loads(text)).wip[("P", "S")] == odd
    assert rows == [("P", "S", "a", "3", "0.5", "1.00"), ("P", "S", "b", "3", "", "2.00")]


def test_canonical_inputs_keeps_its_text_for_every_kind_of_value():
    import collections

    data = {"a": 1, "b": 0.1, "c": Decimal("2.50"), "d": [1, 2.0, None, True, "x", (1, 2)], 3: "int key",
            "e": collections.OrderedDict([("z", 1.5)]), "f": dt.date(2026, 10, 31), "g": {"h": [{"i": 1e16}]}}
    assert canonical_inputs(data) == {
        "a": 1, "b": "0.1", "c": "2.50", "d": [1, "2.0", None, True, "x", "(1, 2)"], "3": "int key",
        "e": {"z": "1.5"}, "f": "2026-10-31", "g": {"h": [{"i": "10000000000000000"}]}}


def test_a_close_gives_the_same_ledger_row_with_its_inputs_json_built_in_the_background(tmp_path, monkeypatch):
    import costing.close_service as service

    plant = make_plant(30, 4)
    digests = []
    for threshold in (10**9, 0):  # inline, then in a forked child
        monkeypatch.setattr(service, "BACKGROUND_FROM_STAGE_ROWS", threshold)
        with Ledger(tmp_path / f"{threshold}.db") as ledger:
            outcome = close_period(plant, ledger, user="test")
            row = stored(tmp_path / f"{threshold}.db", 1)
            digests.append((outcome.event.inputs_sha256, row["inputs"], row["reports"], row["rollforward"]))
    assert digests[0] == digests[1]
    assert digests[0][0] == hashlib.sha256(canonical_json(canonical_inputs(plant)).encode()).hexdigest()


def test_background_work_falls_back_to_computing_here():
    from costing._background import Background

    assert Background(str.upper, "abc").result() == "ABC"
    assert Background(str.upper, "abc", enabled=False).result() == "ABC"
    failing = Background(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # the child failed: computed here, the error is ours
        failing.result()
    started = Background(str.upper, "x" * 10**6)
    started.cancel()
    started.cancel()


def _outcome_digest(outcome, db: Path) -> tuple:
    row = stored(db, max(e.seq for e in Ledger(db).events()))
    return (outcome.journals.model_dump_json(), outcome.rollforward.model_dump_json(),
            [p.report.model_dump_json() for p in outcome.result.products], repr(outcome.result),
            row["inputs"], row["inputs_sha256"], row["reports"], row["state"], row["rollforward"], row["journals"])


def _close_both_ways(tmp_path, monkeypatch, months) -> list:
    """The months closed in sequence in one process and in two (a forked child resolving)."""
    import costing.close_service as service

    results = []
    for name, threshold in (("one", 10**9), ("two", 0)):
        monkeypatch.setattr(service, "BACKGROUND_FROM_STAGE_ROWS", threshold)
        db = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.db"
        with Ledger(db) as ledger:
            runs = []
            for data in months:
                try:
                    outcome = close_period(data, ledger, user="test")
                    runs.append(_outcome_digest(outcome, db))
                except Exception as e:  # noqa: BLE001 - refusals are compared too
                    runs.append((type(e).__name__, [str(i) for i in getattr(e, "issues", [])]))
        results.append(runs)
    return results


def next_month(plant: dict) -> dict:
    """The generated plant's next month: opening WIP and finished goods from the ledger."""
    data = make_plant(len(plant["products"]), len(plant["products"][0]["stages"]))
    data["period"] = "2026-11"
    for product, before in zip(data["products"], plant["products"]):
        received = None
        for stage, old in zip(product["stages"], before["stages"]):
            stage.pop("beginning_wip")
            opening = old.get("count", old["ending_wip"]["units"])
            incoming = stage["started"] if "started" in stage else received
            spoiled = stage.get("spoilage", {}).get("spoiled", 0)
            stage["completed"] = opening + incoming - stage["ending_wip"]["units"] - spoiled
            received = stage["completed"]
        product["shipments"] = received // 3
    return data


def test_two_processes_give_the_same_close_as_one(tmp_path, monkeypatch):
    october = make_plant(30, 5)
    october["products"][6]["stages"][1]["count"] = 12
    for months in ([october, next_month(october)], [demo("2026-10"), demo("2026-11")], [process_account_demo()]):
        one, two = _close_both_ways(tmp_path, monkeypatch, months)
        assert one == two
        assert all(len(run) == 10 for run in one), one  # closed, not refused


@pytest.mark.parametrize("spoil", [
    lambda d: d["products"][7]["stages"][2]["added_costs"].update(labour="12.345"),  # AMOUNT_PRECISION
    lambda d: d["products"][3].update(name=d["products"][2]["name"]),  # DUPLICATE_PRODUCT
    lambda d: d["products"][5]["stages"][1].update(extra_key=1),  # UNKNOWN_KEY
    lambda d: d["products"][9]["stages"][0].update(completed=10**6),  # UNIT_FLOW
    lambda d: d["products"][4].update(shipments=10**6),  # SHIPMENTS_EXCEED_STOCK (after costing)
    lambda d: d.update(currency="XXQ"),  # a header problem
    lambda d: d["products"][8]["stages"][3].update(count=5),  # a count difference: no problem at all
])
def test_two_processes_refuse_a_close_exactly_as_one_does(tmp_path, monkeypatch, spoil):
    data = make_plant(12, 4)
    spoil(data)
    one, two = _close_both_ways(tmp_path, monkeypatch, [data])
    assert one == two


def test_a_child_that_dies_halfway_leaves_the_close_to_this_process(tmp_path, monkeypatch):
    import costing.close_service as service

    def dies(data, header, q, prior):
        messages = service._plans_then_inputs(data, header, q, prior)
        yield next(messages)
        os._exit(3)  # killed after its first plans

    plant = make_plant(20, 3)
    with Ledger(tmp_path / "one.db") as ledger:
        expected = close_period(plant, ledger, user="test")
    monkeypatch.setattr(service, "BACKGROUND_FROM_STAGE_ROWS", 0)
    monkeypatch.setattr(service, "_plans_then_inputs", dies)
    with Ledger(tmp_path / "two.db") as ledger:
        outcome = close_period(plant, ledger, user="test")
    assert _outcome_digest(outcome, tmp_path / "two.db") == _outcome_digest(expected, tmp_path / "one.db")


def test_a_process_running_other_threads_closes_in_one_process(tmp_path, monkeypatch):
    """Forking next to another thread could copy a lock that thread holds into the child, where
    nobody would release it: with a second thread alive the close never forks, and gives the same."""
    import threading

    import costing._background as background
    import costing.close_service as service

    plant = make_plant(20, 3)
    with Ledger(tmp_path / "one.db") as ledger:
        expected = close_period(plant, ledger, user="test")
    monkeypatch.setattr(service, "BACKGROUND_FROM_STAGE_ROWS", 0)
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not background.can_stream()
        with Ledger(tmp_path / "two.db") as ledger:
            outcome = close_period(plant, ledger, user="test")
    finally:
        release.set()
        other.join()
    assert forks == []
    assert _outcome_digest(outcome, tmp_path / "two.db") == _outcome_digest(expected, tmp_path / "one.db")
    if sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1:
        assert background.can_stream()  # single-threaded again


def _edit(db: Path, *statements: str, keep_triggers: bool = False) -> None:
    """Change the ledger file by hand, as someone with a SQLite browser would."""
    con = sqlite3.connect(db)
    if not keep_triggers:
        for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            con.execute(f"DROP TRIGGER {trigger}")
    for sql in statements:
        con.execute(sql)
    con.commit()
    con.close()


def test_a_tampered_close_is_not_used_to_open_the_next_month_or_exported(tmp_path):
    from costing.close_service import CloseRefused
    from costing.ledger import LedgerError

    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    _edit(db, "UPDATE events SET state = replace(state, '3480.00', '9480.00') WHERE seq = 1")
    with Ledger(db) as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(demo("2026-11"), ledger, user="test")
        assert [i.code for i in refused.value.issues] == ["LEDGER_CHANGED"]
        assert "does not match its hash" in refused.value.issues[0].message
        with pytest.raises(LedgerError):
            ledger.current_close("2026-10")  # what wip journal/export/rollforward read
        assert ledger.status("2026-11") == "open"


def test_verify_catches_what_a_hand_edit_can_do_without_the_hash_scheme(tmp_path):
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
        last = ledger.events()[-1]

    def problems_after(*statements, keep_triggers=False):
        copy = tmp_path / f"copy{len(list(tmp_path.iterdir()))}.db"
        copy.write_bytes(db.read_bytes())
        _edit(copy, *statements, keep_triggers=keep_triggers)
        with Ledger(copy) as ledger:
            return ledger.verify()

    cut_off = [f"DELETE FROM {t} WHERE seq = 2" for t in ("journal_lines", "closing_wip", "fg_layers", "events")]
    assert any("record of the newest event is missing" in p
               for p in problems_after(*cut_off, "DELETE FROM meta WHERE key = 'head'"))
    assert any("append-only triggers" in p for p in problems_after("SELECT 1"))
    assert any("belong to no event" in p for p in problems_after(
        "INSERT INTO journal_lines VALUES (99, 'X', 1, '2026-10-31', '1210', '1.00', '0.00', 'forged')"))
    assert any("cannot be read" in p for p in problems_after("UPDATE events SET journals = '{garbage' WHERE seq = 1"))
    assert any("unreadable" in p for p in problems_after("UPDATE meta SET value = 'garbage' WHERE key = 'head'",
                                                         keep_triggers=True))
    with Ledger(db) as ledger:
        assert ledger.verify() == [] and ledger.verify(f"{last.seq}:{last.row_hash}") == []
        assert ledger.verify(f"{last.seq}:{last.row_hash[:8]}") == []
        assert any("was rewritten" in p for p in ledger.verify(f"{last.seq}:{'0' * 64}"))
        assert any(f"holds no event {last.seq + 1}" in p and "was cut short" in p
                   for p in ledger.verify(f"{last.seq + 1}:{last.row_hash}"))


def test_a_close_recorded_meanwhile_under_the_same_number_is_refused(tmp_path):
    """The journal ids' close number is checked under the write lock (another run may have closed
    and reopened the month while this close was computed)."""
    from costing.close._journals import reversal_book
    from costing.ledger import LedgerError

    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        outcome = close_period(demo("2026-10"), ledger, user="test")
        closed = ledger.current_close("2026-10")
        ledger.record_reopen("2026-10", reason="test", user="t", engine_version="t",
                             reversals_for=lambda book, n: reversal_book(book, "REV", dt.date(2026, 10, 31), "test"))
        with pytest.raises(LedgerError) as refused:
            ledger.record_close(period="2026-10", opening_from=None, parameters=closed.parameters,
                                reports_json="[]", rollforward_json="{}", journals=outcome.journals,
                                engine_version="t", user="t", close_no=1)
        assert refused.value.code == "LEDGER_CHANGED" and "close #1" in refused.value.message
