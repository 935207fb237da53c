"""`actkit predict --ray`: a local 2-CPU Ray runs a model over a folder with a corrupt file; the Parquet has every
good input exactly once and the bad one listed."""
import json

import numpy as np
import pytest

pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from actkit.scale.ray_predict import list_inputs, ray_predict  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory, trained_run):
    from PIL import Image

    d = tmp_path_factory.mktemp("raysrc")
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)).save(d / f"img_{i}.png")
    (d / "sub").mkdir()
    Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)).save(d / "sub" / "deep.jpg")
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    return d


def test_a_folder_on_local_ray_with_one_corrupt_file(folder, trained_run, tmp_path):
    model = trained_run / "checkpoints" / "best.pt"
    r = ray_predict(str(model), folder, tmp_path / "out", workers=2)
    t = pq.read_table(tmp_path / "out").to_pylist()
    good = sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.name != "broken.png")
    ok = [row for row in t if not row["error"]]
    assert sorted(row["source"] for row in ok) == good  # every good input exactly once
    assert all(row["label"] and 0 <= row["confidence"] <= 1 and len(row["probs"]) == 3 for row in ok)
    assert [f["source"] for f in r["failed"]] == [str(folder / "broken.png")]
    assert json.loads((tmp_path / "out" / "_failed.json").read_text())[0]["source"].endswith("broken.png")
    assert r["inputs"] == 8 and r["rows"] == 8
    with pytest.raises(FileExistsError, match="--overwrite"):
        ray_predict(str(model), folder, tmp_path / "out", workers=1)


def test_lists_and_globs(folder, tmp_path):
    (tmp_path / "list.csv").write_text("path\n" + "\n".join(str(p) for p in sorted(folder.glob("*.png"))) + "\n")
    assert len(list_inputs(tmp_path / "list.csv")) == 7
    assert len(list_inputs(str(folder / "**" / "*.jpg"))) == 1
    (tmp_path / "bad.csv").write_text("file\nx.png\n")
    with pytest.raises(ValueError, match="path"):
        list_inputs(tmp_path / "bad.csv")
    with pytest.raises(FileNotFoundError):
        list_inputs(str(tmp_path / "nothing*.mp4"))


def test_videos_per_frame_with_a_streaming_skeleton_model_and_keypoints(custom_template, tmp_path):
    pytest.importorskip("ai_edge_litert")
    import shutil

    src = tmp_path / "videos"
    src.mkdir()
    for p in sorted(custom_template.glob("videos_valid/*/*.mp4"))[:2]:
        shutil.copy(p, src / p.name)
    (src / "cut.mp4").write_bytes((src / p.name).read_bytes()[:600])  # a truncated download
    r = ray_predict("exercises", src, tmp_path / "ex", workers=2)
    t = pq.read_table(tmp_path / "ex").to_pylist()
    per_video = {}
    for row in t:
        per_video.setdefault(row["source"], []).append(row)
    good = [str(p) for p in sorted(src.glob("*.mp4")) if p.name != "cut.mp4"]
    assert all([row["index"] for row in per_video[v]] == list(range(32)) for v in good)
    assert [f["source"] for f in r["failed"]] == [str(src / "cut.mp4")]
    k = ray_predict("keypoints", good[0], tmp_path / "kp", workers=1)
    rows = pq.read_table(tmp_path / "kp").to_pylist()
    assert k["rows"] == 32 and len(rows[10]["keypoints"]) == 33 * 4 and np.isfinite(rows[10]["keypoints"][:2]).all()
