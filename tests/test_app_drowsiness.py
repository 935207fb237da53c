"""`actkit app drowsiness` on generated face landmarks with known truth: eye openness sequences with blinks, a
microsleep, winks and a yawn, drawn onto a face template with landmark noise, at unseen eye sizes."""
import functools

import numpy as np
import pytest

from actkit.apps.drowsiness import EYES, MOUTH, DrowsinessApp, eye_aspect_ratio, mouth_aspect_ratio
from actkit.results import Results

FPS = 30.0


def face(open_left: float, open_right: float, mouth: float, eye_h: float, rng: np.random.Generator) -> np.ndarray:
    """(468, 2) landmarks: two eyes 40 px wide whose lids are ``eye_h * openness`` apart, a mouth ``mouth`` open."""
    xy = rng.normal(0, 1, (468, 2)) + [320, 240]
    for (side, idx), cx, o in ((("right", EYES["right"]), 280, open_right), (("left", EYES["left"]), 360, open_left)):
        p1, p2, p3, p4, p5, p6 = idx
        half = eye_h * o / 2
        xy[p1], xy[p4] = [cx - 20, 200], [cx + 20, 200]
        xy[p2], xy[p3] = [cx - 7, 200 - half], [cx + 7, 200 - half]
        xy[p6], xy[p5] = [cx - 7, 200 + half], [cx + 7, 200 + half]
    up, low, lc, rc = MOUTH
    xy[lc], xy[rc] = [295, 300], [345, 300]
    xy[up], xy[low] = [320, 300 - 25 * mouth], [320, 300 + 25 * mouth]
    return xy + rng.normal(0, 0.4, xy.shape)


def timeline(rng):
    """Per frame (open_left, open_right, mouth) and the true events: 3 s open, then blinks, a wink, a microsleep, a
    yawn, each between open stretches."""
    frames, truth = [], {"blink": [], "wink": [], "microsleep": [], "yawn": []}

    def hold(n, left=1.0, right=1.0, mouth=0.05):
        frames.extend([(left + rng.normal(0, 0.03), right + rng.normal(0, 0.03), mouth)] * 1 if n == 1 else
                      [(left + rng.normal(0, 0.03), right + rng.normal(0, 0.03), mouth) for _ in range(n)])

    hold(int(3 * FPS))
    for _ in range(8):
        n = int(rng.integers(3, 10))  # 100-300 ms
        truth["blink"].append(len(frames))
        hold(n, 0.05, 0.05)
        hold(int(rng.integers(30, 90)))
    truth["wink"].append(len(frames))
    hold(12, 0.05, 1.0)
    hold(45)
    truth["microsleep"].append(len(frames))
    hold(int(1.8 * FPS), 0.05, 0.05)
    hold(45)
    truth["yawn"].append(len(frames))
    hold(int(2 * FPS), mouth=0.9)
    hold(45)
    return frames, truth


@pytest.mark.parametrize("eye_h", [8.0, 14.0])
def test_events_on_generated_faces(eye_h):
    rng = np.random.default_rng(int(eye_h))
    frames, truth = timeline(rng)
    app = DrowsinessApp()
    found = {k: 0 for k in truth}
    closed_frames = 0
    for left, right, mouth in frames:
        r = app.update(Results(np.array([0.5, 0.5], np.float32), ["a", "b"],
                               keypoints={"faces": [{"xy": face(left, right, mouth, eye_h, rng)}]}), 1 / FPS)
        for ev in (r.app or {}).get("events", []):
            found[ev["event"]] += 1
        closed_frames += max(left, right) <= 0.2
    assert found == {k: len(v) for k, v in truth.items()}  # every event once, nothing else
    s = app.summary()
    assert s["blinks"] == 8 and s["microsleeps"] == 1 and s["winks"] == 1 and s["yawns"] == 1
    # PERCLOS over the last 60 s (the whole sequence here is shorter) against the generated openness
    window = frames[-int(60 * FPS):]
    true_perclos = sum(max(a, b) <= 0.2 for a, b, _ in window) / len(window)
    assert abs(s["perclos"] - true_perclos) < 0.02


def test_aspect_ratios_and_bad_options():
    rng = np.random.default_rng(0)
    xy = face(1.0, 0.5, 0.4, 10.0, np.random.default_rng(1))
    assert eye_aspect_ratio(xy, EYES["left"]) == pytest.approx(0.25, abs=0.03)  # 10 px over 40 px
    assert eye_aspect_ratio(xy, EYES["right"]) == pytest.approx(0.125, abs=0.03)
    assert mouth_aspect_ratio(xy) == pytest.approx(0.4, abs=0.03)
    with pytest.raises(ValueError, match="closed < reopen"):
        DrowsinessApp(closed=0.7, reopen=0.6)
    app = DrowsinessApp()
    r = app.update(Results(np.array([0.5, 0.5], np.float32), ["a", "b"], keypoints=None), 1 / FPS)
    assert r.app is None and app.summary()["frames_with_face"] == 0  # no face: nothing decided
    del rng


def test_drowsiness_app_on_a_real_face(tmp_path):
    """A real portrait held still for 3 s (a folder of frames): the face is found on every frame, the person's
    open eyes are calibrated, and a face that does not move blinks, winks and yawns never."""
    import json
    import shutil

    from actkit.cli import main
    from actkit.perception.assets import fetch_mediapipe
    from actkit.perception.samples import fetch_samples, sample_path

    fetch_mediapipe()
    fetch_samples()
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(45):
        shutil.copyfile(sample_path("227943776_1.jpg"), frames / f"{i:04d}.jpg")
    out = tmp_path / "eyes.jsonl"
    assert main(["app", "drowsiness", "--source", str(frames), "--calibrate-s", "1", "--jsonl", str(out)]) == 0
    summary = json.loads(out.read_text().splitlines()[-1])["summary"]
    assert summary["frames"] == 45 and summary["frames_with_face"] == 45 and summary["calibrated"]
    assert summary["blinks"] == summary["winks"] == summary["yawns"] == summary["microsleeps"] == 0
    assert 0.15 < min(summary["open_ear"].values()) and max(summary["open_ear"].values()) < 0.5


def test_the_shipped_eye_model_calls_real_open_eyes_open():
    """Every face in opencv-doc's five portraits (9 faces, 18 eyes, all open): the 24x40 crops cut between the
    landmarks' eye corners, read by the shipped ``eyes`` model; its card records 17 of 18 (the miss: a narrow eye in 12.jpg)."""
    import cv2

    from actkit.engine.predictor import load
    from actkit.models.pretrained import pretrained_models
    from actkit.perception.assets import fetch_mediapipe
    from actkit.perception.face import FaceMesh, eye_crop
    from actkit.perception.samples import fetch_samples, sample_path

    fetch_mediapipe()
    fetch_samples()
    model, mesh = load("eyes"), FaceMesh(max_faces=8)
    p_open = []
    for name in ("227943776_1.jpg", "230501201_1.jpg", "12.jpg", "lbp_yale.jpg", "example.jpg"):
        rgb = np.ascontiguousarray(cv2.imread(str(sample_path(name)))[..., ::-1])
        for face in mesh(rgb):
            for a, b in ((33, 133), (362, 263)):
                r = model.predict(eye_crop(rgb, face.xy[a], face.xy[b]))[0]
                p_open.append(float(r.probs[r.names.index("open")]))
    real = pretrained_models()["eyes"]["real"]
    assert len(p_open) == real["open_eyes"] == 18
    assert sum(p > 0.5 for p in p_open) == real["open_eyes_called_open"]


def eye_frame(open_left: float, open_right: float, span: dict[str, float]) -> np.ndarray:
    """A 480x640 frame of skin with two drawn eyes (``actkit synth eyes``' drawing, one look per eye) where
    :func:`face` puts them: each eye ``span`` pixels from corner to corner, pasted as the crop cut from it."""
    frame = np.empty((480, 640, 3), np.uint8)
    frame[:] = (205, 160, 130)
    for side, cx, o in (("right", 280, open_right), ("left", 360, open_left)):
        w = int(round(1.6 * span[side]))
        h = int(round(w * 24 / 40))
        frame[200 - h // 2:200 - h // 2 + h, cx - w // 2:cx - w // 2 + w] = drawn_eye(side, round(o, 2), w, h)
    return frame


@functools.lru_cache(maxsize=None)
def drawn_eye(side: str, openness: float, w: int, h: int) -> np.ndarray:
    """One eye's look (fixed per side) at this openness, ``w`` x ``h`` pixels."""
    import cv2

    from actkit.data.synth.eyes import draw_eye

    eye = draw_eye(np.random.default_rng(7 if side == "left" else 8), openness, "test")
    return cv2.resize(eye, (w, h), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("crops", [True, False])
def test_the_crop_model_reads_eyes_whose_landmarks_fail(crops):
    """The head turns for the middle third: the person's right eye looks 24 px wide beside 40 px, and its lid
    landmarks stick open (what a landmark model does on a foreshortened eye) while the eye blinks. With the
    crop model as a second opinion every blink is found and no wink is invented; without it, the turned-head
    blinks read as winks."""
    from actkit.data.synth.eyes import EYE_SPAN

    rng = np.random.default_rng(3)
    frames, truth = timeline(rng)
    third = len(frames) // 3
    app = DrowsinessApp(eyes_model="eyes" if crops else None)
    found = {k: 0 for k in truth}
    for i, (left, right, mouth) in enumerate(frames):
        turned = third <= i < 2 * third
        span = {"left": 40.0, "right": 24.0 if turned else 40.0}
        xy = face(left, 1.0 if turned else right, mouth, 12.0, rng)
        if turned:  # the right eye's corners close in around its centre
            p1, _, _, p4, _, _ = EYES["right"]
            xy[p1, 0], xy[p4, 0] = 280 - span["right"] / 2, 280 + span["right"] / 2
        r = app.update(Results(np.array([0.5, 0.5], np.float32), ["a", "b"], keypoints={"faces": [{"xy": xy}]}),
                       1 / FPS, eye_frame(left, right, span))
        for ev in (r.app or {}).get("events", []):
            found[ev["event"]] += 1
    turned_blinks = sum(third <= t < 2 * third for t in truth["blink"])
    assert turned_blinks >= 2 and EYE_SPAN == 1.6
    if crops:
        assert found == {k: len(v) for k, v in truth.items()}
        assert app.summary()["eye_crops_read"] > 0
    else:
        assert found["blink"] == len(truth["blink"]) - turned_blinks and found["wink"] >= 1 + turned_blinks


def test_a_model_of_the_wrong_kind_is_refused_as_eyes_model():
    with pytest.raises(ValueError, match="open / closed"):
        DrowsinessApp(eyes_model="posture")


def test_drawn_eyes_repeat_from_their_seed_and_splits_never_share_a_look(tmp_path):
    import pyarrow.parquet as pq

    from actkit.data.synth.eyes import IRIS, SKIN, palette, render_eyes

    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    s = render_eyes(a, n=40, seed=5)
    render_eyes(b, n=40, seed=5)
    assert pq.read_table(a).equals(pq.read_table(b)) and s["rows"] == 40
    for table in (SKIN, IRIS):
        looks = [{tuple(c) for c in palette(split, table)} for split in ("train", "val", "test")]
        assert all(looks) and not (looks[0] & looks[1] or looks[0] & looks[2] or looks[1] & looks[2])
    with pytest.raises(ValueError, match="n must be"):
        render_eyes(tmp_path / "c.parquet", n=0)
