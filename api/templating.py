"""The package's page templates: autoescaped, strict Jinja2 environments over ``templates/``.

Every HTML file gomrac writes (schedules, residents' sheets, the map's boxes and pop-ups) is
rendered here from a template named by its path under ``api/templates``; a value the template
names but the caller did not give is an error, not an empty string.

Examples
--------
>>> print(render("maps/stop_popup.html.j2", name="Ngõ <5>", arrival="06:10", load_kg="120"))
<b>Ngõ &lt;5&gt;</b><br>Giờ đến (arrival): 06:10<br>Tải (load): 120 kg
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

import jinja2

#: The folder of the package's templates.
TEMPLATES_DIR: Final = Path(__file__).resolve().parent / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    """Return the environment of the package's templates (made once)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@functools.cache
def web_environment() -> jinja2.Environment:
    """Return the environment of the web app's pages and charts (``templates/web``, made once).

    Block tags leave no blank lines behind (``trim_blocks``, ``lstrip_blocks``).
    """
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "web"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, /, **context: object) -> str:
    """Render `template` (its path under ``api/templates``) with `context`."""
    return environment().get_template(template).render(**context)


__all__ = ["TEMPLATES_DIR", "environment", "render", "web_environment"]
