"""`actkit keypoints` on real photos and the real plaza video: hands, faces and irises beside the body, several
people with the tracker's ids, photos in and drawn pictures out, the holistic keypoint sequence; the region
geometry hands are tracked with; the sample files' checks."""
import json
import math
import shutil

import numpy as np
import pytest

from actkit.cli import main
from actkit.perception.assets import fetch_mediapipe
from actkit.perception.regions import region_from_points
from actkit.perception.samples import SAMPLES, fetch_samples, sample_path, samples_dir


@pytest.fixture(scope="module", autouse=True)
def assets():
    fetch_mediapipe()
    fetch_samples()


def test_body_hands_and_face_on_a_real_photo(tmp_path, capsys):
    out, drawn = tmp_path / "kp.jsonl", tmp_path / "drawn.png"
    photo = sample_path("messi5.jpg")
    assert main(["keypoints", str(photo), "--parts", "body,hands,face", "--out", str(out), "--annotate", str(drawn)]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    kp = row["keypoints"]
    assert len(kp["xy"]) == 33 and len(kp["world"]) == 33 and kp["score"] > 0.9
    assert len(kp["hands"]) >= 1 and all(len(h["xy"]) == 21 and h["handedness"] in ("left", "right") for h in kp["hands"])
    assert kp["faces"] == []  # the face is too small for the short-range face detector, as in MediaPipe
    import cv2

    picture = cv2.imread(str(drawn))
    assert picture.shape[:2] == cv2.imread(str(photo)).shape[:2]
    assert (picture != cv2.imread(str(photo))).any()  # something was drawn


def test_face_and_irises_on_a_real_portrait():
    import actkit

    (r,) = list(actkit.keypoints(sample_path("227943776_1.jpg"), parts=("face",)))
    (face,) = r.keypoints["faces"]
    assert face["xy"].shape == (468, 2) and face["score"] > 0.9
    right, left = face["irises"]["right"], face["irises"]["left"]
    assert right.shape == left.shape == (5, 2)
    assert right[0, 0] < left[0, 0]  # the person's right eye is on the picture's left
    xy = face["xy"]
    for centre, corners in ((right[0], xy[[33, 133]]), (left[0], xy[[362, 263]])):
        assert corners[:, 0].min() < centre[0] < corners[:, 0].max()  # each iris sits between its eye's corners
    assert "xy" not in r.keypoints  # no body asked for


def test_several_people_on_the_plaza_video_keep_their_ids(tmp_path):
    seq = tmp_path / "kp.parquet"
    assert main(["keypoints", str(sample_path("vtest.avi")), "--detector", "hog", "--max-frames", "12",
                 "--out", str(seq)]) == 0
    from actkit.perception.sequence import load_sequences

    (row,) = load_sequences(seq)
    a = row["keypoints"]
    assert a.shape[0] == 12 and a.shape[1] >= 2 and a.shape[2:] == (33, 4) and row["layout"] == "mediapipe33"
    seen = np.isfinite(a[..., 0, 0])  # (frames, people)
    assert (seen.sum(1) >= 2).sum() >= 6  # two or more people on most frames
    steady = [p for p in range(a.shape[1]) if seen[:, p].sum() >= 6]
    assert len(steady) >= 2  # ids held across frames, not a new person every frame
    for p in steady:  # a person's hips move a little from frame to frame, never across the picture
        hips = a[seen[:, p], p][:, [23, 24], :2].mean(1)
        assert np.abs(np.diff(hips, axis=0)).max() < 60


def test_holistic_sequence_places_hands_and_face(tmp_path):
    from actkit.perception.sequence import FACE_OFFSET, HAND_OFFSET, IRIS_OFFSET, load_sequences

    seq = tmp_path / "kp.parquet"
    assert main(["keypoints", str(sample_path("227943776_1.jpg")), "--parts", "body,face", "--out", str(seq)]) == 0
    (row,) = load_sequences(seq)
    a = row["keypoints"][0, 0]
    assert row["layout"] == "holistic" and a.shape == (553, 4)
    assert np.isfinite(a[:33, 0]).all() and np.isfinite(a[FACE_OFFSET:FACE_OFFSET + 468, 0]).all()
    assert np.isfinite(a[IRIS_OFFSET:IRIS_OFFSET + 10, 0]).all()
    assert np.isnan(a[HAND_OFFSET["left"]:HAND_OFFSET["right"] + 21, 0]).all()  # no hands asked for


def test_hand_region_from_points_recovers_a_turned_rectangle():
    # a 40 x 100 rectangle turned 30 degrees about (200, 150); its "up" vector from start to end
    turn = math.radians(30)
    c, s = math.cos(turn), math.sin(turn)
    corners = np.array([[-20, -50], [20, -50], [20, 50], [-20, 50]], np.float64)
    pts = corners @ np.array([[c, s], [-s, c]]) + [200, 150]
    start, end = pts[[2, 3]].mean(0), pts[[0, 1]].mean(0)  # bottom middle -> top middle
    cx, cy, side, rot = region_from_points(pts, start, end, math.pi / 2, 1.0, rotated_bounds=True)
    assert (cx, cy) == pytest.approx((200, 150), abs=1e-6)
    assert side == pytest.approx(100, abs=1e-6) and rot == pytest.approx(turn, abs=1e-6)


def test_sample_files_are_checked_against_their_pins(tmp_path):
    copy = tmp_path / "doc"
    for rel in SAMPLES:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(samples_dir() / rel, copy / rel)
    assert fetch_samples(copy, force=True)  # a folder of the right files is accepted
    (copy / "examples/data/messi5.jpg").write_bytes(b"not the photo")
    with pytest.raises(ValueError, match="messi5.jpg has sha256"):
        fetch_samples(copy, force=True)
    (copy / "examples/data/messi5.jpg").unlink()
    with pytest.raises(ValueError, match="missing examples/data/messi5.jpg"):
        fetch_samples(copy, force=True)
    with pytest.raises(ValueError, match="no ar header"):
        fetch_samples(tmp_path / "doc" / "opencv4" / "html" / "12.jpg", force=True)
    with pytest.raises(KeyError, match="unknown sample"):
        sample_path("lena.jpg")
    assert fetch_samples()  # the cache is untouched by the failed attempts
