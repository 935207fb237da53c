"""Models shipped trained in the package: each file matches its card, loads by name, carries its labels and
reaches its recorded accuracy on the check set its card says how to regenerate."""
import json

import numpy as np
import pytest

from actkit.cli import main
from actkit.models.pretrained import pretrained_models, pretrained_path


def test_every_card_names_its_file_and_how_it_was_made():
    cards = pretrained_models()
    assert "posture" in cards
    for name, card in cards.items():
        assert pretrained_path(name).is_file()
        assert card["made_by"] and card["check"]["made_by"].startswith("actkit synth")
    with pytest.raises(KeyError, match="no shipped model"):
        pretrained_path("telepathy")


def test_posture_model_loads_by_name_and_matches_its_recorded_accuracy(tmp_path, capsys):
    pytest.importorskip("pybullet_data")
    from actkit.data.keypoint_sequences import load_sequences
    from actkit.data.skeleton_inputs import skeleton_input
    from actkit.engine.predictor import load

    card = pretrained_models()["posture"]
    predictor = load("posture")
    assert predictor.class_names == card["labels"] and predictor.task == "skeleton"
    check = tmp_path / "check.parquet"
    args = card["check"]["made_by"].split()[2:]  # actkit synth ... -> the verb's arguments
    assert main(["synth"] + args[:args.index("--out") + 1] + [str(check)]) == 0
    rows = load_sequences(check)
    x = np.stack([skeleton_input(r["keypoints"][:, 0]) for r in rows])
    y = np.array([card["labels"].index(r["label"]) for r in rows])
    accuracy = float((predictor.infer(x).argmax(1) == y).mean())
    assert accuracy == pytest.approx(card["check"]["accuracy"], abs=0.005)
    assert main(["models", "--pretrained"]) == 0 and "posture" in capsys.readouterr().out


def test_a_damaged_shipped_file_is_refused(tmp_path, monkeypatch):
    import actkit.models.pretrained as shipped

    (tmp_path / "posture.json").write_text(json.dumps({**pretrained_models()["posture"]}))
    (tmp_path / "posture.onnx").write_bytes(b"not the model")
    monkeypatch.setattr(shipped, "HERE", tmp_path)
    with pytest.raises(ValueError, match="damaged install"):
        shipped.pretrained_path("posture")


def test_keypoints_label_everyone_with_the_shipped_posture_model(tmp_path):
    from actkit.perception.assets import fetch_mediapipe
    from actkit.perception.samples import fetch_samples, sample_path

    fetch_mediapipe()
    fetch_samples()
    out = tmp_path / "kp.jsonl"
    assert main(["keypoints", str(sample_path("vtest.avi")), "--detector", "motion", "--model", "posture",
                 "--max-frames", "30", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    labelled = [t for r in rows for t in r["tracks"] if "keypoints" in t]
    assert len(labelled) >= 20
    assert all(set(t["probs"]) == {"lying", "sitting", "standing"} for t in labelled)
    assert np.mean([t["label"] == "standing" for t in labelled]) > 0.6  # people walk and stand in this video
    assert main(["keypoints", str(sample_path("vtest.avi")), "--parts", "face", "--model", "posture"]) == 2


def test_actions_model_matches_its_recorded_accuracy(tmp_path):
    pytest.importorskip("pybullet_data")
    from actkit.data.keypoint_sequences import load_sequences
    from actkit.data.skeleton_inputs import skeleton_input
    from actkit.engine.predictor import load

    card = pretrained_models()["actions"]
    predictor = load("actions")
    assert predictor.class_names == card["labels"] and len(card["labels"]) == 15
    check = tmp_path / "check.parquet"
    args = card["check"]["made_by"].split()[2:]
    assert main(["synth"] + args[:args.index("--out") + 1] + [str(check)]) == 0
    rows = load_sequences(check)
    x = np.stack([skeleton_input(r["keypoints"][:, 0]) for r in rows])
    y = np.array([card["labels"].index(r["label"]) for r in rows])
    assert float((predictor.infer(x).argmax(1) == y).mean()) == pytest.approx(card["check"]["accuracy"], abs=0.005)


def test_exercises_model_steps_with_state_and_matches_its_recorded_accuracy(tmp_path):
    pytest.importorskip("pybullet_data")
    from actkit.streaming.evaluate import evaluate_streams
    from actkit.streaming.keypoint_runner import keypoint_runner

    card = pretrained_models()["exercises"]
    runner = keypoint_runner("exercises")
    assert runner.class_names == card["labels"] and runner.predictor is None  # a streaming model: one step a frame
    assert {"squat_high", "squat_low", "idle", "walk"} <= set(card["labels"])
    check = tmp_path / "check"
    args = card["check"]["made_by"].split()[2:]
    assert main(["synth"] + args[:args.index("--out") + 1] + [str(check)]) == 0
    report = evaluate_streams("exercises", check, "all", offline=False, plots=False)
    assert report["frame_accuracy"]["streaming"] == pytest.approx(card["check"]["frame_accuracy"], abs=0.005)


def test_eyes_model_matches_its_recorded_accuracy(tmp_path):
    """The shipped eye-state crop model on a freshly drawn check set (unseen seed, all splits' looks)."""
    import pyarrow.parquet as pq

    from actkit.data.schema import decode_image
    from actkit.engine.predictor import load

    card = pretrained_models()["eyes"]
    predictor = load("eyes")
    assert predictor.class_names == card["labels"] and predictor.task == "crop"
    assert tuple(predictor.data_cfg.input_size) == (24, 40)
    check = tmp_path / "check.parquet"
    args = card["check"]["made_by"].split()[2:]
    assert main(["synth"] + args[:args.index("--out") + 1] + [str(check)]) == 0
    rows = pq.read_table(check).to_pylist()
    assert {r["label"] for r in rows} == {"open", "closed"} and all(r["width"] == 40 and r["height"] == 24 for r in rows)
    probs = np.concatenate([predictor.predict(decode_image(r["image_bytes"]))[0].probs[None] for r in rows])
    accuracy = float((probs.argmax(1) == np.array([r["class_id"] for r in rows])).mean())
    assert accuracy == pytest.approx(card["check"]["accuracy"], abs=0.005)
