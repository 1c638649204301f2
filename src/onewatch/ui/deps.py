"""Dependencies of the dashboard's routes: the viewer, and forms whose CSRF token holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from onewatch.api.deps import RuntimeDep
from onewatch.ui.session import CSRF_FIELD, Viewer, check_csrf, current_viewer

ViewerDep = Annotated[Viewer, Depends(current_viewer)]


async def checked_form(request: Request, viewer: ViewerDep) -> FormData:
    """The posted form, once its CSRF token matches the viewer's session."""
    form = await request.form()
    check_csrf(viewer.csrf, form.get(CSRF_FIELD))
    return form


FormDep = Annotated[FormData, Depends(checked_form)]

__all__ = ["FormDep", "RuntimeDep", "ViewerDep", "checked_form"]
