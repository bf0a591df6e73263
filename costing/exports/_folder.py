"""A folder of a month's exports never posts a close twice, or misses one, once imported.

After a reopen and re-close, the month's own export (close #k) and the after-close files (what was
posted after close #j: its reversal, later closes and reversals) go into one folder that a system
imports whole.  ``refuse_double_count`` reads the folder as a chain before an export writes into it,
and refuses a write that would break it, or that would replace a file there with other contents
(which may have been imported already) — ``ExportError``, saying what the folder holds, what was
expected and what to do.  Used by ``costing.exports.export_journals``; nothing here writes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

from .._journal import JournalBook, PostedBook, posted_after
from ._common import ExportError

__all__ = ["refuse_double_count"]

_NUMBER = re.compile(r"-[0-9]+(?=\.[^.]+$)")  # journals-2026-10.xero-2.csv: the file's number


# --- the folder as a chain ---------------------------------------------------------------------------
#
# A folder of one format's exports of a month is read as a chain: the month's own file holds some
# close #k; each after-close-j file holds what was posted after close #j up to some point of the
# history (close #m, or a reversal); the month file is followed by after-close-k, which brings it to
# #m1, followed by after-close-m1, and so on, every after-close file once.  What the folder posts,
# imported whole, is where the chain ends.  Files are identified by their bytes alone, against the
# rendering (same format, same options) of each close, and of each span of the history, so nothing
# beside the exports needs keeping.  A "position" is an index into the history: the folder, imported
# on top of nothing, posts the sum of the history's books up to it (a close, or nothing after a
# reversal).


def _labelled(files: dict[str, bytes], period: str, after_close: int | None) -> dict[str, bytes]:
    """The journals files of an export (``accounts.beancount`` left out, it is not in the chain),
    named as the month's own or as after close #``after_close``."""
    month = f"journals-{period}"
    stem = f"{month}-after-close-{after_close}" if after_close is not None else month
    return {stem + name[len(month):]: data for name, data in files.items() if name.startswith(month + ".")}


def _shown(names) -> str:
    """A set of files as said in a message: ``journals-2026-10.xero-*.csv`` for numbered files."""
    return ", ".join(sorted({stem + _NUMBER.sub("-*", "." + kind)
                             for stem, _, kind in (name.partition(".") for name in names)}))


class _Folder:
    """The exports of one format for one month that ``out_dir`` holds: the month's own files and
    each after-close file, as {name: bytes}."""

    def __init__(self, out_dir: Path, period: str, files: dict[str, bytes]):
        month = f"journals-{period}"
        kinds = {_NUMBER.sub("-#", name[len(month):]) for name in files if name.startswith(month + ".")}
        pattern = re.compile(re.escape(month) + r"(?:-after-close-([1-9][0-9]*))?(\..+)")
        self.out_dir, self.month = out_dir, {}
        self.after: dict[int, dict[str, bytes]] = {}
        if not out_dir.is_dir():
            return
        for entry in sorted(out_dir.iterdir()):
            m = pattern.fullmatch(entry.name)
            if m and _NUMBER.sub("-#", m.group(2)) in kinds and entry.is_file():
                slot = self.after.setdefault(int(m.group(1)), {}) if m.group(1) else self.month
                slot[entry.name] = entry.read_bytes()

    def holds(self, expected: dict[str, bytes], after_close: int | None = None) -> bool:
        """Whether the month's files (or after close #N's) are ``expected``: every one there is a file of
        it with the same bytes.  A numbered set (Xero, Intacct) of which some file was deleted (never
        imported, docs/exports.md) is written again whole: no file there changes, the missing ones come
        back as they were."""
        present = self.after.get(after_close, {}) if after_close is not None else self.month
        return bool(present) and all(expected.get(name) == data for name, data in present.items())


class _History:
    """A period's posting history rendered in one format with one set of options (``render``), to
    identify files (each rendering made once)."""

    def __init__(self, history: Sequence[PostedBook], render: Callable[[JournalBook], dict[str, bytes]]):
        self.history, self._render_book = tuple(history), render
        self.period = history[0].book.period if history else ""
        self.closes = {posted.close_no: i for i, posted in enumerate(self.history) if posted.kind == "close"}
        self._rendered: dict[tuple[int | None, int], dict[str, bytes] | None] = {}

    def _render(self, after_close: int | None, end: int) -> dict[str, bytes] | None:
        """The export of close ``history[end]`` (``after_close`` None), or of what was posted after
        close #N up to and including ``history[end]``; None if it was never exportable."""
        key = (after_close, end)
        if key not in self._rendered:
            try:
                book = self.history[end].book if after_close is None else \
                    posted_after(self.history[:end + 1], after_close)
                self._rendered[key] = _labelled(self._render_book(book), book.period,
                                                after_close)
            except ValueError:  # an account renamed in between, or a book this format cannot write: never exported
                self._rendered[key] = None
        return self._rendered[key]

    def state(self, position: int) -> str:
        posted = self.history[position]
        return f"close #{posted.close_no}" if posted.kind == "close" else \
            f"nothing (close #{posted.close_no} reversed, not closed again)"

    def month(self, files: dict[str, bytes]) -> list[int]:
        """The positions of the closes whose own export is ``files``."""
        return [i for i in self.closes.values() if self._render(None, i) == files]

    def span(self, after_close: int, files: dict[str, bytes]) -> list[int]:
        """The positions p such that ``files`` is what was posted after close #N up to and including p."""
        start = self.closes.get(after_close)
        return [] if start is None else \
            [end for end in range(start + 1, len(self.history)) if self._render(after_close, end) == files]


class _Chain(NamedTuple):
    ends: tuple[int, ...]  # where the chain ends (positions), for every reading of the folder using all its files
    # One reading, using as many files as any: (None for the month file / N for after-close-N, the position it
    # brings the folder to); without a month file, the first is (None, where the first after-close file starts).
    links: tuple[tuple[int | None, int], ...]
    left: tuple[int, ...]  # after-close files that reading does not reach


def _chain(folder: _Folder, history: _History, but: int | None = None) -> _Chain:
    """Read the folder (without after-close-``but``) as a chain; raise ``ExportError`` naming what
    cannot be identified.  Without a month file, the folder follows the close of its first
    after-close file, imported elsewhere."""
    after = {n: files for n, files in folder.after.items() if n != but}
    unknown, starts = [], []
    if folder.month:
        starts = history.month(folder.month)
        if not starts:
            unknown.append(f"{_shown(folder.month)} (expected the export of one of {history.period}'s closes "
                           f"#{', #'.join(map(str, history.closes))}, found other contents)")
    elif after:
        starts = [history.closes[min(after)]] if min(after) in history.closes else []
    links = {n: history.span(n, files) for n, files in sorted(after.items())}
    unknown += [f"{_shown(after[n])} (expected what was posted for {history.period} after close #{n} up to a later "
                "close, found other contents)" for n, ends in links.items() if not ends]
    if unknown:
        raise ExportError(
            f"{folder.out_dir} holds {'; '.join(unknown)}: exported with other options, by an earlier version of "
            "wip (0.4.0 changed IIF's DOCNUM and MEMO, and gl-csv's source and beancount's header for reversals; "
            "later, gl-csv gained the close_no, reversal and reversed_journal_id columns, and a beancount file of "
            "reversals alone says wip reopen alone in its header), "
            "edited, or from another ledger, so what the folder posts when imported cannot be told. Move those files out of this folder if "
            "they are not what it is meant to import, or export into a folder of its own")
    readings: list[tuple[tuple[tuple[int | None, int], ...], frozenset[int]]] = []

    def walk(path: tuple[tuple[int | None, int], ...], used: frozenset[int]) -> None:
        posted = history.history[path[-1][1]]
        if posted.kind == "close" and posted.close_no in links and posted.close_no not in used:
            for end in links[posted.close_no]:  # several only where spans render alike (posting nothing between)
                walk(path + ((posted.close_no, end),), used | {posted.close_no})
        else:
            readings.append((path, used))

    for start in starts:
        walk(((None, start),), frozenset())
    whole = [path for path, used in readings if used == set(links)]
    path, used = max(readings, key=lambda r: len(r[1]), default=((), frozenset()))
    return _Chain(tuple(dict.fromkeys(p[-1][1] for p in whole)), path, tuple(n for n in links if n not in used))


def _told(chain: _Chain, folder: _Folder, history: _History) -> str:
    """A reading of the folder as said in a message."""
    said = []
    for n, position in chain.links:
        if n is not None:
            said.append(f"{_shown(folder.after[n])} brings it to {history.state(position)}")
        elif folder.month:
            said.append(f"{_shown(folder.month)} holds {history.state(position)}")
        else:
            said.append(f"no month file: it follows {history.state(position)}, imported elsewhere")
    return ", then ".join(said) or "nothing of this format"


def _next_step(history: _History, position: int, otherwise: str = "") -> str:
    """What to do with a folder whose chain ends at ``position``, to bring it to where the ledger is
    now: a sentence, with ", or ``otherwise``" where that is another way (not where the step is a
    folder of its own already)."""
    other = f", or {otherwise}" if otherwise else ""
    posted, last = history.history[position], history.history[-1]
    period = history.period
    if posted.kind == "reversal":  # the folder posts nothing of the month: no after-close file starts there
        if last.kind == "reversal":
            return (f"The folder posts nothing of {period}, as the ledger does now (close #{last.close_no} reversed, "
                    f"not closed again): leave it as it is; once {period} is closed again, export its journals (the "
                    "month's own file) into a folder of its own: imported after this folder, they post that close")
        return (f"Export {period}'s journals (the month's own file, close #{last.close_no}) into a folder of its own: "
                f"imported after this folder, which posts nothing of {period}, they post close #{last.close_no}")
    if position == len(history.history) - 1:
        return (f"The folder is up to date already (close #{posted.close_no} is the current close): leave it as it "
                f"is{other}")
    now = "the current close" if last.kind == "close" else history.state(len(history.history) - 1)
    return f"Export --after-close {posted.close_no} instead (it brings the folder to {now}){other}"


def _held(history: _History, files: dict[str, bytes], after_close: int | None) -> str:
    """What an export file already in the folder holds, as said in a message."""
    if after_close is None:
        found = history.month(files)
        if found:
            return f"the export of close #{history.history[found[-1]].close_no}"
    else:
        ends = history.span(after_close, files)
        if ends:
            posted, reopened = history.history[ends[-1]], f"exported while {history.period} was reopened"
            if posted.kind == "close":
                return f"what was posted after close #{after_close} up to close #{posted.close_no}"
            if posted.close_no == after_close:
                return f"the reversal of close #{after_close} alone ({reopened})"
            return (f"what was posted after close #{after_close} up to the reversal of close #{posted.close_no} "
                    f"({reopened})")
    return ("journals this export cannot identify (exported with other options, by an earlier version of wip, "
            "edited, or from another ledger)")


def _never_replaced(out_dir: Path, shown: str, held: str, wanted: str, step: str, again: str) -> ExportError:
    """The refusal to replace an export file already in the folder with other contents."""
    them = "them" if "*" in shown else "it"
    return ExportError(
        f"{out_dir} holds {shown}, {held}; expected the same bytes, to write {wanted} there again, found other "
        f"journals: an export file is never replaced with other contents, since it may have been imported already "
        f"and the new one, imported too, would post its journals a second time. {step}If {shown} was never "
        f"imported, delete {them} and export {again} again")


def refuse_double_count(out_dir: Path, render: Callable[[JournalBook], dict[str, bytes]], period: str,
                        files: dict[str, bytes], after_close: int | None, history: Sequence[PostedBook]) -> None:
    """A folder never gets a set of files that posts a close twice, or misses one, once imported.

    The month's own file may be written unchanged, or into a folder holding no export of the month in
    this format.  After-close-N (``files``: what ``history`` says was posted after close #N) may be
    written unchanged, into a folder with no export of the month in this format, or where the folder,
    read as a chain, posts close #N.  A file already there is never replaced with other contents: it
    may have been imported, and the new one would post its journals again; the refusal says what it
    holds and what to export instead."""
    folder = _Folder(out_dir, period, files)
    known = _History(history, render)
    new = _labelled(files, period, after_close)
    if after_close is None:
        if folder.holds(new) or not (folder.after or folder.month):
            return
        if not folder.after:  # the month's file alone, with other journals: it may have been imported
            held = known.month(folder.month)
            step = _next_step(known, held[-1]) + ". " if held and held[-1] != len(known.history) - 1 else ""
            raise _never_replaced(out_dir, _shown(folder.month), _held(known, folder.month, None),
                                  f"{period}'s journals", step, "the month")
        now = [known.state(i) for i in known.month(new)]
        try:
            chain = _chain(folder, known)
            stands = _told(chain, folder, known)
            step = _next_step(known, chain.links[-1][1], "export the month into another folder") \
                if chain.links and not chain.left else ""
        except ExportError:
            stands, step = "files there cannot all be identified", ""
        raise ExportError(
            f"{out_dir} holds {_shown(n for f in folder.after.values() for n in f)}, exported to follow a close of "
            f"the month ({stands}); expected {period}'s journals unchanged to write them there again, found them "
            f"changed{' (now ' + now[0] + ')' if now else ''}: beside those files they would post a close twice or "
            f"miss one when the folder is imported. {step or 'Export the month into another folder'}")
    if folder.holds(new, after_close):
        return
    if after_close not in known.closes or len(known.history) - 1 not in known.span(after_close, new):
        raise ExportError(f"the journals given are not what the history given says was posted for {period} after "
                          f"close #{after_close}: pass the period's whole history, in posting order")
    if after_close in folder.after:  # never replaced: it may have been imported (a file that follows it, said first)
        try:
            full = _chain(folder, known)
        except ExportError:
            full = _Chain((), (), ())
        at = next((i for i, (n, _) in enumerate(full.links) if n == after_close), None)
        if not full.left and at is not None and at + 1 < len(full.links):
            raise ExportError(
                f"{out_dir} holds {_shown(folder.after[full.links[at + 1][0]])}, which follows the after-close "
                f"#{after_close} file there ({_told(full, folder, known)}); expected no file to follow the one to "
                f"replace, found {len(full.links) - at - 1}: the new file, up to the current close, would post "
                f"again what they post. {_next_step(known, full.links[-1][1], 'export into another folder')}")
        ends_here = full.links and not full.left and full.links[-1][0] == after_close
        raise _never_replaced(out_dir, _shown(folder.after[after_close]),
                              _held(known, folder.after[after_close], after_close),
                              f"what was posted for {period} after close #{after_close}",
                              _next_step(known, full.links[-1][1]) + ". " if ends_here else "",
                              f"--after-close {after_close}")
    if not folder.month and not folder.after:
        return  # a folder of its own: for a system that holds close #N
    chain = _chain(folder, known, but=after_close)
    if chain.left:
        raise ExportError(
            f"{out_dir} holds {_shown(n for k in chain.left for n in folder.after[k])}, which no file there leads to "
            f"({_told(chain, folder, known)}): imported together the folder would post a close twice or miss one. "
            "Move the files that do not belong out of this folder, or export into a folder of its own")
    if known.closes[after_close] in chain.ends:
        return
    hint = _next_step(known, chain.links[-1][1], f"export into a folder of its own (for a system that holds close "
                                                 f"#{after_close})")
    raise ExportError(  # the folder posts another close than #N: behind it, beyond it, or a reversal
        f"{out_dir} posts {known.state(chain.links[-1][1])} when imported ({_told(chain, folder, known)}); expected "
        f"close #{after_close}, which the journals posted after close #{after_close} reverse: beside these files "
        f"they would post a close twice or miss one. {hint}")


