"""Person detection and tracking for the live pipeline (detectors, matching, tracker, votes as plug-ins)."""
from .detectors import (HogDetector, MotionDetector, OnnxDetector, PersonDetector, decode_boxes_scores, decode_yolo,
                        make_detector, nms)
from .matching import greedy_match, hungarian_match, iou_matrix
from .tracker import IoUTracker, Track
from .votes import TrackVotes

__all__ = ["HogDetector", "MotionDetector", "OnnxDetector", "PersonDetector", "decode_boxes_scores", "decode_yolo",
           "make_detector", "nms", "greedy_match", "hungarian_match", "iou_matrix", "IoUTracker", "Track", "TrackVotes"]
