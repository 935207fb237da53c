"""The live pipeline on tiny synthetic videos and folders, with fake streaming models and a trained crop classifier."""
from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest
import torch

import actkit
from actkit.cli import main
from actkit.streaming.capture import END, DropOldestQueue
from actkit.streaming.pipeline import Stream
from actkit.data.video.sources import open_source
from actkit.models import DataConfig

from conftest import make_shape, write_video


class FakeStreamer(torch.nn.Module):
    """Streaming contract: ``bright`` when the frame is bright; the state counts the steps seen.

    With ``warmup`` > 0 the model says ``dark`` until its state has seen that many frames, so a
    result reveals which state (which track's) it came from.
    """

    def __init__(self, delay: float = 0.0, warmup: int = 0, fail_at: int | None = None) -> None:
        super().__init__()
        self.data_cfg = DataConfig(input_size=(16, 16), fps=0)
        self.num_classes = 2
        self.class_names = ["dark", "bright"]
        self.delay, self.warmup, self.fail_at = delay, warmup, fail_at
        self.steps = 0

    def init_state(self, batch_size: int = 1, device=None):
        return [torch.zeros(batch_size, 1, device=device)]

    def step(self, frame, state):
        self.steps += 1
        if self.fail_at is not None and self.steps > self.fail_at:
            raise RuntimeError("fake model failure")
        if self.delay:
            time.sleep(self.delay)
        m = frame.amax(dim=(1, 2, 3))  # max, not mean: letterbox padding is black
        ready = (state[0][:, 0] + 1 > self.warmup).float()
        logit = 20 * (m - 0.5) * ready - 10 * (1 - ready)
        return torch.stack([torch.zeros_like(m), logit], 1), [state[0] + 1]


class FixedDetector:
    """Person 1 on the left from frame 0, person 2 on the right from frame ``second_from``."""

    def __init__(self, second_from: int = 5) -> None:
        self.n, self.second_from = 0, second_from

    def detect(self, rgb):
        boxes = [[2, 2, 22, 46]] + ([[26, 2, 46, 46]] if self.n >= self.second_from else [])
        self.n += 1
        return np.array(boxes, np.float32), np.ones(len(boxes), np.float32)


def _flat(v: int, h: int = 48, w: int = 48) -> np.ndarray:
    return np.full((h, w, 3), v, np.uint8)


@pytest.fixture(scope="module")
def dark_bright_video(tmp_path_factory):
    """30 frames at 10 fps: dark 0-9, bright 10-19, dark 20-29."""
    frames = [_flat(20)] * 10 + [_flat(220)] * 10 + [_flat(20)] * 10
    return write_video(tmp_path_factory.mktemp("vid") / "db.mp4", frames)


def _count_frames(path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def _no_stream_threads() -> bool:
    deadline = time.time() + 5
    while time.time() < deadline:
        if not any(t.name.startswith("actkit-") and t.is_alive() for t in threading.enumerate()):
            return True
        time.sleep(0.05)
    return False


def test_drop_oldest_queue_bound_and_count():
    q = DropOldestQueue(3, drop=True)
    for i in range(10):
        q.put(i)
        assert len(q) <= 3
    assert q.dropped == 7 and q.max_len == 3
    q.close()
    assert [q.get(0.1) for _ in range(4)] == [7, 8, 9, END]
    b = DropOldestQueue(1, drop=False)
    b.put(1)
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    assert b.put(2, stop) is False and b.dropped == 0  # blocks instead of dropping, gives up on stop
    assert b.get(0.01) == 1 and b.get(0.01) is None


def test_stream_model_on_video_writes_jsonl_and_mp4(dark_bright_video, tmp_path):
    model = FakeStreamer(delay=0.003)  # slower than decoding: the no-drop queue must block, not drop
    s = actkit.stream(model, dark_bright_video, jsonl=tmp_path / "out.jsonl", out_video=tmp_path / "out.mp4")
    results = list(s)
    assert [r.frame for r in results] == list(range(30)) and model.steps == 30
    assert [r.label for r in results] == ["dark"] * 10 + ["bright"] * 10 + ["dark"] * 10
    assert all(r.latency_ms > 0 for r in results) and results[3].timestamp == pytest.approx(0.3)
    events = [e for r in results for e in r.events]
    assert events == [{"label": "bright", "start_frame": 10, "end_frame": 19}]
    assert results[-1].counts == {"bright": 1}
    assert s.stats["dropped_capture"] == 0 and s.stats["capture_queue_max"] <= 4
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 31
    first, summary = json.loads(lines[0]), json.loads(lines[-1])["summary"]
    assert first["frame"] == 0 and first["label"] == "dark" and "latency_ms" in first and first["counts"] == {"bright": 0}
    assert summary["frames_out"] == 30 and summary["counts"] == {"bright": 1}
    assert _count_frames(tmp_path / "out.mp4") == 30
    assert _no_stream_threads()


class FakeTagStreamer(FakeStreamer):
    """Exercise positions: a bright frame is ``squat_high`` or ``squat_low`` at 0.45 each, a dark one ``idle``."""

    def __init__(self) -> None:
        super().__init__()
        self.num_classes = 3
        self.class_names = ["idle", "squat_high", "squat_low"]

    def step(self, frame, state):
        m = frame.amax(dim=(1, 2, 3))
        bright = (m > 0.5).float()
        # softmax of (0, 2.2, 2.2) = (0.05, 0.475, 0.475); of (3, 0, 0) = (0.91, 0.045, 0.045)
        logits = torch.stack([3 * (1 - bright), 2.2 * bright, 2.2 * bright], 1)
        return logits, [state[0] + 1]


def test_events_of_a_position_model_are_per_exercise(dark_bright_video):
    """Neither position passes the threshold alone; the exercise (their sum) does: one squat event."""
    results = list(actkit.stream(FakeTagStreamer(), dark_bright_video))
    events = [e for r in results for e in r.events]
    assert [e["label"] for e in events] == ["idle", "squat"]  # the last idle is still open at the end
    assert events[1]["start_frame"] == 10 and events[1]["end_frame"] == 19
    assert results[-1].counts == {"idle": 2, "squat": 1}
    named = list(actkit.stream(FakeTagStreamer(), dark_bright_video, events=["squat_high"]))
    assert not [e for r in named for e in r.events]  # 0.475 never passes 0.5 on its own
    with pytest.raises(ValueError, match="'lunge' is not one of the model's classes"):
        actkit.stream(FakeTagStreamer(), dark_bright_video, events=["lunge"])


def test_realtime_drops_oldest_under_slow_model(tmp_path):
    video = write_video(tmp_path / "fast.mp4", [_flat(20 + i) for i in range(40)], fps=200.0)
    s = actkit.stream(FakeStreamer(delay=0.03), video, realtime=True, queue_size=2)
    frames = [r.frame for r in s]
    st = s.stats
    assert st["capture_queue_max"] <= 2 and st["dropped_capture"] > 0
    assert st["frames_read"] == 40 and len(frames) + st["dropped_capture"] + st["dropped_output"] == 40
    assert frames == sorted(frames) and frames[-1] == 39  # the newest frame is never the one dropped


def test_per_track_state_with_a_detector(tmp_path):
    video = write_video(tmp_path / "two.mp4", [_flat(220)] * 12)
    model = FakeStreamer(warmup=3)
    s = actkit.stream(model, video, track=True, detector=FixedDetector(second_from=5), out_video=tmp_path / "t.mp4")
    results = list(s)
    assert len(results) == 12 and model.steps == 12 + 7
    by_frame = [{t.track_id: t.label for t in r.tracks} for r in results]
    assert by_frame[2] == {1: "dark"} and by_frame[3] == {1: "bright"}
    assert by_frame[6] == {1: "bright", 2: "dark"} and by_frame[8] == {1: "bright", 2: "bright"}
    assert results[0].to_dict()["tracks"][0]["track_id"] == 1
    assert _count_frames(tmp_path / "t.mp4") == 12


def test_crop_classifier_whole_frame_and_tracked(trained_run, tmp_path):
    from actkit.engine.exporter import export_onnx

    rng = np.random.default_rng(0)
    frames = [make_shape(k, rng) for k in ["tall"] * 4 + ["wide"] * 4]
    video = write_video(tmp_path / "shapes.mp4", frames)
    ckpt = trained_run / "checkpoints" / "best.pt"
    results = list(actkit.stream(ckpt, video, smooth="mean", window=2, jsonl=tmp_path / "c.jsonl"))
    names = results[0].names
    assert len(results) == 8 and sorted(names) == ["blob", "tall", "wide"]
    assert all(np.isclose(r.probs.sum(), 1, atol=1e-4) for r in results)
    assert len((tmp_path / "c.jsonl").read_text().splitlines()) == 9
    from actkit.streaming.postprocess import StickyFilter

    raw = [r.probs for r in actkit.stream(ckpt, video)]
    sticky = [r.probs for r in actkit.stream(ckpt, video, smooth="hmm", window=50)]  # labels last 50 frames
    f = StickyFilter(50)
    np.testing.assert_allclose(sticky, [f.update(p) for p in raw], atol=1e-5)  # the causal HMM filter, live
    onnx = export_onnx(ckpt, tmp_path / "m.onnx")["path"]
    tracked = list(actkit.stream(onnx, video, track=True, detector=FixedDetector(second_from=0)))
    assert all(len(r.tracks) == 2 and r.tracks[0].box == (2.0, 2.0, 22.0, 46.0) for r in tracked)


def test_folder_of_frames(tmp_path):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, v in enumerate([20, 220, 220, 20]):
        cv2.imwrite(str(folder / f"f{i:03d}.png"), _flat(v))
    (folder / "f002b.png").write_bytes(b"broken")  # sorted between f002 and f003: skipped with a warning
    (folder / "notes.txt").write_text("not a frame")
    results = list(actkit.stream(FakeStreamer(), folder, fps=5, vote="2/2"))
    assert [r.label for r in results] == ["dark", "bright", "bright", "dark"]
    assert [r.vote for r in results] == [False, False, True, False]
    assert [r.timestamp for r in results] == pytest.approx([0, 0.2, 0.4, 0.6])


def test_bad_inputs_fail_clearly(tmp_path, dark_bright_video):
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        actkit.stream(FakeStreamer(), tmp_path / "missing.mp4")
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="bad.mp4"):
        open_source(tmp_path / "bad.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        open_source(tmp_path / "empty")
    with pytest.raises(ValueError, match="ftp://x"):
        open_source("ftp://x/y")
    t0 = time.time()
    with pytest.raises(ValueError, match="rtsp://127.0.0.1:9/none"):
        open_source("rtsp://127.0.0.1:9/none", timeout_s=2)
    assert time.time() - t0 < 15
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        actkit.stream(tmp_path / "nope.pt", dark_bright_video)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.pt"):
        actkit.stream(tmp_path / "junk.pt", dark_bright_video)
    with pytest.raises(ValueError, match="cannot write"):
        actkit.stream(FakeStreamer(), dark_bright_video, jsonl=tmp_path / "bad.mp4" / "x.jsonl")
    with pytest.raises(ValueError, match="not one of the model's classes"):
        actkit.stream(FakeStreamer(), dark_bright_video, events=["jumping"])


def test_threads_stop_on_early_exit_and_on_errors(dark_bright_video):
    it = iter(actkit.stream(FakeStreamer(), dark_bright_video))
    next(it)
    it.close()  # what `break` in a for loop does
    assert _no_stream_threads()
    with pytest.raises(RuntimeError, match="fake model failure"):
        list(actkit.stream(FakeStreamer(fail_at=5), dark_bright_video))
    assert _no_stream_threads()
    s = Stream(FakeStreamer(), dark_bright_video)
    with pytest.raises(RuntimeError, match="once"):
        iter(s), iter(s)


def test_stream_event_hold_bridges_a_short_dip(tmp_path):
    frames = [_flat(20)] * 10 + [_flat(220)] * 5 + [_flat(20)] * 2 + [_flat(220)] * 8 + [_flat(20)] * 5
    video = write_video(tmp_path / "dip.mp4", frames)
    split = [e for r in actkit.stream(FakeStreamer(), video) for e in r.events]
    assert split == [{"label": "bright", "start_frame": 10, "end_frame": 14},
                     {"label": "bright", "start_frame": 17, "end_frame": 24}]
    held = [(r.frame, e) for r in actkit.stream(FakeStreamer(), video, event_hold=3) for e in r.events]
    assert held == [(28, {"label": "bright", "start_frame": 10, "end_frame": 24})]  # known 3 frames after it ended
    late = [(r.frame, e) for r in actkit.stream(FakeStreamer(), video, event_lag=4) for e in r.events]
    assert late == [(15, {"label": "bright", "start_frame": 6, "end_frame": 10}),
                    (25, {"label": "bright", "start_frame": 13, "end_frame": 20})]  # placed 4 earlier, reported as before
    centred = [e for r in actkit.stream(FakeStreamer(), video, smooth="mean", window=3, event_lag=1) for e in r.events]
    assert centred == [{"label": "bright", "start_frame": 10, "end_frame": 25}]  # a centred 3-frame mean bridges the dip
    longer = [e for r in actkit.stream(FakeStreamer(), video, event_lag=40) for e in r.events]
    assert longer == []  # a lag past the end: every frame takes the last (dark) score, as offline
    with pytest.raises(ValueError, match="lag must be >= 0"):
        actkit.stream(FakeStreamer(), video, event_lag=-1)


def test_cli_stream_headless(trained_run, dark_bright_video, tmp_path, capsys, caplog):
    out = tmp_path / "cli.jsonl"
    code = main(["stream", "--model", str(trained_run / "checkpoints" / "best.pt"), "--source", str(dark_bright_video),
                 "--jsonl", str(out), "--out-video", str(tmp_path / "cli.mp4"), "--display", "--smooth", "ema",
                 "--window", "3", "--events", "blob,tall", "--event-threshold", "0.6", "--event-hold", "2"])
    assert code == 0
    assert "30 frames" in capsys.readouterr().out
    assert "no window support" in caplog.text or os.environ.get("DISPLAY")  # headless OpenCV: warned, went on
    assert len(out.read_text().splitlines()) == 31 and _count_frames(tmp_path / "cli.mp4") == 30
    tracked = tmp_path / "track.jsonl"
    assert main(["stream", "--model", str(trained_run / "checkpoints" / "best.pt"), "--source", str(dark_bright_video),
                 "--track", "--detector", "motion", "--jsonl", str(tracked), "--max-frames", "12", "--flip"]) == 0
    rows = [json.loads(line) for line in tracked.read_text().splitlines()]
    assert len(rows) == 13 and all("tracks" in r for r in rows[:-1])
    from actkit.streaming.runners import FlipRunner

    flipped = actkit.stream(trained_run / "checkpoints" / "best.pt", dark_bright_video, flip=True)
    assert isinstance(flipped.runner, FlipRunner) and len(list(flipped)) == 30
    from actkit.cli import build_parser

    for flag in ("--threshold", "--event-threshold"):  # evaluate --tune-events prints the second: both work here
        assert build_parser().parse_args(["stream", "--model", "m", "--source", "0", flag, "0.35"]).event_threshold == 0.35
    assert main(["stream", "--model", str(trained_run / "checkpoints" / "best.pt"), "--source", str(tmp_path / "nope")]) == 2
    assert "source not found" in capsys.readouterr().err
    assert main(["stream", "--model", str(trained_run / "checkpoints" / "best.pt"), "--source", str(dark_bright_video),
                 "--event-hold", "-1"]) == 2
    assert "hold" in capsys.readouterr().err
    assert main(["stream", "--model", str(trained_run / "checkpoints" / "best.pt"), "--source", str(dark_bright_video),
                 "--event-lag", "-2"]) == 2
    assert "lag must be >= 0" in capsys.readouterr().err
    assert main(["stream", "--model", str(trained_run / "checkpoints" / "best.pt"), "--source", str(dark_bright_video),
                 "--lowpass", "1"]) == 2  # a crop classifier: its input is not the streaming one
    assert "--lowpass blurs a streaming model" in capsys.readouterr().err


def test_model_fps_resampling(dark_bright_video):
    model = FakeStreamer()
    model.data_cfg = DataConfig(input_size=(16, 16), fps=5)  # video at 10 fps: step every other frame
    s = actkit.stream(model, dark_bright_video)
    results = list(s)
    assert len(results) == 30 and model.steps == 15 and s.stats["model_fps"] == 5
    assert [r.label for r in results][8:12] == ["dark", "dark", "bright", "bright"]


def test_registry_streaming_model_pt_and_onnx_agree(dark_bright_video, tmp_path):
    from actkit.models import create_model, list_models

    if "stream_fast_s" not in list_models(task="stream"):
        pytest.skip("no stream_fast_s in the registry")
    from actkit.engine.checkpoint import save_checkpoint
    from actkit.streaming.export import export_stream_onnx

    torch.manual_seed(0)
    m = create_model("stream_fast_s", input_size=(32, 32), num_classes=2)
    with torch.no_grad():  # a fresh head outputs constants: perturb so that outputs depend on the frames
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ckpt = save_checkpoint(tmp_path / "s.pt", m, ["dark", "bright"])
    onnx = export_stream_onnx(m, tmp_path / "s.onnx", ["dark", "bright"], do_simplify=False, check_frames=0)["path"]
    a = list(actkit.stream(ckpt, dark_bright_video))
    b = list(actkit.stream(onnx, dark_bright_video, track=True, detector=FixedDetector(second_from=0)))
    assert len(a) == len(b) == 30 and a[0].names == ["dark", "bright"]
    assert float(np.abs(a[0].probs - a[15].probs).max()) > 1e-3
    assert max(float(np.abs(x.probs - y.probs).max()) for x, y in zip(a, b)) > 0  # whole frame vs a person crop
    c = list(actkit.stream(onnx, dark_bright_video))
    assert max(float(np.abs(x.probs - y.probs).max()) for x, y in zip(a, c)) < 1e-4


class _Flaky:
    """A fake network stream: ``frames`` frames per connection."""

    live, fps, name = True, 10.0, "fake"

    def __init__(self, frames: int) -> None:
        self.left = frames

    def read(self):
        if self.left <= 0:
            return None
        self.left -= 1
        return np.zeros((8, 8, 3), np.uint8)

    def close(self) -> None:
        pass


def test_url_source_reconnects_with_backoff():
    from actkit.data.video.sources import ReconnectingSource

    opens, waits = [], []

    def opener():
        opens.append(1)
        if len(opens) in (2, 3) or len(opens) > 4:  # opens 2-3 fail (one outage), then after open 4 it is gone
            raise ValueError("unreachable")
        return _Flaky(3)

    src = ReconnectingSource(opener, "rtsp://cam", retries=4, delay_s=0.5, sleep=waits.append)
    got = 0
    while src.read() is not None:
        got += 1
    assert got == 6 and src.reconnects == 1  # 3 frames, an outage bridged by the 3rd reopen, 3 more
    assert waits == [0.5, 1.0, 2.0] + [0.5, 1.0, 2.0, 4.0]  # back-off restarts with each outage
    assert len(opens) == 8
    src.close()


def test_url_source_gives_up_after_retries():
    from actkit.data.video.sources import ReconnectingSource

    waits = []
    first = [True]

    def opener():
        if first[0]:
            first[0] = False
            return _Flaky(2)
        raise ValueError("gone")

    src = ReconnectingSource(opener, "rtsp://cam", retries=3, delay_s=1.0, max_delay_s=1.5, sleep=waits.append)
    assert src.read() is not None and src.read() is not None
    assert src.read() is None  # the outage outlasts the retries: the stream ends
    assert waits == [1.0, 1.5, 1.5] and src.reconnects == 0
