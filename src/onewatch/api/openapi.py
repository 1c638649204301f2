"""OpenAPI touches for routes that read their body as a plain dict."""

from __future__ import annotations

from typing import Any


def body_schema(model: str) -> dict[str, Any]:
    """Document a body taken as a dict (to merge, or to fill from the URL) as ``model``.

    The model's schema is in the document already because the POST route declares it.
    """
    reference = {"$ref": f"#/components/schemas/{model}"}
    content = {"application/json": {"schema": reference}}
    return {"requestBody": {"required": True, "content": content}}
