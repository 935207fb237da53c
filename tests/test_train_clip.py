"""`--task clip` end to end at tiny size: the crop trainer, exporter and predictor, reused for clips."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from actkit.cli import main
from actkit.config import TrainConfig, resolve
from actkit.engine.checkpoint import model_from_checkpoint
from actkit.engine.predictor import iter_predictions, load, predict
from actkit.engine.timeline import merge_segments, sample_positions, window_geometry
from actkit.engine.trainer import per_video, train
from actkit.results import Results

CLASSES = ("walk", "jump", "crawl")


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    from actkit.data.synth.actions import render_actions

    out = tmp_path_factory.mktemp("clip") / "actions"
    render_actions(out, clips_per_class=4, frames=16, size=48, workers=1, classes=CLASSES, progress=False)
    return out


def clip_cfg(data, out, **kw):
    over = {"task": "clip", "data.path": str(data), "run.out": str(out), "model.name": "clip_fast_p",
            "model.input_size": "48,48", "model.num_frames": "8", "optim.epochs": "2", "data.batch_size": "4",
            "data.eval_clips": "2", "run.plots": "false", "run.tensorboard": "false", "optim.lr": "3e-3"}
    over.update(kw)
    return resolve(TrainConfig, None, over)


@pytest.fixture(scope="module")
def clip_run(actions, tmp_path_factory):
    out = tmp_path_factory.mktemp("cliprun")
    summary = train(clip_cfg(actions, out))
    return out, summary


def test_clip_training_writes_a_video_level_summary(clip_run):
    out, summary = clip_run
    assert summary["task"] == "clip"
    assert sorted(summary["class_names"]) == ["Crawl", "Jump", "Walk"]
    assert summary["val"]["level"] == "video"  # 2 clips per video averaged
    assert summary["val"]["clip"]["num_samples"] == 2 * summary["val"]["num_samples"]
    assert "test" in summary and summary["skipped"] == []
    model, ckpt = model_from_checkpoint(out / "checkpoints" / "best.pt")
    assert model.data_cfg.num_frames == 8 and tuple(model.data_cfg.input_size) == (48, 48)
    hist = json.loads((out / "history.json").read_text())
    assert len(hist) == 2 and 0.0 <= hist[0]["data_wait_share"] <= 1.0


def test_per_video_averages_clips():
    probs = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.4, 0.6]])
    p, y = per_video(probs, np.array([0, 0, 1, 1]), np.array([7, 7, 3, 3]))
    np.testing.assert_allclose(p, [[0.3, 0.7], [0.7, 0.3]])  # sorted video ids: 3 then 7
    assert y.tolist() == [1, 0]


def test_corrupt_video_is_skipped_and_listed(actions, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(actions, data)
    victim = sorted((data / "videos").rglob("*.mp4"))[0]
    victim.write_bytes(b"not a video at all")
    summary = train(clip_cfg(data, tmp_path / "run", **{"optim.epochs": "1"}))
    assert [s["path"] for s in summary["skipped"]] == [str(victim)]


def test_factorised_head_needs_label_parts(actions, tmp_path):
    with pytest.raises(ValueError, match="multi-part labels"):
        train(clip_cfg(actions, tmp_path / "run", **{"model.head": "factorised"}))


def test_eval_views_follow_the_training_sampler(actions, tmp_path):
    """Uniform training covers the whole video; its evaluation views must too (not dense windows)."""
    from actkit.data.video import DenseSampler, UniformSampler
    from actkit.engine.tasks import make_task
    from actkit.models import create_model

    data_cfg = create_model("clip_fast_p", num_classes=3, input_size=(48, 48), num_frames=8).data_cfg
    for sampler, kind in (("uniform", UniformSampler), ("random_window", DenseSampler)):
        ds = make_task(clip_cfg(actions, tmp_path, **{"data.sampler": sampler})).datasets(data_cfg, 0)
        assert isinstance(ds["val"].sampler, kind)
        assert ds["val"].clips_per_video == 2


def test_speed_jitter_reaches_the_training_sampler_only(actions, tmp_path):
    from actkit.engine.tasks import make_task
    from actkit.models import create_model

    data_cfg = create_model("clip_fast_p", num_classes=3, input_size=(48, 48), num_frames=8).data_cfg
    ds = make_task(clip_cfg(actions, tmp_path, **{"data.speed_jitter": "0.2"})).datasets(data_cfg, 0)
    assert ds["train"].sampler.speed_jitter == 0.2
    assert not hasattr(ds["val"].sampler, "speed_jitter")  # dense evaluation windows
    with pytest.raises(ValueError, match="random_window"):
        make_task(clip_cfg(actions, tmp_path, **{"data.speed_jitter": "0.2", "data.sampler": "uniform"})).datasets(data_cfg, 0)


def test_eval_flip_reaches_the_evaluation_splits_only(actions, tmp_path):
    from actkit.engine.tasks import make_task
    from actkit.models import create_model

    data_cfg = create_model("clip_fast_p", num_classes=3, input_size=(48, 48), num_frames=8).data_cfg
    ds = make_task(clip_cfg(actions, tmp_path, **{"data.eval_flip": "true", "data.blur": "1.5"})).datasets(data_cfg, 0)
    assert not ds["train"].flip_views and ds["val"].flip_views and ds["test"].flip_views
    assert ds["train"].transform.aug.blur == 1.5 and ds["val"].transform.aug is None  # blur: training only
    assert len(ds["val"]) == 2 * 2 * len(ds["val"].table)  # 2 clips, each also mirrored


def test_runs_share_a_frame_cache_dir(actions, tmp_path, monkeypatch):
    """With data.cache_dir, a second run on the same data reads the first run's decoded frames."""
    from actkit.data.video import cache as cache_mod
    from actkit.engine.tasks import frame_cache_dir

    shared = tmp_path / "frames"
    over = {"optim.epochs": "1", "data.cache": "true", "data.cache_dir": str(shared)}
    train(clip_cfg(actions, tmp_path / "a", **over))
    entries = sorted(shared.rglob("*.npy"))
    assert len(entries) == len(list((actions / "videos").rglob("*.mp4")))
    assert not (tmp_path / "a" / "frame_cache").exists()

    def no_decoding(*a, **k):
        raise AssertionError("decoded again despite the shared cache")

    monkeypatch.setattr(cache_mod, "VideoReader", no_decoding)
    train(clip_cfg(actions, tmp_path / "b", **over))
    assert sorted(shared.rglob("*.npy")) == entries
    assert frame_cache_dir(clip_cfg(actions, tmp_path / "c")) == tmp_path / "c" / "frame_cache"


def test_cached_eval_clips_are_the_ones_read_from_the_file(actions, tmp_path):
    """With the frame cache on and a model input below the videos' size, training frames are cached shrunk
    but val/test clips must be what `actkit eval` reads from the file, so the trainer reports the user's numbers."""
    from actkit.data.video import ClipDataset, ClipTransform, eval_sampler, read_videos
    from actkit.engine.tasks import make_task
    from actkit.models import create_model

    cfg = clip_cfg(actions, tmp_path / "run", **{"data.cache": "true", "model.input_size": "32,32"})  # 48 px videos
    task = make_task(cfg)
    data_cfg = create_model("clip_fast_p", num_classes=3, input_size=(32, 32), num_frames=8).data_cfg
    sets = task.datasets(data_cfg, 0)
    sub = read_videos(actions).split("test")
    plain = ClipDataset(sub, data_cfg, eval_sampler({"sampler": "dense", "stride": 2}, 8), ClipTransform(data_cfg),
                        clips_per_video=2)
    assert len(sets["test"]) == len(plain)
    for i in range(len(plain)):
        np.testing.assert_array_equal(sets["test"][i]["input"].numpy(), plain[i]["input"].numpy())
    train_frames = sets["train"].cache.load(sets["train"].table.records[0].path)
    assert min(train_frames.shape[1:3]) == 42  # the training cache does shrink (32 x 1.3)


def test_window_geometry_and_sampling():
    assert window_geometry(16, 16.0, 32.0) == (32, 16)  # 16 frames at 16 fps from a 32 fps video
    assert window_geometry(8, 0.0, 25.0, window=10, stride=3) == (10, 3)
    with pytest.raises(ValueError):
        window_geometry(8, 16.0, 16.0, stride=0)
    pos = sample_positions(32, 8)
    assert pos.tolist() == [2, 6, 10, 14, 18, 22, 26, 30]
    assert sample_positions(4, 8).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_merge_segments_joins_equal_neighbours():
    def r(label, s, e):
        p = np.array([0.9, 0.1]) if label == "a" else np.array([0.2, 0.8])
        return Results(p, ["a", "b"], frame=s, end_frame=e)

    segs = merge_segments([r("a", 0, 7), r("a", 4, 11), r("b", 8, 15), r("a", 12, 19)])
    assert [(s["label"], s["start_frame"], s["end_frame"]) for s in segs] == [("a", 0, 11), ("b", 8, 15), ("a", 12, 19)]


def test_sliding_window_predict_timeline_and_annotated_video(clip_run, actions, tmp_path):
    from actkit.data.video.sources import read_video
    from actkit.data.video.writer import write_video

    out, _ = clip_run
    vids = sorted((actions / "videos").rglob("*.mp4"))[:3]
    frames = [f for v in vids for f in read_video(v)]  # 48 frames
    long = tmp_path / "long.mp4"
    write_video(long, frames, 16, "mp4v")
    results = predict(long, out / "checkpoints" / "best.pt", window=8, stride=4, timeline=tmp_path / "t.json",
                      annotate=tmp_path / "a.mp4")
    starts = [r.frame for r in results]
    assert starts == list(range(0, 41, 4))  # windows [0,7] .. [40,47]
    assert all(r.end_frame == r.frame + 7 for r in results)
    doc = json.loads((tmp_path / "t.json").read_text())
    assert len(doc["windows"]) == len(results) and doc["segments"][0]["start_frame"] == 0
    assert doc["segments"][-1]["end_frame"] == 47
    assert len(read_video(tmp_path / "a.mp4")) == 48
    # The CSV form and the CLI.
    assert main(["predict", str(long), "--model", str(out / "checkpoints" / "best.pt"), "--timeline",
                 str(tmp_path / "t.csv"), "--window", "16", "--stride", "16"]) == 0
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert rows[0].startswith("start_frame,end_frame") and len(rows) == 1 + 3


def test_whole_clip_prediction_matches_between_torch_and_onnx(clip_run, actions, tmp_path):
    from actkit.engine.exporter import export_onnx

    out, _ = clip_run
    r = export_onnx(out / "checkpoints" / "best.pt", tmp_path / "clip.onnx")
    assert r["parity_max_abs"] < 1e-4
    video = sorted((actions / "videos").rglob("*.mp4"))[0]
    a = load(out / "checkpoints" / "best.pt").predict_clip(video)
    b = load(tmp_path / "clip.onnx").predict_clip(video)
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-4)
    assert a.label == b.label


def test_image_only_flags_are_refused_for_crop_models(trained_run, tmp_path):
    with pytest.raises(ValueError, match="clip models"):
        predict(tmp_path, trained_run / "checkpoints" / "best.pt", timeline=tmp_path / "t.json")


def test_clip_model_refuses_a_non_video_file(clip_run, tmp_path):
    img = tmp_path / "x.png"
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(img)
    out, _ = clip_run
    with pytest.raises(ValueError, match="needs a video"):
        list(iter_predictions(load(out / "checkpoints" / "best.pt"), img))


def test_eval_scores_clip_models_per_video(clip_run, actions, tmp_path, capsys):
    from actkit.engine.evaluator import evaluate_file

    out, summary = clip_run
    report = evaluate_file(out / "checkpoints" / "best.pt", actions, "test", out=tmp_path, clips=2)
    assert report["level"] == "video" and report["num_samples"] == summary["test"]["num_samples"]
    assert abs(report["accuracy"] - summary["test"]["accuracy"]) < 1e-9  # same clips, same averaging
    assert (tmp_path / "eval_test.json").is_file() and (tmp_path / "eval_test_confusion.png").is_file()
    assert main(["eval", "--model", str(out / "checkpoints" / "best.pt"), "--data", str(actions), "--clips", "2"]) == 0
    assert "videos" in capsys.readouterr().out


def test_eval_takes_clips_as_the_trainer_did(actions, tmp_path):
    """A model trained with uniform views is scored by `actkit eval` on uniform views too, .pt and .onnx."""
    from actkit.engine.evaluator import evaluate_file
    from actkit.engine.exporter import export_onnx
    from actkit.utils.ort import read_metadata

    out = tmp_path / "uniform"
    # 4 of 16 frames: uniform views (every 4th frame) differ from dense windows at stride 2
    summary = train(clip_cfg(actions, out, **{"data.sampler": "uniform", "optim.epochs": "1", "model.num_frames": "4"}))
    ckpt = out / "checkpoints" / "best.pt"
    assert load(ckpt).clip_views == {"sampler": "uniform", "stride": 2}
    report = evaluate_file(ckpt, actions, "test", clips=2)
    assert report["views"]["sampler"] == "uniform"
    assert abs(report["accuracy"] - summary["test"]["accuracy"]) < 1e-9
    # the probabilities are those of uniform views, not of dense windows (a 1-epoch model's scores differ
    # little between the two, so compare closely)
    from actkit.data.video import ClipDataset, make_sampler, read_videos
    from actkit.engine.evaluator import predict_videos

    pred, sub = load(ckpt), read_videos(actions).split("test")
    got, _, _ = predict_videos(pred, sub, clips=2)

    def scores(sampler):
        ds = ClipDataset(sub, pred.data_cfg, sampler, clips_per_video=2)
        x = np.stack([ds[i]["input"].numpy() for i in range(len(ds))])
        return pred.infer(x).reshape(len(sub), 2, -1).mean(1)

    uniform, dense = scores(make_sampler("uniform", 4)), scores(make_sampler("dense", 4, stride=2))
    assert np.abs(uniform - dense).max() > 1e-6
    np.testing.assert_allclose(got, uniform, rtol=0, atol=1e-7)
    onnx = export_onnx(ckpt, tmp_path / "u.onnx")["path"]
    assert read_metadata(onnx)["clip_views"] == {"sampler": "uniform", "stride": 2}
    assert load(onnx).clip_views == load(ckpt).clip_views


def test_eval_flip_averages_each_clip_with_its_mirror_image(clip_run, actions):
    from actkit.data.video import ClipDataset, make_sampler, read_videos
    from actkit.engine.evaluator import evaluate_file, predict_videos

    out, _ = clip_run
    pred = load(out / "checkpoints" / "best.pt")
    sub = read_videos(actions).split("test")
    got, labels, _ = predict_videos(pred, sub, clips=2, flip=True)
    ds = ClipDataset(sub, pred.data_cfg, make_sampler("dense", pred.data_cfg.num_frames, stride=2), clips_per_video=2)
    x = np.stack([ds[i]["input"].numpy() for i in range(len(ds))])
    both = (pred.infer(x) + pred.infer(np.ascontiguousarray(x[..., ::-1]))) / 2
    np.testing.assert_allclose(got, both.reshape(len(sub), 2, -1).mean(1), atol=1e-5)
    assert labels.tolist() == sub.class_ids.tolist()
    report = evaluate_file(out / "checkpoints" / "best.pt", actions, "test", clips=2, flip=True)
    assert report["flip"] is True and report["num_samples"] == len(sub)
    assert main(["eval", "--model", str(out / "checkpoints" / "best.pt"), "--data", str(actions), "--clips", "2", "--flip"]) == 0


def test_dives_train_with_a_factorised_head(tmp_path, capsys, monkeypatch):
    """Diving48 format in, 4-part labels through the reader, a factorised head that decodes to valid classes."""
    from actkit.data.synth.dives import render_dives

    data = tmp_path / "dives"
    render_dives(data, videos_per_class=3, frames=32, size=32, workers=1, classes=("5253B", "203C", "105B"),
                 progress=False)
    cfg = clip_cfg(data, tmp_path / "run", **{"model.head": "factorised", "model.input_size": "32,32",
                                               "optim.epochs": "1", "data.eval_clips": "1"})
    summary = train(cfg)
    model, ckpt = model_from_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    # All 48 vocab classes: the 45 without videos stay predictable through their parts.
    assert model.cfg.head == "factorised" and model.num_classes == 48 == len(summary["class_names"])
    parts = [tuple(p) for p in model.cfg.label_parts]
    assert parts[summary["class_names"].index("Back_25som_15Twis_PIKE")] == ("Back", "25som", "15Twis", "PIKE")
    assert summary["test"]["num_samples"] >= 1
    from actkit.engine.evaluator import evaluate_file, format_report

    report = evaluate_file(tmp_path / "run" / "checkpoints" / "best.pt", data, "test", clips=1)
    assert list(report["parts"]) == ["takeoff", "somersaults", "twists", "position", "all"]
    assert report["parts"]["all"] == report["accuracy"]
    assert all(report["parts"][k]["accuracy"] >= report["accuracy"] for k in ("takeoff", "position"))
    assert "per part: takeoff" in format_report(report)
    # actkit app dives: a clip's dive number, its words and each part's confidence from this model
    from actkit.apps.dives import dive_report, dives, evaluate_dives, format_dive
    from actkit.data.video import read_videos

    video = sorted((data / "rgb").glob("*.mp4"))[0]
    (d,) = dives(video, tmp_path / "run" / "checkpoints" / "best.pt")
    assert d["source"] == str(video) and d["words"] and set(d["parts"]) == {"takeoff", "somersaults", "twists", "position"}
    assert all(d["confidence"] <= p["confidence"] <= 1.0 + 1e-6 for p in d["parts"].values())
    probs = np.zeros(48)
    probs[summary["class_names"].index("Back_25som_15Twis_PIKE")] = 0.6
    probs[summary["class_names"].index("Back_25som_25Twis_PIKE")] = 0.3
    probs[summary["class_names"].index("Back_25som_NoTwis_TUCK")] = 0.1
    known = dive_report(probs, summary["class_names"])
    assert known["dive"] == "5253B" and known["words"] == "back, 2 1/2 somersaults, 1 1/2 twists, pike"
    assert known["parts"]["takeoff"]["confidence"] == pytest.approx(1.0)
    assert known["parts"]["twists"]["confidence"] == pytest.approx(0.6)
    assert known["parts"]["position"]["confidence"] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="not a dive model"):
        dive_report(np.ones(2) / 2, ["sitting", "standing"])
    from actkit.cli import main

    assert main(["app", "dives", "--source", str(data / "rgb"), "--model",
                 str(tmp_path / "run" / "checkpoints" / "best.pt"), "--jsonl", str(tmp_path / "dives.jsonl")]) == 0
    assert len((tmp_path / "dives.jsonl").read_text().splitlines()) == len(list((data / "rgb").glob("*.mp4")))
    # The app scored on the test split: truth from the set's own dive numbers, reports as the app gives them,
    # and the same views as actkit eval, so the class accuracy is the evaluation's.
    import csv

    ev = evaluate_dives(data, tmp_path / "run" / "checkpoints" / "best.pt", "test", clips=1)
    tests = [r for r in read_videos(data) if r.split == "test"]
    got = {d["source"]: d for d in dives(data / "rgb", tmp_path / "run" / "checkpoints" / "best.pt", clips=1)}
    with open(data / "manifest.csv", newline="") as f:
        numbers = {Path(r["path"]).name: r["dive_number"] for r in csv.DictReader(f)}
    want = np.mean([got[r.path]["dive"] == numbers[Path(r.path).name] for r in tests])
    assert ev["videos"] == len(tests) and ev["dive_number_accuracy"] == pytest.approx(want, abs=1e-4)
    assert ev["class_accuracy"] == pytest.approx(report["accuracy"], abs=1e-4)
    assert ev["at_confidence"][0] == {"min": 0.0, "share": 1.0, "accuracy": ev["class_accuracy"]}
    assert all(ev["parts"][k] >= ev["class_accuracy"] for k in ev["parts"])
    # The scoring itself, on probabilities whose answers are known: right at 0.8, wrong (same take-off and
    # position, other somersaults) at 0.6, right at 0.4.
    import actkit.engine.evaluator as evaluator

    names = summary["class_names"]
    wrong = [names.index(n) for n in names if n.split("_")[0] == tests[1].label.split("_")[0]
             and n.split("_")[3] == tests[1].label.split("_")[3] and n.split("_")[1] != tests[1].label.split("_")[1]][0]
    fake = np.full((3, 48), 0.0)
    for row, (k, p) in enumerate(((tests[0].class_id, 0.8), (wrong, 0.6), (tests[2].class_id, 0.4))):
        fake[row] = (1 - p) / 47
        fake[row, k] = p
    with monkeypatch.context() as m:
        m.setattr(evaluator, "predict_videos", lambda *a, **k: (fake, None, []))
        known = evaluate_dives(data, tmp_path / "run" / "checkpoints" / "best.pt", "test")
    assert known["class_accuracy"] == known["dive_number_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert known["parts"]["takeoff"] == known["parts"]["position"] == 1.0
    assert known["parts"]["somersaults"] == pytest.approx(2 / 3, abs=1e-4)
    assert known["confidence"] == {"right": 0.6, "wrong": 0.6}
    assert known["at_confidence"][1] == {"min": 0.5, "share": pytest.approx(2 / 3, abs=1e-4), "accuracy": 0.5}
    assert known["at_confidence"][2] == {"min": 0.7, "share": pytest.approx(1 / 3, abs=1e-4), "accuracy": 1.0}
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.mp4").write_bytes(b"not a video")
    shutil.copy(video, broken / "b.mp4")
    bad, good = dives(broken, tmp_path / "run" / "checkpoints" / "best.pt")
    assert bad["source"].endswith("a.mp4") and "error" in bad and good["dive"] == d["dive"]
    assert "skipped" in format_dive(bad)
    before = (tmp_path / "dives.jsonl").read_bytes()
    assert main(["app", "dives", "--source", str(video), "--model", str(tmp_path / "run" / "checkpoints" / "best.pt"),
                 "--jsonl", str(tmp_path / "dives.jsonl")]) == 2
    assert "dives.jsonl (--jsonl) exists" in capsys.readouterr().err
    assert (tmp_path / "dives.jsonl").read_bytes() == before
    # A longer schedule from this checkpoint (model.init_from) takes every weight, the factorised head's too.
    from actkit.engine.checkpoint import init_from_checkpoint
    from actkit.models import create_model

    fresh = create_model("clip_fast_p", **{**model.config_dict(), "num_classes": 48})
    note = init_from_checkpoint(fresh, tmp_path / "run" / "checkpoints" / "best.pt", summary["class_names"])
    assert note.startswith("all weights")
    for k, v in model.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[k], v)
