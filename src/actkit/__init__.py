"""actkit: recognise what people are doing and in what state they are.

Python API::

    import actkit
    actkit.list_models("fastcrop_*")
    model = actkit.create_model("fastcrop_p", num_classes=3)
    predictor = actkit.load("runs/demo/train/checkpoints/best.onnx")
    results = predictor.predict("crop.png")   # list[actkit.Results]
"""
__version__ = "0.5.0.dev0"

from .models import create_model, list_models  # noqa: E402
from .results import Results  # noqa: E402


def load(path, threads: int = 0, device: str = "cpu"):
    """Load a ``.pt`` checkpoint or ``.onnx`` model for prediction (see :class:`actkit.engine.predictor.Predictor`)."""
    from .engine.predictor import load as _load

    return _load(path, threads, device)


def stream(model, source, **options):
    """Live recognition: ``for r in actkit.stream(model, source): ...`` (see :class:`actkit.streaming.pipeline.Stream`)."""
    from .streaming.pipeline import stream as _stream

    return _stream(model, source, **options)


def keypoints(source, parts=("body",), **options):
    """Body keypoints frame by frame: ``for r in actkit.keypoints("video.mp4"): r.keypoints["xy"]`` (see
    :func:`actkit.perception.keypoints.keypoints`)."""
    from .perception.keypoints import keypoints as _keypoints

    return _keypoints(source, parts, **options)


__all__ = ["__version__", "create_model", "keypoints", "list_models", "load", "stream", "Results"]
