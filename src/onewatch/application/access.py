"""Who may read or write an item of a service: the rules every front door applies alike.

A foreign item looks absent (404) so that a token cannot learn other services' keys; creating
in a foreign service is refused outright (403), since the caller named it.
"""

from __future__ import annotations

from typing import Any

from onewatch.errors import Forbidden, NotFound, ValidationFailed
from onewatch.security.tokens import Principal


def require_service_access(principal: Principal, service: str) -> None:
    """Reading or changing an item of ``service``: a foreign one looks like it is absent."""
    if not principal.may_act_for(service):
        raise NotFound("not found")


def require_service_write(principal: Principal, service: str) -> None:
    """Creating in ``service``: refused outright when it is not the caller's."""
    if not principal.may_act_for(service):
        raise Forbidden(f"this token may not act for service {service!r}", field="service")


def service_of_new_item(principal: Principal, declared: str | None) -> str:
    """A body's ``service``: the token's own when omitted; a foreign one is 403."""
    service = declared or principal.service
    require_service_write(principal, service)
    return service


def document_for_path(
    body: dict[str, Any], principal: Principal, service: str, key: str
) -> dict[str, Any]:
    """A PUT body addressed by the URL: the URL's service and key, the body's must match."""
    require_service_write(principal, service)
    for name, expected in (("service", service), ("key", key)):
        given = body.get(name)
        if given is not None and given != expected:
            raise ValidationFailed(f"is {given!r} but the URL says {expected!r}", field=name)
    return {**body, "service": service, "key": key}
