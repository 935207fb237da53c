"""The pose-aware image pipeline: Stanford40 and class-folder readers, timm image models trained with
`actkit train --task image`, evaluated, exported and predicted; the geometric posture rule; the two-stream
late fusion."""
import json
import math

import numpy as np
import pytest

from actkit.cli import main

pytest.importorskip("timm")
ACTIONS = {"jumping": (255, 0, 0), "reading": (0, 0, 255), "waving_hands": (0, 255, 0)}


def _photo(rng, colour):
    import cv2

    img = (rng.random((96, 128, 3)) * 80).astype(np.uint8)
    x0, y0 = int(rng.integers(5, 70)), int(rng.integers(5, 30))
    cv2.rectangle(img, (x0, y0), (x0 + 40, y0 + 60), colour, -1)
    return img, (x0, y0, x0 + 40, y0 + 60)


@pytest.fixture(scope="module")
def stanford40(tmp_path_factory):
    """Stanford40 layout: 20 photos per action (14 train, 6 test), VOC boxes, plus one bad line of each kind."""
    import cv2

    root = tmp_path_factory.mktemp("s40")
    for d in ("JPEGImages", "ImageSplits", "XMLAnnotations"):
        (root / d).mkdir()
    rng = np.random.default_rng(0)
    for action, colour in ACTIONS.items():
        names = []
        for i in range(1, 21):
            img, (x0, y0, x1, y1) = _photo(rng, colour)
            name = f"{action}_{i:03d}"
            cv2.imwrite(str(root / "JPEGImages" / f"{name}.jpg"), img)
            (root / "XMLAnnotations" / f"{name}.xml").write_text(
                f"<annotation><size><width>128</width><height>96</height></size><object><bndbox><xmin>{x0}</xmin>"
                f"<ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object></annotation>")
            names.append(f"{name}.jpg")
        (root / "ImageSplits" / f"{action}_train.txt").write_text("\n".join(names[:14]) + "\n")
        (root / "ImageSplits" / f"{action}_test.txt").write_text("\n".join(names[14:]) + "\n")
    (root / "JPEGImages" / "reading_099.jpg").write_bytes(b"not a jpeg")
    with open(root / "ImageSplits" / "reading_train.txt", "a") as f:
        f.write("reading_099.jpg\n../../etc/passwd.jpg\nreading_404.jpg\n")
    return root


def test_stanford40_reader_keeps_official_splits_and_lists_bad_lines(stanford40):
    from actkit.data.images import read_images

    t = read_images(stanford40)
    assert t.class_names == sorted(ACTIONS) and len(t) == 60
    assert (t.splits == "train").sum() == 42 and (t.splits == "test").sum() == 18
    reasons = {p.split("/")[-1]: r for p, r in t.skipped}
    assert reasons["reading_099.jpg"] == "not a decodable image" and reasons["reading_404.jpg"] == "missing"
    assert any("passwd" in p for p, _ in t.skipped)
    boxed = read_images(stanford40, person_box=True)
    x0, y0, x1, y1 = boxed.boxes[0]
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 and (x1 - x0) == pytest.approx(40 / 128, abs=1e-3)


def test_stanford40_val_lists_are_read_where_a_set_adds_them(stanford40, tmp_path):
    import shutil

    from actkit.data.images import read_images

    copy = tmp_path / "s40"
    shutil.copytree(stanford40, copy)
    train = copy / "ImageSplits" / "jumping_train.txt"
    train.write_text(train.read_text().replace("jumping_001.jpg\n", ""))
    (copy / "ImageSplits" / "jumping_val.txt").write_text("jumping_001.jpg\njumping_002.jpg\n")
    t = read_images(copy)
    assert list(t.sources[t.splits == "val"]) == ["jumping_001.jpg"]  # 002 is a train photo already
    assert ("jumping_002.jpg", "listed in jumping_train.txt and in jumping_val.txt: kept in the first only") in t.skipped


def test_folder_reader_with_and_without_split_folders(tmp_path):
    import cv2

    from actkit.data.images import read_images

    rng = np.random.default_rng(1)
    for layout in ("flat", "split"):
        for k, (action, colour) in enumerate(ACTIONS.items()):
            for i in range(10):
                sub = tmp_path / layout / (("train", "val", "test")[i % 3] if layout == "split" else "") / action
                sub.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(sub / f"{i}.png"), _photo(rng, colour)[0])
    flat, split = read_images(tmp_path / "flat"), read_images(tmp_path / "split")
    assert set(flat.splits) == {"train", "val", "test"} and len(flat) == 30
    assert [int((split.splits == s).sum()) for s in ("train", "val", "test")] == [12, 9, 9]


def test_train_eval_export_predict_an_image_model(stanford40, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--task", "image", "--data", str(stanford40), "--model", "image_resnet18", "--input",
                 "48,48", "--epochs", "3", "--batch-size", "16", "--lr", "0.003", "--out", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["task"] == "image" and summary["test"]["accuracy"] > 1 / 3  # better than chance
    assert {s["reason"] for s in summary["skipped"]} >= {"missing", "not a decodable image"}
    best = run / "checkpoints" / "best.pt"
    assert main(["eval", "--model", str(best), "--data", str(stanford40), "--split", "test"]) == 0
    onnx = tmp_path / "m.onnx"
    assert main(["export", str(best), "--out", str(onnx)]) == 0
    out = capsys.readouterr().out
    assert "max |diff|" in out and float(out.rsplit("max |diff| ", 1)[1].split()[0]) < 1e-4  # BN + act kept whole
    assert main(["predict", str(stanford40 / "JPEGImages" / "jumping_001.jpg"), "--model", str(onnx)]) == 0


def test_timm_weights_are_local_files_or_a_clear_error(monkeypatch, tmp_path):
    import actkit

    with pytest.raises(FileNotFoundError, match="no such file"):
        actkit.create_model("image_resnet18", num_classes=3, pretrained=str(tmp_path / "missing.pth"))
    m = actkit.create_model("image_resnet18", num_classes=3)
    path = tmp_path / "resnet18.pth"
    import torch

    torch.save(m.backbone.state_dict(), path)
    again = actkit.create_model("image_resnet18", num_classes=3, pretrained=str(path))
    assert all(torch.equal(a, b) for a, b in zip(m.backbone.state_dict().values(), again.backbone.state_dict().values()))
    assert again.data_cfg.input_size == (224, 224) and again.data_cfg.mean == pytest.approx((0.485, 0.456, 0.406))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="pass a local weights file"):
        actkit.create_model("image_resnet18", num_classes=3, pretrained="hub")


def _body(thigh_deg: float, thigh_len: float = 1.0, torso_deg: float = 0.0, scale: float = 100.0,
          knee_vis: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe-33 landmarks of a stick body: hips at the origin, torso of length 1 turned ``torso_deg`` from
    upright, thighs ``thigh_deg`` from straight down, shins straight down (pixels, y down)."""
    xy = np.zeros((33, 2))
    t = math.radians(torso_deg)
    shoulders = np.array([math.sin(t), -math.cos(t)])
    xy[[11, 12]] = shoulders + [[-0.2, 0], [0.2, 0]]
    xy[[23, 24]] = [[-0.1, 0], [0.1, 0]]
    a = math.radians(thigh_deg)
    knee = np.array([math.sin(a), math.cos(a)]) * thigh_len
    xy[[25, 26]] = xy[[23, 24]] + knee
    xy[[27, 28]] = xy[[25, 26]] + [0, 1.0]
    vis = np.ones(33)
    vis[[25, 26]] = knee_vis
    return xy * scale + 300, vis


@pytest.mark.parametrize("body,expected", [
    (dict(thigh_deg=5), "standing"),
    (dict(thigh_deg=85), "sitting"),                       # side view: thighs level
    (dict(thigh_deg=10, thigh_len=0.3), "sitting"),        # front view: thighs point at the camera
    (dict(thigh_deg=0, torso_deg=85), "lying"),
])
def test_posture_rule(body, expected):
    from actkit.perception.posture import posture_rule

    label, conf = posture_rule(*_body(**body))
    assert label == expected and 0 < conf <= 1
    assert posture_rule(*_body(**body, scale=7.0))[0] == expected  # any distance from the camera


def test_posture_rule_answers_nothing_without_the_landmarks_it_needs():
    from actkit.perception.posture import posture_rule

    assert posture_rule(*_body(thigh_deg=5, knee_vis=0.1)) is None
    xy, vis = _body(thigh_deg=5)
    vis[[11, 12]] = 0.0
    assert posture_rule(xy, vis) is None


def test_two_streams_fuse_late_and_save_without_pickle(tmp_path):
    from actkit.perception.twostream import PoseClassifier, choose_weight, fuse, pose_features

    xy, vis = _body(thigh_deg=5)
    f = pose_features(xy, vis)
    moved, _ = _body(thigh_deg=5, scale=30.0)
    np.testing.assert_allclose(f, pose_features(moved, vis), atol=1e-5)  # position and scale do not matter
    rng = np.random.default_rng(0)
    x = np.vstack([pose_features(*_body(thigh_deg=d)) for d in rng.uniform(0, 20, 20)]
                  + [pose_features(*_body(thigh_deg=d)) for d in rng.uniform(70, 90, 20)])
    y = np.repeat([0, 1], 20)
    clf = PoseClassifier(2).fit(x, y)
    assert (clf.predict_proba(x).argmax(1) == y).all()
    clf.save(tmp_path / "pose.npz")
    np.testing.assert_allclose(PoseClassifier.load(tmp_path / "pose.npz").predict_proba(x), clf.predict_proba(x))
    appearance = np.full((40, 2), 0.5) + np.where(y[:, None] == 0, [[0.05, -0.05]], [[-0.05, 0.05]])[:, ::-1]
    found = np.ones(40, bool)
    np.testing.assert_allclose(fuse(appearance, clf.predict_proba(x), found, 0.0), appearance, atol=1e-9)
    assert choose_weight(appearance, clf.predict_proba(x), found, y) > 0  # appearance is wrong here; pose helps
