"""Energy, CO₂ and range of diesel and electric collection trucks."""

from __future__ import annotations

import pytest

from gomrac.analysis.energy import (
    DIESEL_KG_CO2_PER_L,
    VN_GRID_KG_CO2_PER_KWH,
    Diesel,
    Electric,
    drivetrain_from_fields,
)
from gomrac.analysis.errors import ValidationError


def test_diesel__litres_and_co2() -> None:
    """100 km at 40 L/100 km burn 40 L and emit 40 × 2.68 kg of CO₂."""
    d = Diesel()
    assert d.energy(100) == pytest.approx(40.0)
    assert d.co2_kg(100) == pytest.approx(40 * DIESEL_KG_CO2_PER_L)
    assert d.range_km == float("inf")


def test_electric__co2_from_the_grid_never_zero() -> None:
    """An electric truck that drives emits the grid's CO₂ for the energy it draws."""
    e = Electric(kwh_per_km=1.0, charge_efficiency=0.8)
    assert e.energy(80) == pytest.approx(100.0)  # 80 kWh at the wheels, 100 from the grid
    assert e.co2_kg(80) == pytest.approx(100 * VN_GRID_KG_CO2_PER_KWH)
    assert e.co2_kg(1) > 0
    assert e.co2_kg(100) < Diesel().co2_kg(100)


def test_electric__range_and_recharge() -> None:
    """The range is battery over consumption; a slow charger cannot refill between shifts."""
    e = Electric(kwh_per_km=1.25, battery_kwh=250, charge_kw=20, charge_efficiency=1.0)
    assert e.range_km == pytest.approx(200.0)
    assert e.full_charge_h == pytest.approx(12.5)
    e.check_recharge(shift_h=8)  # 16 h off: enough
    with pytest.raises(ValidationError, match=r"12\.5 h to charge"):
        e.check_recharge(shift_h=12)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"energy": "hydrogen"}, "energy must be 'diesel' or 'electric'"),
        ({"energy": "electric", "battery_kwh": "-5"}, "battery_kwh must be positive"),
        ({"energy": "diesel", "l_per_100km": "lots"}, "l_per_100km must be a number"),
        ({"energy": "electric", "charge_efficiency": "1.5"}, "charge_efficiency must be at most 1"),
    ],
)
def test_drivetrain_from_fields__bad_values(fields: dict[str, object], message: str) -> None:
    """A fleet file's bad energy fields are refused with the field named."""
    with pytest.raises(ValidationError, match=message):
        drivetrain_from_fields(fields)
