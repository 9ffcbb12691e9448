"""The published contract: a schemathesis run against /openapi.json finds no 5xx and no
response that disagrees with the schema, and reaches successful POST and GET calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from gomrac.api.main import create_app

MAX_EXAMPLES = 30  # per operation: bounded, so the suite stays within minutes
CALLS: Counter[tuple[str, str, int]] = Counter()


@pytest.fixture
def api_schema(client: Any) -> Iterator[Any]:
    """The app's OpenAPI schema, calling the started app in process (schema migrated)."""
    yield schemathesis.openapi.from_asgi("/openapi.json", client.app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_contract__no_5xx_no_schema_mismatch(case: Any) -> None:
    """Every generated call answers a documented status and body; none is a 5xx."""
    # a point that is valid by the schema may still lie outside every ward (400): the schema
    # cannot express the ward polygons, so "accepted when valid" is not asked of POST
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500
    CALLS[(case.operation.method.upper(), case.operation.path, response.status_code)] += 1


def test_contract__fuzzer_reached_successful_calls() -> None:
    """The generated calls above included a successful POST of a report and successful GETs
    of reports, on every database they ran on."""
    if not CALLS:
        pytest.skip("runs after test_contract__no_5xx_no_schema_mismatch in the same session")
    post = CALLS[("POST", "/open311/v2/requests.{fmt}", 200)]
    get_list = CALLS[("GET", "/open311/v2/requests.{fmt}", 200)]
    get_one = CALLS[("GET", "/open311/v2/requests/{service_request_id}.{fmt}", 200)]
    assert post >= 1, CALLS
    assert get_list >= 1, CALLS
    assert get_one + get_list >= 2, CALLS


def test_contract__examples_succeed(client: Any) -> None:
    """The schema's own examples post a report and read it back (200), in both formats."""
    spec = client.get("/openapi.json").json()
    form = spec["paths"]["/open311/v2/requests.{fmt}"]["post"]["requestBody"]["content"]
    example = form["application/x-www-form-urlencoded"]["schema"]["example"]
    assert set(example) == {"service_code", "lat", "long"}
    for fmt in ("json", "xml"):
        posted = client.post(f"/open311/v2/requests.{fmt}", data=example)
        assert posted.status_code == 200, posted.text
    listed = client.get("/open311/v2/requests.json")
    assert listed.status_code == 200
    assert listed.headers["x-total-count"] == "2"
    params = spec["paths"]["/open311/v2/requests.{fmt}"]["get"]["parameters"]
    fmt = next(p for p in params if p["name"] == "fmt")
    assert fmt["schema"]["$ref"].endswith("/Format") or fmt["schema"].get("enum") == [
        "json",
        "xml",
    ]
    assert spec["components"]["schemas"]["Format"]["enum"] == ["json", "xml"]
    media = (
        form.get("multipart/form-data")
        or spec["paths"]["/open311/v2/requests.{fmt}"]["post"]["requestBody"]["content"][
            "multipart/form-data"
        ]
    )
    assert media["schema"]["properties"]["media"]["format"] == "binary"
    errors = spec["paths"]["/open311/v2/requests.{fmt}"]["post"]["responses"]
    assert {"400", "403", "404", "413", "429", "503"} <= set(errors)
    assert "422" not in errors


def test_contract__standalone_app_serves_schema(api_settings: Any) -> None:
    """The schema is valid JSON with the Open311, sign-in and staff operations."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    with TestClient(create_app(api_settings)) as client:
        paths = set(client.get("/openapi.json").json()["paths"])
    assert {
        "/open311/v2/discovery.{fmt}",
        "/open311/v2/requests.{fmt}",
        "/open311/v2/requests/{service_request_id}.{fmt}",
        "/open311/v2/tokens/{token}.{fmt}",
        "/api/auth/token",
        "/api/reports/{report_id}",
        "/api/reports/{report_id}/publication",
    } <= paths
