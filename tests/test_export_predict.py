"""Export, prediction, evaluation and benchmarking from one shared tiny trained checkpoint."""
from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pyarrow.parquet as pq
import pytest

import actkit
from actkit.data.crops import read_crops_table
from actkit.data.schema import encode_png
from actkit.bench.inference import bench, format_table
from actkit.engine.checkpoint import read_checkpoint
from actkit.engine.evaluator import evaluate_file, format_report
from actkit.engine.exporter import export_onnx
from actkit.utils.ort import ort_session, read_metadata
from actkit.engine.predictor import Predictor, iter_predictions, predict, read_box_file
from actkit.results import Results

from conftest import make_shape, write_video


@pytest.fixture(scope="module")
def onnx3(trained_run, tmp_path_factory):
    """The 3-class checkpoint exported with int8; returns (report, path)."""
    out = tmp_path_factory.mktemp("export") / "model.onnx"
    return export_onnx(trained_run / "checkpoints" / "best.pt", out, int8=True, calib_samples=32), out


@pytest.fixture(scope="module")
def onnx_bin(binary_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export_bin") / "binary.onnx"
    report = export_onnx(binary_run / "checkpoints" / "best.pt", out, int8=True, calib_samples=16)
    assert report["int8"]["test_samples"] == 30
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A folder with one image per class, one in a subfolder and one corrupt file."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(5)
    (folder / "sub").mkdir()
    for name, rel in (("blob", "blob.png"), ("tall", "tall.png"), ("wide", "sub/wide.png")):
        (folder / rel).write_bytes(encode_png(make_shape(name, rng)))
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "notes.txt").write_text("ignored: not an image")
    return folder


# --------------------------------------------------------------------------- export


def test_export_report_and_file(onnx3, trained_run):
    report, path = onnx3
    assert path.is_file() and report["path"] == str(path)
    assert report["parity_max_abs"] < 1e-4
    assert report["batchnorm_nodes"] == 0
    assert report["output"] == "probs"
    meta = read_metadata(path)
    assert meta["model_name"] == "fastcrop_p"
    assert meta["class_names"] == ["blob", "tall", "wide"]
    assert meta["data_cfg"]["input_size"] == [32, 24]
    assert meta["threshold"] is None


def test_export_default_path_is_beside_checkpoint(binary_run, tmp_path):
    ckpt = tmp_path / "copy.pt"
    shutil.copy(binary_run / "checkpoints" / "best.pt", ckpt)
    report = export_onnx(ckpt)
    assert report["path"] == str(tmp_path / "copy.onnx") and (tmp_path / "copy.onnx").is_file()


def test_export_binary_carries_threshold(binary_run, onnx_bin):
    meta = read_metadata(onnx_bin)
    best = read_checkpoint(binary_run / "checkpoints" / "best.pt")
    assert meta["class_names"] == ["not_tall", "tall"]
    assert meta["threshold"] == pytest.approx(best["threshold"])
    sess = ort_session(onnx_bin)
    assert sess.get_outputs()[0].name == "prob_tall"


def test_int8_export(onnx3, shapes_parquet):
    report, path = onnx3
    q = report["int8"]
    assert q["path"] == str(path.with_name("model.int8.onnx")) and path.with_name("model.int8.onnx").is_file()
    assert not path.with_name("model.pre.onnx").exists()
    assert read_metadata(q["path"])["class_names"] == ["blob", "tall", "wide"]
    assert q["test_samples"] == 30
    for tag in ("fp32", "int8"):
        assert 0.0 <= q[tag]["macro_f1"] <= 1.0
    assert q["macro_f1_change_points"] == pytest.approx((q["int8"]["macro_f1"] - q["fp32"]["macro_f1"]) * 100)
    # The fp32 number is the real one: the same as evaluating the fp32 file.
    assert q["fp32"]["macro_f1"] == pytest.approx(evaluate_file(path, shapes_parquet, "test", plots=False)["macro_f1"])
    assert q["int8"]["macro_f1"] >= q["fp32"]["macro_f1"] - 0.2
    nodes = {n.op_type for n in onnx.load(q["path"]).graph.node}
    assert "QuantizeLinear" in nodes


def test_int8_binary_uses_the_binary_view(onnx_bin, shapes_parquet):
    # The checkpoint's data.positive is applied to the calibration / test data: labels are 0/1.
    meta = read_metadata(onnx_bin.with_name("binary.int8.onnx"))
    assert meta["class_names"] == ["not_tall", "tall"] and meta["threshold"] == read_metadata(onnx_bin)["threshold"]
    fp32 = evaluate_file(onnx_bin, shapes_parquet, "test", plots=False)
    int8 = evaluate_file(onnx_bin.with_name("binary.int8.onnx"), shapes_parquet, "test", plots=False)
    assert fp32["num_samples"] == int8["num_samples"] == 30
    assert int8["macro_f1"] >= fp32["macro_f1"] - 0.2


def test_export_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        export_onnx(tmp_path / "nope.pt")


# --------------------------------------------------------------------------- Predictor and Results


def test_pt_and_onnx_give_same_probabilities(trained_run, onnx3):
    img = make_shape("tall", np.random.default_rng(1), h=50, w=37)
    pt = actkit.load(trained_run / "checkpoints" / "best.pt")
    ox = actkit.load(onnx3[1])
    assert (pt.backend, ox.backend) == ("torch", "onnx")
    assert pt.class_names == ox.class_names and pt.data_cfg == ox.data_cfg
    boxes = [(0, 0, 37, 50), (5, 8, 30, 45)]
    a, b = pt.predict(img, boxes), ox.predict(img, boxes)
    assert len(a) == len(b) == 2
    for ra, rb in zip(a, b):
        np.testing.assert_allclose(ra.probs, rb.probs, atol=1e-4)
        assert ra.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert not np.allclose(a[0].probs, a[1].probs, atol=1e-6)  # the box matters


def test_binary_pt_and_onnx_agree(binary_run, onnx_bin):
    img = make_shape("wide", np.random.default_rng(2))
    a = Predictor(binary_run / "checkpoints" / "best.pt").predict(img)[0]
    b = Predictor(onnx_bin).predict(img)[0]
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-4)
    assert a.probs.shape == (2,) and a.threshold == pytest.approx(b.threshold)


def test_results_api():
    r = Results(np.array([0.2, 0.5, 0.3], np.float32), ["a", "b", "c"], source="x.png", box=(1, 2, 3, 4), frame=7,
                timings={"inference": 0.5})
    assert r.label == "b" and r.confidence == pytest.approx(0.5) and r.index == 1
    assert r.topk(2) == [("b", pytest.approx(0.5)), ("c", pytest.approx(0.3))]
    d = json.loads(json.dumps(r.to_dict()))
    assert d["label"] == "b" and d["frame"] == 7 and d["box"] == [1.0, 2.0, 3.0, 4.0] and d["source"] == "x.png"
    assert d["probs"] == pytest.approx({"a": 0.2, "b": 0.5, "c": 0.3})
    assert d["timings_ms"] == {"inference": 0.5}
    assert "track_id" not in d and "threshold" not in d
    assert "b" in repr(r)


@pytest.mark.parametrize("threshold,label", [(None, "not_x"), (0.5, "not_x"), (0.3, "x"), (0.31, "x"), (0.32, "not_x")])
def test_results_binary_threshold(threshold, label):
    r = Results(np.array([0.69, 0.31]), ["not_x", "x"], threshold=threshold)
    assert r.label == label
    assert r.confidence == pytest.approx(0.31 if label == "x" else 0.69)
    assert json.loads(json.dumps(r.to_dict()))["label"] == label


def test_predictor_respects_binary_threshold(binary_run):
    p = Predictor(binary_run / "checkpoints" / "best.pt")
    assert isinstance(p.threshold, float)
    rng = np.random.default_rng(3)
    imgs = [make_shape(k, rng) for k in ("tall", "wide", "blob", "tall")]
    for thr in (p.threshold, 0.0, 1.01):
        p.threshold = thr
        for img in imgs:
            (r,) = p.predict(img)
            assert r.label == ("tall" if r.probs[1] >= thr else "not_tall")
    p.threshold = 0.0
    assert all(p.predict(img)[0].label == "tall" for img in imgs)


def test_predict_many_equals_one_image_at_a_time(trained_run, onnx3):
    rng = np.random.default_rng(5)
    imgs = [make_shape(k, rng) for k in ("tall", "wide", "blob", "tall", "wide")]
    boxes = [None, [(0, 0, 20, 20), (5, 5, 30, 40)], None, [(1, 1, 29, 39)], None]
    for model in (trained_run / "checkpoints" / "best.pt", onnx3[1]):
        p = actkit.load(model, threads=2)
        want = [r for i, (img, b) in enumerate(zip(imgs, boxes)) for r in p.predict(img, b, source=f"i{i}")]
        items = [(img, b, f"i{i}") for i, (img, b) in enumerate(zip(imgs, boxes))]
        for batch in (1, 2, 4, 256):  # batches that end inside an image's boxes too
            got = list(p.predict_many(iter(items), batch=batch))
            assert [(r.source, r.box) for r in got] == [(r.source, r.box) for r in want]
            np.testing.assert_allclose([r.probs for r in got], [r.probs for r in want], atol=1e-5)
            assert all(set(r.timings) == {"preprocess", "inference"} for r in got)
    with pytest.raises(ValueError, match="batch"):
        list(p.predict_many(iter(items), batch=0))


def test_predictor_rejects_bad_input(trained_run):
    p = Predictor(trained_run / "checkpoints" / "best.pt")
    with pytest.raises(ValueError, match="HxWx3"):
        p.predict(np.zeros((10, 10), np.uint8))


def test_missing_model_file(tmp_path, images):
    with pytest.raises(FileNotFoundError, match="gone.onnx"):
        Predictor(tmp_path / "gone.onnx")
    with pytest.raises(FileNotFoundError, match="gone.pt"):
        predict(images / "blob.png", tmp_path / "gone.pt")


# --------------------------------------------------------------------------- predict sources


def test_predict_single_image(trained_run, images, tmp_path):
    out = tmp_path / "r.jsonl"
    (r,) = predict(images / "tall.png", trained_run / "checkpoints" / "best.pt", out=out)
    assert r.source == str(images / "tall.png") and r.box is None and r.frame is None
    assert r.label in ("blob", "tall", "wide") and set(r.timings) == {"preprocess", "inference"}
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["label"] == r.label


def test_predict_folder_skips_corrupt_file(trained_run, onnx3, images, caplog):
    results = predict(images, onnx3[1])
    assert sorted(r.source for r in results) == sorted(str(images / n) for n in ("blob.png", "tall.png", "sub/wide.png"))
    assert "broken.png" in caplog.text


def test_predict_folder_with_boxes(trained_run, images, tmp_path):
    csv = tmp_path / "boxes.csv"
    csv.write_text("image,x0,y0,x1,y1\nblob.png,0,0,20,20\nblob.png,5,5,30,40\nsub/wide.png,1,1,29,39\n")
    results = predict(images, trained_run / "checkpoints" / "best.pt", boxes=csv)
    by_src = {}
    for r in results:
        by_src.setdefault(r.source, []).append(r.box)
    assert by_src[str(images / "blob.png")] == [(0, 0, 20, 20), (5, 5, 30, 40)]
    assert by_src[str(images / "sub/wide.png")] == [(1, 1, 29, 39)]
    assert str(images / "tall.png") not in by_src  # not in the box file: nobody to classify


def test_predict_parquet_split(trained_run, shapes_parquet):
    table = read_crops_table(shapes_parquet)
    results = predict(shapes_parquet, trained_run / "checkpoints" / "best.pt", split="test")
    idx = np.flatnonzero(table.splits == "test")
    assert [r.source for r in results] == [f"{shapes_parquet}[{i}]" for i in idx]
    acc = np.mean([r.label == table.labels[i] for r, i in zip(results, idx)])
    assert acc >= 0.7
    assert len(predict(shapes_parquet, trained_run / "checkpoints" / "best.pt")) == len(table)


@pytest.fixture(scope="module", params=[("mp4v", ".mp4"), ("MJPG", ".avi")], ids=["mp4", "avi"])
def video(request, tmp_path_factory):
    fourcc, ext = request.param
    rng = np.random.default_rng(4)
    frames = []
    for k in ("tall", "wide", "blob", "tall", "wide", "blob"):
        f = np.zeros((64, 96, 3), np.uint8)
        f[8:48, 10:40] = make_shape(k, rng)
        frames.append(f)
    return write_video(tmp_path_factory.mktemp("video") / f"clip{ext}", frames, fourcc)


def test_predict_video_one_result_per_box(trained_run, video, tmp_path):
    csv = tmp_path / "boxes.csv"
    rows = ["frame,x0,y0,x1,y1", "0,10,8,40,48", "0,50,10,80,50"] + [f"{i},10,8,40,48" for i in range(1, 6)]
    csv.write_text("\n".join(rows) + "\n")
    results = predict(video, trained_run / "checkpoints" / "best.pt", boxes=csv)
    assert [(r.frame, r.box) for r in results] == \
        [(0, (10, 8, 40, 48)), (0, (50, 10, 80, 50))] + [(i, (10, 8, 40, 48)) for i in range(1, 6)]
    assert all(r.source == str(video) for r in results)
    every2 = predict(video, trained_run / "checkpoints" / "best.pt", boxes=csv, every=2)
    assert [r.frame for r in every2] == [0, 0, 2, 4]
    csv.write_text("frame,x0,y0,x1,y1\n1,10,8,40,48\n4,10,8,40,48\n")
    assert [r.frame for r in predict(video, trained_run / "checkpoints" / "best.pt", boxes=csv)] == [1, 4]


def test_predict_video_whole_frames_without_boxes(trained_run, video):
    results = predict(video, trained_run / "checkpoints" / "best.pt")
    assert [r.frame for r in results] == list(range(6)) and all(r.box is None for r in results)


@pytest.mark.parametrize("text,match", [
    ("name,a,b\nx,1,2\n", "header"),
    ("frame,x0,y0,x1,y1\n0,1,2,three,4\n", r"boxes.csv:2: bad box"),
    ("frame,x0,y0,x1,y1\n0,1,2,3,4\n1,5,5,5,9\n", r"boxes.csv:3: empty box"),
])
def test_bad_box_file(text, match, tmp_path):
    (tmp_path / "boxes.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        read_box_file(tmp_path / "boxes.csv")


def test_bad_box_file_through_predict(trained_run, images, tmp_path):
    (tmp_path / "boxes.csv").write_text("oops\n1,2\n")
    with pytest.raises(ValueError, match="boxes.csv"):
        predict(images, trained_run / "checkpoints" / "best.pt", boxes=tmp_path / "boxes.csv")
    with pytest.raises(FileNotFoundError, match="nobox.csv"):
        predict(images, trained_run / "checkpoints" / "best.pt", boxes=tmp_path / "nobox.csv")


def test_corrupt_video_is_named(trained_run, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    with pytest.raises(ValueError, match="broken.mp4"):
        predict(bad, trained_run / "checkpoints" / "best.pt")


def test_missing_source(trained_run, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        list(iter_predictions(Predictor(trained_run / "checkpoints" / "best.pt"), tmp_path / "nothing_here.png"))


# --------------------------------------------------------------------------- evaluate


def test_evaluate_file_multiclass_with_plots(trained_run, shapes_parquet, tmp_path):
    report = evaluate_file(trained_run / "checkpoints" / "best.pt", shapes_parquet, "test", out=tmp_path)
    for key in ("accuracy", "macro_f1", "per_class", "confusion", "ece", "num_samples", "model", "data", "split"):
        assert key in report, key
    assert report["split"] == "test" and report["num_samples"] == 30
    assert set(report["per_class"]) == {"blob", "tall", "wide"}
    assert "threshold_tuned_on_val" not in report
    assert json.loads((tmp_path / "eval_test.json").read_text())["macro_f1"] == pytest.approx(report["macro_f1"])
    for kind in ("confusion", "roc", "pr", "reliability"):
        assert (tmp_path / f"eval_test_{kind}.png").stat().st_size > 1000
    summary = json.loads((trained_run / "summary.json").read_text())
    assert report["macro_f1"] == pytest.approx(summary["test"]["macro_f1"])
    assert "macro-F1" in format_report(report)


def test_evaluate_file_binary_pt_and_onnx(binary_run, onnx_bin, shapes_parquet, tmp_path):
    pt = evaluate_file(binary_run / "checkpoints" / "best.pt", shapes_parquet, "test")
    ox = evaluate_file(onnx_bin, shapes_parquet, "test", out=tmp_path, plots=False)
    assert 0.0 < pt["threshold_tuned_on_val"] < 1.0
    assert set(pt["at_tuned_threshold"]) == {"accuracy", "macro_f1", "f1", "balanced_accuracy"}
    assert pt["macro_f1"] == pytest.approx(ox["macro_f1"])
    assert pt["threshold"] == pytest.approx(read_metadata(onnx_bin)["threshold"])
    assert (tmp_path / "eval_test.json").is_file() and not list(tmp_path.glob("*.png"))
    override = evaluate_file(onnx_bin, shapes_parquet, "test", threshold=0.0)
    assert override["threshold"] == 0.0 and override["per_class"]["tall"]["recall"] == 1.0
    assert "threshold tuned on val" in format_report(pt)


def test_evaluate_file_errors(trained_run, shapes_parquet, tmp_path):
    t = pq.read_table(shapes_parquet)
    path = tmp_path / "two.parquet"
    pq.write_table(t.filter([lbl != "wide" for lbl in t.column("label").to_pylist()]), path)
    with pytest.raises(ValueError, match="differ"):
        evaluate_file(trained_run / "checkpoints" / "best.pt", path, "test")
    with pytest.raises((ValueError, FileNotFoundError), match="missing.parquet"):
        evaluate_file(trained_run / "checkpoints" / "best.pt", tmp_path / "missing.parquet")


# --------------------------------------------------------------------------- bench


def test_bench_checkpoints_with_the_same_file_name(tmp_path):
    from actkit.engine.checkpoint import save_checkpoint

    specs = []
    for run, name in (("run_a", "fastcrop_p"), ("run_b", "sc_p")):
        model = actkit.create_model(name, num_classes=3)
        specs.append(str(save_checkpoint(tmp_path / run / "checkpoints" / "best.pt", model, ["a", "b", "c"])))
    res = bench(specs, iters=10, rounds=1, batch=2, batch_seconds=0.01)
    assert [m["name"] for m in res["models"]] == ["run_a/best.pt", "run_b/best.pt"]
    # each row is its own model: the exports must not overwrite one another
    assert res["models"][0]["onnx_bytes"] != res["models"][1]["onnx_bytes"]
    assert res["models"][1]["ratio_to_first"]["1thread"] > 1.5  # sc_p is the slower of the two


def test_bench_two_registry_models():
    res = bench(["fastcrop_p", "sc_p"], iters=40, rounds=2, batch=(4, 16), batch_seconds=0.2)
    assert [m["name"] for m in res["models"]] == ["fastcrop_p", "sc_p"]
    assert res["batches"] == [4, 16] and res["iters"] == 40 and res["machine"]["cores"] >= 1
    first, second = res["models"]
    assert first["params"] == actkit.models.count_params(actkit.create_model("fastcrop_p"))
    assert second["params"] == 26_609
    assert set(first["latency_ms"]) == {"1thread", "all"}
    for m in res["models"]:
        for stats in m["latency_ms"].values():
            assert 0 < stats["min"] <= stats["median"] <= stats["p99"]
        assert set(m["batched"]) == {"1thread", "all"}
        for b in m["batched"].values():
            assert b["crops_per_s"] > 0 and b["ms_per_crop"] == pytest.approx(1e3 / b["crops_per_s"])
            assert b["calls"] >= 2 * 3  # >= 3 timed calls in each of the 2 rounds
            assert set(b["crops_per_s_by_batch"]) == {"4", "16"}
            assert b["crops_per_s"] == pytest.approx(max(b["crops_per_s_by_batch"].values()))  # the best batch size
            assert b["crops_per_s"] == pytest.approx(b["crops_per_s_by_batch"][str(b["batch"])])
        best_b1 = min(s["median"] for s in m["latency_ms"].values())
        assert m["batched_gain"] == pytest.approx(max(b["crops_per_s"] for b in m["batched"].values()) * best_b1 / 1e3)
    assert first["ratio_to_first"] == {"1thread": 1.0, "all": 1.0}
    assert second["ratio_to_first"]["1thread"] == pytest.approx(
        second["latency_ms"]["1thread"]["median"] / first["latency_ms"]["1thread"]["median"])
    table = format_table(res)
    assert "fastcrop_p" in table and "sc_p" in table and "26,609" in table
    json.dumps(res)


def test_bench_checkpoint_onnx_and_input_size(trained_run, onnx3):
    res = bench([str(trained_run / "checkpoints" / "best.pt"), str(onnx3[1]), "fastcrop_p"], input_size=(24, 40),
                iters=4, rounds=2, batch=4, threads=(1,))
    names = [m["name"] for m in res["models"]]
    assert names == [f"{trained_run.name}/best.pt", "model.onnx", "fastcrop_p"]
    assert [m["input"] for m in res["models"]] == [[32, 24], [32, 24], [24, 40]]  # size applies to registry names only


def test_bench_errors(tmp_path):
    with pytest.raises(ValueError, match="no models"):
        bench([])
    with pytest.raises(KeyError, match="fastcrop_p"):
        bench(["fastcrop_pp"], iters=2, rounds=1)
    with pytest.raises(FileNotFoundError, match="none.onnx"):
        bench([str(tmp_path / "none.onnx")])


def test_as_class_probs_renormalises_int8_softmax():
    from actkit.engine.exporter import as_class_probs

    p = as_class_probs(np.array([[0.5, 0.3, 0.25], [0.0, 1.02, 0.0]], np.float32))
    assert np.allclose(p.sum(1), 1) and p.min() >= 0 and p[1, 1] == 1
    b = as_class_probs(np.array([[0.2], [0.9]], np.float32))
    assert np.allclose(b, [[0.8, 0.2], [0.1, 0.9]])


def test_predict_single_corrupt_image_is_an_error(trained_run, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="bad.png"):
        predict(bad, trained_run / "checkpoints" / "best.pt")
