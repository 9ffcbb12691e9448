r"""Energy, CO₂ and cost of the kilometres a collection vehicle drives: diesel or electric.

A vehicle's energy is its kilometres times its consumption; its CO₂ is that energy times an
emission factor:

.. math::

    \text{CO}_2^{\text{diesel}} = \text{km} \cdot \frac{L}{100\,\text{km}} \cdot 2.68\,\frac{kg}{L},
    \qquad
    \text{CO}_2^{\text{electric}} = \text{km} \cdot \frac{kWh}{km} \cdot EF_{\text{grid}}

The diesel factor is the IPCC 2006 default for gas/diesel oil (74 100 kg CO₂/TJ, 43.0 TJ/Gg,
0.84 kg/L: 2.68 kg CO₂ per litre). The grid factor is Vietnam's for 2023, 0.6592 t CO₂/MWh,
announced by the Department of Climate Change (Ministry of Natural Resources and Environment);
an electric truck's CO₂ is therefore never zero while it drives. Both are tank-to-wheel and
plug-to-wheel figures (no fuel refining, no charging losses beyond `charge_efficiency`).

An electric truck's range, its usable battery over its consumption, bounds the kilometres of
one shift; it charges at the garage between shifts, which takes ``battery / (charger power ×
efficiency)`` hours from empty. Consumption, battery, charger and prices are local assumptions
to replace with the fleet's own figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gomrac.analysis.errors import ValidationError

#: kg CO₂ per litre of diesel (IPCC 2006 Guidelines, Vol. 2, Table 3.2.1 and Table 1.2).
DIESEL_KG_CO2_PER_L: Final = 2.68
#: kg CO₂ per kWh from Vietnam's grid in 2023 (Department of Climate Change, MONRE: 0.6592 t/MWh).
VN_GRID_KG_CO2_PER_KWH: Final = 0.6592


@dataclass(frozen=True)
class Diesel:
    """A diesel drivetrain (local assumptions: a 7 t compactor in stop-and-go collection)."""

    l_per_100km: float = 40.0
    kg_co2_per_l: float = DIESEL_KG_CO2_PER_L
    vnd_per_l: float = 20_000.0  # retail diesel, local assumption

    def __post_init__(self) -> None:
        _positive(l_per_100km=self.l_per_100km, kg_co2_per_l=self.kg_co2_per_l)

    @property
    def kind(self) -> str:
        """Return ``"diesel"``."""
        return "diesel"

    def energy(self, km: float) -> float:
        """Return the litres driven over `km`."""
        return km * self.l_per_100km / 100.0

    def co2_kg(self, km: float) -> float:
        """Return the kg of CO₂ emitted over `km`."""
        return self.energy(km) * self.kg_co2_per_l

    def cost_vnd(self, km: float) -> float:
        """Return the fuel cost of `km`, VND."""
        return self.energy(km) * self.vnd_per_l

    @property
    def range_km(self) -> float:
        """Return the kilometres on one tank or charge (a diesel truck refuels: unbounded)."""
        return float("inf")


@dataclass(frozen=True)
class Electric:
    """A battery-electric drivetrain (local assumptions: an electric compactor of the same size).

    Parameters
    ----------
    kwh_per_km
        Consumption at the wheels in collection duty, kWh per km.
    battery_kwh
        Usable battery.
    charge_kw
        The garage charger's power.
    charge_efficiency
        Share of the grid's energy that reaches the battery.
    grid_kg_co2_per_kwh
        Emission factor of the electricity drawn from the grid.
    vnd_per_kwh
        Price of a kWh at the garage.
    """

    kwh_per_km: float = 1.3
    battery_kwh: float = 250.0
    charge_kw: float = 60.0
    charge_efficiency: float = 0.9
    grid_kg_co2_per_kwh: float = VN_GRID_KG_CO2_PER_KWH
    vnd_per_kwh: float = 2_500.0

    def __post_init__(self) -> None:
        _positive(
            kwh_per_km=self.kwh_per_km,
            battery_kwh=self.battery_kwh,
            charge_kw=self.charge_kw,
            charge_efficiency=self.charge_efficiency,
            grid_kg_co2_per_kwh=self.grid_kg_co2_per_kwh,
        )
        if self.charge_efficiency > 1:
            msg = f"charge_efficiency must be at most 1, got {self.charge_efficiency}"
            raise ValidationError(msg)

    @property
    def kind(self) -> str:
        """Return ``"electric"``."""
        return "electric"

    def energy(self, km: float) -> float:
        """Return the kWh drawn from the grid to drive `km` (charging losses included)."""
        return km * self.kwh_per_km / self.charge_efficiency

    def co2_kg(self, km: float) -> float:
        """Return the kg of CO₂ the grid emits for `km`."""
        return self.energy(km) * self.grid_kg_co2_per_kwh

    def cost_vnd(self, km: float) -> float:
        """Return the electricity cost of `km`, VND."""
        return self.energy(km) * self.vnd_per_kwh

    @property
    def range_km(self) -> float:
        """Return the kilometres one full battery drives."""
        return self.battery_kwh / self.kwh_per_km

    @property
    def full_charge_h(self) -> float:
        """Return the hours to charge an empty battery at the garage."""
        return self.battery_kwh / (self.charge_kw * self.charge_efficiency)

    def check_recharge(self, *, shift_h: float) -> None:
        """Raise when a truck cannot recharge between two shifts of `shift_h` hours.

        Raises
        ------
        ValidationError
            The full charge takes longer than the time off between two daily shifts.
        """
        off_h = 24.0 - shift_h
        if self.full_charge_h > off_h:
            msg = (
                f"an electric truck needs {self.full_charge_h:.1f} h to charge "
                f"{self.battery_kwh:g} kWh at {self.charge_kw:g} kW but is off shift "
                f"{off_h:.1f} h: a larger charger or a second truck is needed"
            )
            raise ValidationError(msg)


Drivetrain = Diesel | Electric


def drivetrain_from_fields(fields: dict[str, object]) -> Drivetrain:
    """Build a drivetrain from a fleet file's fields (``energy`` = ``diesel`` or ``electric``).

    Missing fields take the documented defaults; a value that is not a positive number is
    refused with a message naming the field.

    Examples
    --------
    >>> drivetrain_from_fields({"energy": "electric", "kwh_per_km": "1.1"}).range_km
    227.27272727272725
    >>> drivetrain_from_fields({}).kind
    'diesel'
    """
    kind = str(fields.get("energy") or "diesel").strip().lower()
    names = {
        "diesel": ("l_per_100km", "kg_co2_per_l", "vnd_per_l"),
        "electric": (
            "kwh_per_km",
            "battery_kwh",
            "charge_kw",
            "charge_efficiency",
            "grid_kg_co2_per_kwh",
            "vnd_per_kwh",
        ),
    }
    if kind not in names:
        msg = f"energy must be 'diesel' or 'electric', got {kind!r}"
        raise ValidationError(msg)
    values: dict[str, float] = {}
    for name in names[kind]:
        raw = fields.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            values[name] = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            msg = f"{name} must be a number, got {raw!r}"
            raise ValidationError(msg) from None
    return Diesel(**values) if kind == "diesel" else Electric(**values)


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            msg = f"{name} must be positive, got {value}"
            raise ValidationError(msg)
