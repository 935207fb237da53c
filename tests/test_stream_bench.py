"""Streaming-pipeline goals: looped source, memory soak, RSS flatness, threads bench, end-to-end latency, CLI errors."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from actkit.cli import main
from actkit.streaming import metrics as stream_metrics
from actkit.bench.soak import pipeline_latency, soak
from actkit.bench.streaming import bench_stream, format_stream_table
from actkit.streaming.metrics import RssProbe
from actkit.data.video.sources import LoopSource
from actkit.streaming.pipeline import Stream
from actkit.models import create_model

from conftest import write_video

SIZE = (32, 32)  # stream_fast_s at a tiny input: untrained weights are fine for memory and latency


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """12 frames at 16 fps whose brightness encodes the frame number."""
    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(12)]
    return write_video(tmp_path_factory.mktemp("sb") / "tiny.mp4", frames, fps=16)


def _model():
    return create_model("stream_fast_s", input_size=SIZE)


def test_loop_source_plays_again_with_increasing_indices(video):
    src = LoopSource(video, fps=16)
    firsts = [src.read().mean() for _ in range(30)]
    assert src.loops == 2
    assert firsts[0] == pytest.approx(firsts[12], abs=3) and firsts[12] == pytest.approx(firsts[24], abs=3)
    assert firsts[11] > firsts[12] + 100  # the brightness ramp starts over
    src.close()
    s = Stream(_model(), LoopSource(video, fps=16), max_frames=30, model_fps=0)
    idx = [r.frame for r in s]
    assert idx == list(range(30))  # more frames than the file has, index keeps increasing
    with pytest.raises(FileNotFoundError, match="source not found"):
        LoopSource(video.parent / "missing.mp4")


def test_soak_reports_and_writes(video, tmp_path):
    res = soak(_model(), video, minutes=0.05, fps=16, threads=1, out=tmp_path, progress=False)
    assert res["frames"] == 48 and res["loops"] == 3
    for k in ("rss_start_mb", "rss_after_warmup_mb", "rss_end_mb", "rss_max_mb", "fps", "latency_ms_median",
              "latency_ms_p95", "seconds"):
        assert math.isfinite(res[k]) and res[k] > 0, k
    assert math.isfinite(res["slope_mb_per_1k_frames"]) and isinstance(res["flat"], bool)
    assert res["rss_max_mb"] >= res["rss_end_mb"] and res["bounded"] is True
    assert res["structures"]["capture_queue"]["max_len"] <= res["structures"]["capture_queue"]["bound"]
    assert len(res["samples"]["frame"]) == len(res["samples"]["rss_mb"]) == 48
    saved = json.loads((tmp_path / "soak.json").read_text())
    assert saved["frames"] == 48 and saved["slope_mb_per_1k_frames"] == pytest.approx(res["slope_mb_per_1k_frames"])
    assert (tmp_path / "soak_rss.png").read_bytes()[:4] == b"\x89PNG"


def test_rss_probe_flat_and_growing(monkeypatch):
    rss = iter(np.arange(100, dtype=float) * 0.01 + 500)  # 10 MB per 1000 steps
    monkeypatch.setattr(stream_metrics, "rss_mb", lambda: next(rss))
    grow = RssProbe(every=1, warmup=0.2, max_slope_mb_per_1k=1.0)
    for i in range(100):
        grow.sample(i)
    r = grow.report()
    assert r["slope_mb_per_1k_steps"] == pytest.approx(10.0) and r["flat"] is False
    noisy = iter(500 + np.random.default_rng(0).normal(0, 0.05, 100))  # constant plus noise
    monkeypatch.setattr(stream_metrics, "rss_mb", lambda: next(noisy))
    flat = RssProbe(every=1, warmup=0.2, max_slope_mb_per_1k=1.0)
    for i in range(0, 10000, 100):
        flat.sample(i)
    assert flat.report()["flat"] is True


def test_bench_one_row_per_thread_count():
    res = bench_stream(["stream_fast_s"], threads=(1, 2), frames=4, rounds=2, input_size=SIZE)
    rows = res["threads"]
    assert [r["threads"] for r in rows] == [1, 2]
    for r in rows:
        assert r["onnx_ms_per_frame"] > 0 and r["torch_ms_per_frame"] > 0
        assert r["onnx_fps"] == pytest.approx(1e3 / r["onnx_ms_per_frame"])
    m = res["models"][0]
    assert set(m["latency_ms"]) == set(m["torch_latency_ms"]) == {"1thread", "2thread"}  # old keys kept
    table = format_stream_table(res)
    assert "| stream_fast_s | 2 |" in table and "torch ms/frame" in table


def test_pipeline_latency_realtime(video):
    res = pipeline_latency(_model(), video, fps=16, seconds=1.0)
    assert res["frames_read"] == 16 and res["frames_out"] + res["dropped"] == 16
    assert 0 < res["latency_ms_median"] <= res["latency_ms_p95"]
    assert 0 < res["fps"] <= 20  # paced to the source: no faster than 16 fps (plus start-up slack)


def test_cli_soak_and_threads(video, tmp_path, capsys):
    assert main(["bench", "--soak", "0.02", "--models", "stream_fast_s", "--input", "32x32", "--source", str(video),
                 "--out", str(tmp_path), "--latency-seconds", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "slope" in out and "realtime 16 fps" in out
    saved = json.loads((tmp_path / "soak.json").read_text())
    assert saved["pipeline"]["frames_read"] == 8 and (tmp_path / "soak_rss.png").is_file()
    assert main(["bench", "--stream", "--models", "stream_fast_s", "--input", "32x32", "--iters", "2", "--threads", "1,2"]) == 0
    assert "| stream_fast_s | 2 |" in capsys.readouterr().out


@pytest.mark.parametrize("args, msg", [
    (["--source", "missing.mp4"], "source not found"),
    (["--models", "fastcrop_p"], "not a streaming model"),
    (["--models", "stream_fast_s,stream_fast_m"], "one model"),
    (["--threads", "x"], "--threads"),
])
def test_cli_soak_errors(video, tmp_path, capsys, args, msg):
    base = {"--models": "stream_fast_s", "--source": str(video)}
    base.update(dict(zip(args[::2], args[1::2])))
    argv = ["bench", "--soak", "0.01", "--out", str(tmp_path)] + [v for kv in base.items() for v in kv]
    assert main(argv) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / "soak.json").exists()
