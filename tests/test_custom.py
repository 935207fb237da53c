"""`actkit custom`: projects in the sense layout, cached features, head training, live parity, export, CLI."""
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("pybullet_data")
pytest.importorskip("ai_edge_litert")

from actkit.custom import CustomConfig, evaluate_custom, init_project, load_project, train_custom  # noqa: E402
from actkit.custom.features import load_extractor, step_indices, video_features  # noqa: E402
from actkit.custom.project import check_name, inside  # noqa: E402


def test_init_writes_a_sense_project_with_background(tmp_path):
    p = init_project(tmp_path / "p", ["wave", "clap"])
    cfg = json.loads((tmp_path / "p" / "project_config.json").read_text())
    assert list(cfg["classes"]) == ["wave", "clap", "background"]
    assert cfg["classes"]["background"] == [] and cfg["tags"] == {"1": "wave", "2": "clap"}
    assert cfg["video_recording"] == {"countdown": 3, "recording": 5} and cfg["temporal"] is False
    assert (tmp_path / "p" / "videos_valid" / "clap").is_dir()
    with pytest.raises(FileExistsError):
        init_project(tmp_path / "p", ["x", "y"])
    assert init_project(tmp_path / "q", ["a", "b"], background=False).classes == ["a", "b"]
    with pytest.raises(ValueError, match="class"):
        init_project(tmp_path / "r", ["../up", "b"])
    assert p.summary()["classes"]["wave"]["tags"] == ["wave"]


def test_older_sense_config_with_tag_names_is_read(tmp_path):
    (tmp_path / "videos_train" / "dab").mkdir(parents=True)
    (tmp_path / "project_config.json").write_text(json.dumps(
        {"name": "old", "classes": {"dab": ["dab_start", "dab_end"], "idle": []}, "temporal": True}))
    p = load_project(tmp_path)
    assert p.tags == {0: "background", 1: "dab_end", 2: "dab_start"}
    assert p.class_tags("dab") == [2, 1] and p.temporal


@pytest.mark.parametrize("bad", ["..", "../x", "/abs", "a/b", ".hidden", "", "x" * 81, "trail."])
def test_names_and_paths_stay_inside(tmp_path, bad):
    with pytest.raises(ValueError):
        check_name(bad)
    (tmp_path / "out").mkdir()
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "link").symlink_to(tmp_path / "out")
    with pytest.raises(ValueError, match="outside"):
        inside(tmp_path / "p", "link", "f")


def test_step_indices_follow_the_stream_rule():
    assert list(step_indices(5, 16, 16)) == [0, 1, 2, 3, 4]
    idx = step_indices(60, 30, 15)
    assert len(idx) == 30 and idx[1] == 2


@pytest.fixture(scope="module")
def project(tmp_path_factory, custom_template):
    d = tmp_path_factory.mktemp("custom") / "proj"
    shutil.copytree(custom_template, d)
    return load_project(d)


@pytest.fixture(scope="module")
def trained(project):
    return train_custom(project, CustomConfig(epochs=15, seed=0))


def test_features_are_cached_and_invalidated_by_content(project, tmp_path):
    ext = load_extractor("exercises")
    v = project.videos("train")[0]
    a = video_features(project, v, ext, 0, True)
    assert a["features"].shape == (len(a["index"]), 64) and a["flipped"].shape == a["features"].shape
    assert not np.allclose(a["features"], a["flipped"])
    files = list((project.root / "features").rglob(f"{v.name}.npz"))
    assert len(files) == 2  # keypoints + features
    b = video_features(project, v, ext, 0, True)
    np.testing.assert_array_equal(a["features"], b["features"])
    # another video's bytes under the same name: recomputed, not reused
    other = project.videos("valid")[-1]
    saved = tmp_path / "saved.mp4"
    shutil.copyfile(v.path, saved)
    try:
        shutil.copyfile(other.path, v.path)
        c = video_features(project, v, ext, 0, True)
        assert str(c["key"]) != str(a["key"])
    finally:
        shutil.copyfile(saved, v.path)
    assert str(video_features(project, v, ext, 0, True)["key"]) == str(a["key"])


def test_training_writes_a_streaming_model_that_matches_live(project, trained):
    from actkit.streaming.keypoint_runner import keypoint_runner
    from actkit.custom.features import cached_keypoints

    out = project.root / "checkpoints" / "best"
    assert {"model.pt", "model.onnx", "report.json", "confusion.png"} <= {p.name for p in out.iterdir()}
    assert trained["labels"] == ["jump", "punch"] and len(trained["history"]) == 15
    assert trained["best"]["accuracy"] >= 0.5 and trained["videos"] == {"train": 6, "valid": 4}
    assert trained["seconds"]["train"] < 20
    # the classifier's per-frame answers on a video equal actkit stream's, frame by frame (keypoints given)
    v = project.videos("valid")[0]
    kp = cached_keypoints(project, v, load_extractor("exercises").fps)["keypoints"]
    for model in (out / "model.pt", out):  # torch, and the folder (its ONNX)
        runner = keypoint_runner(model)
        live = np.stack([runner(f[None], None, ["k"])[0] for f in kp])
        ext = load_extractor(out / "model.pt")
        trunk = ext.trunk(0)
        from actkit.custom.train import frame_probs

        feats = video_features(project, v, ext, 0, False)["features"]
        off = frame_probs(trunk, trunk.head, feats)
        found = np.isfinite(kp[:, 0, 0])
        found[:8] = False  # the runner answers uniform until a body has been seen
        np.testing.assert_allclose(live[found], off[found], atol=2e-4)


def test_evaluate_agrees_with_training_and_overwrite_is_refused(project, trained):
    e = evaluate_custom(project)
    assert e["accuracy"] == pytest.approx(trained["best"]["accuracy"])
    assert len(e["videos"]) == 4 and np.array(e["confusion"]).sum() == 4
    with pytest.raises(FileExistsError, match="--overwrite"):
        train_custom(project, CustomConfig(epochs=1))


def test_temporal_mode_trains_on_tags_and_skips_untagged(project):
    for v in project.videos():
        if v.name.endswith("c01") or v.split == "valid":
            n = 8
            tag = project.class_tags(v.label)[0]
            project.write_tags(v, [0] * 2 + [tag] * (n - 2), 4.0)
    r = train_custom(project, CustomConfig(epochs=3, temporal=True, name="temporal", export=False))
    assert r["labels"] == ["background", "jump", "punch"]
    untagged = [v for v in project.videos("train") if not v.name.endswith("c01")]
    assert len(r["skipped"]) == len(untagged) and all("no tags" in s["reason"] for s in r["skipped"])
    assert not (project.root / "checkpoints" / "temporal" / "model.onnx").exists()
    for v in project.videos():
        project.tags_file(v.split, v.label, v.name).unlink(missing_ok=True)


def test_a_corrupt_video_is_skipped_and_listed(project):
    bad = project.video_dir("train", "jump") / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    try:
        r = train_custom(project, CustomConfig(epochs=2, name="withbad", export=False))
        assert [s["video"] for s in r["skipped"]] == ["videos_train/jump/broken.mp4"]
    finally:
        bad.unlink()


def test_wrong_extractors_are_named(project, tmp_path):
    with pytest.raises(FileNotFoundError, match="nosuch"):
        load_extractor("nosuch")
    with pytest.raises(ValueError, match="ONNX"):
        load_extractor(project.root / "checkpoints" / "best" / "model.onnx")
    with pytest.raises(ValueError, match="finetune"):
        load_extractor("exercises").trunk(9)


def test_finetune_trains_the_top_layers(project):
    r = train_custom(project, CustomConfig(epochs=2, finetune=1, name="ft", export=False))
    from actkit.engine.checkpoint import read_checkpoint

    sd = read_checkpoint(project.root / "checkpoints" / "ft" / "model.pt")["state_dict"]
    base = read_checkpoint(load_extractor("exercises").path)["state_dict"]
    changed = [k for k in base if k in sd and sd[k].shape == base[k].shape and not np.allclose(sd[k], base[k])]
    assert changed and all(k.startswith(("blocks.3.", "head.")) for k in changed), changed
    assert r["best"]["accuracy"] >= 0.0


def test_cli_custom_verbs(project, trained, capsys):
    from actkit.cli import main

    assert main(["custom", "info"]) == 0
    assert "exercises" in capsys.readouterr().out
    assert main(["custom", "eval", str(project.root)]) == 0
    assert "valid: accuracy" in capsys.readouterr().out
    assert main(["custom", "export", str(project.root)]) == 0
    assert main(["custom", "train", str(project.root), "--epochs", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["custom", "init", str(project.root / "new"), "--classes", "a,b", "--temporal",
                 "--tags", "a:a_up,a_down"]) == 0
    assert load_project(project.root / "new").class_tags("a") == [1, 2]


@pytest.fixture(scope="module")
def pixel_extractor(tmp_path_factory):
    """A pixel streaming checkpoint (random weights: the code path, not accuracy)."""
    import torch

    from actkit.engine.checkpoint import save_checkpoint
    from actkit.models import create_model

    torch.manual_seed(0)
    m = create_model("stream_fast_s", input_size=(64, 64), num_classes=4, fps=16.0).eval()
    with torch.no_grad():  # BatchNorm running stats of a network that has seen data, so features differ per frame
        m.train()
        m.forward_frames(torch.rand(2, 3, 8, 64, 64))
        m.eval()
    return save_checkpoint(tmp_path_factory.mktemp("pix") / "pix.pt", m, ["a", "b", "c", "d"])


def test_pixel_extractor_trains_exports_and_matches_live(project, pixel_extractor):
    from actkit.custom.train import frame_probs
    from actkit.data.video.sources import read_video
    from actkit.streaming.runners import load_runner

    ext = load_extractor(pixel_extractor)
    assert ext.kind == "pixel" and ext.layers > 3
    r = train_custom(project, CustomConfig(extractor=str(pixel_extractor), epochs=3, name="pix"))
    out = project.root / "checkpoints" / "pix"
    assert (out / "model.onnx").is_file() and r["extractor"]["kind"] == "pixel"
    v = project.videos("valid")[1]
    trained = load_extractor(out / "model.pt")
    trunk = trained.trunk(0)
    off = frame_probs(trunk, trunk.head, video_features(project, v, trained, 0, False)["features"])
    for model in (out / "model.pt", out):  # torch, and the folder's stateful ONNX
        runner = load_runner(str(model))
        live = np.stack([runner(f, None, ["k"])[0] for f in read_video(v.path)])
        np.testing.assert_allclose(live, off, atol=1e-4)
    ft = train_custom(project, CustomConfig(extractor=str(pixel_extractor), epochs=1, finetune=2, name="pixft",
                                            export=False))
    assert ft["videos"]["train"] == 6
