"""Per-frame training of streaming models (`actkit train --task stream`) on frame-labelled sets."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from actkit.data.video.framelabels import (IGNORE, FrameWindowDataset, full_vocabulary, is_frame_labelled,
                                           read_frame_labels, tag_to_label)
from actkit.models import create_model

# seed 10 gives train, test, train, val for 4 videos of 4-5 s
STREAMS = dict(videos=4, seconds=(4, 5), size=64, workers=1, seed=10)


@pytest.fixture(scope="module")
def streams(tmp_path_factory):
    from actkit.data.synth.streams import render_streams

    root = tmp_path_factory.mktemp("streams") / "s"
    render_streams(root, **STREAMS)
    return root


@pytest.fixture(scope="module")
def duo(tmp_path_factory):
    from actkit.data.synth.streams import render_streams

    root = tmp_path_factory.mktemp("duo") / "d"
    render_streams(root, videos=1, seconds=(3, 3), size=64, workers=1, seed=2, people=(2, 2))
    return root


def test_vocabularies():
    tags = full_vocabulary("tags")
    labels = full_vocabulary("labels")
    assert "squat_high" in tags and "squat_low" in tags and "squat" not in tags
    assert "squat" in labels and len(tags) == len(labels) + 4
    assert tag_to_label("squat_low") == "squat" and tag_to_label("arm_raise_high") == "arm_raise"
    assert tag_to_label("idle") == "idle" and tag_to_label("kick") == "kick"


def test_read_streams(streams):
    assert is_frame_labelled(streams) and not is_frame_labelled(streams / "videos")
    t = read_frame_labels(streams)
    assert [v.split for v in t.videos] == ["train", "test", "train", "val"]
    vocab = full_vocabulary("tags")
    assert t.class_names == sorted(t.class_names, key=vocab.index)  # vocabulary order
    rec = json.loads((streams / "labels" / "stream_000.json").read_text())
    assert t.videos[0].names == rec["people"][0]["tags"] and t.videos[0].boxes is None  # one person: whole frame
    labels = read_frame_labels(streams, "labels")
    assert labels.videos[0].names == rec["people"][0]["labels"]
    counts = t.frame_counts("train")
    assert counts.sum() == sum(v.frames for v in t.split("train"))


def test_read_errors(streams, tmp_path):
    with pytest.raises(ValueError, match="unknown frame target"):
        read_frame_labels(streams, "phases")
    with pytest.raises(ValueError, match="not a frame-labelled set"):
        read_frame_labels(tmp_path)
    (tmp_path / "videos").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "x.json").write_text("{not json")
    with pytest.raises(ValueError, match="x.json"):
        read_frame_labels(tmp_path)
    rec = json.loads((streams / "labels" / "stream_000.json").read_text())
    (tmp_path / "labels" / "x.json").write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="no readable label files"):  # its video is missing
        read_frame_labels(tmp_path)


def test_other_per_video_label_json_is_not_a_streams_set(streams, tmp_path):
    """The dives keep labels/<video>.json too: `actkit eval` must score them as clips, not as streams."""
    from actkit.data.video.framelabels import stream_layout

    assert stream_layout(streams) == "streams"
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "synthdive-00000.json").write_text(json.dumps({"vid_name": "synthdive-00000", "label": 3}))
    assert stream_layout(tmp_path) is None
    (tmp_path / "labels" / "synthdive-00000.json").write_text("{broken")  # unreadable: its reader names it
    assert stream_layout(tmp_path) == "streams"


def test_read_reps(tmp_path):
    from actkit.data.synth.reps import render_reps

    render_reps(tmp_path / "r", videos_per_exercise=1, seconds=(2, 3), size=48, workers=1, exercises=["squat"])
    t = read_frame_labels(tmp_path / "r")
    assert set(t.class_names) <= {"idle", "squat_high", "squat_low"} and "squat_low" in t.class_names
    labels = read_frame_labels(tmp_path / "r", "labels")  # the exercise over its repetitions, idle outside
    assert set(labels.class_names) <= {"idle", "squat"} and "squat" in labels.class_names
    rec = json.loads(next((tmp_path / "r" / "labels").rglob("*.json")).read_text())
    first, last = rec["rep_boundaries"][0][0], rec["rep_boundaries"][-1][1]
    names = labels.videos[0].names
    assert names[first:last + 1] == ["squat"] * (last - first + 1) and set(names[:first] + names[last + 1:]) <= {"idle"}


def _cfg(size=64, frames=8):
    return create_model("stream_fast_s", num_classes=3, input_size=(size, size), num_frames=frames).data_cfg


def test_eval_windows_match_live_preprocessing(streams, duo):
    """Evaluation windows are exactly what the live pipeline feeds the model, frame by frame."""
    from actkit.data.video import VideoReader
    from actkit.streaming.runners import stream_input

    for root, person in ((streams, 0), (duo, 1)):
        t = read_frame_labels(root)
        videos = [v for v in t.videos if v.person == person][:1]
        ds = FrameWindowDataset(videos, t.class_names, _cfg(48), train=False)
        s = ds[0]
        x, y = s["input"].numpy(), s["label"].numpy()
        assert x.shape == (3, 8, 48, 48) and y.shape == (8,)
        with VideoReader(videos[0].path) as r:
            frames = r.get_frames(list(range(8)))
        for k in range(8):
            box = None if videos[0].boxes is None else videos[0].boxes[k]
            if box is None and videos[0].boxes is not None:
                continue
            np.testing.assert_allclose(x[:, k], stream_input(frames[k], box, ds.data_cfg), atol=1e-6)
        assert [t.class_names[i] for i in y] == videos[0].names[:8]


def test_windows_tile_and_train_draws(streams):
    t = read_frame_labels(streams)
    val = FrameWindowDataset(t.split("val"), t.class_names, _cfg(), train=False)
    n = t.split("val")[0].frames
    assert len(val) == int(np.ceil(n / 8))  # tiles the video, the last window ending at its end
    train = FrameWindowDataset(t.split("train"), t.class_names, _cfg(), train=True, seed=1, warmup=3)
    a, b = train[2], train[2]
    assert torch.equal(a["input"], b["input"])  # reproducible from (seed, epoch, index)
    assert (a["label"][:3] == IGNORE).all() and (a["label"][3:] >= 0).all()
    train.set_epoch(1)
    assert not torch.equal(train[2]["input"], a["input"])
    train.set_epoch(0)
    hued = FrameWindowDataset(t.split("train"), t.class_names, _cfg(), train=True, seed=1, warmup=3, hue_jitter=0.5)
    assert hued[2]["input"].shape == a["input"].shape and not torch.equal(hued[2]["input"], a["input"])
    with pytest.raises(ValueError, match="hue_jitter"):
        FrameWindowDataset(t.split("train"), t.class_names, _cfg(), train=True, hue_jitter=-0.1)


def test_window_speed_aspect_and_blur(streams):
    """The clip task's speed, aspect and blur jitter reach stream windows; every frame keeps its own label."""
    t = read_frame_labels(streams)
    train = t.split("train")
    seen: list[np.ndarray] = []

    def recorder(ds):
        read = ds._frames

        def frames(v, idx):
            seen.append((v, np.asarray(idx)))
            return read(v, idx)
        ds._frames = frames
        return ds

    plain = recorder(FrameWindowDataset(train, t.class_names, _cfg(), train=True, seed=3))
    for i in range(6):
        plain[i]
    assert all((np.diff(idx) == 1).all() for _, idx in seen)  # steps of 1 (fps already matches)
    seen.clear()
    fast = recorder(FrameWindowDataset(train, t.class_names, _cfg(), train=True, seed=3, speed_jitter=0.6))
    labels = []
    for i in range(12):
        s = fast[i]
        labels.append(s["label"])
    steps = np.concatenate([np.diff(idx) for _, idx in seen])
    assert set(steps.tolist()) <= {0, 1, 2} and (steps != 1).any()  # faster and slower windows
    for (v, idx), y in zip(seen, labels):  # each frame's own label (unscored where the window ran off the end)
        scored = y != IGNORE
        assert scored.sum() >= 4
        assert [t.class_names[k] for k in y[scored].tolist()] == [v.names[j] for j in idx[scored.numpy()]]
    # A vertical white bar on grey: aspect jitter changes its width for the frame's height (the letterbox
    # pads the rest with black); blur softens its edges.
    frame = np.full((64, 64, 3), 128, np.uint8)
    frame[:, 24:40] = 255
    frames, boxes = np.repeat(frame[None], 2, 0), np.tile(np.array([0, 0, 64, 64], np.float32), (2, 1))
    base = dict(train=True, colour_jitter=0.0, framing=0.0, hflip=False)

    def bar_aspect(x):
        img = x[0, 0]
        pad = img.min()  # black padding
        rows = np.flatnonzero(np.abs(img[:, 32] - pad) > 1e-3)
        middle = img[(rows[0] + rows[-1]) // 2]
        bar = (middle > middle.max() - 1e-3).sum()
        return round(float(bar / len(rows)), 2)

    fixed = FrameWindowDataset(train, t.class_names, _cfg(), **base)
    assert {bar_aspect(fixed.prepare(frames, boxes, np.random.default_rng(k))) for k in range(8)} == {0.25}
    wide = FrameWindowDataset(train, t.class_names, _cfg(), **base, aspect=1.0)
    ratios = {bar_aspect(wide.prepare(frames, boxes, np.random.default_rng(k))) for k in range(12)}
    assert len(ratios) > 4 and min(ratios) < 0.2 and max(ratios) > 0.3
    soft = FrameWindowDataset(train, t.class_names, _cfg(), **base, blur=3.0)
    levels = [len(np.unique(soft.prepare(frames, boxes, np.random.default_rng(k))[0, 0])) for k in range(8)]
    sharp = len(np.unique(fixed.prepare(frames, boxes, np.random.default_rng(0))[0, 0]))
    assert sharp == 2 and max(levels) > 4 and min(levels) == 2  # half the windows blurred
    for bad in ({"speed_jitter": 1.0}, {"blur": -1.0}, {"aspect": 2.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            FrameWindowDataset(train, t.class_names, _cfg(), train=True, **bad)


def test_unseen_classes_are_not_scored(streams):
    t = read_frame_labels(streams)
    names = [n for n in t.class_names if n != "idle"]
    ds = FrameWindowDataset(t.split("train"), names, _cfg(), train=False)
    for i in range(len(ds)):
        s = ds[i]
        v, start = ds.windows[i]
        truth = t.split("train")[v].names[start:start + 8]
        assert [(n == "idle") for n in truth] == (s["label"] == IGNORE).tolist()


def test_forward_scored_drops_ignored_frames():
    from actkit.engine.steps import forward_scored

    m = create_model("stream_fast_s", num_classes=4, input_size=(32, 32), num_frames=4).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    y = torch.tensor([[IGNORE, 1, 2, 3], [0, IGNORE, IGNORE, 1]])
    logits, target = forward_scored(m, x, y)
    assert logits.shape == (5, 4) and target.tolist() == [1, 2, 3, 0, 1]
    torch.testing.assert_close(logits[0], m.forward_frames(x)[0, 1])
    clip_logits, clip_y = forward_scored(m, x, torch.tensor([1, 2]))  # clip labels: the clip forward
    assert clip_logits.shape == (2, 4) and clip_y.tolist() == [1, 2]


def test_train_stream_task_end_to_end(streams, tmp_path):
    from actkit.config import TrainConfig, resolve, to_dict
    from actkit.streaming.runners import load_runner
    from actkit.engine.trainer import train

    out = tmp_path / "run"
    cfg = resolve(TrainConfig, None, {"task": "stream", "data.path": str(streams), "model.name": "stream_fast_s",
                                      "model.input_size": [48, 48], "model.num_frames": 8, "optim.epochs": 1,
                                      "data.batch_size": 4, "run.out": str(out), "data.cache": True,
                                      "run.plots": False, "run.tensorboard": False})
    summary = train(cfg)
    assert summary["val"]["num_samples"] > 0  # scored frames, not windows
    runner = load_runner(out / "checkpoints" / "best.pt")
    assert runner.kind == "stream" and "idle" in runner.class_names
    probs = runner(np.zeros((64, 64, 3), np.uint8), None, [None])
    assert probs.shape == (1, len(runner.class_names))
    # Distilled from that model: the teacher's per-frame logits line up with the student's scored frames.
    kd = resolve(TrainConfig, None, {**to_dict(cfg), "run": {**to_dict(cfg)["run"], "out": str(tmp_path / "kd")},
                                     "distill": {"teacher": str(out / "checkpoints" / "best.pt"), "alpha": 1.0}})
    kd_summary = train(kd)
    assert kd_summary["val"]["num_samples"] == summary["val"]["num_samples"]
    kd_loss = json.loads((tmp_path / "kd" / "history.json").read_text())[0]["train_loss"]
    assert np.isfinite(kd_loss) and kd_loss != json.loads((out / "history.json").read_text())[0]["train_loss"]
    from actkit.engine.tasks import make_task

    aug = resolve(TrainConfig, None, {**to_dict(cfg), "data": {**to_dict(cfg)["data"], "speed_jitter": 0.3,
                                                               "blur": 1.5, "aspect_jitter": 0.2}})
    windows = make_task(aug).datasets(_cfg(48), seed=0)
    assert (windows["train"].speed_jitter, windows["train"].blur, windows["train"].aspect) == (0.3, 1.5, 0.2)
    with pytest.raises(ValueError, match="not a streaming model"):
        train(resolve(TrainConfig, None, {"task": "stream", "data.path": str(streams), "model.name": "clip_fast_p",
                                          "optim.epochs": 1, "run.out": str(tmp_path / "bad")}))
    with pytest.raises(ValueError, match="mixup"):
        train(resolve(TrainConfig, None, {"task": "stream", "data.path": str(streams), "data.mixup": 0.2,
                                          "model.name": "stream_fast_s", "run.out": str(tmp_path / "bad2")}))
