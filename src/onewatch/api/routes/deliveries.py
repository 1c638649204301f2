"""The deliveries routes (filled in by the firing issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
