"""Bad input gets one clear error naming it (exit 2, no traceback), or a warning and a listed skip: never a
confident answer."""
import logging

import numpy as np
import pytest

from actkit.cli import main

cv2 = pytest.importorskip("cv2")


def _one_line_error(capsys, argv, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, err)
    assert "Traceback" not in err and err.count("error:") == 1, err
    for n in needles:
        assert str(n) in err, (n, err)
    return err


@pytest.fixture(scope="module")
def clip_ckpt(tmp_path_factory):
    from actkit.engine.checkpoint import save_checkpoint
    from actkit.models import create_model

    path = tmp_path_factory.mktemp("clip") / "clip.pt"
    save_checkpoint(path, create_model("clip_fast_p", num_classes=2, input_size=(32, 32), num_frames=4), ["a", "b"])
    return path


def test_corrupt_onnx_is_one_line_on_every_verb(tmp_path, shapes_parquet, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0.png"), np.zeros((16, 16, 3), np.uint8))
    for model in (bad, empty):
        _one_line_error(capsys, ["predict", str(shapes_parquet), "--model", str(model)], model)
        _one_line_error(capsys, ["eval", "--model", str(model), "--data", str(shapes_parquet)], model)
        _one_line_error(capsys, ["bench", "--models", str(model), "--iters", "2"], model)
        _one_line_error(capsys, ["stream", "--model", str(model), "--source", str(frames)], model)


def test_a_folder_without_images_is_an_error_not_an_empty_answer(tmp_path, trained_run, capsys):
    out = tmp_path / "pred.jsonl"
    _one_line_error(capsys, ["predict", str(tmp_path), "--model", str(trained_run / "checkpoints" / "best.pt"),
                             "--out", str(out)], tmp_path, "no images")
    assert not out.exists()


def test_a_clip_model_says_what_it_was_given(tmp_path, shapes_parquet, clip_ckpt, capsys):
    img = tmp_path / "one.png"
    cv2.imwrite(str(img), np.zeros((40, 40, 3), np.uint8))
    _one_line_error(capsys, ["predict", str(img), "--model", str(clip_ckpt)], img, "an image", "clip model")
    _one_line_error(capsys, ["predict", str(shapes_parquet), "--model", str(clip_ckpt)], "a Parquet crop table",
                    "needs a video")
    _one_line_error(capsys, ["stream", "--model", "stream_fast_s", "--source", str(img)], img, "a single image")


@pytest.mark.parametrize("argv, needle", [
    (["predict", "x.parquet", "--model", "m.pt", "--every", "0"], "every must be >= 1"),
    (["stream", "--model", "stream_fast_s", "--source", "0", "--window", "0"], "window must be >= 1"),
    (["stream", "--model", "stream_fast_s", "--source", "0", "--window", "-5"], "window must be >= 1"),
    (["stream", "--model", "stream_fast_s", "--source", "0", "--threshold", "7"], "event_threshold must be in"),
    (["train", "--data", "x", "--data.box_jitter", "5"], "data.box_jitter must be in [0, 0.5]"),
    (["train", "--data", "x", "--epochs", "0"], "optim.epochs must be >= 1"),
    (["train", "--data", "x", "--batch-size", "0"], "data.batch_size must be >= 1"),
])
def test_out_of_range_options_are_refused_before_any_work(argv, needle, capsys):
    _one_line_error(capsys, argv, needle)


def test_an_unknown_model_field_is_one_line(shapes_parquet, tmp_path, capsys):
    _one_line_error(capsys, ["train", "--data", str(shapes_parquet), "--out", str(tmp_path / "r"), "--epochs", "1",
                             "--model.args", "{no_such_field: 3}"], "no_such_field", "actkit models fastcrop_p --config")


def test_tiny_crops_warn_and_boxes_outside_are_errors(trained_run, caplog):
    import actkit

    p = actkit.load(trained_run / "checkpoints" / "best.pt")
    img = np.zeros((60, 80, 3), np.uint8)
    with caplog.at_level(logging.WARNING):
        p.predict(img, boxes=[(10, 10, 12, 11)], source="frame.png")
    assert "frame.png: a crop enlarged" in caplog.text
    with pytest.raises(ValueError, match="frame.png: box .* lies entirely outside the 80x60 image"):
        p.predict(img, boxes=[(100, 10, 120, 30)], source="frame.png")
    with pytest.raises(ValueError, match="has no area"):
        p.predict(img, boxes=[(10, 10, 10, 30)], source="frame.png")
    with caplog.at_level(logging.WARNING):
        caplog.clear()
        p.predict(np.zeros((1, 1, 3), np.uint8), source="pixel.png")
    assert "pixel.png: a crop enlarged" in caplog.text


def test_a_truncated_video_warns_with_frames_read_and_listed(tmp_path, caplog):
    from conftest import write_video

    from actkit.data.video.sources import iter_video

    path = write_video(tmp_path / "v.mkv", [np.full((48, 64, 3), 8 * i, np.uint8) for i in range(30)], "MJPG")
    data = path.read_bytes()
    cut = tmp_path / "cut.mkv"  # Matroska lists its frame count up front, so a cut file still says 30
    cut.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING):
        n = sum(1 for _ in iter_video(cut))
    assert 0 < n < 30
    assert f"decoded {n} of the 30 frames" in caplog.text and "cut.mkv" in caplog.text


def test_tiny_images_are_skipped_and_listed_when_building_a_dataset(tmp_path):
    from actkit.data.crops_build import build_crops

    for cls in ("a", "b"):
        for k in range(12):
            (tmp_path / "src" / cls).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp_path / "src" / cls / f"{k}.png"), np.full((24, 20, 3), 30 * k % 255, np.uint8))
    cv2.imwrite(str(tmp_path / "src" / "a" / "speck.png"), np.zeros((1, 1, 3), np.uint8))
    s = build_crops(tmp_path / "src", tmp_path / "out.parquet", plots=False)
    assert s["rows"] == 24 and any("speck.png" in x["path"] and "--min-size" in x["reason"] for x in s["skipped"])
    s = build_crops(tmp_path / "src", tmp_path / "all.parquet", plots=False, min_size=0)
    assert s["rows"] == 25


def test_a_synthetic_set_too_small_for_every_split_says_how_many_would_do(caplog):
    from actkit.data.synth.actions import _warn_missing_splits, plan_clip

    plans = [plan_clip(0, n, k, 2, 8, 16, "appearance") for n in ("walk", "run") for k in range(2)]
    with caplog.at_level(logging.WARNING):
        _warn_missing_splits(plans, ("walk", "run"), 0, 8, 16, "appearance")
    assert "2 clips per class leave" in caplog.text and "--clips-per-class 7 gives every split every class" in caplog.text
