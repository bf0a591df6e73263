"""``Ledger.verify(expected_head)``: a head kept outside the file, checked against the ledger.

A head that differs is worded once, by the ledger: what was given, what the ledger holds, whether
its own hash chain verifies, and what to check next. ``wip verify --head`` prints the same line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from costing.cli import main
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.demo_data import demo


@pytest.fixture
def two_months(tmp_path) -> tuple[Path, str, str]:
    """A ledger closed for October (its head noted then), then for November."""
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        october_head = ledger.head()
        close_period(demo("2026-11"), ledger, user="test")
        november_head = ledger.head()
    return db, october_head, november_head


def test_a_head_noted_before_later_closes_still_verifies(two_months):
    """Events appended after the head was noted are no difference, given as seq:hash or the hash alone."""
    db, october_head, november_head = two_months
    seq, _, digest = october_head.partition(":")
    with Ledger(db) as ledger:
        assert ledger.verify(october_head) == []
        assert ledger.verify(f"{seq}:{digest[:8]}") == []
        assert ledger.verify(digest) == []
        assert ledger.verify(digest[:8].upper()) == []
        assert ledger.verify(november_head.partition(":")[2]) == []


def test_a_mistyped_head_of_a_chain_that_verifies_is_not_called_a_rewrite(two_months):
    db, october_head, november_head = two_months
    seq, _, digest = october_head.partition(":")
    mistyped = digest[:11] + ("0" if digest[11] != "0" else "1")
    with Ledger(db) as ledger:
        problems = ledger.verify(f"{seq}:{mistyped}")
    newest_seq, _, newest_digest = november_head.partition(":")
    assert problems == [
        f"--head: expected event {seq} with hash {mistyped}, as given; found that its event {seq} has hash "
        f"{digest[:16]}… (2 events, head {newest_seq}:{newest_digest[:16]}…). The hash chain of {db} itself "
        "verifies: check the head against where it was kept (a digit mistyped?) and that it was printed for this "
        "ledger; if both hold, the ledger was rewritten with its hashes recomputed after the head was noted — go "
        "back to a copy kept with it"]


def test_a_head_for_an_event_the_ledger_does_not_hold(two_months):
    db, october_head, _ = two_months
    digest = october_head.partition(":")[2]
    with Ledger(db) as ledger:
        [past_the_end] = ledger.verify(f"9:{digest}")
        [unknown_hash] = ledger.verify("0123456789abcdef0123")
    assert past_the_end.startswith(f"--head: expected event 9 with hash {digest[:16]}…, as given; found that it "
                                   "holds no event 9 (2 events, head 2:")
    assert "itself verifies" in past_the_end and "the ledger was cut short with its hashes recomputed" in past_the_end
    assert unknown_hash.startswith("--head: expected an event with hash 0123456789abcdef…, as given; found that it "
                                   "holds no event with that hash (2 events, head 2:")
    assert "the ledger was rewritten or cut short with its hashes recomputed" in unknown_hash


def test_a_head_that_differs_from_a_chain_that_does_not_verify_either(two_months):
    """With rows changed outside the engine there is nothing to put down to a mistyped head."""
    db, october_head, _ = two_months
    _edit_by_hand(db)
    with Ledger(db) as ledger:
        chain_problems = ledger.verify()
        problems = ledger.verify("1:" + "0" * 16)
    assert chain_problems and problems[:-1] == chain_problems
    assert problems[-1] == (
        f"--head: expected event 1 with hash {'0' * 16}, as given; found that its event 1 has hash "
        f"{october_head.partition(':')[2][:16]}… (2 events, head {_newest(db)})."
        f" The hash chain of {db} does not verify either (see the other problems): rows were changed outside "
        "the engine — check the head against where it was kept, then go back to a copy kept with it")


def test_wip_verify_prints_the_ledgers_own_wording(two_months, capsys):
    db, october_head, _ = two_months
    given = october_head.partition(":")[0] + ":deadbeef00"
    with Ledger(db) as ledger:
        [problem] = ledger.verify(given)
    assert main(["verify", "--ledger", str(db), "--head", given]) == 1
    assert capsys.readouterr().err.splitlines() == [f"error: {problem} [LEDGER_TAMPERED]", "1 problem found."]


def _newest(db: Path) -> str:
    """The newest event as the rows hold it (seq:first 16 digits of its hash…)."""
    con = sqlite3.connect(db)
    seq, row_hash = con.execute("SELECT seq, row_hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    con.close()
    return f"{seq}:{row_hash[:16]}…"


def test_verification_says_whether_the_chain_verifies_in_one_reading(two_months, monkeypatch, capsys):
    """`wip verify --head` on a tampered ledger: the chain is read once, and the summary says both
    that the head differs and that the chain does not verify."""
    db, _, _ = two_months
    _edit_by_hand(db)
    with Ledger(db) as ledger:
        tampered = ledger.verification("1:" + "0" * 16)
        intact_head = ledger.verification()
    assert not tampered.chain_verifies and not intact_head.chain_verifies
    assert list(tampered.problems[:-1]) == list(intact_head.problems)

    readings = []
    original = Ledger.verification
    monkeypatch.setattr(Ledger, "verification", lambda self, *a, **k: readings.append(1) or original(self, *a, **k))
    monkeypatch.setattr(Ledger, "verify", lambda self, *a, **k: readings.append(1) or original(self, *a, **k).problems)
    assert main(["verify", "--ledger", str(db), "--head", "1:" + "0" * 16]) == 1
    assert len(readings) == 1
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"The hash chain of {db} does not verify.")


def test_verification_of_a_good_ledger_with_a_mistyped_head(two_months):
    db, october_head, _ = two_months
    with Ledger(db) as ledger:
        verification = ledger.verification(october_head.partition(":")[0] + ":deadbeef00")
    assert verification.chain_verifies and len(verification.problems) == 1


def _edit_by_hand(db: Path) -> None:
    """Change the first event's reason outside the engine (its append-only triggers dropped first)."""
    con = sqlite3.connect(db)
    for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {trigger}")
    con.execute("UPDATE events SET reason = 'edited by hand' WHERE seq = 1")
    con.commit()
    con.close()
