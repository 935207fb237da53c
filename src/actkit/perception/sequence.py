"""The keypoint sequence format, as ``actkit.perception.sequence``: it lives in :mod:`actkit.data.keypoint_sequences`
(the synthetic skeleton sets write it too)."""
from ..data.keypoint_sequences import (FACE_OFFSET, HAND_OFFSET, IRIS_OFFSET, LAYOUTS, load_sequences, save_sequences,
                                       sequence_array)

__all__ = ["FACE_OFFSET", "HAND_OFFSET", "IRIS_OFFSET", "LAYOUTS", "load_sequences", "save_sequences", "sequence_array"]
