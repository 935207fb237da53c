"""Tracker ids through crossings and misses, detectors, and the id-switch metric on hand-made cases."""
from __future__ import annotations

import numpy as np
import pytest

from actkit.streaming.metrics import id_switches
from actkit.streaming.tracking import (HogDetector, IoUTracker, MotionDetector, OnnxDetector, PersonDetector, TrackVotes,
                                    decode_boxes_scores, decode_yolo, iou_matrix, make_detector)


def _box(x, y, w=40, h=80):
    return [x, y, x + w, y + h]


def test_iou_matrix():
    m = iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    assert np.allclose(m, [[1.0, 1 / 3, 0.0]])


def test_tracker_keeps_ids_through_crossing():
    tr = IoUTracker(iou_threshold=0.2, max_age=3)
    ids_a, ids_b = [], []
    # A moves right, B left, 16 px a frame, crossing at frame 6. Matching last boxes alone swaps the
    # ids at frame 7 (B's new box overlaps A's last box more than A's own new box does).
    for f in range(14):
        a, b = _box(16 * f, 0), _box(196 - 16 * f, 4)
        dets = [b, a] if f % 2 else [a, b]  # detection order must not matter
        tracks = {tuple(np.round(t.box).astype(int)): t.id for t in tr.update(np.array(dets, np.float32))}
        ids_a.append(tracks[tuple(a)])
        ids_b.append(tracks[tuple(b)])
    assert len(set(ids_a)) == 1 and len(set(ids_b)) == 1 and ids_a[0] != ids_b[0]


def test_tracker_survives_short_misses_and_ends_after_max_age():
    tr = IoUTracker(max_age=2)
    first = tr.update(np.array([_box(0, 0)], np.float32))[0].id
    for f in range(1, 3):  # two missed frames (<= max_age): the track coasts
        assert tr.update(np.zeros((0, 4), np.float32)) == []
    assert tr.update(np.array([_box(0, 0)], np.float32))[0].id == first
    for _ in range(3):
        tr.update(np.zeros((0, 4), np.float32))
    assert tr.ended == [first] and not tr.live_ids
    assert tr.update(np.array([_box(0, 0)], np.float32))[0].id != first


def test_hungarian_matching_or_clear_error():
    try:
        import scipy  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install scipy"):
            IoUTracker(matching="hungarian")
        return
    tr = IoUTracker(matching="hungarian")
    assert [t.id for t in tr.update(np.array([_box(0, 0), _box(100, 0)], np.float32))] == [1, 2]
    assert [t.id for t in tr.update(np.array([_box(102, 0), _box(2, 0)], np.float32))] == [1, 2]


def test_tracker_min_hits_hides_one_frame_detections():
    tr = IoUTracker(min_hits=2)
    assert tr.update(np.array([_box(0, 0)], np.float32)) == []
    assert len(tr.update(np.array([_box(2, 0)], np.float32))) == 1


def test_id_switch_metric_hand_made():
    true = [{1: _box(0, 0), 2: _box(100, 0)}] * 4
    same = [{7: _box(0, 0), 8: _box(100, 0)}] * 4
    assert id_switches(same, true)["switches"] == 0
    swapped = same[:2] + [{8: _box(0, 0), 7: _box(100, 0)}] * 2  # both objects change id at frame 2
    r = id_switches(swapped, true)
    assert r["switches"] == 2 and r["per_100_frames"] == 50.0 and r["misses"] == 0
    gap = same[:1] + [{}] + same[2:]  # a missed frame is a miss, not a switch
    r = id_switches(gap, true)
    assert r["switches"] == 0 and r["misses"] == 2


def test_track_votes_forget():
    v = TrackVotes("2/3")
    assert [v.update(1, p) for p in (True, False, True)] == [False, False, True]
    v.update(2, True)
    v.forget([1])
    assert len(v) == 1


def test_decoders():
    rows = np.array([[[50, 50, 20, 40, 0.9, 0.8, 0.1]]], np.float32)
    boxes, scores = decode_yolo([rows])
    assert np.allclose(boxes, [[40, 30, 60, 70]]) and np.allclose(scores, [0.72])
    boxes, scores = decode_yolo([rows[:, :, [0, 1, 2, 3, 5, 6]].transpose(0, 2, 1).repeat(8, 2)], objectness=False)
    assert len(boxes) == 8 and np.allclose(scores, 0.8)
    boxes, scores = decode_boxes_scores([np.array([[0.1, 0.2, 0.3, 0.4]]), np.array([0.5])], normalized=True, input_size=(100, 200))
    assert np.allclose(boxes, [[20, 20, 60, 40]]) and np.allclose(scores, [0.5])


def _const_detector_onnx(path, rows):
    """An ONNX 'detector' whose output is ``rows`` (plus 0 * mean(input), so the input is used)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"]),
             helper.make_node("Add", ["rows", "z"], ["output"])]
    graph = helper.make_graph(nodes, "det", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(rows.shape))],
                              [numpy_helper.from_array(rows, "rows"), numpy_helper.from_array(np.array(0, np.float32), "zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # onnxruntime may lag the onnx package
    onnx.save(model, str(path))
    return path


def test_onnx_detector_letterbox_decode_nms(tmp_path):
    rows = np.array([[[16, 16, 8, 16, 0.9, 0.9],     # a person in network pixels
                      [16.5, 16, 8, 16, 0.8, 0.9],   # its duplicate: removed by NMS
                      [5, 5, 4, 4, 0.1, 0.9]]], np.float32)  # below the score threshold
    det = OnnxDetector(_const_detector_onnx(tmp_path / "det.onnx", rows), decoder="yolo", score_threshold=0.3)
    assert det.input_size == (32, 32) and isinstance(det, PersonDetector)
    boxes, scores = det.detect(np.zeros((64, 64, 3), np.uint8))  # letterbox scale 0.5: boxes double
    assert boxes.shape == (1, 4) and np.allclose(boxes[0], [24, 16, 40, 48], atol=0.5)
    assert scores[0] == pytest.approx(0.81)
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        OnnxDetector(tmp_path / "nope.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(ValueError, match="bad.onnx"):
        OnnxDetector(tmp_path / "bad.onnx")


def test_builtin_detectors():
    import cv2

    if hasattr(cv2, "HOGDescriptor"):
        boxes, scores = HogDetector().detect(np.zeros((160, 96, 3), np.uint8))
        assert boxes.shape[1] == 4 and len(boxes) == len(scores)
    else:
        with pytest.raises(ImportError, match="opencv-contrib"):
            HogDetector()
    assert isinstance(make_detector("auto"), (HogDetector, MotionDetector))
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("yolo9000")
    with pytest.raises(ValueError, match="onnx detectors only"):
        make_detector("motion", decoder="yolo")
    det = MotionDetector(min_area=0.005)
    bg = np.full((64, 96, 3), 40, np.uint8)
    for _ in range(20):
        det.detect(bg)
    frame = bg.copy()
    frame[10:50, 30:50] = 220
    boxes, _ = det.detect(frame)
    assert len(boxes) == 1 and boxes[0][0] <= 30 <= boxes[0][2] and boxes[0][1] <= 10 <= boxes[0][3]


def test_nms_keeps_the_best_of_overlapping_boxes_at_any_threshold():
    from actkit.streaming.tracking import nms

    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.2, 0.9, -0.5, 0.1], np.float32)
    assert nms(boxes, scores, -np.inf, 0.45).tolist() == [1, 2]  # negative scores and thresholds work
    assert nms(boxes, scores, 0.0, 0.45).tolist() == [1]
    assert nms(boxes, scores, 0.0, 0.99).tolist() == [1, 0]  # 3 equals 0 (IoU 1) and scores lower
    assert nms(boxes[:0], scores[:0], 0.0, 0.5).tolist() == []


def test_hog_detector_suppresses_overlapping_windows():
    """The path after HOG finds people (it crashed in OpenCV 4.14's NMSBoxes on a negative threshold)."""
    from actkit.streaming.tracking import HogDetector

    det = HogDetector(upscale=2.0)

    class FakeHog:
        def detectMultiScale(self, img, **kw):
            assert img.shape[:2] == (200, 200)  # upscaled before detection
            return np.array([[20, 20, 64, 128], [24, 22, 64, 128], [120, 40, 64, 128]]), np.array([1.2, 0.8, 0.5])

    det._hog = FakeHog()
    boxes, scores = det.detect(np.zeros((100, 100, 3), np.uint8))
    np.testing.assert_allclose(boxes, [[10, 10, 42, 74], [60, 20, 92, 84]])  # back in input pixels
    np.testing.assert_allclose(scores, [1.2, 0.5])
