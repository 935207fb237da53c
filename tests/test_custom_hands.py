"""Hand-gesture custom classifiers: the ``hands`` extractor (MediaPipe's hand landmarker, a fixed embedding),
trained on swipes made from a real photo of a hand, run live behind the hand landmarker like actkit stream."""
import numpy as np
import pytest
import torch

pytest.importorskip("ai_edge_litert")

from actkit.custom import CustomConfig, init_project, train_custom  # noqa: E402
from actkit.custom.features import load_extractor, mirror_hands, video_features  # noqa: E402
from actkit.custom.train import frame_probs  # noqa: E402
from actkit.models import create_model  # noqa: E402


def hand_photo():
    from PIL import Image

    from actkit.perception.samples import sample_path

    try:
        return np.asarray(Image.open(sample_path("handSrc.jpg")).convert("RGB"))
    except FileNotFoundError as e:
        pytest.skip(f"opencv-doc samples not fetched ({e})")


def swipe(path, img, start, end, frames=24, fps=15):
    """The photo sliding across a wider grey canvas from x offset ``start`` to ``end``."""
    from actkit.data.video.writer import VideoWriter

    h, w = img.shape[:2]
    writer = VideoWriter(path, fps, "mp4v")
    for dx in np.linspace(start, end, frames).round().astype(int):
        canvas = np.full((h, w + 320, 3), 128, np.uint8)
        canvas[:, dx:dx + w] = img
        writer.write(canvas)
    writer.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    img = hand_photo()
    p = init_project(tmp_path_factory.mktemp("hands") / "swipes", ["swipe_right", "swipe_left", "still"],
                     background=False)
    moves = {"swipe_right": lambda a: (a, a + 220), "swipe_left": lambda a: (a + 220, a), "still": lambda a: (a + 80, a + 80)}
    for split, starts in (("train", (0, 30, 60)), ("valid", (15, 90))):
        for label, move in moves.items():
            for a in starts:
                swipe(p.video_dir(split, label) / f"{label}_{a}.mp4", img, *move(a))
    return p


def test_the_embedding_steps_as_it_runs_on_clips():
    m = create_model("hand_stream_s", num_classes=3).eval()
    x = torch.rand(1, 3, 6, 42) * 300
    x[:, 2] = (torch.rand(1, 6, 42) > 0.3).float()
    state, steps = m.init_state(1), []
    for t in range(6):
        logits, state = m.step(x[:, :, t], state)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), m.forward_frames(x), atol=1e-5, rtol=1e-5)


def test_mirroring_swaps_hands_and_flips_x():
    rows = np.zeros((1, 3, 42), np.float32)
    rows[0, :, :21] = [[10.0] * 21, [5.0] * 21, [1.0] * 21]
    m = mirror_hands(rows, 100)
    assert m[0, 2, 21:].all() and not m[0, 2, :21].any() and m[0, 0, 21] == 90


def test_hand_swipes_train_and_run_live(project):
    from actkit.perception.live import HandRunner, is_hand_model, live_model
    from actkit.streaming.pipeline import Stream

    feats = video_features(project, project.videos("train")[0], load_extractor("hands"), 0, True)
    assert feats["features"].shape[1] == 90 and (feats["features"] != 0).any()
    r = train_custom(project, CustomConfig(extractor="hands", epochs=40))
    assert r["best"]["accuracy"] == 1.0, r["best"]["videos"]
    out = project.root / "checkpoints" / "best"
    assert is_hand_model(out) and is_hand_model(out / "model.pt") and not is_hand_model("exercises")
    # live, behind the hand landmarker, equals the cached features + head, frame by frame
    v = [v for v in project.videos("valid") if v.label == "swipe_left"][0]
    ext = load_extractor(out / "model.pt")
    trunk = ext.trunk(0)
    off = frame_probs(trunk, trunk.head, video_features(project, v, ext, 0, False)["features"])
    from actkit.data.video.sources import read_video

    for model in (out / "model.pt", out):
        runner = live_model(str(model))
        assert isinstance(runner, HandRunner)
        live = np.stack([runner(f, None, ["k"])[0] for f in read_video(v.path)])
        np.testing.assert_allclose(live, off, atol=1e-4)
    labels = [res.label for res in Stream(live_model(str(out)), str(v.path))]
    assert len(labels) == 24 and labels[-1] == "swipe_left"


def test_a_video_without_hands_gets_no_confident_answer(project, tmp_path):
    from actkit.perception.live import live_model

    runner = live_model(str(project.root / "checkpoints" / "best"))
    blank = np.full((240, 320, 3), 90, np.uint8)
    p = [runner(blank, None, ["k"])[0] for _ in range(10)]
    np.testing.assert_allclose(p[-1], np.full(3, 1 / 3), atol=1e-6)


def test_the_gestures_app_reports_custom_gestures(project):
    from actkit.apps.gestures import GesturesApp
    from actkit.perception.keypoints import KeypointRun

    app = GesturesApp(custom=str(project.root / "checkpoints" / "best"))
    v = [v for v in project.videos("valid") if v.label == "swipe_left"][0]
    run = KeypointRun(v.path, ("hands",))
    events = []
    for r, _ in run:
        events += [e["event"] for e in app.update(r, 1 / run.fps).app["events"] if e.get("source") == "custom"]
    assert events == ["swipe_left"]
    assert app.summary()["custom"] == {"swipe_right": 0, "swipe_left": 1, "still": 0}
