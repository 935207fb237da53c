"""No artifact a user loads can run code: a crafted pickle is refused by every verb that reads a `.pt`, before
anything in it runs; actkit's own checkpoints (also those of 0.1.0) load without trusting them."""
import ast
import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from actkit.cli import main
from actkit.engine.checkpoint import read_checkpoint, rng_state, set_rng_state

SRC = Path(__file__).resolve().parents[1] / "src"


class _Payload:
    """Unpickling this creates ``marker``: what an attacker's checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.fixture()
def evil(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pt"
    torch.save({"model_name": "fastcrop_p", "state_dict": {}, "class_names": ["a", "b"], "payload": _Payload(marker)},
               path)
    plain = tmp_path / "evil_plain.pkl.pt"  # the legacy (non-zip) pickle format too
    with open(plain, "wb") as f:
        pickle.dump({"model_name": "x", "state_dict": {}, "payload": _Payload(marker)}, f)
    return path, plain, marker


def _argvs(pt: Path, data: Path, out: Path) -> list[list[str]]:
    return [
        ["predict", str(data), "--model", str(pt)],
        ["eval", "--model", str(pt), "--data", str(data)],
        ["export", str(pt), "--out", str(out / "x.onnx")],
        ["stream", "--model", str(pt), "--source", str(out)],
        ["bench", "--models", str(pt), "--iters", "2"],
        ["train", "--data", str(data), "--epochs", "1", "--out", str(out / "r1"), "--resume", str(pt)],
        ["train", "--data", str(data), "--epochs", "1", "--out", str(out / "r2"), "--model.init_from", str(pt)],
        ["train", "--data", str(data), "--epochs", "1", "--out", str(out / "r3"), "--distill.teacher", str(pt)],
    ]


def test_a_malicious_pickle_runs_on_no_verb(evil, shapes_parquet, tmp_path, capsys):
    path, plain, marker = evil
    frames = tmp_path / "frames"
    frames.mkdir()
    import cv2

    cv2.imwrite(str(frames / "0.png"), np.zeros((32, 32, 3), np.uint8))
    for pt in (path, plain):
        for argv in _argvs(pt, shapes_parquet, tmp_path):
            if argv[0] == "stream":
                argv[-1] = str(frames)
            code = main(argv)
            err = capsys.readouterr().err
            assert not marker.exists(), f"code ran: actkit {' '.join(argv)}"
            assert code == 2, (argv, err)
            assert str(pt) in err and ("refused" in err or "not a readable checkpoint" in err), (argv, err)
    # trusting the file does not make torch run a blocked callable either
    assert main(["predict", str(shapes_parquet), "--model", str(path), "--trust-checkpoint"]) == 2
    assert not marker.exists()


def test_the_refusal_names_the_opt_in(evil):
    path, _, _ = evil
    with pytest.raises(ValueError, match=r"evil\.pt: refused to load: it names code to run .*--trust-checkpoint"):
        read_checkpoint(path)


def test_own_checkpoints_need_no_trust_and_name_no_code(trained_run):
    best = trained_run / "checkpoints" / "best.pt"
    last = trained_run / "checkpoints" / "last.pt"
    for p in (best, last):
        assert torch.serialization.get_unsafe_globals_in_checkpoint(p) == []  # tensors and plain types only
        assert read_checkpoint(p)["class_names"] == ["blob", "tall", "wide"]


def test_a_checkpoint_with_numpy_rng_state_still_loads_and_resumes(trained_run, tmp_path):
    """0.1.0 stored numpy's RNG tuple (an ndarray): it loads without trust, and its RNG state restores."""
    ckpt = read_checkpoint(trained_run / "checkpoints" / "last.pt")
    ckpt["rng"] = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    old = tmp_path / "old.pt"
    torch.save(ckpt, old)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(old)  # it does name numpy pieces
    loaded = read_checkpoint(old)
    set_rng_state(loaded["rng"])
    a = np.random.random(3)
    set_rng_state(ckpt["rng"])
    np.testing.assert_array_equal(a, np.random.random(3))


def test_rng_state_round_trips_as_plain_types():
    state = rng_state()
    x = (random.random(), np.random.random(), torch.rand(1).item())
    set_rng_state(state)
    assert (random.random(), np.random.random(), torch.rand(1).item()) == x
    assert not any(isinstance(v, np.ndarray) for v in state["numpy"].values())


def test_every_torch_load_in_the_tree_is_weights_only():
    calls = []
    for path in (SRC / "actkit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                kw = {k.arg: k.value for k in node.keywords}
                ok = isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
                calls.append((f"{path.relative_to(SRC)}:{node.lineno}", ok))
    assert calls, "no torch.load found: the check looks in the wrong place"
    assert all(ok for _, ok in calls), [c for c, ok in calls if not ok]
    assert "weights_only=False" not in "".join(p.read_text() for p in (SRC / "actkit").rglob("*.py"))
    assert os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD") in (None, "", "0")
