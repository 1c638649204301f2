"""Onewatch: one scheduler service that calls every other service at the right time.

The package root exports only the stable entry points that tools and tests rely on.
"""

from onewatch.domain.schedule import InvalidPattern, next_occurrence

__all__ = ["InvalidPattern", "__version__", "next_occurrence"]

__version__ = "0.1.0"
