"""Real eyes: MediaPipe's published pose, hand and face models, run offline on LiteRT.

* :mod:`.assets`: obtaining the model files (``actkit models fetch mediapipe``), pinned by sha256 and cached
  under ``ACTKIT_HOME`` (default ``~/.cache/actkit``).
* :mod:`.samples`: the sample photos and video of real people (``actkit data fetch opencv-samples``).
* :mod:`.litert`: one LiteRT interpreter per model file.
* :mod:`.regions`: the geometry MediaPipe's graphs share (SSD anchors, NMS, rotated regions, crops).
* :mod:`.pose`, :mod:`.hands`, :mod:`.face`: BlazePose, MediaPipe Hands, Face Mesh with Iris, in numpy.
* :mod:`.people`: everyone in a frame (a person detector and the tracker, then each part per person).
* :mod:`.keypoints`: ``actkit keypoints`` and ``actkit.keypoints()``; :mod:`.sequence`: the Parquet format.

``mediapipe`` itself is never imported: its 0.10.21 release pins numpy < 2 and protobuf < 5, which break
this stack. The files are Apache-2.0, from the ``mediapipe==0.10.21`` wheel (the last that ships them).
"""
from .assets import MEDIAPIPE_FILES, fetch_mediapipe, model_path
from .samples import fetch_samples, sample_path

__all__ = ["MEDIAPIPE_FILES", "fetch_mediapipe", "model_path", "fetch_samples", "sample_path"]
