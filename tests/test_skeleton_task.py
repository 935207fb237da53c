"""Skeleton models: torso-normalised inputs, the graph network, `actkit train --task skeleton` on a synthetic
skeleton set, `actkit eval` on it, and a rendered video dataset turned into labelled keypoints."""
import json

import numpy as np
import pytest

from actkit.cli import main
from actkit.data.skeleton_inputs import MIRROR, SkeletonAugment, skeleton_input


def _seq(frames=8, scale=100.0, shift=(300.0, 200.0)):
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, (33, 2))
    base[[11, 12]] = [[-0.3, -1.0], [0.3, -1.0]]
    base[[23, 24]] = [[-0.2, 0.0], [0.2, 0.0]]
    seq = np.zeros((frames, 33, 4), np.float32)
    seq[..., :2] = base * scale + shift
    seq[..., 3] = 0.9
    return seq


def test_inputs_ignore_where_and_how_big_the_person_is():
    a, b = skeleton_input(_seq()), skeleton_input(_seq(scale=13.0, shift=(40.0, 500.0)))
    assert a.shape == (4, 8, 33)
    np.testing.assert_allclose(a[:2], b[:2], atol=1e-4)
    seq = _seq()
    seq[3] = np.nan  # nobody found on frame 3
    x = skeleton_input(seq)
    assert (x[:, 3] == 0).all() and (x[3, 2] > 0).all()
    with pytest.raises(ValueError, match="expected keypoints"):
        skeleton_input(np.zeros((8, 17, 4)))


def test_mirror_augmentation_swaps_sides():
    x = skeleton_input(_seq())
    m = SkeletonAugment(mirror=1.0, scale=0, rotate_deg=0, shift=0)(x, np.random.default_rng(0))
    np.testing.assert_allclose(m[0, :, 11], -x[0, :, 12], atol=1e-6)  # the left shoulder is where the right was
    assert (MIRROR[MIRROR] == np.arange(33)).all()


def test_graph_network_shapes_and_input_check():
    import torch

    import actkit

    m = actkit.create_model("skel_gcn_s", num_classes=5).eval()
    assert m(torch.zeros(2, 4, 32, 33)).shape == (2, 5)
    with pytest.raises(ValueError, match="expected keypoints"):
        m(torch.zeros(2, 3, 32, 32))


def test_train_and_eval_on_synthetic_skeletons(tmp_path):
    pytest.importorskip("pybullet_data")
    data, run = tmp_path / "sk.parquet", tmp_path / "run"
    assert main(["synth", "skeletons", "--out", str(data), "--sequences-per-class", "30", "--classes",
                 "walk,cartwheel,crawl", "--frames", "24"]) == 0
    assert main(["train", "--task", "skeleton", "--data", str(data), "--model", "skel_gcn_s", "--frames", "24",
                 "--epochs", "4", "--batch-size", "32", "--lr", "0.003", "--out", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["task"] == "skeleton" and summary["test"]["accuracy"] >= 0.6  # chance: 1/3
    out = tmp_path / "eval"
    assert main(["eval", "--model", str(run / "checkpoints" / "best.pt"), "--data", str(data), "--split", "test",
                 "--out", str(out)]) == 0
    report = json.loads((out / "eval_test.json").read_text())
    assert report["level"] == "sequence" and report["accuracy"] == pytest.approx(summary["test"]["accuracy"], abs=1e-6)
    onnx = tmp_path / "skel.onnx"
    assert main(["export", str(run / "checkpoints" / "best.pt"), "--out", str(onnx)]) == 0
    from actkit.engine.evaluator import evaluate_file
    from actkit.utils.ort import read_metadata

    assert read_metadata(onnx)["task"] == "skeleton"
    assert evaluate_file(onnx, data, "test", plots=False)["accuracy"] == pytest.approx(report["accuracy"], abs=1e-6)


def test_a_video_dataset_becomes_labelled_keypoints(tmp_path):
    pytest.importorskip("pybullet_data")
    from actkit.data.keypoint_sequences import load_sequences
    from actkit.perception.assets import fetch_mediapipe

    fetch_mediapipe()
    videos, out = tmp_path / "actions", tmp_path / "kp.parquet"
    assert main(["synth", "actions", "--out", str(videos), "--clips-per-class", "2", "--classes", "walk,run",
                 "--frames", "8", "--size", "160", "--workers", "1"]) == 0
    assert main(["keypoints", str(videos), "--dataset", "--out", str(out)]) == 0
    rows = load_sequences(out)
    assert len(rows) == 4 and {r["label"] for r in rows} == {"Walk", "Run"}
    assert all(r["keypoints"].shape == (8, 1, 33, 4) and r["split"] in ("train", "val", "test") for r in rows)
    assert np.mean([np.isfinite(r["keypoints"][:, 0, 0, 0]).mean() for r in rows]) > 0.5
    assert main(["keypoints", str(videos), "--dataset", "--out", str(tmp_path / "kp.jsonl")]) == 2


def test_causal_skeleton_stream_steps_equal_the_offline_pass_and_export_with_state(tmp_path):
    import torch

    import actkit
    from actkit.streaming.export import OnnxStreamer, export_stream_onnx

    m = actkit.create_model("skel_stream_s", num_classes=4).eval()
    for mod in m.modules():  # statistics that are not the identity
        if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 4, 40, 33)
    with torch.no_grad():
        offline = m.forward_frames(x)
        state, steps = m.init_state(2), []
        for t in range(40):
            logits, state = m.step(x[:, :, t], state)
            steps.append(logits)
        assert torch.allclose(offline, torch.stack(steps, 1), atol=1e-4)
        late = x.clone()
        late[:, :, 20:] += 5.0  # the future never changes the past
        assert torch.allclose(m.forward_frames(late)[:, :20], offline[:, :20], atol=1e-5)
    assert m.receptive_field() == 31
    r = export_stream_onnx(m, tmp_path / "s.onnx", class_names=list("abcd"))
    assert r["parity_max_abs"] < 1e-4
    s = OnnxStreamer(tmp_path / "s.onnx")
    assert s.frame_shape == (1, 4, 33) and s.step(np.zeros((4, 33), np.float32)).shape == (4,)


def test_binary_sitting_view_of_posture_skeletons(tmp_path):
    pytest.importorskip("pybullet_data")
    data, run = tmp_path / "postures.parquet", tmp_path / "run"
    assert main(["synth", "skeletons", "--set", "postures", "--n", "300", "--out", str(data)]) == 0
    assert main(["train", "--task", "skeleton", "--data", str(data), "--positive", "sitting", "--model", "skel_gcn_s",
                 "--frames", "4", "--epochs", "3", "--batch-size", "32", "--lr", "0.003", "--out", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["class_names"] == ["not_sitting", "sitting"]
    report_dir = tmp_path / "eval"
    assert main(["eval", "--model", str(run / "checkpoints" / "best.pt"), "--data", str(data), "--split", "test",
                 "--out", str(report_dir)]) == 0  # lying and standing count as not_sitting
    assert json.loads((report_dir / "eval_test.json").read_text())["num_samples"] > 0
    assert main(["train", "--task", "skeleton", "--data", str(data), "--positive", "dancing", "--out",
                 str(tmp_path / "bad")]) == 2
