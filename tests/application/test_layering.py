"""The application package knows no web framework: importing all of it loads none."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import onewatch.application

FRAMEWORKS = ("fastapi", "starlette")


def _modules_loaded_by(modules: list[str]) -> list[str]:
    """The modules a fresh interpreter holds after importing ``modules`` (none cached here)."""
    program = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_application_imports_no_web_framework() -> None:
    modules = [
        f"onewatch.application.{info.name}"
        for info in pkgutil.iter_modules(onewatch.application.__path__)
    ]
    assert "onewatch.application.event_ops" in modules
    loaded = _modules_loaded_by(modules)
    framework = [name for name in loaded if name.split(".")[0] in FRAMEWORKS]
    http_layer = [name for name in loaded if name.startswith(("onewatch.api", "onewatch.ui"))]
    assert framework == []
    assert http_layer == []
