"""The Open311 service catalogue: the report types citizens can choose, read from data.

The catalogue is ``services.json`` beside this module (shipped in the package): the services
with their Vietnamese names, English descriptions, groups, keywords, notices, expected hours
to a response, and the attributes each one asks for (shared attribute definitions and value
lists are declared once and referred to by code). It is read and validated once per process
(`catalogue`); a ward that wants other services edits the file, and bumps ``changeset``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal, cast

from gomrac.analysis.errors import ConfigError

CATALOGUE_FILE: Final = "services.json"
Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
DATATYPES: Final = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


@dataclass(frozen=True)
class ServiceAttribute:
    """One attribute of a GeoReport v2 service definition."""

    code: str
    datatype: Datatype
    required: bool
    description: str
    datatype_description: str | None
    order: int
    values: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the attribute as the spec writes it."""
        return {
            "variable": True,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": self.datatype_description,
            "order": self.order,
            "description": self.description,
            "values": [{"key": k, "name": n} for k, n in self.values],
        }


@dataclass(frozen=True)
class Service:
    """A report type citizens can choose."""

    code: str
    name: str  # Vietnamese
    description: str  # English
    group: str
    keywords: str
    service_notice: str
    expected_h: float | None
    attributes: tuple[ServiceAttribute, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the service as the spec's service list writes it."""
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": self.description,
            "metadata": bool(self.attributes),
            "type": "realtime",
            "keywords": self.keywords,
            "group": self.group,
        }


@dataclass(frozen=True)
class Catalogue:
    """The services by code, and the changeset that dates the catalogue."""

    changeset: str
    services: dict[str, Service]


def _attribute(ref: dict[str, Any], definitions: dict[str, Any], lists: dict[str, Any]) -> Any:
    code = str(ref["code"])
    if code not in definitions:
        msg = f"{CATALOGUE_FILE}: attribute {code!r} is used but not defined under 'attributes'"
        raise ConfigError(msg)
    spec = definitions[code]
    datatype = str(spec["datatype"])
    if datatype not in DATATYPES:
        msg = f"{CATALOGUE_FILE}: attribute {code!r} has datatype {datatype!r}; use {DATATYPES}"
        raise ConfigError(msg)
    values = spec.get("values") or ()
    if isinstance(values, str):
        values = lists[values]
    return ServiceAttribute(
        code=code,
        datatype=cast("Datatype", datatype),
        required=bool(ref.get("required", False)),
        description=str(spec["description"]),
        datatype_description=spec.get("datatype_description"),
        order=int(spec["order"]),
        values=tuple((str(k), str(n)) for k, n in values),
    )


def catalogue_from_json(data: dict[str, Any]) -> Catalogue:
    """
    Build the catalogue from the parsed ``services.json``.

    Raises
    ------
    ConfigError
        If an attribute is used but not defined, or a datatype or service code is unknown.
    """
    definitions = data.get("attributes", {})
    lists = data.get("value_lists", {})
    services: dict[str, Service] = {}
    for item in data["services"]:
        code = str(item["code"])
        if code in services:
            msg = f"{CATALOGUE_FILE}: service {code!r} is listed twice"
            raise ConfigError(msg)
        services[code] = Service(
            code=code,
            name=str(item["name"]),
            description=str(item["description"]),
            group=str(item["group"]),
            keywords=str(item["keywords"]),
            service_notice=str(item["service_notice"]),
            expected_h=float(item["expected_h"]) if item.get("expected_h") else None,
            attributes=tuple(_attribute(a, definitions, lists) for a in item["attributes"]),
        )
    return Catalogue(changeset=str(data["changeset"]), services=services)


@cache
def catalogue() -> Catalogue:
    """Return the catalogue shipped with the package, read once.

    Examples
    --------
    >>> sorted(catalogue().services)[:2]
    ['burning', 'construction_debris']
    """
    text = resources.files(__package__).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    return catalogue_from_json(json.loads(text))
