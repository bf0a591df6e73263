"""SQLite-backed period ledger.

Design:
- ``events`` is append-only (triggers refuse UPDATE and DELETE): one row per close or reopen.
  Each row carries the hash of the previous row and its own hash over all its columns, so
  ``verify()`` finds any row changed outside the engine.  Detail tables (closing WIP by element,
  finished-goods layers, journal lines) are derived from the row's JSON and checked against it.
- Money and quantities are TEXT decimals, never REAL.
- A close is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before the period's
  state is re-checked, so of two closes of one period exactly one succeeds; a crash at any point
  leaves the file as it was (SQLite's rollback journal).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, replace
from functools import cached_property
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from .._atomic import CAN_FLOCK, flock_within
from .._journal import JournalBook
from ..close._state import FinishedGoodsLayer, PriorState, StageWip
from ._codec import (
    decode_reports,
    decode_rollforward,
    decode_rollforward_json,
    decode_state,
    element_order,
    encode_state,
    state_as_first_format,
)

__all__ = ["Ledger", "LedgerError", "Event", "ClosedPeriod", "Verification", "canonical_json"]

# Why a ledger whose head moved is refused (``Ledger._head_moved``), in its messages.
_HEAD_MOVED = "its newest event is not the one recorded when it was appended (events were cut off, added or replaced)"

# The layout of the ledger's tables, recorded in meta.schema_version when the file is created.
# An engine reads every version from 1 up to its own (none has changed the layout yet, so there is
# nothing to migrate); a newer one was written by a later engine whose rows this one could misread,
# or whose rules (the hash chain, the detail tables) it would break by appending: it is refused.
SCHEMA_VERSION = "1"
_OLDEST_READABLE = 1
GENESIS = "0" * 64
BUSY_TIMEOUT = 30.0  # seconds a ledger waits for another process's lock before saying LEDGER_BUSY

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('close', 'reopen')),
    period TEXT NOT NULL,
    close_no INTEGER NOT NULL,
    opening_from INTEGER,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    inputs_sha256 TEXT NOT NULL,
    inputs TEXT NOT NULL,
    parameters TEXT NOT NULL,
    reports TEXT NOT NULL,
    state TEXT NOT NULL,
    rollforward TEXT NOT NULL,
    journals TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS events_period ON events (period, seq);
CREATE TABLE IF NOT EXISTS closing_wip (
    seq INTEGER NOT NULL REFERENCES events (seq),
    product TEXT NOT NULL, stage TEXT NOT NULL, element TEXT NOT NULL,
    units TEXT NOT NULL, completion TEXT NOT NULL, cost TEXT NOT NULL,
    PRIMARY KEY (seq, product, stage, element)
);
CREATE TABLE IF NOT EXISTS fg_layers (
    seq INTEGER NOT NULL REFERENCES events (seq),
    product TEXT NOT NULL, layer INTEGER NOT NULL, period TEXT NOT NULL, units TEXT NOT NULL, cost TEXT NOT NULL,
    PRIMARY KEY (seq, product, layer)
);
CREATE TABLE IF NOT EXISTS journal_lines (
    seq INTEGER NOT NULL REFERENCES events (seq),
    journal_id TEXT NOT NULL, line INTEGER NOT NULL, date TEXT NOT NULL, account TEXT NOT NULL,
    debit TEXT NOT NULL, credit TEXT NOT NULL, memo TEXT NOT NULL,
    PRIMARY KEY (seq, journal_id, line)
);
"""
_IMMUTABLE = ["events", "closing_wip", "fg_layers", "journal_lines"]
_TRIGGERS = "".join(
    f"""CREATE TRIGGER IF NOT EXISTS {t}_no_update BEFORE UPDATE ON {t}
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: {t} rows are never changed'); END;
    CREATE TRIGGER IF NOT EXISTS {t}_no_delete BEFORE DELETE ON {t}
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: {t} rows are never deleted'); END;
    """ for t in _IMMUTABLE)
# The one engine that appends without noting the head: wip 0.1.0 from before the head was recorded
# (commit c46a766 brought the head while the version was still 0.1.0; every later version notes it).
# Events after the noted head are taken in only as that engine's (``Ledger._after_head``), and the
# seqs so taken in are kept in meta under _TAKEN_IN_KEY (a JSON list), which verify keeps reporting.
_HEADLESS_ENGINE = "0.1.0"
_TAKEN_IN_KEY = "older_engine_events"
_HASHED = ["seq", "kind", "period", "close_no", "opening_from", "recorded_at", "recorded_by", "reason",
           "engine_version", "inputs_sha256", "inputs", "parameters", "reports", "state", "rollforward",
           "journals", "prev_hash"]


# What a suggested `wip reopen` has for its reason, to fill in (a reason pasted as it is, is refused:
# close_service.reason_problem).
REASON_PLACEHOLDER = '"WHO AND WHY"'


class LedgerError(Exception):
    """A ledger operation refused for a reason the user can act on; ``code`` is stable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _refusal(path: str, error: sqlite3.Error) -> LedgerError | None:
    """The user-facing refusal for an SQLite error the user can act on (a ledger they may not
    write, a ledger another process holds locked, a full or failing drive); None for anything else."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(error).lower()
    if primary == sqlite3.SQLITE_READONLY or (primary is None and "readonly database" in text):
        if getattr(error, "sqlite_errorname", "") == "SQLITE_READONLY_DIRECTORY":
            return _read_only(path, f"its folder {Path(path).parent} is read-only for you ({error})")
        return _read_only(path, f"the file or its folder is read-only for you ({error})")
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (primary is None and "database is locked" in text):
        return LedgerError("LEDGER_BUSY", f"another wip command (or another program) is using the ledger {path} "
                                          f"({error}); nothing was written — try again when it is done")
    if primary in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR) or (primary is None and "disk is full" in text):
        # The transaction is rolled back (SQLite's journal): the ledger is as it was.
        return LedgerError("LEDGER_WRITE_FAILED", f"the ledger {path} could not be written ({error}); nothing was "
                                                  "written — free space on its drive (or check the drive), then run "
                                                  "the command again")
    return None


def _sqlite_file(path: str) -> bool:
    """Whether the file at ``path`` starts with SQLite's header (a database, readable or not)."""
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _damaged(path: str, error: sqlite3.Error) -> LedgerError:
    """An SQLite file that can no longer be read (cut short, pages overwritten): LEDGER_TAMPERED, as
    ``wip verify`` says of a ledger changed outside the engine (exit 1 there)."""
    return LedgerError("LEDGER_TAMPERED", f"the ledger {path} is damaged ({error}): it is an SQLite file that can no "
                                          "longer be read as written — cut short or overwritten outside the engine; "
                                          "nothing was read — go back to a copy kept before")


def _corrupt(error: sqlite3.Error) -> bool:
    """Whether SQLite says the file's pages are not what it wrote (SQLITE_CORRUPT, SQLITE_NOTADB)."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return "malformed" in str(error).lower()


def refusal_of(path: str | Path, error: sqlite3.DatabaseError) -> LedgerError | None:
    """What to tell the user of an SQLite error met reading or writing the ledger at ``path``: a
    damaged file (LEDGER_TAMPERED), one held busy, read-only or on a full drive; None for anything
    else (a defect, or no ledger at all)."""
    if _corrupt(error) and _sqlite_file(str(path)):
        return _damaged(str(path), error)
    return _refusal(str(path), error)


def _read_only(path: str, why: str) -> LedgerError:
    return LedgerError("LEDGER_READ_ONLY", f"cannot write to the ledger {path}: {why}; nothing was written — give a "
                                           "ledger file you can write, in a folder you can write (SQLite writes a "
                                           "journal file beside the ledger while it records)")


# Files a ledger is never named like: a workbook, a close or case file, a table — given as the
# ledger by mistake (arguments swapped), a new ledger would be created under the other file's name.
NOT_A_LEDGER_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".yaml", ".yml", ".json")


def _path_refusal(path: Path, create: bool) -> LedgerError | None:
    """Why no ledger can be read (or, with ``create``, created) at ``path``, said before SQLite is
    asked — which says only "unable to open database file" for each of these: a folder given for
    the ledger, a folder that does not exist, a file of another kind named (a new ledger would take
    its name), a folder the user may not write.  None when the path is worth trying."""
    if path.is_dir():
        held = sorted(p.name for p in path.glob("*.db") if p.is_file())
        found = (f"; it holds {', '.join(held[:5])}{', …' if len(held) > 5 else ''}: give one of them" if held
                 else "")
        return LedgerError("LEDGER_UNAVAILABLE", f"{path} is a folder, not a ledger file; give the ledger file "
                                                 "itself (the .db file wip close writes, e.g. "
                                                 f"{path / 'wip-ledger.db'}){found}")
    exists = path.exists()
    folder = path.parent
    if not exists and not folder.is_dir():
        why = "does not exist" if not folder.exists() else "is a file, not a folder"
        if not create:
            return LedgerError("LEDGER_NOT_FOUND", f"no ledger at {path}: its folder {folder} {why}; check the path "
                                                   "(a close file's ledger is wip-ledger.db beside it, a close "
                                                   "workbook BOOK.xlsx's is BOOK.wip.db)")
        return LedgerError("LEDGER_UNAVAILABLE", f"cannot create a ledger at {path}: its folder {folder} {why}; "
                                                 "nothing was created — create the folder first, or give a ledger "
                                                 "in a folder that exists")
    if not exists and not create:
        return LedgerError("LEDGER_NOT_FOUND", f"no ledger at {path}; close a period first (wip close), or give the "
                                               "ledger with --ledger: `wip close FILE` keeps it beside FILE "
                                               "(wip-ledger.db), a close workbook BOOK.xlsx in BOOK.wip.db")
    new = not exists or (path.is_file() and not path.stat().st_size)  # an empty file is filled with the tables
    if create and new and path.suffix.lower() in NOT_A_LEDGER_SUFFIXES:
        return LedgerError("NOT_A_LEDGER", f"{path} ends in {path.suffix}, a name for a workbook or a data file, not "
                                           "a ledger: a ledger is a SQLite file ending .db (wip-ledger.db, or "
                                           "BOOK.wip.db beside a close workbook BOOK.xlsx) — were the file and "
                                           "--ledger swapped? Nothing was created")
    if create and not exists and not os.access(folder, os.W_OK | os.X_OK):
        return _read_only(str(path), f"its folder {folder} is read-only for you, so a new ledger cannot be created "
                                     "in it")
    return None


def canonical_json(value: Any) -> str:
    """Stable JSON text: sorted keys, no spaces, Decimals as plain strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _shared_lock(path: str, timeout: float) -> int | None:
    """A descriptor holding a shared flock, for as long as a Ledger has ``path`` open, on the folder
    the ledger file is in (its real path: a symlink to the file locks the same folder):
    ``Ledger.remove_if_unused`` takes it exclusive before it removes a new ledger a refused close
    made, so never from under another close — of any user who can open the folder.  Not on the
    ledger file itself, whose descriptor closed would drop the POSIX locks SQLite holds on it in this
    process (SQLite's "How to corrupt", 2.2); not on a file in a shared folder, which another user
    could plant.  Taken before SQLite opens the file, waiting at most ``timeout`` seconds (a removal
    holds it a moment), then LEDGER_BUSY.  None without flock (Windows) or where the folder cannot
    be opened: nothing is then removed on POSIX."""
    if not CAN_FLOCK:
        return None
    try:
        fd = os.open(os.path.dirname(os.path.realpath(path)),
                     os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    held = flock_within(fd, False, timeout)
    if not held:
        os.close(fd)
        if held is False:
            raise LedgerError("LEDGER_BUSY", f"the ledger {path} is held locked by another process (for "
                                             f"{timeout:g} s); try again in a moment")
        return None  # a file system without flock
    return fd


def _as_text(value: Any) -> Any:
    """A cell as the engine stores text: bytes (a BLOB written outside the engine) decoded."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _row_hash(row: dict) -> str:
    """The hash of a row as the engine recorded it; of a row holding a value the engine never
    stores (a cell an editor saved as bytes, a BLOB), one that matches no recorded hash: the row is
    then said to be changed outside the engine, not a traceback."""
    try:
        text = canonical_json({k: row[k] for k in _HASHED})
    except TypeError:
        return "not a hash: the row holds a value of a kind the engine never stores"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    """What ``Ledger.verification`` found: each problem as one line, and whether the hash chain and
    detail tables verify (a head given that the ledger does not hold is a problem of its own)."""

    problems: tuple[str, ...]
    chain_verifies: bool
    notes: tuple[str, ...] = ()  # what is worth knowing but no problem (events an older engine added)


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    period: str
    close_no: int
    opening_from: int | None
    recorded_at: str
    recorded_by: str
    reason: str
    engine_version: str
    inputs_sha256: str
    row_hash: str = ""  # the event's hash in the chain (with seq: the head to note outside the file)


class ClosedPeriod:
    """A close of a period, as stored: ``event``, ``inputs``, ``parameters``, ``reports``,
    ``state`` (a ``PriorState``), ``rollforward`` (its JSON data), ``journals``; and
    ``rollforward_model``, the typed roll-forward.  Each part is decoded when first used (a large
    close's reports and roll-forward take a while, and most readers need one part)."""

    def __init__(self, event: Event, row: sqlite3.Row):
        self.event = event
        self._row = {k: row[k] for k in ("period", "inputs", "parameters", "reports", "state", "rollforward",
                                         "journals")}

    def __repr__(self) -> str:
        return f"ClosedPeriod(event={self.event!r})"

    @cached_property
    def inputs(self) -> Any:
        return json.loads(self._row["inputs"])

    @cached_property
    def parameters(self) -> dict:
        return json.loads(self._row["parameters"])

    @cached_property
    def _reports_doc(self) -> Any:
        return json.loads(self._row["reports"])

    @cached_property
    def _state_doc(self) -> Any:
        return json.loads(self._row["state"])

    @cached_property
    def reports(self) -> list:
        return decode_reports(self._reports_doc)

    @cached_property
    def element_order(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """(product, stage) -> its elements in the order the close file declared them (transferred-in
        first): ``inputs`` are canonical JSON, whose sorted keys lost that order; the reports kept it."""
        return element_order(self._reports_doc)

    @cached_property
    def state(self) -> PriorState:
        return decode_state(self._row["period"], self._state_doc)

    @cached_property
    def rollforward_model(self):
        """The roll-forward as a typed ``RollForward`` (rebuilt without validation when stored compactly)."""
        stored = json.loads(self._row["rollforward"])
        rebuilt = decode_rollforward(stored, self._reports_doc, self._state_doc)
        if rebuilt is not None:
            return rebuilt
        from ..close import RollForward

        return RollForward.model_validate(stored)

    @cached_property
    def rollforward(self) -> dict:
        stored = json.loads(self._row["rollforward"])
        rebuilt = decode_rollforward_json(stored, self._reports_doc, self._state_doc)
        return stored if rebuilt is None else rebuilt

    @cached_property
    def journals(self) -> JournalBook:
        return JournalBook.model_validate_json(self._row["journals"])


class Ledger:
    def __init__(self, path: str | Path, *, create: bool = True, timeout: float | None = None,
                 ledger_option: str = "", close_ledger_option: str | None = None):
        """``timeout``: seconds to wait for another process's lock (default ``BUSY_TIMEOUT``).
        ``ledger_option``: what the commands a message suggests (``wip reopen``, ``wip verify``) need
        to reach this ledger, e.g. `` --ledger sub/wip-ledger.db`` (with its leading space); "" when
        they find it without (the command line gives it: it knows the ledger a command finds).
        ``close_ledger_option``: the same for a suggested ``wip close FILE``, which finds its ledger
        beside FILE, not in the working directory (default: ``ledger_option``)."""
        self.path = str(path)
        self.ledger_option = ledger_option
        self.close_ledger_option = ledger_option if close_ledger_option is None else close_ledger_option
        timeout = BUSY_TIMEOUT if timeout is None else timeout
        self._trusted: set[int] = set()  # event seqs whose row hash was checked (_check_row)
        if self.path != ":memory:":
            refusal = _path_refusal(Path(self.path), create)
            if refusal is not None:
                raise refusal
        # A file this connection creates is taken away again if the ledger's tables cannot be written
        # into it (a full drive): no empty file is left to be read later as 'not a ledger'.
        created = self.path != ":memory:" and not Path(self.path).exists()
        self._lock_fd = _shared_lock(self.path, timeout) if self.path != ":memory:" else None
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as e:  # the path's checks passed: rare (a name the file system refuses...)
            self._release_lock()
            raise LedgerError("LEDGER_UNAVAILABLE", f"cannot {'open or create' if create else 'open'} a ledger at "
                                                    f"{self.path}: {e}") from None
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as e:
            self._db.close()
            self._release_lock()
            refusal = _refusal(self.path, e)
            if refusal is not None and refusal.code == "LEDGER_BUSY":  # held locked by another process, not foreign
                raise refusal from None
            if refusal is not None and refusal.code == "LEDGER_READ_ONLY":
                # Even a read writes when a write was left unfinished (a close stopped, a power cut):
                # SQLite rolls it back from the journal beside the file first.  No damage.
                raise LedgerError("LEDGER_READ_ONLY", f"the ledger {self.path} holds a write left unfinished (a close "
                                                      "stopped part-way), which SQLite rolls back before anything "
                                                      "is read — and that needs write access to the file and its "
                                                      f"folder, which you do not have ({e}); run any wip command on it "
                                                      "once as a user who can write to it: the unfinished write is "
                                                      "rolled back and nothing recorded is lost") from None
            if _sqlite_file(self.path):
                raise _damaged(self.path, e) from None
            raise LedgerError("NOT_A_LEDGER", f"{self.path} is not a ledger ({e}); give the .wip.db file that "
                                              "wip close writes") from None
        if "events" in tables:
            # Before anything else is read or written: a ledger of a layout this engine does not know.
            try:
                self._check_schema_version("meta" in tables)
            except BaseException:
                self._db.close()
                self._release_lock()
                raise
        if "events" not in tables and (tables or not create):
            # Someone else's database, or an empty file a reader was pointed at: never written into.
            self._db.close()
            self._release_lock()
            raise LedgerError("NOT_A_LEDGER", f"{self.path} is not a ledger (no close was ever recorded in it); "
                                              "give the .wip.db file that wip close writes")
        if "events" not in tables:
            # A close row holds tens of megabytes of text (reports, inputs): SQLite writes it as a
            # chain of overflow pages, and 64 kB pages write it about twice as fast as the default
            # 4 kB.  Only takes effect while the file is still empty (an existing file keeps its size).
            self._db.execute("PRAGMA page_size = 65536")
            # One transaction (IF NOT EXISTS everywhere, so two processes creating it at once agree).
            try:
                self._db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + _TRIGGERS
                                       + f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');"
                                       + "COMMIT;")
            except BaseException as e:
                self._rollback()
                refusal = _refusal(self.path, e) if isinstance(e, sqlite3.Error) else None
                if refusal is not None:  # e.g. an empty file, or a folder, the user may not write
                    self._db.close()
                    self._release_lock()
                    # Not when busy: another process holds the file it created first, writing into it.
                    if created and refusal.code != "LEDGER_BUSY":
                        Path(self.path).unlink(missing_ok=True)
                    raise refusal from None
                raise

    def _check_schema_version(self, has_meta: bool) -> None:
        """Refuse a ledger whose recorded schema version is newer than this engine's
        (LEDGER_TOO_NEW), or missing or unreadable (LEDGER_VERSION_UNKNOWN): rows of a layout this
        engine does not know could be misread, and appending to them could break the chain."""
        found = None
        if has_meta:
            try:
                row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            except sqlite3.DatabaseError as e:  # a meta table of another shape: no readable version
                refusal = _refusal(self.path, e)
                if refusal is not None and refusal.code == "LEDGER_BUSY":
                    raise refusal from None
                if _corrupt(e):  # the page holding it overwritten: damage, not a layout of another program
                    raise _damaged(self.path, e) from None
                row = None
            found = None if row is None else row[0]
        supported = int(SCHEMA_VERSION)
        readable = (f"schema version {supported}" if supported == _OLDEST_READABLE
                    else f"schema versions {_OLDEST_READABLE} to {supported}")
        version = int(found) if isinstance(found, str) and found.isascii() and found.isdigit() else None
        if version is not None and version > supported:
            raise LedgerError("LEDGER_TOO_NEW",
                              f"the ledger {self.path} has schema version {version}, newer than this engine (wip "
                              f"{_engine_version()}) reads: {readable}; "
                              "nothing was read or written — use the engine version that wrote it (or a later one)")
        if version is None or version < _OLDEST_READABLE:
            shown = "no schema version" if found is None else f"the schema version {str(found)[:30]!r}"
            raise LedgerError("LEDGER_VERSION_UNKNOWN",
                              f"the ledger {self.path} records {shown}, which this engine cannot read (it reads "
                              f"{readable}); nothing was read or written — "
                              "the file was changed outside the engine or written by another program: go back to "
                              "a copy kept before, or open it with the engine version that wrote it")

    def check_writable(self) -> None:
        """Raise LedgerError LEDGER_READ_ONLY when this process may not write the ledger file or
        its folder (SQLite creates its journal there): cheap, for a command to call before the work
        whose result it would record.  Only the permissions are checked: a write can still fail."""
        if self.path == ":memory:":
            return
        file = Path(self.path)
        folder = file.parent
        if file.exists() and not os.access(file, os.W_OK):
            raise _read_only(self.path, "the file is read-only for you")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _read_only(self.path, f"its folder {folder} is read-only for you")

    def _rollback(self) -> None:
        if self._db.in_transaction:  # SQLite may already have rolled back (some I/O errors do)
            self._db.execute("ROLLBACK")

    def _refuse_write(self, error: BaseException) -> None:
        """After a failed write (rolled back): the user-facing refusal, when the cause is one."""
        if isinstance(error, sqlite3.IntegrityError):
            # The engine's rows always fit its tables: a row refused (or swallowed, its details then
            # refused) is a ledger whose tables or triggers were changed outside the engine.
            raise LedgerError("LEDGER_CHANGED",
                              f"the ledger {self.path} refused a row as the engine writes it ({error}): its tables "
                              "or triggers were changed outside the engine; nothing was written — run "
                              f"`wip verify{self.ledger_option}` to see what changed") from None
        if isinstance(error, sqlite3.Error):
            refusal = _refusal(self.path, error)
            if refusal is not None:
                raise refusal from None

    def close(self) -> None:
        self._db.close()
        self._release_lock()

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # releases the flock

    def remove_if_unused(self, was: str) -> bool:
        """Take away the ledger file this Ledger created (``was`` "absent") or filled with the
        ledger's tables (``was`` "empty": emptied again), when no other process has it open — a
        close refused in a new ledger leaves the file as it found it, but never pulls the file from
        under another close writing into it (it holds the shared lock ``_shared_lock`` takes).
        Closes the Ledger; returns whether the file was taken away (not where another process has
        it open, nor on a system without flock for an emptied file)."""
        fd = self._lock_fd
        if fd is not None:
            if not flock_within(fd, True, 0):
                self.close()
                return False
        elif CAN_FLOCK or was != "absent":  # no lock to tell that no one else has it open
            self.close()
            return False
        self._db.close()
        try:
            if was == "absent":
                Path(self.path).unlink(missing_ok=True)  # on Windows refused while another process has it open
            else:
                Path(self.path).write_bytes(b"")
            return True
        except OSError:
            return False
        finally:
            self._release_lock()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- reading -------------------------------------------------------------------------

    def events(self) -> list[Event]:
        rows = self._db.execute("SELECT * FROM events ORDER BY seq").fetchall()
        return [self._event(r) for r in rows]

    @staticmethod
    def _event(r: sqlite3.Row) -> Event:
        # A text cell an editor saved as bytes (a BLOB) is shown as the text it holds: the row's
        # hash no longer matches (``_row_hash``), which is what the readers and verify say of it.
        t = _as_text
        return Event(r["seq"], t(r["kind"]), t(r["period"]), r["close_no"], r["opening_from"], t(r["recorded_at"]),
                     t(r["recorded_by"]), t(r["reason"]), t(r["engine_version"]), t(r["inputs_sha256"]),
                     t(r["row_hash"]))

    def status(self, period: str) -> str:
        """'open' (never closed), 'closed', or 'reopened'."""
        row = self._db.execute("SELECT kind FROM events NOT INDEXED WHERE period = ? ORDER BY seq DESC LIMIT 1",
                               (period,)).fetchone()
        return "open" if row is None else ("closed" if row["kind"] == "close" else "reopened")

    def state_said(self, period: str) -> str:
        """The month's state as a message says it: "2026-09 was never closed in PATH", "2026-10 is
        reopened in PATH, not closed again since", "2026-10 is closed in PATH"."""
        status = self.status(period)
        if status == "open":
            return f"{period} was never closed in {self.path}"
        if status == "reopened":
            return f"{period} is reopened in {self.path}, not closed again since"
        return f"{period} is closed in {self.path}"

    def _current_close_row(self, period: str) -> sqlite3.Row | None:
        row = self._db.execute("SELECT * FROM events NOT INDEXED WHERE period = ? ORDER BY seq DESC LIMIT 1", (period,)).fetchone()
        if row is None or row["kind"] != "close":
            return None
        return row

    def current_close(self, period: str) -> ClosedPeriod | None:
        row = self._current_close_row(period)
        if row is None:
            # No current close: said as such only if no event was cut off the end of the ledger (the
            # period's current close may have been one of them).
            self._refuse_if_cut_short()
            return None
        return self._closed(row)

    def _refuse_if_cut_short(self) -> None:
        """Raise LEDGER_CHANGED when the head recorded names an event beyond the newest one held, or
        an event holds its period or kind as other than text (a cell an editor saved as bytes: the
        month's events would not be found, and it would look never closed or reopened)."""
        self._refuse_if_mistyped()
        head = self.head()
        seq_text = (head or "").partition(":")[0]
        if not (seq_text.isascii() and seq_text.isdigit()):
            return  # none recorded (an older ledger), or unreadable: verify says which
        newest = self._db.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        if newest is None or int(seq_text) > newest:
            raise LedgerError("LEDGER_CHANGED",
                              f"the ledger {self.path} was changed outside the engine (its newest event recorded is "
                              f"seq {seq_text}, but its events end at {'none' if newest is None else newest}: "
                              f"events were cut off the end), so it is not used; run `wip verify{self.ledger_option}`")

    def _refuse_if_mistyped(self) -> None:
        row = self._db.execute("SELECT seq FROM events NOT INDEXED WHERE typeof(period) <> 'text' OR "
                               "typeof(kind) <> 'text' LIMIT 1").fetchone()
        if row is not None:
            raise LedgerError("LEDGER_CHANGED",
                              f"the ledger {self.path} was changed outside the engine (event seq {row[0]} holds its "
                              "month or kind as other than text), so it is not used; run "
                              f"`wip verify{self.ledger_option}`")

    def net_posted(self, seq: int) -> dict[str, Decimal]:
        """Account code -> debits − credits of the journal lines the ledger holds for event ``seq``
        (the detail table, as it is now: what a tie to the journals is recomputed from)."""
        net: dict[str, Decimal] = {}
        for account, debit, credit in self._db.execute("SELECT account, debit, credit FROM journal_lines WHERE seq = ?",
                                                       (seq,)):
            try:
                amount = Decimal(str(debit)) - Decimal(str(credit))
            except ArithmeticError:
                raise LedgerError("LEDGER_CHANGED",
                                  f"a journal line of event seq {seq} holds an amount that is no number "
                                  f"({str(debit)[:20]!r}, {str(credit)[:20]!r}): the ledger file was changed outside "
                                  f"the engine; run `wip verify{self.ledger_option}`") from None
            net[account] = net.get(account, Decimal(0)) + amount
        return net

    def checked_events(self) -> tuple[list[Event], dict[int, list[str]], list[str]]:
        """Every event, each checked as it is read (its own hash, its link to the event before it,
        its place in its month's close/reopen sequence) and the newest against the head: (events,
        seq -> what is wrong with that event, what is wrong with the ledger as a whole).  Each row
        is read once; the detail tables are ``verify``'s.  Raises LedgerError LEDGER_TAMPERED when
        the file itself can no longer be read (damaged)."""
        try:
            with self._snapshot():
                return self._checked_events()
        except sqlite3.DatabaseError as e:
            refusal = _refusal(self.path, e)
            if refusal is not None:
                raise refusal from None
            raise _damaged(self.path, e) from None

    def _checked_events(self) -> tuple[list[Event], dict[int, list[str]], list[str]]:
        events: list[Event] = []
        flagged: dict[int, list[str]] = {}
        months: dict[str, list[tuple[int, str, int]]] = {}
        prev, prev_seq, last = GENESIS, None, None
        for row in self._db.execute("SELECT * FROM events ORDER BY seq"):
            r = dict(row)
            events.append(self._event(row))
            said = flagged.setdefault(r["seq"], [])
            if _row_hash(r) != r["row_hash"]:
                said.append("its contents (who, when, why, figures) do not match its hash")
            if r["prev_hash"] != prev:
                before = "the start of the ledger" if prev_seq is None else f"event seq {prev_seq}"
                said.append(f"it is not chained to {before} as that is now — {before} was rewritten with its hash "
                            "recomputed, or events between them were removed or inserted")
            months.setdefault(str(_as_text(r["period"])), []).append((r["seq"], r["kind"], r["close_no"]))
            prev, prev_seq, last = r["row_hash"], r["seq"], (r["seq"], r["row_hash"])
        for month, sequence in months.items():
            out_of_order = _sequence_problem(sequence)
            if out_of_order is not None:
                seq, problem = out_of_order
                flagged[seq].append(f"{month}'s closes and reopens are out of order: {problem}")
        general, _ = self._verify_head(last)
        taken_problems, _ = self._verify_taken_in()
        return events, {seq: said for seq, said in flagged.items() if said}, general + taken_problems

    def closes(self, period: str) -> list[ClosedPeriod]:
        rows = self._db.execute("SELECT * FROM events NOT INDEXED WHERE period = ? AND kind = 'close' ORDER BY seq",
                                (period,)).fetchall()
        return [self._closed(r) for r in rows]

    def close_at(self, seq: int) -> ClosedPeriod | None:
        """The close recorded as event ``seq`` (e.g. a close's ``opening_from``), None if it is not one."""
        row = self._db.execute("SELECT * FROM events WHERE seq = ? AND kind = 'close'", (seq,)).fetchone()
        return None if row is None else self._closed(row)

    def opening_of(self, close: ClosedPeriod) -> PriorState | None:
        """The closing state ``close`` opened from (None: it was the ledger's first close)."""
        if close.event.opening_from is None:
            return None
        source = self.close_at(close.event.opening_from)
        if source is None:  # opening_from always names a close; verify() reports a ledger where it does not
            raise LedgerError("LEDGER_CHANGED", f"close seq {close.event.seq} opened from seq "
                                                f"{close.event.opening_from}, which is not a close")
        return source.state

    def close_count(self, period: str) -> int:
        """How many times ``period`` has been closed (reopened closes included)."""
        return self._db.execute("SELECT COUNT(*) FROM events NOT INDEXED WHERE period = ? AND kind = 'close'",
                                (period,)).fetchone()[0]

    def _closed(self, row: sqlite3.Row) -> ClosedPeriod:
        self._check_row(row)
        return ClosedPeriod(self._event(row), row)

    def _check_row(self, row: sqlite3.Row) -> None:
        """Refuse a close row whose contents no longer match its hash: what is read from it (an
        opening position, journals to export) would be what someone typed into the file, not what
        the engine recorded.  Each row is checked once per Ledger (a large row takes a moment)."""
        if row["seq"] in self._trusted:
            return
        if not self._trusted and self._head_moved():
            # Checked once, before the first row is used: a close appended outside the engine with
            # its hash recomputed matches its hash, but not the head recorded apart from the rows.
            raise LedgerError("LEDGER_CHANGED",
                              f"the ledger {self.path} was changed outside the engine ({_HEAD_MOVED}), so it is not "
                              f"used; run `wip verify{self.ledger_option}`")
        if _row_hash(dict(row)) != row["row_hash"]:
            raise LedgerError("LEDGER_CHANGED",
                              f"the {row['period']} {row['kind']} (event seq {row['seq']}) does not match its hash: "
                              f"the ledger file was changed outside the engine, so it is not used; run "
                              f"`wip verify{self.ledger_option}`")
        # A row changed with its own hash recomputed matches that hash: the event after it was chained
        # to the hash it had when it was appended (the newest row is held to the head, above).
        after = self._db.execute("SELECT seq, prev_hash FROM events WHERE seq > ? ORDER BY seq LIMIT 1",
                                 (row["seq"],)).fetchone()
        if after is not None and after["prev_hash"] != row["row_hash"]:
            raise LedgerError("LEDGER_CHANGED",
                              f"the {row['period']} {row['kind']} (event seq {row['seq']}) is not the row the event "
                              f"after it (seq {after['seq']}) was chained to: the ledger file was changed outside the "
                              f"engine (a row rewritten with its hash recomputed, or one removed), so it is not used; "
                              f"run `wip verify{self.ledger_option}`")
        self._trusted.add(row["seq"])

    def journal_books(self, period: str) -> list[tuple[Event, JournalBook]]:
        """Every journal book posted for the period, in posting order (closes and reversals).

        Raises LedgerError LEDGER_CHANGED, before any book is given, when a row no longer matches
        its hash, or a reversal is not the exact mirror of the close it reverses (what a journal
        or export after a close would post is then not what the engine recorded)."""
        rows = self._db.execute("SELECT * FROM events NOT INDEXED WHERE period = ? ORDER BY seq", (period,)).fetchall()
        for row in rows:
            self._check_row(row)
        self._check_sequence(period, rows)
        books = [(self._event(r), JournalBook.model_validate_json(r["journals"])) for r in rows]
        closes: dict[int, JournalBook] = {}
        for event, book in books:
            if event.kind == "close":
                closes[event.close_no] = book
            elif not _mirrors(book, closes.get(event.close_no)):
                raise LedgerError("LEDGER_CHANGED",
                                  f"the reversal of {period}'s close #{event.close_no} (event seq {event.seq}) does "
                                  "not undo that close exactly: the ledger file was changed outside the engine, so "
                                  f"it is not used; run `wip verify{self.ledger_option}`")
        return books

    def _check_sequence(self, period: str, rows: list[sqlite3.Row]) -> None:
        """Refuse a month whose events are not close #1, its reopen, close #2, … in turn, each chained
        to the event just before it in the ledger: a reopen (with its reversals) removed, or a close
        moved, would have a general ledger holding an earlier close post the month twice."""
        out_of_order = _sequence_problem([(r["seq"], r["kind"], r["close_no"]) for r in rows])
        problem = None if out_of_order is None else out_of_order[1]
        if problem is None:
            for row in rows:  # each row's predecessor in the ledger, by its hash (a removed row shows)
                before = self._db.execute("SELECT seq, row_hash FROM events WHERE seq < ? ORDER BY seq DESC LIMIT 1",
                                          (row["seq"],)).fetchone()
                if row["prev_hash"] != (GENESIS if before is None else before["row_hash"]):
                    problem = (f"event seq {row['seq']} was not chained to the event now before it "
                               f"({'none' if before is None else 'seq ' + str(before['seq'])}): an event was removed "
                               "or inserted")
                    break
        if problem is not None:
            raise LedgerError("LEDGER_CHANGED",
                              f"{period}'s closes and reopens are not as the engine records them ({problem}): the "
                              f"ledger file was changed outside the engine, so it is not used; run "
                              f"`wip verify{self.ledger_option}`")

    def periods(self) -> list[str]:
        return [_as_text(r[0])
                for r in self._db.execute("SELECT DISTINCT period FROM events NOT INDEXED ORDER BY period")]

    def last_closed_before(self, period: str) -> tuple[int, str] | None:
        """(seq, period) of the latest period before ``period`` that has any event."""
        row = self._db.execute("SELECT MAX(period) AS p FROM events NOT INDEXED WHERE period < ?", (period,)).fetchone()
        if row["p"] is None:
            return None
        cur = self._current_close_row(row["p"])
        return (cur["seq"] if cur is not None else None, row["p"])

    def stale_periods(self) -> dict[str, str]:
        """Periods whose current close opened from a close that has since been superseded by one
        leaving another closing position, or from a period that is itself stale (its closing
        position rests on the superseded one too): period -> the period whose close was superseded."""
        return {period: root for period, (_, root) in self._staleness().items()}

    def stale_sources(self) -> dict[str, tuple[str, str]]:
        """Each stale period -> (the month its current close opened from, the month whose close was
        superseded): one month when it opened from the superseded close itself."""
        return dict(self._staleness())

    def _staleness(self) -> dict[str, tuple[str, str]]:
        """``stale_periods`` with the month each stale month's current close opened from:
        period -> (that month, the month whose close was superseded); the two are one month when
        the close it opened from is itself the superseded one."""
        stale: dict[str, tuple[str, str]] = {}
        for period in self.periods():  # in order, so a stale source is known before what opened from it
            row = self._current_close_row(period)
            if row is None or row["opening_from"] is None:
                continue
            source = self._db.execute("SELECT period FROM events WHERE seq = ?", (row["opening_from"],)).fetchone()
            if source is None:  # opened from an event no longer in the file: verify() reports it
                missing = f"(event seq {row['opening_from']}, missing)"
                stale[period] = (missing, missing)
                continue
            current = self._current_close_row(source["period"])
            if current is None or (current["seq"] != row["opening_from"]
                                   and not self._same_closing_position(current, row["opening_from"])):
                stale[period] = (source["period"], source["period"])
            elif source["period"] in stale:
                stale[period] = (source["period"], stale[source["period"]][1])
        return stale

    def re_close_order(self, period: str) -> list[str]:
        """The months to close again, in this order, before ``period``'s figures rest on current
        closes ([] when they do): each month from the first one that opened from the superseded
        close up to ``period`` itself, each having opened from the one before it."""
        return _re_close_order(self._staleness(), period)

    def re_close_commands(self, month: str) -> str:
        """The commands that re-close ``month``, as they run once the placeholders are filled in: the
        reason a reopen requires, the month's own close file or workbook (FILE), this ledger."""
        return (f'`wip reopen {month}{self.ledger_option} --reason {REASON_PLACEHOLDER}`, then '
                f'`wip close FILE --period {month}{self.close_ledger_option}` '
                "(WHO AND WHY: who asked for the re-close and why; FILE: the month's close file or workbook)")

    def after_close_export_command(self, month: str, close_no: int) -> str:
        """The export a general ledger holding close #``close_no`` of ``month`` imports to reach the
        current close (the reversals and closes posted since), as it runs once the placeholders are
        filled in (FORMAT: the format that ledger imports; FOLDER: where to write it)."""
        return (f"`wip export --period {month} --after-close {close_no} --format FORMAT --out FOLDER"
                f"{self.ledger_option}` (FORMAT: gl-csv, qbo, xero, iif, intacct or beancount, as your general "
                "ledger imports; FOLDER: where to write it)")

    def needs_re_close(self, period: str) -> str | None:
        """Why ``period``'s recorded figures rest on a superseded opening (what to do about it), or
        None: said by every reader of a month's close (the command line, the Excel functions)."""
        staleness = self._staleness()
        if period not in staleness:
            return None
        source, root = staleness[period]
        order = _re_close_order(staleness, period)
        re_close = self.re_close_commands

        if self.status(root) == "reopened":
            # Not decided yet: a re-close of the same closing position leaves the later months as
            # they are, and that close says which months it moved (with the commands).  Every month
            # reopened before this one is closed again first, in order (each opens from the one before).
            reopened = [p for p in self.periods() if p < period and self.status(p) == "reopened"] or [root]
            opened = (f"a close of {root}" if len(order) == 1
                      else f"the close of {source}, which rests on a close of {root}")
            one = len(order) == 1 and len(reopened) == 1
            decides = "that close says" if one else "the re-closes from there say"
            moves = (f"it moves {root}'s closing WIP or finished goods" if one
                     else "they move the closing WIP or finished goods it rests on")
            return (f"{period}'s close opened from {opened} that is reopened now: its opening, and so its journals "
                    f"and roll-forward, may change — close {', then '.join(reopened)} again first: {decides} "
                    f"whether {period} needs closing again (only if {moves}), before {period}'s journals go to the "
                    "general ledger")
        if len(order) == 1:  # opened from the superseded close itself
            return (f"{period}'s close opened from a close of {source} that has since been reopened or replaced: its "
                    f"opening, and so its journals and roll-forward, rest on superseded figures — close {source} "
                    f"again if it is open, then re-close {period}: {re_close(period)}, before its journals go to the "
                    "general ledger")
        # Through a month that is itself flagged: that month's re-close moves this one's opening only
        # if it moves its closing WIP or finished goods (a re-close that does not clears this flag).
        return (f"{period}'s close opened from the close of {source}, which itself rests on a close of {root} that "
                f"has since been reopened or replaced: its opening, and so its journals and roll-forward, may rest on "
                f"superseded figures — close {root} again if it is open, then re-close {_in_turn(order)}, in that "
                f"order, each after the first only if the re-close before it says so (each month: "
                f"{re_close('MONTH')}), before {period}'s journals go to the general ledger")

    def _reopened_first(self, period: str) -> tuple[list[str], str]:
        """The months before ``period`` that are reopened, in order, and what to do first: close the
        first of them again — its re-close (theirs, in turn) says which later months move."""
        reopened = [p for p in self.periods() if p < period and self.status(p) == "reopened"]
        if not reopened:
            return [], ""
        return reopened, (f"close {_in_turn(reopened)} again first (`wip close FILE --period {reopened[0]}"
                          f"{self.close_ledger_option}`, FILE: {reopened[0]}'s close file or workbook): "
                          + ("that close says" if len(reopened) == 1 else "the re-closes say"))

    def _same_closing_position(self, current: sqlite3.Row, superseded_seq: int) -> bool:
        """Whether a re-close left the position the months after it opened from as it was: the same
        closing WIP and finished goods, in the same currency and accounts (a month reopened and
        closed again from the same inputs).  Both rows checked against their hashes first."""
        superseded = self._db.execute("SELECT * FROM events WHERE seq = ?", (superseded_seq,)).fetchone()
        if superseded is None:
            return False
        self._check_row(current)
        self._check_row(superseded)
        # What the next month opens from (``_opening_for``): the position, its currency and accounts;
        # not the locale, method or materiality the month was closed under, which are its own.
        opened = lambda row: {k: json.loads(row["parameters"]).get(k) for k in _OPENING_PARAMETERS}  # noqa: E731
        return current["state"] == superseded["state"] and opened(current) == opened(superseded)

    # ---- writing -------------------------------------------------------------------------

    def prior_for(self, period: str) -> tuple[PriorState | None, int | None]:
        """The opening position for closing ``period`` and the seq of the close it comes from.

        Raises LedgerError when ``period`` cannot be closed now (locked, its predecessor is
        reopened and not yet re-closed, or the ledger was visibly changed outside the engine: said
        after the row it would open from is checked, which names what was changed)."""
        self._refuse_if_mistyped()
        found = self._opening_for(period)
        self._check_appendable()
        return found

    def _opening_for(self, period: str) -> tuple[PriorState | None, int | None]:
        status = self.status(period)
        if status == "closed":
            close_no = self._db.execute("SELECT close_no FROM events NOT INDEXED WHERE period = ? ORDER BY seq DESC LIMIT 1",
                                        (period,)).fetchone()[0]
            reopened, first = self._reopened_first(period)
            if reopened:
                # Closing this month again is the step after: an earlier month's re-close decides
                # whether it moves at all (the same closing position leaves it as it is).
                raise LedgerError("PERIOD_LOCKED",
                                  f"{period} is closed (close #{close_no}) and locked, and {_in_turn(reopened)} "
                                  f"{'is' if len(reopened) == 1 else 'are'} reopened: {first} whether {period} "
                                  "needs closing again, and how")
            raise LedgerError("PERIOD_LOCKED",
                              f"{period} is closed (close #{close_no}) and locked; to change it run "
                              f"`wip reopen {period} --reason {REASON_PLACEHOLDER}{self.ledger_option}`, then close it again "
                              "(WHO AND WHY: who asked for the reopen and why)")
        earlier = self._db.execute("SELECT MAX(period) FROM events NOT INDEXED WHERE period < ?", (period,)).fetchone()[0]
        later = self._db.execute("SELECT MIN(period) FROM events NOT INDEXED WHERE period > ? AND kind = 'close'",
                                 (period,)).fetchone()[0]
        if earlier is None:
            if later is not None and status == "open":
                raise LedgerError("PERIOD_OUT_OF_SEQUENCE",
                                  f"the ledger starts at {later}; {period} comes before it and cannot be closed now")
            return None, None
        row = self._current_close_row(earlier)
        if row is None:
            raise LedgerError("PRIOR_PERIOD_OPEN",
                              f"{earlier} was reopened and is not closed again; close {earlier} before {period}: "
                              f"`wip close FILE --period {earlier}{self.close_ledger_option}` (FILE: {earlier}'s close "
                              "file or workbook)")
        staleness = self._staleness()
        if earlier in staleness:
            source, superseded = staleness[earlier]
            order = _re_close_order(staleness, earlier)
            if self.status(superseded) == "reopened":
                # Not replaced yet: its re-close decides whether the months after it move (closed
                # again from the same position they do not), and says which to re-close.
                _, first = self._reopened_first(period)
                rests = (f"a close of {superseded}" if len(order) == 1
                         else f"the close of {source}, which rests on a close of {superseded}")
                raise LedgerError("PRIOR_PERIOD_STALE",
                                  f"{earlier} opened from {rests} that is reopened now, so its closing position "
                                  f"may change; {first} whether {' and '.join(order)} "
                                  f"{'needs' if len(order) == 1 else 'need'} closing again before {period}")
            if len(order) == 1:
                raise LedgerError("PRIOR_PERIOD_STALE",
                                  f"{earlier} opened from a close of {superseded} that has since been replaced, so its "
                                  f"closing position is out of date; reopen {earlier} and close it again (and any "
                                  f"month between) before {period}")
            raise LedgerError("PRIOR_PERIOD_STALE",
                              f"{earlier} opened from the close of {source}, which rests on a close of {superseded} "
                              f"that has since been replaced, so its closing position may be out of date; re-close "
                              f"{_in_turn(order)} (reopen each and close it again, in that order; each after the first "
                              f"only if the re-close before it says so) before {period}")
        self._check_row(row)
        prior = decode_state(earlier, json.loads(row["state"]))
        # The currency and the accounts the opening position is in: a close changes neither.
        parameters = json.loads(row["parameters"])
        return replace(prior, currency=parameters.get("currency"), wip_accounts=parameters.get("wip_accounts"),
                       finished_goods_account=parameters.get("finished_goods_account")), row["seq"]

    def record_close(self, *, period: str, opening_from: int | None, inputs: Any = None, parameters: dict,
                     reports_json: str, state: Iterable[StageWip] = (), fg_layers: Iterable[FinishedGoodsLayer] = (),
                     rollforward_json: str, journals: JournalBook, engine_version: str, user: str,
                     now: dt.datetime | None = None, reason: str = "", inputs_json: str | None = None,
                     encoded_state: tuple[str, list, list] | None = None, close_no: int | None = None) -> Event:
        """Append a close in one transaction, re-checking the period's state under the write lock.

        ``inputs_json``, when given, is ``canonical_json(inputs)`` already built by the caller;
        ``encoded_state``, ``encode_state(state, fg_layers)`` likewise.  ``close_no``, when given, is
        the close number the journals' ids were made for: another run that closed (and reopened)
        the period meanwhile would otherwise leave two closes with the same journal ids."""
        inputs_text = canonical_json(inputs) if inputs_json is None else inputs_json
        if encoded_state is None:
            encoded_state = encode_state(list(state), list(fg_layers))
        state_json, wip_rows, layer_rows = encoded_state
        journals_json = journals.model_dump_json()
        staged = isinstance(wip_rows, bytes)
        if staged:  # closing_wip rows as a database image (rows_database): attached, copied in one statement
            self._db.execute("ATTACH DATABASE ':memory:' AS staging")
            try:
                self._db.deserialize(wip_rows, name="staging")
            except BaseException:
                self._db.execute("DETACH DATABASE staging")
                raise
        try:
            self._begin()
        except BaseException:
            if staged:
                self._db.execute("DETACH DATABASE staging")
            raise
        try:
            if self.status(period) == "closed":
                raise LedgerError("PERIOD_LOCKED", f"{period} was closed by another run a moment ago; nothing was written")
            _, current_source = self.prior_for(period)
            if current_source != opening_from:
                raise LedgerError("LEDGER_CHANGED",
                                  f"the ledger changed while {period} was being closed (its opening position moved); "
                                  "nothing was written — run the close again")
            expected, close_no = close_no, 1 + self.close_count(period)
            if expected is not None and expected != close_no:
                raise LedgerError("LEDGER_CHANGED",
                                  f"the ledger changed while {period} was being closed (another run closed it as "
                                  f"close #{expected}); nothing was written — run the close again")
            row = {
                "kind": "close", "period": period, "close_no": close_no, "opening_from": opening_from,
                "recorded_at": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
                "recorded_by": user, "reason": reason, "engine_version": engine_version,
                "inputs_sha256": hashlib.sha256(inputs_text.encode()).hexdigest(), "inputs": inputs_text,
                "parameters": canonical_json(parameters), "reports": reports_json, "state": state_json,
                "rollforward": rollforward_json, "journals": journals_json,
            }
            seq = self._append(row)
            # seq is the integer just assigned, not user input: bound into the statements once.
            if staged:
                self._db.execute(f"INSERT INTO closing_wip SELECT {int(seq)}, product, stage, element, units, "
                                 "completion, cost FROM staging.closing_wip ORDER BY rowid")
            else:
                self._db.executemany(f"INSERT INTO closing_wip VALUES ({int(seq)}, ?, ?, ?, ?, ?, ?)", wip_rows)
            self._db.executemany(f"INSERT INTO fg_layers VALUES ({int(seq)}, ?, ?, ?, ?, ?)", layer_rows)
            self._insert_journal_lines(seq, journals)
            _fault_injection_pause()
            self._db.execute("COMMIT")
        except BaseException as e:
            self._rollback()
            self._refuse_write(e)
            raise
        finally:
            if staged:
                self._db.execute("DETACH DATABASE staging")
        return self._event(self._db.execute("SELECT * FROM events WHERE seq = ?", (seq,)).fetchone())

    def record_reopen(self, period: str, *, reason: str, user: str, reversals_for, engine_version: str,
                      now: dt.datetime | None = None) -> Event:
        """Append a reopen; ``reversals_for(book, close_no)`` gives the reversing journals."""
        if not reason.strip():
            raise LedgerError("REASON_REQUIRED", "reopening a closed period needs --reason: who asked and why")
        self._begin()
        try:
            row = self._current_close_row(period)
            if row is None:
                # A close cut off the end of the ledger would leave the month looking reopened (or
                # never closed): said as the ledger changed, as the readers and the close say it.
                self._refuse_if_cut_short()
                status = self.status(period)
                state = (f"was never closed in {self.path}" if status == "open" else
                         "is reopened and not closed again since")
                raise LedgerError("NOT_CLOSED", f"{period} {state}; only a closed period can be reopened")
            # Its journals are reversed and its close number and opening copied: never from a row
            # changed outside the engine (the reversal would be chained in as if legitimate).
            self._check_row(row)
            self._check_appendable()
            book = JournalBook.model_validate_json(row["journals"])
            reversal = reversals_for(book, row["close_no"])
            if not _mirrors(reversal, book):  # what verify and journal_books would call the ledger changed
                raise ValueError(f"reversals_for gave journals that do not undo {period}'s close #{row['close_no']} "
                                 "exactly (a journal REV-<id> for each of its journals, in order, the same accounts "
                                 "and amounts with debits and credits swapped: reversal_book); nothing was written")
            new = {
                "kind": "reopen", "period": period, "close_no": row["close_no"], "opening_from": row["opening_from"],
                "recorded_at": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
                "recorded_by": user, "reason": reason, "engine_version": engine_version,
                "inputs_sha256": row["inputs_sha256"], "inputs": "null", "parameters": "{}", "reports": "[]",
                "state": "{}", "rollforward": "{}", "journals": reversal.model_dump_json(),
            }
            seq = self._append(new)
            self._insert_journal_lines(seq, reversal)
            self._db.execute("COMMIT")
        except BaseException as e:
            self._rollback()
            self._refuse_write(e)
            raise
        return self._event(self._db.execute("SELECT * FROM events WHERE seq = ?", (seq,)).fetchone())

    def snapshot(self):
        """Reads that must see one state of the ledger (``_snapshot``), for a command that reads
        several things and prints them together (`wip verify`'s count and head, `wip history`)."""
        return self._snapshot()

    @contextlib.contextmanager
    def _snapshot(self):
        """Reads that must see one state of the file — the rows and the head recorded apart from
        them — in one read transaction: a close or reopen committed between the two made the head
        newer than the rows just read, and `wip history` or `wip verify` said events were removed.
        A write waits for it to end (up to the busy timeout), as reads wait for a write."""
        if self._db.in_transaction:  # inside a write: it sees one state already
            yield
            return
        self._db.execute("BEGIN")  # deferred: the first read takes the shared lock, held to COMMIT
        try:
            yield
        finally:
            if self._db.in_transaction:
                self._db.execute("COMMIT")

    def _begin(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            refusal = _refusal(self.path, e)
            if refusal is not None and refusal.code == "LEDGER_READ_ONLY":
                raise refusal from None
            raise LedgerError("LEDGER_BUSY", f"the ledger {self.path} is busy with another close ({e}); "
                                             "nothing was written — try again") from None

    def _append(self, row: dict) -> int:
        last = self._db.execute("SELECT seq, row_hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        row["seq"] = 1 if last is None else last["seq"] + 1
        row["prev_hash"] = GENESIS if last is None else last["row_hash"]
        row["row_hash"] = _row_hash(row)
        head = self.head()
        if last is not None and head is not None and head != f"{last['seq']}:{last['row_hash']}":
            # Events the older engine added after the head (_check_appendable took them in): the head
            # moves past them now, so which they were is kept, for verify to keep saying.
            after = self._after_head(head)
            if isinstance(after, tuple):
                self._keep_taken_in(range(after[0], after[1] + 1))
        columns = _HASHED + ["row_hash"]
        self._db.execute(f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                         [row[c] for c in columns])
        # The chain's head, kept apart from the rows: a hash chain alone cannot show that its newest
        # rows were cut off, so verify() also compares the last row with the recorded head.
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('head', ?)", (f"{row['seq']}:{row['row_hash']}",))
        return row["seq"]

    def _check_appendable(self) -> None:
        """Refuse to append to a ledger visibly changed outside the engine: its append-only
        triggers removed, or its newest event not the one recorded as the head when it was appended
        (events cut off the end, added, or replaced).  Cheap (no row is hashed): a full check of
        every row is ``verify``'s, too slow for every close of a large ledger."""
        problems = self._schema_problems()
        if self._head_moved():
            problems.append(_HEAD_MOVED)
        else:
            # The newest row against its own hash (the head holds its hash as appended, not what it
            # holds now): one row, most often the close just opened from, already checked.
            newest = self._db.execute("SELECT seq FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            if newest is not None and newest["seq"] not in self._trusted:
                row = self._db.execute("SELECT * FROM events WHERE seq = ?", (newest["seq"],)).fetchone()
                if _row_hash(dict(row)) != row["row_hash"]:
                    problems.append(f"its newest event, seq {row['seq']} ({row['kind']} "
                                    f"{str(row['period'])[:20]}), does not match its hash")
                else:
                    self._trusted.add(row["seq"])
        if problems:
            raise LedgerError("LEDGER_CHANGED",
                              f"the ledger {self.path} was changed outside the engine ({'; '.join(problems)}), so "
                              f"nothing is recorded in it; run `wip verify{self.ledger_option}` to see what changed")

    def _schema_problems(self) -> list[str]:
        """How the file's tables, indexes and triggers differ from those the engine creates, one phrase
        each ("its append-only triggers … were removed"): a trigger that does nothing under the name of
        one that refuses changes, a trigger added (copying or swallowing rows as they are written), a
        column or an index added or dropped.  Cheap (sqlite_master only)."""
        expected = _expected_schema()
        found = {}
        for kind, name, table, sql in self._db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"):
            if kind == "table" and str(name).startswith("sqlite_"):
                continue  # SQLite's own (sqlite_sequence, sqlite_stat1): no rows of the ledger
            found[(kind, name)] = (table, _normal_sql(sql))
        problems = []
        missing = [name for (kind, name) in expected if (kind, name) not in found]
        removed_triggers = [n for n in missing if (("trigger", n) in expected)]
        if removed_triggers:
            problems.append(f"its append-only triggers {', '.join(sorted(removed_triggers))} were removed")
        others = sorted(n for n in missing if n not in removed_triggers)
        if others:
            problems.append(f"its {', '.join(others)} {'was' if len(others) == 1 else 'were'} removed")
        altered = sorted(f"{kind} {name}" for (kind, name), was in expected.items()
                         if (kind, name) in found and found[(kind, name)] != was)
        if altered:
            problems.append(f"its {', '.join(altered)} {'is' if len(altered) == 1 else 'are'} not as the engine "
                            "creates it")
        added = sorted(f"{kind} {str(name)[:40]}" for (kind, name) in found if (kind, name) not in expected)
        if added:
            problems.append(f"{', '.join(added)} {'was' if len(added) == 1 else 'were'} added to it (the engine "
                            "creates none)")
        return problems

    def _head_moved(self) -> bool:
        """Whether the newest event is not the one recorded as the head when it was appended, and
        the events after the head are not what wip 0.1.0 appends (``_after_head``).  Cheap when the
        head is the newest event (no row is hashed)."""
        head = self.head()
        if head is None:  # a ledger wip 0.1.0 wrote from its first event has none until its next event
            # ...but one a later engine wrote has had one since its first event: removed with
            # events from the end, perhaps (``_verify_head`` says the same).
            return self._db.execute("SELECT 1 FROM events WHERE engine_version != ? LIMIT 1",
                                    (_HEADLESS_ENGINE,)).fetchone() is not None
        last = self._db.execute("SELECT seq, row_hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        newest = None if last is None else f"{last['seq']}:{last['row_hash']}"
        return head != newest and isinstance(self._after_head(head), str)

    def head(self) -> str | None:
        """'seq:row_hash' of the newest event as recorded when it was appended."""
        found = self._db.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()
        return None if found is None else found[0]

    def _after_head(self, head: str) -> tuple[int, int] | str:
        """(first, last) seq of the events recorded after the recorded ``head`` when they are what
        wip 0.1.0 from before heads were recorded appends: the head's event still has its hash, each
        event after it names the one before as its prev_hash, matches its own hash, was recorded by
        engine 0.1.0 and no earlier than the head's event.  Else why they are not, as a phrase for
        ``_verify_head``'s problem ("… and <why> — events were added outside the engine").

        That engine appends without moving the head: a ledger closed or reopened by it after a newer
        engine has its head behind its newest event, and stays usable (the next close or reopen
        records the head again, and ``_append`` keeps which events were so taken in).  Any other
        event after the head — another engine version's (every later one notes the head), one dated
        before the head's event, one that does not chain from it — is a ledger changed outside the
        engine: someone who recomputed the hashes but did not move the head."""
        seq_text, _, digest = head.partition(":")
        if not (seq_text.isascii() and seq_text.isdigit()):
            return "the head is unreadable"
        seq = int(seq_text)
        at = self._db.execute("SELECT row_hash, recorded_at FROM events WHERE seq = ?", (seq,)).fetchone()
        if at is None or at["row_hash"] != digest:
            return f"the head's event seq {seq} is not in the ledger with the hash recorded for it"
        since = _moment(at["recorded_at"])
        prev, first, last = digest, None, None
        for row in self._db.execute("SELECT * FROM events WHERE seq > ? ORDER BY seq", (seq,)):
            if row["prev_hash"] != prev or (row["seq"] not in self._trusted
                                            and _row_hash(dict(row)) != row["row_hash"]):
                return "do not carry on the chain from it"
            self._trusted.add(row["seq"])  # its hash was just checked (_check_row)
            if row["engine_version"] != _HEADLESS_ENGINE:
                return (f"event seq {row['seq']} names engine {str(row['engine_version'])[:20]!r}, which notes the "
                        f"head when it appends (only wip {_HEADLESS_ENGINE} from before heads were noted does not)")
            when = _moment(row["recorded_at"])
            if since is None or when is None:
                unreadable = at["recorded_at"] if since is None else row["recorded_at"]
                return (f"event seq {seq if since is None else row['seq']} has no readable time recorded "
                        f"({str(unreadable)[:40]!r})")
            if when < since:
                return (f"event seq {row['seq']} is dated {row['recorded_at']}, before the head's event seq {seq} "
                        f"({at['recorded_at']})")
            prev, last = row["row_hash"], row["seq"]
            first = last if first is None else first
        return "no events follow it" if first is None else (first, last)

    def _taken_in(self) -> list[int] | None:
        """The seqs of events taken in as wip 0.1.0's after the head ([] for none); None when the
        record of them is unreadable (changed outside the engine)."""
        found = self._db.execute("SELECT value FROM meta WHERE key = ?", (_TAKEN_IN_KEY,)).fetchone()
        if found is None:
            return []
        try:
            seqs = json.loads(found[0])
        except (TypeError, ValueError):
            return None
        if not (isinstance(seqs, list) and all(type(s) is int for s in seqs)):
            return None
        return seqs

    def _keep_taken_in(self, seqs: Iterable[int]) -> None:
        """Add ``seqs`` to the events taken in as wip 0.1.0's (inside the append's transaction)."""
        kept = sorted(set(self._taken_in() or []) | set(seqs))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_TAKEN_IN_KEY, json.dumps(kept)))

    def _insert_journal_lines(self, seq: int, book: JournalBook) -> None:
        self._db.executemany(
            "INSERT INTO journal_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(seq, j.id, i + 1, j.date.isoformat(), l.account, format(l.debit, "f"), format(l.credit, "f"), l.memo)
             for j in book.journals for i, l in enumerate(j.lines)])

    # ---- verification --------------------------------------------------------------------

    def verify(self, expected_head: str | None = None) -> list[str]:
        """Recompute the hash chain and the detail tables; each problem as one line
        (``verification`` also says whether the chain itself verifies).

        The chain shows a row changed, removed or inserted by someone who did not recompute the
        hashes.  Someone who did (the scheme is no secret) is caught only against a head recorded
        outside the file: ``expected_head`` is a ``seq:hash`` (the hash may be shortened to 8
        characters, or given alone) printed by an earlier ``wip close`` or ``wip verify``.  A head
        that differs is one problem saying what was given, what the ledger holds, and what to check
        (a head mistyped or kept for another ledger before a rewrite)."""
        return list(self.verification(expected_head).problems)

    def verification(self, expected_head: str | None = None) -> Verification:
        """``verify``'s problems, and whether the chain and detail tables verify apart from the
        head given: read once, so a failing check is not run a second time to say which failed.
        Raises LedgerError LEDGER_TAMPERED when the file itself can no longer be read (damaged)."""
        try:
            with self._snapshot():
                return self._verification(expected_head)
        except sqlite3.DatabaseError as e:
            refusal = _refusal(self.path, e)
            if refusal is not None:
                raise refusal from None
            raise _damaged(self.path, e) from None

    def _verification(self, expected_head: str | None) -> Verification:
        problems = []
        prev = GENESIS
        last = None
        hashes: dict[int, str] = {}
        closes: dict[tuple[str, int], str | None] = {}  # (period, close no) -> its journals (None: unreadable)
        months: dict[str, list[tuple[int, str, int]]] = {}
        for row in self._db.execute("SELECT * FROM events ORDER BY seq"):
            r = dict(row)
            hashes[r["seq"]] = r["row_hash"]
            months.setdefault(str(_as_text(r["period"])), []).append((r["seq"], r["kind"], r["close_no"]))
            where = f"events seq {r['seq']} ({_as_text(r['kind'])} {_as_text(r['period'])})"
            if r["prev_hash"] != prev:
                problems.append(f"{where}: prev_hash {str(r['prev_hash'])[:12]}… does not match the previous row's hash "
                                f"{prev[:12]}… — a row before it was changed, removed or inserted")
            if _row_hash(r) != r["row_hash"]:
                problems.append(f"{where}: contents do not match its hash — the row was changed outside the engine")
            if r["kind"] == "close" and hashlib.sha256(str(r["inputs"]).encode()).hexdigest() != r["inputs_sha256"]:
                problems.append(f"{where}: inputs do not match inputs_sha256")
            try:
                key = (r["period"], r["close_no"])
                if r["kind"] == "close":
                    closes[key] = None  # unreadable journals are said for this row alone
                problems += self._verify_details(r, where)
                if r["kind"] == "close":
                    closes[key] = r["journals"]  # read again only if the close is reversed
                elif (key not in closes or closes[key] is not None) and not _mirrors(
                        JournalBook.model_validate_json(r["journals"]),
                        None if key not in closes else JournalBook.model_validate_json(closes[key])):
                    problems.append(f"{where}: its reversing journals do not undo close #{r['close_no']} of "
                                    f"{r['period']} exactly — the ledger was changed outside the engine")
            except (ValueError, TypeError, KeyError) as e:  # JSON, pydantic: contents no longer readable
                problems.append(f"{where}: its recorded contents cannot be read ({type(e).__name__}) — the row was "
                                "changed outside the engine")
            prev = r["row_hash"]
            last = (r["seq"], r["row_hash"])
        for month, sequence in months.items():
            out_of_order = _sequence_problem(sequence)
            if out_of_order is not None:
                problems.append(f"{month}: its closes and reopens are not as the engine records them — "
                                f"{out_of_order[1]}")
        head_problems, notes = self._verify_head(last)
        problems += head_problems
        taken_problems, taken_notes = self._verify_taken_in()
        problems += taken_problems
        notes = taken_notes + notes
        problems += self._verify_structure()
        chain_verifies = not problems
        if expected_head is not None:
            problems += _against_anchor(expected_head, hashes, self.path, chain_verifies=chain_verifies)
        return Verification(tuple(problems), chain_verifies, tuple(notes))

    def _verify_head(self, last: tuple[int, str] | None) -> tuple[list[str], list[str]]:
        """The newest event against the head recorded apart from the rows when it was appended:
        (problems, notes).  Events after the head that carry on the chain from it (``_after_head``:
        an older engine's, which records no head) are a note, as the next close or reopen takes them."""
        head = self.head()
        if head is None:
            if last is None:
                return [], []
            # A ledger wip 0.1.0 wrote from its first event, before heads were noted: no head yet,
            # as the readers and the close take it (the next close or reopen notes one).
            later = self._db.execute("SELECT 1 FROM events WHERE engine_version != ? LIMIT 1",
                                     (_HEADLESS_ENGINE,)).fetchone()
            if later is None:
                return [], [f"head: the ledger notes no head: every event was recorded by engine {_HEADLESS_ENGINE}, "
                            f"most likely wip {_HEADLESS_ENGINE} from before heads were noted; the next close or "
                            "reopen notes one. Until then events removed from the end cannot be told: check the "
                            "ledger against a head noted outside the file (wip verify --head)"]
            return ["head: the record of the newest event is missing from the ledger — "
                    "events may have been removed from the end"], []
        seq_text, _, digest = head.partition(":")
        if not (seq_text.isascii() and seq_text.isdigit()):
            return [f"head: the record of the newest event is unreadable ({head[:30]!r})"], []
        seq = int(seq_text)
        if last is not None and (seq, digest) == last:
            return [], []
        if last is None or seq > last[0]:
            ends = f"seq {last[0]}" if last else "no events"
            return [f"head: the newest event recorded is seq {seq} ({digest[:12]}…) but the events end at {ends} — "
                    "events were removed from the end of the ledger"], []
        if seq < last[0]:
            after = self._after_head(head)
            if isinstance(after, tuple):
                first, end = after
                events = f"event seq {first} was" if first == end else f"events seq {first} to {end} were"
                return [], [f"head: {events} recorded after the head noted in the ledger (seq {seq}), chained to it "
                            f"and each matching its hash, by engine {_HEADLESS_ENGINE} — most likely wip "
                            f"{_HEADLESS_ENGINE} from before heads were noted, which does not note the head; the next "
                            "close or reopen notes it, and verify goes on naming these events; the tag proves "
                            "no engine: if no one closed or reopened a month with that engine then, they were added "
                            "outside the engine — check the ledger against a head noted outside the file (wip "
                            "verify --head) and the events in wip history"]
            return [f"head: the newest event recorded is seq {seq}, but events run to seq {last[0]} and {after} — "
                    "events were added outside the engine"], []
        return [f"head: event seq {seq} does not have the hash recorded for it ({digest[:12]}…) — it was replaced"], []

    def _verify_taken_in(self) -> tuple[list[str], list[str]]:
        """The events a close or reopen took in as wip 0.1.0's after the head (``_keep_taken_in``):
        a note naming them, for as long as the ledger lasts — a problem when the record of them is
        unreadable or names an event that is not in the ledger as that engine's."""
        seqs = self._taken_in()
        if seqs is None:
            return [f"meta: the record of the events taken in as an older engine's ({_TAKEN_IN_KEY}) is "
                    "unreadable — it was changed outside the engine"], []
        if not seqs:
            return [], []
        seqs = sorted(set(seqs))
        found = dict(self._db.execute(f"SELECT seq, engine_version FROM events WHERE seq IN "
                                      f"({', '.join('?' * len(seqs))})", seqs).fetchall())
        wrong = [s for s in seqs if found.get(s) != _HEADLESS_ENGINE]
        if wrong:
            s = wrong[0]
            what = "is not in the ledger" if s not in found else f"names engine {str(found[s])[:20]!r}"
            return [f"meta: the events taken in as wip {_HEADLESS_ENGINE}'s include seq {s}, which {what} — the "
                    "record was changed outside the engine"], []
        events, they = ((f"event seq {seqs[0]} was", "it was") if len(seqs) == 1 else
                        (f"events seq {_seq_ranges(seqs)} were", "they were"))
        return [], [f"head: {events} recorded by engine {_HEADLESS_ENGINE} after the head then noted in the ledger "
                    f"(wip {_HEADLESS_ENGINE} from before heads were noted does not note it) and taken in by the "
                    f"next close or reopen; if no one closed or reopened a month with that engine then, {they} "
                    "added outside the engine — check the ledger against a head noted outside the file (wip verify "
                    "--head)"]

    def _verify_structure(self) -> list[str]:
        """The tables, indexes and append-only triggers are the engine's (``_schema_problems``), the
        file is consistent as SQLite checks it (an index that no longer matches its table: rows the
        engine would not find, or find changed, by it), and no detail row belongs to a missing event."""
        problems = [f"schema: {p} — rows can be changed, added or swallowed without the engine"
                    for p in self._schema_problems()]
        found = [str(row[0]) for row in self._db.execute("PRAGMA integrity_check(20)")]
        if found != ["ok"]:
            problems.append(f"file: SQLite's integrity check finds {len(found)}{'+' if len(found) == 20 else ''} "
                            f"problem(s), first: {found[0]} — its pages or indexes were changed outside the engine")
        for table in ("journal_lines", "closing_wip", "fg_layers"):
            orphans = self._db.execute(f"SELECT COUNT(*), MIN(seq) FROM {table} WHERE seq NOT IN "
                                       "(SELECT seq FROM events)").fetchone()
            if orphans[0]:
                problems.append(f"{table}: {orphans[0]} rows belong to no event (first: seq {orphans[1]}) — added "
                                "outside the engine")
        return problems

    def _verify_details(self, r: dict, where: str) -> list[str]:
        problems = []
        seq = r["seq"]
        book = JournalBook.model_validate_json(r["journals"])
        expected_lines = sorted((j.id, i + 1, j.date.isoformat(), l.account, format(l.debit, "f"),
                                 format(l.credit, "f"), l.memo) for j in book.journals for i, l in enumerate(j.lines))
        stored_lines = sorted(tuple(x) for x in self._db.execute(
            "SELECT journal_id, line, date, account, debit, credit, memo FROM journal_lines WHERE seq = ?", (seq,)))
        if expected_lines != stored_lines:
            problems.append(f"{where}: journal_lines differ from the journals recorded in the row")
        for journal in book.journals:
            if journal.total_debit != journal.total_credit:
                problems.append(f"{where}: journal {journal.id} does not balance")
        if r["kind"] == "close":
            state = state_as_first_format(json.loads(r["state"]))
            expected_wip = sorted((w["product"], w["stage"], e, w["units"], w["completion"].get(e, ""), c)
                                  for w in state["wip"] for e, c in w["cost"].items())
            stored_wip = sorted(tuple(x) for x in self._db.execute(
                "SELECT product, stage, element, units, completion, cost FROM closing_wip WHERE seq = ?", (seq,)))
            if [tuple(map(str, x)) for x in expected_wip] != [tuple(map(str, x)) for x in stored_wip]:
                problems.append(f"{where}: closing_wip rows differ from the closing state recorded in the row")
            # The layer numbers too: the order in which FIFO takes each product's layers out.
            expected_fg = sorted((l["product"], i, l["period"], l["units"], l["cost"])
                                 for i, l in enumerate(state["finished_goods"]))
            stored_fg = sorted(tuple(x) for x in self._db.execute(
                "SELECT product, layer, period, units, cost FROM fg_layers WHERE seq = ?", (seq,)))
            if expected_fg != stored_fg:
                problems.append(f"{where}: fg_layers rows differ from the finished goods recorded in the row")
        return problems


_SCHEMA_OF_ENGINE: dict[tuple[str, str], tuple[str, str | None]] | None = None


def _normal_sql(sql: str | None) -> str | None:
    """A schema statement as compared: whitespace runs made one space."""
    return None if sql is None else " ".join(str(sql).split())


def _expected_schema() -> dict[tuple[str, str], tuple[str, str | None]]:
    """(type, name) -> (table, statement) of everything the engine creates in a ledger, as SQLite
    keeps it in sqlite_master (made once, in memory, from the engine's own statements)."""
    global _SCHEMA_OF_ENGINE
    if _SCHEMA_OF_ENGINE is None:
        db = sqlite3.connect(":memory:")
        try:
            db.executescript(_SCHEMA + _TRIGGERS)
            _SCHEMA_OF_ENGINE = {(kind, name): (table, _normal_sql(sql)) for kind, name, table, sql in
                                 db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")}
        finally:
            db.close()
    return _SCHEMA_OF_ENGINE


def _sequence_problem(events: list[tuple[int, str, int]]) -> tuple[int, str] | None:
    """The first event (seq, why) that breaks a month's close #1, reopen #1, close #2, … as the
    engine records them (``events``: (seq, kind, close no) in seq order); None when none does."""
    for i, (seq, kind, close_no) in enumerate(events):
        expected = ("close" if i % 2 == 0 else "reopen", i // 2 + 1)
        if (kind, close_no) != expected:
            return seq, (f"event seq {seq} is {str(kind)[:10]} #{close_no} where {expected[0]} #{expected[1]} comes: "
                         "an event was removed, inserted or renumbered")
    return None


def _re_close_order(staleness: dict[str, tuple[str, str]], period: str) -> list[str]:
    """``Ledger.re_close_order`` from ``Ledger._staleness``."""
    if period not in staleness:
        return []
    order = [period]
    source, root = staleness[period]
    while source != root and source in staleness:  # opened from a month that is itself stale
        order.insert(0, source)
        source, root = staleness[source]
    return order


# The parameters of a close that the next month's opening position carries (``_opening_for``).
_OPENING_PARAMETERS = ("currency", "wip_accounts", "finished_goods_account")


def _in_turn(months: list[str]) -> str:
    """'2026-11, then 2026-12'."""
    return ", then ".join(months)


def _mirrors(reversal: JournalBook, close: JournalBook | None) -> bool:
    """Whether ``reversal`` undoes ``close`` exactly (``reversal_book``): a journal REV-<id> for each
    of its journals, in order, with the same accounts and amounts, debits and credits swapped."""
    if close is None or len(reversal.journals) != len(close.journals):
        return False
    for undo, journal in zip(reversal.journals, close.journals):
        if undo.id != f"REV-{journal.id}" or len(undo.lines) != len(journal.lines):
            return False
        if any((u.account, u.debit, u.credit) != (l.account, l.credit, l.debit)
               for u, l in zip(undo.lines, journal.lines)):
            return False
    return True


def _against_anchor(expected: str, hashes: dict[int, str], path: str, *, chain_verifies: bool) -> list[str]:
    """An event's hash recorded elsewhere (``seq:hash`` as printed, or a prefix of at least 8
    characters of any event's hash) against the chain as it is now: [] when the ledger still holds
    that event with that hash, else one line giving what was expected, what was found and what to
    check next.  Events appended after the head was noted are no difference: the anchor is an event,
    not the end of the ledger."""
    seq_text, _, digest = expected.strip().rpartition(":")
    digest = digest.lower()
    if len(digest) < 8:
        return [f"--head: give the hash as printed (seq:hash, or at least 8 characters of it), not {expected!r}"]
    if seq_text and not seq_text.isdigit():
        return [f"--head: expected seq:hash as printed, found {expected!r}"]
    shown = digest[:16] + ("…" if len(digest) > 16 else "")
    if seq_text:
        seq = int(seq_text)
        if hashes.get(seq, "").startswith(digest):
            return []
        given = f"event {seq} with hash {shown}"
        found, changed = ((f"its event {seq} has hash {hashes[seq][:16]}…", "rewritten") if seq in hashes
                          else (f"it holds no event {seq}", "cut short"))
    else:
        if any(h.startswith(digest) for h in hashes.values()):
            return []
        given = f"an event with hash {shown}"
        found, changed = "it holds no event with that hash", "rewritten or cut short"
    newest = max(hashes, default=None)
    holds = ("no events" if newest is None else
             f"{len(hashes)} event{'s' if len(hashes) != 1 else ''}, head {newest}:{hashes[newest][:16]}…")
    # A head that differs from a chain that verifies is most often a head mistyped or kept for
    # another ledger; only once both are ruled out is it a rewrite with the hashes recomputed.
    if chain_verifies:
        check = (f"The hash chain of {path} itself verifies: check the head against where it was kept (a digit "
                 "mistyped?) and that it was printed for this ledger; if both hold, the ledger was "
                 f"{changed} with its hashes recomputed after the head was noted — go back to a copy kept with it")
    else:
        check = (f"The hash chain of {path} does not verify either (see the other problems): rows were changed "
                 "outside the engine — check the head against where it was kept, then go back to a copy kept with it")
    return [f"--head: expected {given}, as given; found that {found} ({holds}). {check}"]


def _moment(text: Any) -> dt.datetime | None:
    """An event's recorded_at as an aware datetime (the engine writes UTC ISO 8601 with its offset);
    None when it is not one."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def _seq_ranges(seqs: list[int]) -> str:
    """'3, 5 to 7' for [3, 5, 6, 7] (sorted, distinct).

    >>> _seq_ranges([3, 5, 6, 7]), _seq_ranges([4])
    ('3, 5 to 7', '4')
    """
    runs: list[list[int]] = []
    for s in seqs:
        if runs and s == runs[-1][1] + 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    return ", ".join(str(a) if a == b else f"{a} to {b}" for a, b in runs)


def _engine_version() -> str:
    from .. import __version__

    return __version__


def _fault_injection_pause() -> None:
    """Crash tests (tests/test_close_ledger.py) hold a close open inside its transaction to kill it
    there or to race a second close against it; WIP_LEDGER_TEST_PAUSE is never set in normal use."""
    pause = os.environ.get("WIP_LEDGER_TEST_PAUSE")
    if pause:
        time.sleep(float(pause))
