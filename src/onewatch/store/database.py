"""Store URLs: users write plain ones, the driver is Onewatch's business."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

from onewatch.errors import ConfigurationError

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(plain: str) -> URL:
    """Turn ``sqlite:///f.db`` or ``postgresql://...`` into the async driver's URL."""
    try:
        url = make_url(plain)
    except Exception as exc:
        raise ConfigurationError(f"not a database URL: {exc}", field="database_url") from exc
    backend = url.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ConfigurationError(
            f"unsupported database {backend!r}; use sqlite:/// or postgresql://",
            field="database_url",
        )
    if "+" in url.drivername:
        return url
    return url.set(drivername=_ASYNC_DRIVERS[backend])
