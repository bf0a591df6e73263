"""The report's note for normal spoilage from a rate counted in whole units says it was rounded
(needs the costing/_text.py and costing/cli.py change proposed with normal_from_rate)."""

from __future__ import annotations

from costing.cli import main

CASE = """currency: USD
method: weighted_average
stages:
  - name: Testing
    elements: {{labour: {{kind: labour, added: evenly}}}}
    started: {started}
    completed: {completed}
    ending_wip: {{units: 0}}
    added_costs: {{labour: 32500.00}}
    spoilage: {{spoiled: {spoiled}, normal_rate: 0.02, normal_from_rate: {counted}, inspection: 1.0}}
"""


def _notes(tmp_path, capsys, completed, spoiled, counted):
    path = tmp_path / "case.yaml"
    path.write_text(CASE.format(started=completed + spoiled, completed=completed, spoiled=spoiled, counted=counted))
    assert main(["cost", str(path)]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("  Normal spoilage ") and " units" in line]


def test_whole_units_note_says_the_figure_was_rounded(tmp_path, capsys):
    assert _notes(tmp_path, capsys, 124, 3, "whole_units") == [
        "  Normal spoilage 2 units = normal rate 2% × 124 good units passing inspection (2.48), rounded half-up to "
        "whole units: computed from the rate, not counted."]


def test_whole_units_note_when_capped(tmp_path, capsys):
    assert _notes(tmp_path, capsys, 175, 3, "whole_units") == [
        "  Normal spoilage 3 units: capped at the 3 units spoiled (normal rate 2% × 175 good units passing inspection "
        "would be 3.5 units, 4 in whole units)."]


def test_exact_note_unchanged(tmp_path, capsys):
    assert _notes(tmp_path, capsys, 124, 3, "exact") == [
        "  Normal spoilage 2.48 units = normal rate 2% × 124 good units passing inspection: computed from the rate, "
        "not counted."]
