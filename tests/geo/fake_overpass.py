"""A local stand-in for the Overpass API, serving an OSM XML extract to osmnx.

osmnx 2.1 talks to Overpass in two ways (``osmnx/_overpass.py``):

* ``GET <overpass_url>/status`` before each query when ``settings.overpass_rate_limit`` is on; it
  reads the fifth line of the plain-text answer, whose first word is the number of free slots;
* ``POST <overpass_url>/interpreter`` with the form field ``data`` holding the Overpass QL query,
  answered by ``{"elements": [...]}`` (``[out:json]``): nodes with ``lat``/``lon``, ways with the
  ids of their ``nodes``, both with their ``tags``.

`FakeOverpass` answers both on 127.0.0.1 with every node and way of one OSM XML file, whatever the
query asks for (osmnx truncates the graph to its polygon itself), and records each request. It
answers under any path prefix, so a test can give two clients different base URLs and see which
one was used.
"""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


def overpass_json_from_osm_xml(path: str | Path) -> dict[str, Any]:
    """The nodes and ways of an OSM XML file as an Overpass API JSON answer.

    Parameters
    ----------
    path
        An OSM XML 0.6 file. Relations are left out (a street network query returns none).

    Returns
    -------
    dict
        ``{"version": 0.6, "generator": ..., "osm3s": {...}, "elements": [...]}``.
    """
    elements: list[dict[str, Any]] = []
    for _, elem in ET.iterparse(str(path), events=("end",)):
        if elem.tag == "node":
            element: dict[str, Any] = {
                "type": "node",
                "id": int(elem.get("id")),
                "lat": float(elem.get("lat")),
                "lon": float(elem.get("lon")),
            }
        elif elem.tag == "way":
            element = {
                "type": "way",
                "id": int(elem.get("id")),
                "nodes": [int(nd.get("ref")) for nd in elem.iter("nd")],
            }
        else:
            if elem.tag == "relation":
                elem.clear()
            continue
        tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
        if tags:
            element["tags"] = tags
        elements.append(element)
        elem.clear()
    return {
        "version": 0.6,
        "generator": "tests/geo/fake_overpass.py",
        "osm3s": {
            "timestamp_osm_base": "2023-12-13T14:45:10Z",
            "copyright": "The data included in this document is from www.openstreetmap.org. "
            "The data is made available under ODbL.",
        },
        "elements": elements,
    }


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    path: str
    query: str | None  # the Overpass QL of an interpreter POST


class FakeOverpass:
    """A threaded HTTP server on 127.0.0.1 (free port) that answers like the Overpass API.

    Use it as a context manager; `url` is the API base to give to osmnx
    (``ox.settings.overpass_url``), `requests` what it received.

    Parameters
    ----------
    osm_xml
        The OSM XML file whose nodes and ways every query returns.
    """

    def __init__(self, osm_xml: str | Path) -> None:
        self._body = json.dumps(overpass_json_from_osm_xml(osm_xml)).encode()
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._server.server_address[1])

    def url(self, prefix: str = "/api") -> str:
        """The API base URL under `prefix` (osmnx appends ``/status`` and ``/interpreter``)."""
        return f"http://127.0.0.1:{self.port}{prefix}"

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    def queries(self, prefix: str = "/api") -> list[str]:
        """The Overpass QL of every interpreter POST received under `prefix`."""
        return [
            r.query
            for r in self.requests
            if r.method == "POST" and r.path == f"{prefix}/interpreter" and r.query is not None
        ]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest's output clean

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                fake._record(Request("GET", path, None))
                if not path.endswith("/status"):
                    self._send(404, b"not found\n", "text/plain")
                    return
                now = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                status = (
                    "Connected as: 2130706433\n"
                    f"Current time: {now}\n"
                    "Announced endpoint: none\n"
                    "Rate limit: 2\n"
                    "2 slots available now.\n"
                    "Currently running queries (pid, space limit, time limit, start time):\n"
                )
                self._send(200, status.encode(), "text/plain; charset=utf-8")

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                query = form.get("data", [None])[0]
                fake._record(Request("POST", path, query))
                if not path.endswith("/interpreter"):
                    self._send(404, b"not found\n", "text/plain")
                elif query is None or "[out:json]" not in query:
                    self._send(
                        400,
                        b"Error: expected an [out:json] query in the form field data\n",
                        "text/plain",
                    )
                else:
                    self._send(200, fake._body, "application/json")

        return Handler
