"""Open311 answer formats: JSON, and XML with the GeoReport v2 element names.

XML is ``text/xml; charset=utf-8`` with the spec's element names (``<discovery>``,
``<services><service>``, ``<service_definition>``, ``<service_requests><request>``,
``<errors><error>``); JSON is ``application/json``. In XML a null is an empty element, a
boolean ``true``/``false``, and a control character XML 1.0 cannot carry is written as U+FFFD.
"""

from __future__ import annotations

import enum
import re
import xml.etree.ElementTree as ET
from typing import Any, Final

from fastapi.responses import JSONResponse, Response

XML_MEDIA_TYPE: Final = "text/xml; charset=utf-8"  # the spec's "Format Support"
JSON_MEDIA_TYPE: Final = "application/json"


class Format(enum.StrEnum):
    """The two formats of every Open311 endpoint, written as the path's extension."""

    json = "json"
    xml = "xml"


FORMATS: Final = tuple(f.value for f in Format)
UNSUPPORTED_FORMAT: Final = "format {fmt!r} is not supported; use .xml or .json"

# the element of each item of a list, by the element of the list (the spec's names)
_XML_ITEM: Final = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
_XML_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# characters XML 1.0 cannot carry, not even escaped
_XML_ILLEGAL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_element(tag: str, value: Any) -> ET.Element:
    if not _XML_NAME.fullmatch(tag):
        msg = f"{tag!r} is not an XML element name"
        raise ValueError(msg)
    element = ET.Element(tag)
    if isinstance(value, dict):
        element.extend(_xml_element(str(key), item) for key, item in value.items())
    elif isinstance(value, list):
        item_tag = _XML_ITEM.get(tag, "value")
        element.extend(_xml_element(item_tag, item) for item in value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _XML_ILLEGAL.sub("\ufffd", str(value))
    return element


def to_xml(root: str, body: Any) -> bytes:
    """
    Write a JSON-like answer as the spec's XML document (the Spark convention backwards).

    A dict becomes child elements named by its keys; a list becomes repeated children named
    after the list (``services`` holds ``service``, ``service_requests`` holds ``request``,
    ``attributes`` ``attribute``, ``values`` ``value``, ``endpoints`` ``endpoint``,
    ``formats`` ``format``, ``errors`` ``error``, any other list ``value``); None is an empty
    element and a boolean ``true``/``false``. Characters XML 1.0 cannot carry become U+FFFD.

    Parameters
    ----------
    root
        Name of the root element, e.g. ``service_requests``.
    body
        The answer as it is sent in JSON.

    Returns
    -------
    bytes
        UTF-8 XML with its declaration.

    Examples
    --------
    >>> to_xml("errors", [{"code": 404, "description": "not found"}]).splitlines()[1]
    b'<errors><error><code>404</code><description>not found</description></error></errors>'
    """
    document: bytes = ET.tostring(_xml_element(root, body), encoding="UTF-8", xml_declaration=True)
    return document


def answer(fmt: Format, body: Any, *, root: str, headers: dict[str, str] | None = None) -> Response:
    """Send `body` as JSON, or as the spec's XML document under `root`."""
    if fmt is Format.xml:
        return Response(to_xml(root, body), media_type=XML_MEDIA_TYPE, headers=headers)
    return JSONResponse(body, headers=headers)


def xml_responses(schema_ref: str | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entry adding ``text/xml`` beside JSON for a 200 answer."""
    xml: dict[str, Any] = {"schema": {"type": "string"}}
    if schema_ref is not None:
        xml["schema"] = {"$ref": schema_ref}
    return {200: {"content": {XML_MEDIA_TYPE.split(";")[0]: xml}}}
