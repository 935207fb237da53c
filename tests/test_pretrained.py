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
