"""Open311 GeoReport v2 responses have the fields and types the specification lists.

The field lists below are copied from the GeoReport v2 page (http://wiki.open311.org/GeoReport_v2,
sections "GET Service List", "GET Service Definition", "POST Service Request",
"GET Service Requests", "Errors") and the Service Discovery page; ``None`` in a type tuple
marks fields the spec says "may not be returned" or shows as null in its JSON examples. The
same lists check the XML answers, whose element names are the spec's (its XML examples).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

NULLABLE_STR = (str, type(None))

DISCOVERY_FIELDS = {"changeset": str, "contact": str, "key_service": str, "endpoints": list}
DISCOVERY_ENDPOINT_FIELDS = {
    "specification": str,
    "url": str,
    "changeset": str,
    "type": str,
    "formats": list,
}
SERVICE_FIELDS = {
    "service_code": str,
    "service_name": str,
    "description": str,
    "metadata": bool,
    "type": str,
    "keywords": str,
    "group": str,
}
SERVICE_DEFINITION_FIELDS = {"service_code": str, "attributes": list}
ATTRIBUTE_FIELDS = {
    "variable": bool,
    "code": str,
    "datatype": str,
    "required": bool,
    "datatype_description": NULLABLE_STR,
    "order": int,
    "description": str,
    "values": list,
}
ATTRIBUTE_VALUE_FIELDS = {"key": str, "name": str}
POST_RESPONSE_FIELDS = {
    "service_request_id": str,
    "service_notice": NULLABLE_STR,
    "account_id": NULLABLE_STR,
}
REQUEST_FIELDS = {
    "service_request_id": str,
    "status": str,
    "status_notes": NULLABLE_STR,
    "service_name": str,
    "service_code": str,
    "description": NULLABLE_STR,
    "agency_responsible": NULLABLE_STR,
    "service_notice": NULLABLE_STR,
    "requested_datetime": str,
    "updated_datetime": str,
    "expected_datetime": NULLABLE_STR,
    "address": NULLABLE_STR,
    "address_id": NULLABLE_STR,
    "zipcode": NULLABLE_STR,
    "lat": float,
    "long": float,
    "media_url": NULLABLE_STR,
}
EXTENSION_FIELDS = {"extended_attributes"}  # documented in api/open311.py
ERROR_FIELDS = {"code": int, "description": str}

SERVICE_TYPES = {"realtime", "batch", "blackbox"}
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
STATUSES = {"open", "closed"}
PERSONAL_FIELDS = {"email", "phone", "first_name", "last_name", "device_id", "account_id"}
# W3C date-time with a mandatory offset (Z or +hh:mm), as the spec requires
W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def check_fields(obj: Any, fields: dict[str, Any], *, extra: set[str] = frozenset()) -> None:
    """Assert `obj` is a dict with exactly `fields` (plus `extra`) of the listed types."""
    assert isinstance(obj, dict), obj
    assert set(obj) - extra == set(fields), sorted(set(obj) ^ set(fields))
    for name, types in fields.items():
        assert isinstance(obj[name], types), (name, obj[name])
        if types is int:
            assert not isinstance(obj[name], bool), name


def check_datetime(value: str | None) -> None:
    """A W3C date-time with a zone offset that Python can read."""
    if value is None:
        return
    assert W3C_DATETIME.match(value), value
    assert dt.datetime.fromisoformat(value).tzinfo is not None


def check_xml_fields(
    element: ET.Element, fields: dict[str, Any], *, extra: set[str] = frozenset()
) -> None:
    """Assert `element` has one child per field in `fields` (plus `extra`), text of the type."""
    tags = [child.tag for child in element]
    assert len(tags) == len(set(tags)), tags
    assert set(tags) - extra == set(fields), sorted(set(tags) ^ set(fields))
    for name, types in fields.items():
        child = element.find(name)
        assert child is not None, name
        text = child.text
        if types is list:
            continue  # a list element: its items are checked by the caller
        assert len(child) == 0, name
        if types is bool:
            assert text in {"true", "false"}, (name, text)
        elif types is int:
            assert text is not None and re.fullmatch(r"-?\d+", text), (name, text)
        elif types is float:
            assert text is not None, name
            float(text)
        elif types is str:
            assert text, name
        # nullable text: any text, or an empty element for null


def test_discovery__spec_fields(client: Any) -> None:
    """discovery.json has every discovery field, and its endpoint points at this API."""
    body = client.get("/open311/v2/discovery.json").json()
    check_fields(body, DISCOVERY_FIELDS)
    assert len(body["endpoints"]) >= 1
    for endpoint in body["endpoints"]:
        check_fields(endpoint, DISCOVERY_ENDPOINT_FIELDS)
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["type"] in {"production", "test"}
        assert endpoint["formats"] == ["text/xml", "application/json"]
        assert endpoint["url"].endswith("/open311/v2")


def test_discovery__xml(client: Any, read_xml: Any, xml_matches_json: Any) -> None:
    """discovery.xml is <discovery> with the spec's fields and says what discovery.json says."""
    root = read_xml(client.get("/open311/v2/discovery.xml"), "discovery")
    check_xml_fields(root, DISCOVERY_FIELDS)
    endpoints = root.findall("endpoints/endpoint")
    assert len(endpoints) == len(root.find("endpoints")) >= 1
    for endpoint in endpoints:
        check_xml_fields(endpoint, DISCOVERY_ENDPOINT_FIELDS)
        assert [f.text for f in endpoint.findall("formats/format")] == [
            "text/xml",
            "application/json",
        ]
    xml_matches_json(root, client.get("/open311/v2/discovery.json").json())


def test_services__spec_fields(client: Any) -> None:
    """services.json lists the five waste services with the spec's fields and values."""
    body = client.get("/open311/v2/services.json").json()
    assert isinstance(body, list)
    for service in body:
        check_fields(service, SERVICE_FIELDS)
        assert service["type"] in SERVICE_TYPES
    assert {s["service_code"] for s in body} == {
        "household_waste",
        "construction_debris",
        "burning",
        "overflowing_point",
        "spontaneous_dump",
    }


def test_services__xml(client: Any, read_xml: Any, xml_matches_json: Any) -> None:
    """services.xml is <services> of <service> with the spec's fields, as in services.json."""
    root = read_xml(client.get("/open311/v2/services.xml"), "services")
    assert [child.tag for child in root] == ["service"] * 5
    for service in root:
        check_xml_fields(service, SERVICE_FIELDS)
        assert service.findtext("type") in SERVICE_TYPES
    xml_matches_json(root, client.get("/open311/v2/services.json").json())


def test_service_definitions__spec_fields(client: Any) -> None:
    """Every service with metadata=true has a definition whose attributes follow the spec."""
    services = client.get("/open311/v2/services.json").json()
    for service in services:
        response = client.get(f"/open311/v2/services/{service['service_code']}.json")
        assert response.status_code == 200
        body = response.json()
        check_fields(body, SERVICE_DEFINITION_FIELDS)
        assert body["service_code"] == service["service_code"]
        assert bool(body["attributes"]) == service["metadata"]
        orders = [a["order"] for a in body["attributes"]]
        assert len(set(orders)) == len(orders) and all(o >= 1 for o in orders)
        for attribute in body["attributes"]:
            check_fields(attribute, ATTRIBUTE_FIELDS)
            assert attribute["datatype"] in DATATYPES
            for value in attribute["values"]:
                check_fields(value, ATTRIBUTE_VALUE_FIELDS)
    size = client.get("/open311/v2/services/spontaneous_dump.json").json()["attributes"][0]
    assert size["code"] == "size"
    assert size["datatype"] == "singlevaluelist"
    assert size["required"] is True
    assert [v["key"] for v in size["values"]] == ["bag", "handcart", "truckload"]


@pytest.mark.parametrize(
    "code",
    ["household_waste", "construction_debris", "burning", "overflowing_point", "spontaneous_dump"],
)
def test_service_definitions__xml(
    client: Any, read_xml: Any, xml_matches_json: Any, code: str
) -> None:
    """services/<code>.xml is <service_definition> with <attributes><attribute>, as in JSON."""
    root = read_xml(client.get(f"/open311/v2/services/{code}.xml"), "service_definition")
    check_xml_fields(root, SERVICE_DEFINITION_FIELDS)
    assert root.findtext("service_code") == code
    for attribute in root.find("attributes"):
        assert attribute.tag == "attribute"
        check_xml_fields(attribute, ATTRIBUTE_FIELDS)
        assert attribute.findtext("datatype") in DATATYPES
        for value in attribute.find("values"):
            assert value.tag == "value"
            check_xml_fields(value, ATTRIBUTE_VALUE_FIELDS)
    xml_matches_json(root, client.get(f"/open311/v2/services/{code}.json").json())


def test_post_and_get__spec_fields(client: Any) -> None:
    """POST answers the spec's list of one; GET list and single carry every request field."""
    posted = client.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "spontaneous_dump",
            "lat": "20.8378",
            "long": "106.6854",
            "address_string": "Ngõ 12 Tô Hiệu, Lê Chân",
            "attribute[size]": "handcart",
            "description": "Đống rác lớn đầu ngõ",
            "email": "dan@example.vn",
            "phone": "0900000000",
            "first_name": "Lan",
            "last_name": "Nguyễn",
            "device_id": "dev-1",
            "account_id": "acct-7",
        },
    )
    assert posted.status_code == 200
    answer = posted.json()
    assert isinstance(answer, list) and len(answer) == 1
    check_fields(answer[0], POST_RESPONSE_FIELDS)
    assert answer[0]["account_id"] == "acct-7"
    rid = answer[0]["service_request_id"]

    listed = client.get("/open311/v2/requests.json").json()
    single = client.get(f"/open311/v2/requests/{rid}.json").json()
    assert isinstance(single, list) and len(single) == 1
    for item in [*listed, *single]:
        check_fields(item, REQUEST_FIELDS, extra=EXTENSION_FIELDS)
        assert not PERSONAL_FIELDS & set(item)
        assert not PERSONAL_FIELDS & set(item["extended_attributes"])
        assert item["status"] in STATUSES
        for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
            check_datetime(item[name])
    item = single[0]
    assert item["service_request_id"] == rid
    assert (item["lat"], item["long"]) == pytest.approx((20.8378, 106.6854), abs=1e-9)
    assert item["address"] == "Ngõ 12 Tô Hiệu, Lê Chân"
    assert item["extended_attributes"]["attributes"] == {"size": "handcart"}
    assert item["extended_attributes"]["workflow_status"] == "received"


POSTED = {
    "service_code": "spontaneous_dump",
    "lat": "20.8378",
    "long": "106.6854",
    "address_string": "Ngõ 12 Tô Hiệu, Lê Chân",
    "attribute[size]": "handcart",
    "description": 'Đống rác <lớn> & "cháy" đầu ngõ\nsáng nay',
    "email": "dan@example.vn",
    "account_id": "acct-7",
}


def test_post_and_get__xml(client: Any, read_xml: Any, xml_matches_json: Any) -> None:
    """POST requests.xml answers <service_requests><request>; GET list and single in XML too."""
    posted = read_xml(client.post("/open311/v2/requests.xml", data=POSTED), "service_requests")
    assert [child.tag for child in posted] == ["request"]
    check_xml_fields(posted[0], POST_RESPONSE_FIELDS)
    assert posted.findtext("request/account_id") == "acct-7"
    rid = posted.findtext("request/service_request_id")
    client.post("/open311/v2/requests.xml", data={**POSTED, "lat": "20.8478"})  # a second one

    listed = client.get("/open311/v2/requests.xml")
    listed_root = read_xml(listed, "service_requests")
    single = read_xml(client.get(f"/open311/v2/requests/{rid}.xml"), "service_requests")
    assert [child.tag for child in listed_root] == ["request", "request"]
    assert [child.tag for child in single] == ["request"]
    for item in [*listed_root, *single]:
        check_xml_fields(item, REQUEST_FIELDS, extra=EXTENSION_FIELDS)
        assert not PERSONAL_FIELDS & {child.tag for child in item.iter()}
        assert item.findtext("status") in STATUSES
        for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
            check_datetime(item.findtext(name))
    item = single[0]
    assert item.findtext("service_request_id") == rid
    assert item.findtext("description") == POSTED["description"]  # escaped, read back intact
    assert item.findtext("extended_attributes/attributes/size") == "handcart"
    assert item.find("media_url").text is None  # null: an empty element
    assert float(item.findtext("lat")) == pytest.approx(20.8378, abs=1e-9)

    listed_json = client.get("/open311/v2/requests.json")
    assert listed.headers["x-total-count"] == listed_json.headers["x-total-count"] == "2"
    xml_matches_json(listed_root, listed_json.json())
    xml_matches_json(single, client.get(f"/open311/v2/requests/{rid}.json").json())


def test_post__control_characters_refused(client: Any, count_reports: Any) -> None:
    """A control character other than tab or a line break in a text field is a 400 that names
    it, and nothing is stored (PostgreSQL cannot store NUL; the others are no report's text)."""
    for text, code in (("rác\x00tràn", "U+0000"), ("rác\x0btràn", "U+000B")):
        response = client.post("/open311/v2/requests.json", data={**POSTED, "description": text})
        assert response.status_code == 400
        assert response.json() == [
            {
                "code": 400,
                "description": f"description contains the control character {code}; "
                "send plain text (tabs and line breaks are fine)",
            }
        ]
    assert count_reports() == 0


def test_get__xml_survives_control_characters(client: Any, read_xml: Any) -> None:
    """A stored description (e.g. imported) with a character XML 1.0 cannot carry still gives a
    well-formed XML answer, the character written as U+FFFD."""
    from shapely.geometry import Point

    from gomrac.geo import store
    from gomrac.geo.db import session_scope

    with session_scope(client.app.state.engine) as session:
        report = store.create_report(
            session,
            service_code="household_waste",
            point=Point(106.6854, 20.8378),
            description="rác\x0btràn\x1fra đường",
        )
        rid = str(report.id)
    assert client.get(f"/open311/v2/requests/{rid}.json").json()[0]["description"] == (
        "rác\x0btràn\x1fra đường"
    )
    single = read_xml(client.get(f"/open311/v2/requests/{rid}.xml"), "service_requests")
    assert single.findtext("request/description") == "rác\ufffdtràn\ufffdra đường"


ERROR_CASES = [
    ("get", "/open311/v2/services/no_such_service.{fmt}", 404),
    ("get", "/open311/v2/requests/999999.{fmt}", 404),
    ("get", "/open311/v2/requests/abc.{fmt}", 404),
    ("get", "/open311/v2/services.{fmt}?jurisdiction_id=hanoi.gov.vn", 404),
    ("get", "/open311/v2/requests.{fmt}?jurisdiction_id=hanoi.gov.vn", 404),
    ("get", "/open311/v2/requests.{fmt}?start_date=yesterday", 400),
    ("get", "/open311/v2/requests.{fmt}?service_code=pothole", 400),
    ("get", "/open311/v2/requests.{fmt}?page=first", 400),
    ("post", "/open311/v2/requests.{fmt}", 400),
]


@pytest.mark.parametrize(("method", "path", "status"), ERROR_CASES)
def test_errors__spec_format(client: Any, method: str, path: str, status: int) -> None:
    """Errors answer the right status with the spec's list of {code, description}."""
    response = getattr(client, method)(path.format(fmt="json"))
    assert response.status_code == status
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    check_fields(body[0], ERROR_FIELDS)
    assert body[0]["code"] == status
    assert body[0]["description"]


@pytest.mark.parametrize(("method", "path", "status"), ERROR_CASES)
def test_errors__xml(
    client: Any, read_xml: Any, xml_matches_json: Any, method: str, path: str, status: int
) -> None:
    """Errors of .xml requests are <errors><error><code><description>, saying what JSON says."""
    root = read_xml(getattr(client, method)(path.format(fmt="xml")), "errors", status=status)
    assert [child.tag for child in root] == ["error"]
    check_xml_fields(root[0], ERROR_FIELDS)
    assert root.findtext("error/code") == str(status)
    xml_matches_json(root, getattr(client, method)(path.format(fmt="json")).json())


def test_errors__unsupported_format(client: Any) -> None:
    """A format other than xml and json is a 400 that names both."""
    response = client.get("/open311/v2/services.csv")
    assert response.status_code == 400
    assert response.json() == [
        {"code": 400, "description": "format 'csv' is not supported; use .xml or .json"}
    ]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/open311/v2/no_such_endpoint.xml", 404),
        ("delete", "/open311/v2/services.xml", 405),
        ("post", "/open311/v2/requests.xml", 413),
    ],
)
def test_errors__xml_before_the_endpoint(
    client: Any, read_xml: Any, method: str, path: str, status: int
) -> None:
    """Errors raised before an endpoint runs (no route, wrong method, body too large) are XML
    for .xml too, with the same status and message as the .json request gets."""
    kwargs = {"content": b"x" * (9 * 1024 * 1024)} if status == 413 else {}
    root = read_xml(getattr(client, method)(path, **kwargs), "errors", status=status)
    assert root.findtext("error/code") == str(status)
    as_json = getattr(client, method)(path.replace(".xml", ".json"), **kwargs)
    assert as_json.status_code == status
    assert root.findtext("error/description") == as_json.json()[0]["description"]
