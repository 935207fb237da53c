"""Crop-dataset builder, reader and grouped splits (actkit.data.crops / actkit.data.splits)."""
from __future__ import annotations

import csv
import json
import logging
import os
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from actkit.data.crops import read_crops_table
from actkit.data.crops_build import build_crops, resplit
from actkit.data.schema import REQUIRED_COLUMNS, decode_image, encode_png
from actkit.data.splits import check_no_leakage, grouped_stratified_split, infer_group, straddling_groups

CLASSES = ("lie", "sit", "stand")
PNG_MAGIC = b"\x89PNG"


def _img(path, w=8, h=12, fmt=None, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (value % 256, 40, 90)).save(path, format=fmt)


@pytest.fixture
def tree(tmp_path):
    """<root>/<class>/<video>/<frame>.png: 3 classes x 5 videos x 3 frames, plus bad files."""
    root = tmp_path / "crops"
    for c, cls in enumerate(CLASSES):
        for v in range(5):
            for f in range(3):
                _img(root / cls / f"{cls}{v}" / f"frame{f:04d}.png", w=8 + c, h=12 + f, value=10 * v + f)
    (root / "sit" / "sit0" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    (root / "stand" / "empty.png").write_bytes(b"")
    (root / "lie" / "notes.txt").write_text("not an image")
    _img(root / "lie" / "lie0" / "frame0009.bmp", fmt="BMP")  # re-encoded to PNG
    outside = tmp_path / "outside.png"
    _img(outside)
    if hasattr(os, "symlink"):
        os.symlink(outside, root / "sit" / "sit1" / "escape.png")
    return root


def _columns(path):
    return pq.read_table(path).to_pydict()


# ------------------------------------------------------------------------- splits


@pytest.mark.parametrize("path, regex, class_dir, group", [
    ("clip12_frame0003.png", None, None, "clip12"),
    ("clip12_000123.jpg", None, None, "clip12"),
    ("face7_left.png", None, None, "face7"),
    ("face7_right.png", None, None, "face7"),
    ("video_12_frame_3.png", None, None, "video_12"),
    ("clips/frame0003.png", None, None, "clips"),
    ("Walk/v_Walk_g08_c01_0004.png", None, None, "g08"),
    ("sit/vid3/0001.png", None, "sit", "vid3"),
    ("sit/person4_001.png", None, "sit", "person4"),
    ("a/subj-17/x_1.png", r"subj-(\d+)", None, "17"),
    ("a/subj-17/x_1.png", r"subj-\d+", None, "subj-17"),
])
def test_infer_group(path, regex, class_dir, group):
    assert infer_group(path, regex, class_dir=class_dir) == group


def test_grouped_split_keeps_groups_whole_and_covers_classes():
    rng = np.random.default_rng(0)
    labels, groups = [], []
    for cls, n_groups in (("a", 30), ("b", 12), ("c", 3)):
        for g in range(n_groups):
            n = int(rng.integers(1, 20))
            labels += [cls] * n
            groups += [f"{cls}{g}"] * n
    splits = grouped_stratified_split(labels, groups, seed=3)
    check_no_leakage(splits, groups)
    have = Counter(zip(splits.tolist(), labels))
    for cls in "abc":
        assert all(have[(s, cls)] > 0 for s in ("train", "val", "test")), (cls, have)
    share = np.mean(splits[np.array(labels) == "a"] == "train")
    assert 0.7 < share < 0.9
    assert np.array_equal(splits, grouped_stratified_split(labels, groups, seed=3))
    only_train = grouped_stratified_split(labels, groups, {"train": 1.0, "val": 0.0, "test": 0.0})
    assert set(only_train.tolist()) == {"train"}


def test_check_no_leakage_names_group():
    with pytest.raises(ValueError, match="'v2'"):
        check_no_leakage(["train", "train", "test"], ["v1", "v2", "v2"])
    assert straddling_groups(["train", "val", "val"], ["a", "a", "b"]) == ["a"]


# ------------------------------------------------------------------------- building


def test_build_from_tree(tree, tmp_path, caplog):
    out = tmp_path / "out" / "ds.parquet"
    with caplog.at_level(logging.WARNING, logger="actkit.data.crops"):
        summary = build_crops(tree, out, seed=0)
    cols = _columns(out)
    assert set(REQUIRED_COLUMNS) | {"source", "box"} <= set(cols)
    schema = pq.read_schema(out)
    assert schema.field("class_id").type == pa.int64() and schema.field("width").type == pa.int32()
    assert schema.field("box").type == pa.list_(pa.float32()) and all(b is None for b in cols["box"])

    n = 3 * 5 * 3 + 1  # every frame plus the BMP
    assert len(cols["split"]) == summary["rows"] == n
    check_no_leakage(cols["split"], cols["group"])
    assert set(cols["group"]) == {f"{c}{v}" for c in CLASSES for v in range(5)}
    present = set(zip(cols["split"], cols["label"]))
    assert present == {(s, c) for s in ("train", "val", "test") for c in CLASSES}
    assert all(CLASSES[i] == lab for i, lab in zip(cols["class_id"], cols["label"]))

    row = cols["source"].index("lie/lie0/frame0009.bmp")
    assert cols["image_bytes"][row].startswith(PNG_MAGIC)
    row = cols["source"].index("stand/stand2/frame0001.png")
    assert (cols["width"][row], cols["height"][row]) == (10, 13)
    assert decode_image(cols["image_bytes"][row]).shape == (13, 10, 3)

    skipped = {s["path"]: s["reason"] for s in summary["skipped"]}
    assert "sit/sit0/broken.png" in skipped and "not a readable image" in skipped["sit/sit0/broken.png"]
    assert skipped["stand/empty.png"] == "empty file"
    if hasattr(os, "symlink"):
        assert "outside" in skipped["sit/sit1/escape.png"]
    assert not set(skipped) & set(cols["source"])
    assert "sit/sit0/broken.png" in caplog.text
    with open(out.with_name("ds_skipped.csv")) as f:
        assert {r["path"] for r in csv.DictReader(f)} == set(skipped)

    for name in ("ds_classes.png", "ds_sizes.png"):
        assert out.with_name(name).read_bytes().startswith(PNG_MAGIC)
    saved = json.loads(out.with_name("ds_summary.json").read_text())
    assert saved["seed"] == 0 and saved["fractions"] == {"train": 0.8, "val": 0.1, "test": 0.1}
    assert saved["n_skipped"] == len(skipped) and saved["ignored_files"] == 1
    assert sum(sum(v.values()) for v in saved["counts"].values()) == n
    assert saved["counts"]["val"]["sit"] == sum(
        1 for s, lab in zip(cols["split"], cols["label"]) if (s, lab) == ("val", "sit"))
    assert sum(saved["groups"].values()) == saved["n_groups"] == 15


def test_build_is_deterministic_per_seed(tree, tmp_path):
    def splits(seed, name):
        build_crops(tree, tmp_path / name, seed=seed, plots=False)
        cols = _columns(tmp_path / name)
        return dict(zip(cols["source"], cols["split"]))

    first = splits(0, "a.parquet")
    assert first == splits(0, "b.parquet")
    assert any(splits(s, f"s{s}.parquet") != first for s in (1, 2, 3))
    assert not (tmp_path / "a_classes.png").exists()


def test_build_from_csv(tmp_path):
    root = tmp_path / "data"
    rows = [["path", "label", "group"]]
    for cls in ("closed", "open"):
        for face in range(4):
            for side in ("left", "right"):
                rel = f"eyes/face{face}_{cls}_{side}.png"
                _img(root / rel)
                rows.append([rel, cls, ""])
    _img(root / "eyes/face9_squint.png")
    _img(root / "eyes/face9_blur.png")
    _img(tmp_path / "secret.png")
    rows += [["../secret.png", "open", ""], [str(tmp_path / "secret.png"), "open", ""],
             ["eyes/face9_squint.png", "opne", ""], ["eyes/face9_blur.png", "?", ""],
             ["eyes/missing.png", "open", ""], ["eyes/face2_open_left.png", "open", "dup"]]
    with open(root / "list.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)

    out = tmp_path / "eyes.parquet"
    summary = build_crops(root / "list.csv", out, val=0.25, test=0.25, classes=["closed", "open"], plots=False)
    cols = _columns(out)
    reasons = {s["path"]: s["reason"] for s in summary["skipped"]}
    assert "escapes" in reasons["../secret.png"]
    assert "absolute" in reasons[str(tmp_path / "secret.png")]
    assert "unknown label 'opne' (did you mean 'open'?)" in reasons["eyes/face9_squint.png"]
    assert "unknown label '?'" in reasons["eyes/face9_blur.png"]
    assert "missing file" in reasons["eyes/missing.png"]
    assert "duplicate" in " ".join(reasons.values())
    assert len(cols["split"]) == 16 and summary["n_skipped"] == 6
    assert set(cols["label"]) == {"closed", "open"}
    # Both eyes of one face stay together.
    groups = dict(zip(cols["source"], cols["group"]))
    assert groups["eyes/face3_open_left.png"] == groups["eyes/face3_open_right.png"] == "face3_open"
    check_no_leakage(cols["split"], cols["group"])


def test_csv_split_column_kept_and_checked(tmp_path):
    for i in range(4):
        _img(tmp_path / f"v{i}_0001.png")
        _img(tmp_path / f"v{i}_0002.png")
    good = "path,label,split\n" + "".join(
        f"v{i}_000{f}.png,{'ab'[i % 2]},{'train' if i < 2 else 'test'}\n" for i in range(4) for f in (1, 2))
    (tmp_path / "good.csv").write_text(good)
    build_crops(tmp_path / "good.csv", tmp_path / "good.parquet", plots=False)
    cols = _columns(tmp_path / "good.parquet")
    assert dict(zip(cols["source"], cols["split"]))["v3_0002.png"] == "test"

    (tmp_path / "leaky.csv").write_text(good.replace("v3_0002.png,b,test", "v3_0002.png,b,train"))
    with pytest.raises(ValueError, match="'v3'"):
        build_crops(tmp_path / "leaky.csv", tmp_path / "leaky.parquet", plots=False)


def test_build_errors(tmp_path):
    with pytest.raises(ValueError, match="nowhere"):
        build_crops(tmp_path / "nowhere", tmp_path / "x.parquet")
    (tmp_path / "flat").mkdir()
    _img(tmp_path / "flat" / "a.png")
    with pytest.raises(ValueError, match="no class folders"):
        build_crops(tmp_path / "flat", tmp_path / "x.parquet")
    (tmp_path / "bad" / "cls").mkdir(parents=True)
    (tmp_path / "bad" / "cls" / "a.png").write_bytes(b"junk")
    with pytest.raises(ValueError, match="no usable images"):
        build_crops(tmp_path / "bad", tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="val"):
        build_crops(tmp_path / "bad", tmp_path / "x.parquet", val=0.6, test=0.5)


# ------------------------------------------------------------------------- reading


def _reference_parquet(tmp_path, n_videos=6, frames=4, seed=0):
    """The reference family's format: image_path, a random per-row split, no group."""
    rng = np.random.default_rng(seed)
    rows = {"split": [], "label": [], "class_id": [], "image_path": [], "source": []}
    for v in range(n_videos):
        label = ("not_sitting", "sitting")[v % 2]
        for f in range(frames):
            rel = f"imgs/vid{v}_{f:06d}.png"
            _img(tmp_path / rel, value=v)
            split = str(rng.choice(["train", "val", "test"]))
            for k, x in zip(rows, (split, label, v % 2, rel, f"cam/vid{v}_{f:06d}.png")):
                rows[k].append(x)
    rows["image_path"][-1] = "imgs/gone.png"
    path = tmp_path / "ref.parquet"
    pq.write_table(pa.table(rows), path)
    return path


def test_read_reference_format(tmp_path, caplog):
    path = _reference_parquet(tmp_path)
    t = read_crops_table(path)
    assert len(t) == 6 * 4 - 1
    assert t.skipped == [("imgs/gone.png", "missing file")]
    assert t.class_names == ["not_sitting", "sitting"]
    assert set(t.groups.tolist()) == {f"vid{v}" for v in range(6)}  # from source, counters stripped
    assert t.boxes.shape == (23, 4) and np.all(t.boxes == [0, 0, 1, 1])
    assert t.images[0].startswith(PNG_MAGIC) and t.class_ids.dtype == np.int64
    assert t.class_counts().tolist() == [12, 11]
    train = t.select("train")
    assert len(train) == int((t.splits == "train").sum()) and set(train.splits.tolist()) == {"train"}


def test_read_actkit_output_and_binary(tree, tmp_path):
    build_crops(tree, tmp_path / "ds.parquet", plots=False)
    t = read_crops_table(tmp_path / "ds.parquet")
    assert t.class_names == list(CLASSES) and len(t) == 46
    check_no_leakage(t.splits, t.groups)
    b = t.binary("sit")
    assert b.class_names == ["not_sit", "sit"]
    assert np.array_equal(b.class_ids == 1, t.labels == "sit")
    assert set(b.labels[b.class_ids == 0].tolist()) == {"not_sit"}
    with pytest.raises(ValueError, match="'sit'"):
        t.binary("sitt")


def test_read_errors(tmp_path):
    png = encode_png(np.zeros((4, 4, 3), np.uint8))
    base = {"split": ["train", "val"], "label": ["a", "b"], "class_id": [0, 0], "image_bytes": [png, png]}
    pq.write_table(pa.table(base), tmp_path / "incons.parquet")
    with pytest.raises(ValueError, match="class_id 0"):
        read_crops_table(tmp_path / "incons.parquet")
    without = {k: v for k, v in base.items() if k not in ("label", "image_bytes")}
    pq.write_table(pa.table(without), tmp_path / "m.parquet")
    with pytest.raises(ValueError, match="m.parquet.*label.*image_bytes"):
        read_crops_table(tmp_path / "m.parquet")
    pq.write_table(pa.table({k: v for k, v in base.items() if k != "split"}), tmp_path / "ns.parquet")
    with pytest.raises(ValueError, match="resplit"):
        read_crops_table(tmp_path / "ns.parquet")


def test_resplit_fixes_leaky_reference_split(tmp_path):
    path = _reference_parquet(tmp_path, n_videos=12)
    out = tmp_path / "fixed" / "ref_grouped.parquet"
    report = resplit(path, out, val=0.2, test=0.2, seed=0)
    assert report["straddling_before"] > 0
    t = read_crops_table(out)
    check_no_leakage(t.splits, t.groups)
    assert set(t.splits.tolist()) == {"train", "val", "test"}
    assert len(t) == 12 * 4 - 1  # image_path rebased to the new folder: all but the missing one load
    saved = json.loads(out.with_name("ref_grouped_summary.json").read_text())
    assert saved["straddling_before"] == report["straddling_before"]
