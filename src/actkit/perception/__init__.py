"""Real eyes: MediaPipe's published pose, hand and face models, run offline on LiteRT.

* :mod:`.assets`: obtaining the model files (``actkit models fetch mediapipe``), pinned by sha256 and cached
  under ``ACTKIT_HOME`` (default ``~/.cache/actkit``).
* :mod:`.litert`: one LiteRT interpreter per model file.

``mediapipe`` itself is never imported: its 0.10.21 release pins numpy < 2 and protobuf < 5, which break
this stack. The files are Apache-2.0, from the ``mediapipe==0.10.21`` wheel (the last that ships them).
"""
from .assets import MEDIAPIPE_FILES, fetch_mediapipe, model_path

__all__ = ["MEDIAPIPE_FILES", "fetch_mediapipe", "model_path"]
