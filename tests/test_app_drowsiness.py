"""`actkit app drowsiness` on generated face landmarks with known truth: eye openness sequences with blinks, a
microsleep, winks and a yawn, drawn onto a face template with landmark noise, at unseen eye sizes."""
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
