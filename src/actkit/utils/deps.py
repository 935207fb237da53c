"""Optional dependencies: imported where needed, with the install command as the error."""
from __future__ import annotations

import importlib
from types import ModuleType

_EXTRA_OF = {
    "pybullet": "synth",
    "torchvision": "video",
    "av": "video",
    "timm": "video",
    "transformers": "transformers",
    "fastapi": "studio",
    "uvicorn": "studio",
    "ai_edge_litert": "perception",
}


def require(module: str, extra: str | None = None) -> ModuleType:
    """Import ``module`` or raise an ImportError whose message is the install command.

    Args:
        module: importable module name, e.g. ``"pybullet"``.
        extra: the actkit extra that provides it; looked up from a table when omitted.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = extra or _EXTRA_OF.get(module)
        cmd = f"pip install 'actkit[{extra}]'" if extra else f"pip install {module}"
        raise ImportError(f"{module} is needed for this feature: {cmd}") from e
