"""`actkit app gestures` on generated hands with known truth: a kinematic 2D hand (finger curl angles, a thumb,
the wrist's path) at unseen sizes, turns and speeds, with landmark noise; and the app on a real photo of a hand."""
import math

import numpy as np
import pytest

from actkit.apps.gestures import MOVES, STATIC, GesturesApp, static_gesture
from actkit.results import Results

KNUCKLES = {"index": (-0.35, -0.95), "middle": (-0.1, -1.0), "ring": (0.15, -0.95), "pinky": (0.38, -0.85)}
LENGTHS = {"index": (0.45, 0.28, 0.22), "middle": (0.5, 0.3, 0.24), "ring": (0.45, 0.28, 0.22), "pinky": (0.35, 0.22, 0.2)}
FIRST = {"index": 5, "middle": 9, "ring": 13, "pinky": 17}
OUT, CURLED = (0, 0, 0), (90, 90, 60)
POSES = {  # gesture -> (fingers out, thumb out, turn of the whole hand in degrees)
    "open_palm": ({"index", "middle", "ring", "pinky"}, True, 0), "fist": (set(), False, 0),
    "thumbs_up": (set(), True, 45), "thumbs_down": (set(), True, -135), "pointing": ({"index"}, False, 0),
    "victory": ({"index", "middle"}, False, 0), "call": ({"pinky"}, True, 0), "ok": ({"middle", "ring", "pinky"}, None, 0),
}


def hand(gesture, size, turn, rng, wrist=(320.0, 240.0), noise=0.015):
    """(21, 2) landmarks of ``gesture``: a hand whose wrist-to-middle-knuckle distance is ``size`` pixels, turned by
    ``turn`` degrees (plus the gesture's own turn), each point jittered by ``noise`` hand sizes."""
    fingers, thumb, own = POSES[gesture]
    pts = np.zeros((21, 2))
    for name, base in KNUCKLES.items():
        curl = OUT if name in fingers else CURLED
        if gesture == "ok" and name == "index":
            curl = (40, 60, 30)
        i, cum, along = FIRST[name], 0.0, 0.0
        pts[i] = base
        for k, (length, c) in enumerate(zip(LENGTHS[name], curl)):
            cum += c
            along += length * math.cos(math.radians(cum))  # seen from the palm: a curling finger folds back
            pts[i + 1 + k] = (base[0], base[1] - along)
    pts[1], pts[2] = (-0.3, -0.25), (-0.5, -0.45)
    if gesture == "ok":
        pts[3], pts[4] = (pts[2] + pts[8]) / 2, pts[8] + [0.05, 0.05]
    elif thumb:
        d = np.array([-0.7, -0.7]) / math.sqrt(0.98)
        pts[3], pts[4] = pts[2] + 0.35 * d, pts[2] + 0.62 * d
    else:
        pts[3], pts[4] = (-0.35, -0.6), (-0.15, -0.6)
    a = math.radians(turn + own)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pts = pts @ rot.T * size / np.linalg.norm(KNUCKLES["middle"])
    return pts + wrist + rng.normal(0, noise * size, pts.shape)


def frame(xy, side="right"):
    return Results(np.array([0.5, 0.5], np.float32), ["a", "b"], keypoints={"hands": [{"xy": xy, "handedness": side}]})


def test_static_gestures_at_unseen_sizes_and_turns():
    rng = np.random.default_rng(0)
    hits = total = 0
    for _ in range(40):
        for g in STATIC:
            size, turn = rng.uniform(30, 220), rng.uniform(-20, 20)
            hits += static_gesture(hand(g, size, turn, rng)) == g
            total += 1
    assert hits / total >= 0.97, hits / total


def movement(kind, rng, fps=30.0):
    """Frames of an open hand that rests, makes one movement ``kind`` at a random speed and size, and rests."""
    size = rng.uniform(40, 160)
    start = np.array([rng.uniform(200, 440), rng.uniform(150, 330)])
    rest = [start] * int(0.5 * fps)
    seconds = rng.uniform(0.2, 0.45)
    n = max(3, int(seconds * fps))
    u = np.linspace(0, 1, n)[:, None]
    scale = np.ones(n)
    if kind.startswith("swipe"):
        d = {"swipe_left": (-1, 0), "swipe_right": (1, 0), "swipe_up": (0, -1), "swipe_down": (0, 1)}[kind]
        path = start + u * np.array(d) * rng.uniform(2.0, 3.5) * size
    elif kind == "wave":
        n = int(rng.uniform(1.0, 1.4) * fps)
        t = np.arange(n) / fps
        path = start + np.stack([np.sin(2 * math.pi * rng.uniform(2.0, 3.0) * t) * 0.5 * size, 0 * t], 1)
        scale = np.ones(n)
    else:
        path = np.repeat(start[None], n, 0)
        scale = 1 + u[:, 0] * (rng.uniform(0.6, 0.9) if kind == "push" else -rng.uniform(0.45, 0.55))
    after = [path[-1]] * int(1.0 * fps)
    sizes = [size] * len(rest) + list(size * scale) + [size * scale[-1]] * len(after)
    return [hand("open_palm", s, 0, rng, wrist=w) for w, s in zip(rest + list(path) + after, sizes)]


def test_movements_one_event_each():
    rng = np.random.default_rng(1)
    tp = fp = fn = 0
    for _ in range(8):
        for kind in MOVES:
            app = GesturesApp()
            found = []
            for xy in movement(kind, rng):
                found += [e["event"] for e in app.update(frame(xy), 1 / 30).app["events"] if e["event"] in MOVES]
            tp += found.count(kind)
            fn += found.count(kind) == 0
            fp += len(found) - found.count(kind) + max(0, found.count(kind) - 1)
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    assert f1 >= 0.95, (tp, fp, fn)


def test_static_gesture_is_reported_once_per_showing_and_hands_are_apart():
    rng = np.random.default_rng(2)
    app = GesturesApp(hold=3)
    seq = [("fist", "left")] * 6 + [("victory", "left")] * 6 + [("victory", "right")] * 6
    events = []
    for g, side in seq:
        events += app.update(frame(hand(g, 100, 0, rng), side), 1 / 30).app["events"]
    assert [(e["event"], e["hand"]) for e in events] == [("fist", "left"), ("victory", "left"), ("victory", "right")]
    with pytest.raises(ValueError):
        GesturesApp(push=0.9)
    assert app.update(Results(np.array([0.5, 0.5], np.float32), ["a", "b"]), 1 / 30).app["hands"] == {}


def test_gestures_app_on_a_real_hand(tmp_path):
    import json

    from actkit.cli import main
    from actkit.perception.assets import fetch_mediapipe
    from actkit.perception.samples import fetch_samples, sample_path

    fetch_mediapipe()
    fetch_samples()
    out = tmp_path / "hand.jsonl"
    assert main(["app", "gestures", "--source", str(sample_path("handSrc.jpg")), "--jsonl", str(out)]) == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert first["app"]["hands"]  # the hand in the photo was found and given a gesture (or none)
    assert set(first["app"]["hands"].values()) <= set(STATIC) | {"none"}
