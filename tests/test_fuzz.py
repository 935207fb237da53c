"""Property-based tests over every reader and parser of user files. Invariant: a clean error (ValueError or
FileNotFoundError naming the input) or a result with the bad rows listed in `skipped`; never another
exception, never a path outside the dataset root, never a label the file did not give.

The default run keeps each property small (a few seconds in all); `pytest -m slow tests/test_fuzz.py` adds a
400-example run of the video CSV property, and ACTKIT_FUZZ_EXAMPLES=400 runs every property that long."""
import csv
import io
import json
import os
import string
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# ACTKIT_FUZZ_EXAMPLES=400 pytest tests/test_fuzz.py runs every property with more examples.
FAST = settings(max_examples=int(os.environ.get("ACTKIT_FUZZ_EXAMPLES", "25")), deadline=None,
                suppress_health_check=list(HealthCheck))
MANY = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
CLEAN = (ValueError, FileNotFoundError)

# Path-like strings an attacker or a typo would write: `..`, absolute, odd characters, empty.
PARTS = st.sampled_from(["a", "b", "..", ".", "", "x.mp4", "v.png", "/etc/passwd", "~", "c:\\x", "a/../..", "\x00",
                         "é", " ", "videos", "rgb"])
PATHS = st.lists(PARTS, min_size=1, max_size=4).map(lambda p: "/".join(p))
TEXT = st.text(alphabet=string.printable + "éü\x00", max_size=40)
LABELS = st.one_of(st.sampled_from(["walk", "run", "", "?", "nan", " a "]), TEXT)


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def _inside(path: str, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


@pytest.fixture(scope="module")
def video_root(tmp_path_factory):
    """A dataset root with two small real videos, and a video outside it."""
    from conftest import write_video

    root = tmp_path_factory.mktemp("fuzz") / "root"
    frames = [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(3)]
    for name in ("a/x.mp4", "b/x.mp4"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_video(root / name, frames)
    write_video(root.parent / "x.mp4", frames)
    return root


def _video_csv_property(video_root, rows):
    from actkit.data.video import read_csv

    path = video_root / "list.csv"
    path.write_text(_csv([["path", "label", "start", "end", "group", "split"], *rows]))
    try:
        table = read_csv(path)
    except CLEAN:
        return
    given_labels = {r[1].strip() for r in rows if len(r) > 1}
    for r in table.records:
        assert _inside(r.path, video_root) and os.path.isfile(r.path)
        assert r.label in given_labels


ROWS = st.lists(st.lists(st.one_of(PATHS, LABELS, st.integers(-5, 50).map(str)), min_size=0, max_size=7),
                max_size=8)


@FAST
@given(rows=ROWS)
def test_video_csv(video_root, rows):
    _video_csv_property(video_root, rows)


@pytest.mark.slow
@MANY
@given(rows=ROWS)
def test_video_csv_many(video_root, rows):
    _video_csv_property(video_root, rows)


def _split_lists_property(video_root, lines):
    from actkit.data.video import read_ucf101

    (video_root / "classInd.txt").write_text("1 a\n2 b\n")
    (video_root / "trainlist01.txt").write_text("\n".join(lines[: len(lines) // 2 + 1]))
    (video_root / "testlist01.txt").write_text("\n".join(lines[len(lines) // 2 + 1:]))
    try:
        table = read_ucf101(video_root)
    except CLEAN:
        return
    for r in table.records:
        assert _inside(r.path, video_root) and r.label in ("a", "b")


LINES = st.lists(st.one_of(st.tuples(PATHS, st.sampled_from(["", " 1", " 2", " x"])).map("".join), TEXT), max_size=8)


@FAST
@given(lines=LINES)
def test_ucf_split_lists(video_root, lines):
    _split_lists_property(video_root, lines)


JSONS = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-3, 60), st.floats(allow_nan=True), TEXT, PATHS),
                     lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(TEXT, kids, max_size=4)),
                     max_leaves=12)
DIVE_ROWS = st.lists(st.one_of(JSONS, st.fixed_dictionaries(
    {"vid_name": st.one_of(PATHS, st.just("x")), "label": st.one_of(st.integers(-2, 3), TEXT),
     "start_frame": st.integers(-2, 5), "end_frame": st.integers(-2, 5)})), max_size=5)


@FAST
@given(vocab=st.one_of(JSONS, st.just([["Back", "1", "0", "TUCK"], ["Inward", "2", "1", "PIKE"]])), rows=DIVE_ROWS)
def test_diving48_json(video_root, vocab, rows):
    from actkit.data.video import read_diving48

    d = video_root.parent / "d48"
    (d / "rgb").mkdir(parents=True, exist_ok=True)
    if not (d / "rgb" / "x.mp4").exists():
        os.link(video_root / "a" / "x.mp4", d / "rgb" / "x.mp4")
    (d / "Diving48_vocab.json").write_text(json.dumps(vocab))
    (d / "Diving48_train.json").write_text(json.dumps(rows))
    try:
        table = read_diving48(d)
    except CLEAN:
        return
    for r in table.records:
        assert _inside(r.path, d)


@FAST
@given(label=JSONS, name=st.sampled_from(["stream_000", "v0"]))
def test_frame_label_json(tmp_path_factory, label, name):
    from actkit.data.video.framelabels import read_labelled_videos

    root = tmp_path_factory.mktemp("fl")
    (root / "videos").mkdir()
    (root / "labels").mkdir()
    (root / "labels" / f"{name}.json").write_text(json.dumps(label))
    skipped: list = []
    try:
        _, videos = read_labelled_videos(root, skipped)
    except CLEAN:
        return
    for v in videos:
        assert _inside(str(v.path), root / "videos")


@FAST
@given(text=st.one_of(TEXT, st.dictionaries(st.sampled_from(["task", "data", "model", "optim", "run", "x"]),
                                            JSONS, max_size=4).map(json.dumps)))
def test_yaml_config(tmp_path_factory, text):
    from actkit.config import TrainConfig, resolve

    path = tmp_path_factory.mktemp("cfg") / "run.yaml"
    path.write_text(text)
    try:
        cfg = resolve(TrainConfig, path)
    except CLEAN:
        return
    assert isinstance(cfg, TrainConfig)


@FAST
@given(args=st.one_of(TEXT, st.dictionaries(st.sampled_from(["head_dim", "pool", "dropout", "widths", "zzz"]), JSONS,
                                            max_size=3).map(json.dumps)))
def test_model_args(args):
    from actkit.config import TrainConfig, resolve
    from actkit.models import create_model

    try:
        cfg = resolve(TrainConfig, None, {"model.args": args})
        create_model("fastcrop_p", num_classes=3, **cfg.model.args)
    except CLEAN as e:  # the registry's unknown-field error is a ValueError too
        assert str(e)


@FAST
@given(text=st.one_of(TEXT, st.lists(st.lists(st.one_of(TEXT, st.floats(allow_nan=True).map(str)), max_size=6),
                                     max_size=5).map(lambda r: _csv([["image", "x0", "y0", "x1", "y1"], *r]))))
def test_box_files(tmp_path_factory, text):
    from actkit.engine.predictor import read_box_file

    path = tmp_path_factory.mktemp("boxes") / "boxes.csv"
    path.write_text(text)
    try:
        boxes = read_box_file(path)
    except CLEAN:
        return
    for bs in boxes.values():
        for x0, y0, x1, y1 in bs:
            assert x1 > x0 and y1 > y0


@FAST
@given(rows=st.lists(st.tuples(PATHS, LABELS), max_size=6))
def test_crop_csv(tmp_path_factory, rows):
    from actkit.data.crops_build import build_crops

    root = tmp_path_factory.mktemp("crops")
    (root / "img").mkdir()
    import cv2

    cv2.imwrite(str(root / "img" / "v.png"), np.full((20, 16, 3), 90, np.uint8))
    cv2.imwrite(str(root.parent / "outside.png"), np.full((20, 16, 3), 90, np.uint8))
    (root / "list.csv").write_text(_csv([["path", "label"], *[list(r) for r in rows]]))
    try:
        s = build_crops(root / "list.csv", root / "out.parquet", plots=False, progress=False)
    except CLEAN:
        return
    from actkit.data.crops import read_crops_table

    table = read_crops_table(root / "out.parquet")
    assert set(table.class_names) <= {lab.strip() for _, lab in rows}
    assert s["rows"] == len(table)


@FAST
@given(meta=st.one_of(TEXT, JSONS.map(json.dumps)))
def test_onnx_metadata(tmp_path_factory, meta):
    import onnx
    from onnx import TensorProto, helper

    from actkit.utils.ort import read_metadata

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph)
    entry = model.metadata_props.add()
    entry.key, entry.value = "actkit", meta
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    onnx.save(model, str(path))
    try:
        read_metadata(path)
    except CLEAN:
        return


NAMES = st.text(alphabet=string.ascii_letters + string.digits + " ._-é", min_size=1, max_size=12).filter(
    lambda n: not n.startswith("."))  # hidden files and folders are ignored by design, not skipped


@FAST
@given(tree=st.dictionaries(NAMES, st.lists(st.tuples(NAMES, st.sampled_from(["png", "garbage", "empty", "escape"])),
                                            max_size=4), max_size=3))
def test_crop_folder_trees(tmp_path_factory, tree):
    import cv2

    from actkit.data.crops import read_crops_table
    from actkit.data.crops_build import build_crops

    root = tmp_path_factory.mktemp("tree")
    outside = root.parent / f"{root.name}_outside.png"
    cv2.imwrite(str(outside), np.full((20, 16, 3), 70, np.uint8))
    kinds = {}
    for cls, files in tree.items():
        (root / cls).mkdir(exist_ok=True)
        for name, kind in files:
            f = root / cls / f"{name}.png"
            if f.exists() or f.is_symlink():
                continue
            kinds[f"{cls}/{name}.png"] = kind
            if kind == "png":
                cv2.imwrite(str(f), np.full((20, 16, 3), 50, np.uint8))
            elif kind == "escape":
                f.symlink_to(outside)
            else:
                f.write_bytes(b"" if kind == "empty" else b"\x00garbage")
    out = root.parent / f"{root.name}.parquet"
    try:
        s = build_crops(root, out, plots=False, progress=False)
    except CLEAN:
        assert not any(k == "png" for k in kinds.values())  # refused only when there was nothing usable
        return
    table = read_crops_table(out)
    assert set(table.class_names) <= set(tree)
    assert s["rows"] == len(table) == sum(k == "png" for k in kinds.values())
    skipped = {x["path"]: x["reason"] for x in s["skipped"]}
    for path, kind in kinds.items():
        if kind == "escape":
            assert "outside" in skipped[path], (path, skipped)
