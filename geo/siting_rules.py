"""Siting rules of gathering points from a file: a ward's or the city's own values.

Hai Phong's regulation on gathering points (Decision 229/2025/QĐ-UBND) is the city's; where it
or a ward sets distances, they go in a TOML file with the fields of
`gomrac.analysis.siting.SitingRules`::

    source = "Quyết định 229/2025/QĐ-UBND, Điều ..."   # where the values come from
    min_spacing_m = 80          # between two gathering points
    candidate_spacing_m = 40    # candidates along the streets

    [exclusion_m]               # distance to keep from each kind of sensitive site
    schools = 50
    kindergartens = 50
    hospitals = 50
    markets = 30
    worship = 30
    water = 20

A kind left out of ``[exclusion_m]`` keeps its default; an unknown kind, a negative or a
non-numeric distance is refused with the field named.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from gomrac.analysis.errors import ValidationError
from gomrac.analysis.siting import DEFAULT_EXCLUSION_M, SitingRules

_FIELDS = {"min_spacing_m", "candidate_spacing_m", "exclusion_m", "source"}


def load_siting_rules(path: str | Path) -> SitingRules:
    """Read siting rules from a TOML file (see the module docstring for its fields).

    Raises
    ------
    ValidationError
        The file cannot be read, or a field is unknown, not a number or negative.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read siting rules {path.name}: {exc}"
        raise ValidationError(msg) from None
    unknown = set(doc) - _FIELDS
    if unknown:
        msg = f"{path.name}: unknown field {min(unknown)!r}; fields: {sorted(_FIELDS)}"
        raise ValidationError(msg)
    exclusion = dict(DEFAULT_EXCLUSION_M)
    table = doc.get("exclusion_m", {})
    if not isinstance(table, dict):
        msg = f"{path.name}: exclusion_m must be a table of distances in metres"
        raise ValidationError(msg)
    for kind, value in table.items():
        if kind not in DEFAULT_EXCLUSION_M:
            msg = (
                f"{path.name}: exclusion_m.{kind} is not a kind of sensitive site; "
                f"kinds: {sorted(DEFAULT_EXCLUSION_M)}"
            )
            raise ValidationError(msg)
        exclusion[kind] = _metres(value, f"exclusion_m.{kind}", path)
    kwargs = {
        name: _metres(doc[name], name, path)
        for name in ("min_spacing_m", "candidate_spacing_m")
        if name in doc
    }
    return SitingRules(exclusion_m=exclusion, **kwargs)


def _metres(value: object, name: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{path.name}: {name} must be a number of metres, got {value!r}"
        raise ValidationError(msg)
    if value < 0:
        msg = f"{path.name}: {name} must not be negative, got {value}"
        raise ValidationError(msg)
    return float(value)
