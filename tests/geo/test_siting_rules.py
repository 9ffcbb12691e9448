"""Siting rules from a ward's or the city's file."""

from __future__ import annotations

import pytest

from gomrac.analysis.errors import ValidationError
from gomrac.analysis.siting import DEFAULT_EXCLUSION_M
from gomrac.geo.siting_rules import load_siting_rules


def test_load_siting_rules__overrides_and_defaults(tmp_path) -> None:
    """Given distances replace the defaults; kinds left out keep theirs."""
    path = tmp_path / "qd229.toml"
    path.write_text("min_spacing_m = 100\n[exclusion_m]\nschools = 75\nwater = 0\n", "utf-8")
    rules = load_siting_rules(path)
    assert rules.min_spacing_m == 100
    assert rules.exclusion_m["schools"] == 75 and rules.exclusion_m["water"] == 0
    assert rules.exclusion_m["markets"] == DEFAULT_EXCLUSION_M["markets"]
    assert rules.candidate_spacing_m == 40


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[exclusion_m]\nstadiums = 50\n", r"exclusion_m\.stadiums is not a kind"),
        ("[exclusion_m]\nschools = -5\n", r"exclusion_m\.schools must not be negative"),
        ('min_spacing_m = "80 m"\n', "min_spacing_m must be a number of metres"),
        ("spacing = 80\n", "unknown field 'spacing'"),
        ("min_spacing_m = \n", "cannot read siting rules"),
    ],
)
def test_load_siting_rules__bad_files(tmp_path, text: str, message: str) -> None:
    """A bad rules file is refused with the field named."""
    path = tmp_path / "rules.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ValidationError, match=message):
        load_siting_rules(path)
