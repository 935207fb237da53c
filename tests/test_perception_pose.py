"""BlazePose in numpy on LiteRT: the anchor grid, decoding, weighted NMS and the rotated region follow MediaPipe's
graph; on a rendered walker the skeleton comes out upright and inside the frame."""
import math

import numpy as np
import pytest

from actkit.perception.assets import fetch_mediapipe
from actkit.perception.pose import ANCHORS, BlazePose, decode_detections, roi_from_keypoints
from actkit.perception.regions import region_matrix as roi_matrix
from actkit.perception.regions import ssd_anchors, weighted_nms


def test_anchor_grid_matches_the_detector_output():
    a = ssd_anchors(224, (8, 16, 32, 32, 32))
    assert a.shape == (2254, 2)  # 28*28*2 + 14*14*2 + 7*7*6, the detector's 2254 rows
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1], a[0])  # two anchors per cell on the stride-8 layer
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14])
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_decoding_places_boxes_and_keypoints_around_their_anchor():
    reg = np.zeros((2254, 12), np.float32)
    scores = np.full((2254, 1), -10.0, np.float32)
    k = 100
    reg[k, :4] = [0, 0, 44.8, 22.4]  # centred on the anchor, 0.2 x 0.1 of the input
    reg[k, 4:6] = [22.4, 0]  # first keypoint 0.1 to the right of the anchor
    scores[k] = 3.0
    boxes, kps, p = decode_detections(reg, scores)
    assert len(boxes) == 1 and p[0] == pytest.approx(1 / (1 + math.exp(-3)))
    ax, ay = ANCHORS[k]
    np.testing.assert_allclose(boxes[0], [ax - 0.1, ay - 0.05, ax + 0.1, ay + 0.05], atol=1e-6)
    np.testing.assert_allclose(kps[0, 0], [ax + 0.1, ay], atol=1e-6)


def test_weighted_nms_averages_overlapping_detections_by_score():
    boxes = np.array([[0, 0, 1, 1], [0.1, 0, 1.1, 1], [5, 5, 6, 6]], np.float32)
    kps = np.zeros((3, 4, 2), np.float32)
    kps[1] += 1.0
    out = weighted_nms(boxes, kps, np.array([0.9, 0.3, 0.8], np.float32))
    assert len(out) == 2 and out[0][2] == pytest.approx(0.9) and out[1][2] == pytest.approx(0.8)
    np.testing.assert_allclose(out[0][0], [0.025, 0, 1.025, 1], atol=1e-6)  # 0.9 : 0.3 weights
    np.testing.assert_allclose(out[0][1][0], [0.25, 0.25], atol=1e-6)


def test_the_region_turns_with_the_body_and_maps_back_exactly():
    upright = roi_from_keypoints(np.array([100.0, 200.0]), np.array([100.0, 120.0]))
    assert upright[:2] == (100.0, 200.0) and upright[2] == pytest.approx(2 * 80 * 1.25)
    assert upright[3] == pytest.approx(0.0)
    lying = roi_from_keypoints(np.array([100.0, 200.0]), np.array([180.0, 200.0]))
    assert abs(lying[3]) == pytest.approx(math.pi / 2)
    m = roi_matrix(lying, 256)
    centre = m @ np.array([100.0, 200.0, 1.0])
    np.testing.assert_allclose(centre, [128, 128], atol=1e-3)  # the hips land in the middle of the crop
    head = m @ np.array([180.0, 200.0, 1.0])
    assert head[1] < 128 and abs(head[0] - 128) < 1e-3  # the top keypoint lands straight above them


@pytest.fixture(scope="module")
def walker(tmp_path_factory):
    pytest.importorskip("pybullet_data")
    from actkit.data.synth.actions import render_actions
    from actkit.data.video.sources import read_video

    out = tmp_path_factory.mktemp("walk")
    render_actions(out, clips_per_class=1, frames=8, size=256, workers=1, classes=["walk"], progress=False)
    return read_video(next(out.rglob("*.mp4")))


def test_blazepose_finds_an_upright_skeleton_on_a_rendered_walker(walker):
    fetch_mediapipe()
    pose = BlazePose(threads=1)
    found = [pose(f) for f in walker]
    good = [lm for lm in found if lm is not None and lm.score > 0.5]
    assert len(good) >= 5, [None if lm is None else round(lm.score, 2) for lm in found]
    for lm in good:
        nose, shoulders, hips, ankles = lm.xy[0], lm.xy[[11, 12]].mean(0), lm.xy[[23, 24]].mean(0), lm.xy[[27, 28]].mean(0)
        assert nose[1] < shoulders[1] < hips[1] < ankles[1]  # y grows downwards: head on top
        assert (lm.xy > -20).all() and (lm.xy < 276).all()  # on the 256 x 256 frame
        assert lm.visibility.shape == lm.presence.shape == (33,) and 0 <= lm.visibility.min() <= 1
    assert pose(np.zeros((256, 256, 3), np.uint8)) is None  # nobody in a black frame


def test_keypoints_verb_and_api_on_a_rendered_walker(walker, tmp_path, capsys):
    import json

    import actkit
    from actkit.cli import main
    from actkit.data.video.writer import write_video
    from actkit.perception.keypoints import COCO17

    video = tmp_path / "walk.mp4"
    write_video(video, walker, 16, "mp4v")
    out, drawn = tmp_path / "kp.jsonl", tmp_path / "kp.mp4"
    assert main(["keypoints", str(video), "--out", str(out), "--annotate", str(drawn)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(walker) and drawn.stat().st_size > 0
    with_kp = [r for r in rows if "keypoints" in r]
    assert len(with_kp) >= 5 and all(len(r["keypoints"]["xy"]) == 33 for r in with_kp)
    results = list(actkit.keypoints(video, max_frames=3))
    assert [r.frame for r in results] == [0, 1, 2] and all(r.names == ["none", "person"] for r in results)
    assert len(COCO17) == 17 and max(COCO17) < 33
    seq = tmp_path / "kp.parquet"
    assert main(["keypoints", str(video), "--out", str(seq)]) == 0
    from actkit.perception.sequence import load_sequences

    (row,) = load_sequences(seq)
    assert row["keypoints"].shape == (len(walker), 1, 33, 4)
    assert np.isfinite(row["keypoints"][:, 0, 0, 0]).sum() == len(with_kp)
    assert main(["keypoints", str(video), "--parts", "body,tail"]) == 2
    assert "unknown parts ['tail']" in capsys.readouterr().err
