"""Models that ship trained inside the package: an ONNX file and a JSON card each (how it was made, its
labels, its recorded accuracy on a check set anyone can regenerate). A shipped model is used by name
wherever a model path is taken (``actkit eval --model posture``); ``actkit models --pretrained`` lists them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...utils.io import sha256_hex

HERE = Path(__file__).parent


def pretrained_models() -> dict[str, dict[str, Any]]:
    """Name -> card of every shipped model."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(HERE.glob("*.json"))}


def pretrained_path(name: str) -> Path:
    """The verified file of shipped model ``name``.

    Raises:
        KeyError: no such shipped model. ValueError: the file differs from its card's sha256 (a damaged install).
    """
    cards = pretrained_models()
    if name not in cards:
        raise KeyError(f"no shipped model {name!r}; shipped: {', '.join(cards) or 'none'}")
    path = HERE / cards[name]["file"]
    if sha256_hex(path.read_bytes()) != cards[name]["sha256"]:
        raise ValueError(f"{path}: differs from the sha256 in {name}.json (a damaged install; reinstall actkit)")
    return path


def pretrained_weights(name: str) -> Path:
    """The verified torch weights (``.pt``) of shipped model ``name``, for those that ship them (the custom
    classifiers' extractors).

    Raises:
        KeyError: no such shipped model, or one without torch weights. ValueError: a damaged file.
    """
    card = pretrained_models().get(name)
    if card is None or not card.get("weights"):
        raise KeyError(f"no shipped torch weights named {name!r}")
    path = HERE / card["weights"]
    if sha256_hex(path.read_bytes()) != card["weights_sha256"]:
        raise ValueError(f"{path}: differs from the sha256 in {name}.json (a damaged install; reinstall actkit)")
    return path


MODEL_IN_FOLDER = ("model.onnx", "model.pt")  # what a trained-classifier folder holds, in the order tried


def model_file(model: str | Path) -> Path:
    """``model`` as a file: the path itself when it is a file; in a folder (a custom classifier's
    ``checkpoints/<name>``), its ``model.onnx`` or else ``model.pt``; else the verified file of the shipped model
    so named.

    Raises:
        FileNotFoundError: none of these (the shipped models are listed).
    """
    path = Path(model)
    if path.is_file():
        return path
    if path.is_dir():
        for name in MODEL_IN_FOLDER:
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path}: a folder without {' or '.join(MODEL_IN_FOLDER)}")
    cards = pretrained_models()
    if str(model) not in cards:
        raise FileNotFoundError(f"model not found: {path} (shipped models: {', '.join(cards) or 'none'})")
    return pretrained_path(str(model))
