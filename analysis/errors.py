"""Error and warning classes shared by every layer of gomrac.

They live in ``analysis`` because ``analysis`` depends on nothing; ``geo`` and ``api`` import
them from here. The API maps each class to an HTTP status in one exception handler.
"""

from __future__ import annotations


class GomracError(Exception):
    """Base class for all gomrac errors."""


class CRSError(GomracError, ValueError):
    """A GeoDataFrame has no CRS, or not the projected metric CRS an analysis needs."""


class DataNotFoundError(GomracError, FileNotFoundError):
    """An expected input file, layer or road extract is missing."""


class UnknownWardError(GomracError, LookupError):
    """A ward or commune name matches no unit of Hai Phong."""


class ValidationError(GomracError, ValueError):
    """An import file or request is malformed; the message names the row and the reason."""


class ConfigError(GomracError, ValueError):
    """A setting (a ``GOMRAC_*`` variable or a value passed to `Settings`) is invalid."""


class InfeasibleError(GomracError, RuntimeError):
    """An optimisation model has no feasible solution; the message says why."""


class ApproximateDataWarning(UserWarning):
    """A result rests on approximate data (boundary, facility position, population)."""


class SyntheticDataWarning(UserWarning):
    """A layer was generated for a demo or a test and is not observed data."""
