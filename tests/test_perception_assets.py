"""MediaPipe's model files: fetched from a folder or the wheel (never importing mediapipe), pinned by sha256,
cached under ACTKIT_HOME; LiteRT runs them with the input and output shapes MediaPipe publishes."""
import sys
from pathlib import Path

import numpy as np
import pytest

from actkit.cli import main
from actkit.perception.assets import MEDIAPIPE_FILES, fetch_mediapipe, model_path
from actkit.utils.io import sha256_hex


@pytest.fixture(scope="module")
def fetched():
    """The real files, as `make test`'s install step fetched them (fetched here too if it did not run)."""
    return fetch_mediapipe()


def test_fetch_verifies_and_caches_every_file(fetched):
    assert set(fetched) == set(MEDIAPIPE_FILES)
    for rel, path in fetched.items():
        assert Path(path).is_file() and sha256_hex(Path(path).read_bytes()) == MEDIAPIPE_FILES[rel]
    assert model_path("pose_detection") == Path(fetched["pose_detection/pose_detection.tflite"])
    assert "mediapipe" not in sys.modules  # never imported


def test_a_folder_source_is_checked_file_by_file(fetched, tmp_path, monkeypatch):
    monkeypatch.setenv("ACTKIT_HOME", str(tmp_path / "home"))
    src = tmp_path / "copy" / "mediapipe" / "modules"
    for rel, path in fetched.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(Path(path).read_bytes())
    assert main(["models", "fetch", "mediapipe", "--from", str(tmp_path / "copy")]) == 0
    assert model_path("iris_landmark").is_relative_to(tmp_path / "home")
    # one damaged file: refused, named, and nothing of it cached
    damaged = src / "iris_landmark" / "iris_landmark.tflite"
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    (tmp_path / "home").rename(tmp_path / "old_home")
    with pytest.raises(ValueError, match="iris_landmark/iris_landmark.tflite has sha256 .* not the pinned"):
        fetch_mediapipe(tmp_path / "copy")
    assert not (tmp_path / "home" / "mediapipe").exists() or not any((tmp_path / "home").rglob("*.tflite"))


def test_missing_files_name_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACTKIT_HOME", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="run `actkit models fetch mediapipe`"):
        model_path("pose_landmark_full")
    with pytest.raises(KeyError, match="unknown MediaPipe model"):
        model_path("pose_landmark_heavy")
    assert main(["models", "fetch", "mediapipe", "--from", str(tmp_path / "nothing")]) == 2
    assert "nothing" in capsys.readouterr().err


@pytest.mark.parametrize("name, inp, outs", [
    ("pose_detection", (1, 224, 224, 3), [(1, 2254, 12), (1, 2254, 1)]),
    ("pose_landmark_full", (1, 256, 256, 3), [(1, 195), (1, 1), (1, 117)]),
    ("hand_landmark_full", (1, 224, 224, 3), [(1, 63), (1, 1)]),
    ("face_landmark", (1, 192, 192, 3), [(1, 1, 1, 1404)]),
    ("iris_landmark", (1, 64, 64, 3), [(1, 213), (1, 15)]),
])
def test_litert_runs_them_with_the_published_shapes(fetched, name, inp, outs):
    from actkit.perception.litert import TfliteModel

    m = TfliteModel(name, threads=1)
    assert m.input_shape == inp
    got = m(np.zeros(inp, np.float32))
    shapes = [v.shape for v in got.values()]
    for shape in outs:
        assert shape in shapes, (name, shapes)
    assert all(np.isfinite(v).all() for v in got.values())
    with pytest.raises(ValueError, match="expected input"):
        m(np.zeros((1, 8, 8, 3), np.float32))
