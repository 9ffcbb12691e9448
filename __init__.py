"""gomrac: plan household-waste collection for Hai Phong's wards and communes.

The checkout is the package: ``gomrac.geo`` (data in and out, the database), ``gomrac.analysis``
(pure computation) and ``gomrac.api`` (the planning layer, the command line, the web app, maps).
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
