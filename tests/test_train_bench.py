"""`actkit bench --train` (training throughput per precision / layout / compile mode) and `run.compile`."""
from __future__ import annotations

import json

import pytest
import torch

from actkit.cli import main
from actkit.engine.checkpoint import model_from_checkpoint, read_checkpoint
from actkit.bench.training import format_train_table, parse_modes, train_throughput
from actkit.engine.steps import compile_model
from actkit.models import create_model

from conftest import train_tiny

CLASSES = ("walk", "jump", "crawl")
TINY_CLIP = {"model.input_size": "48,48", "model.num_frames": 8}


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    from actkit.data.synth.actions import render_actions

    out = tmp_path_factory.mktemp("trainbench") / "actions"
    render_actions(out, clips_per_class=4, frames=16, size=48, workers=1, classes=CLASSES, progress=False)
    return out


def test_one_row_per_mode_with_throughput_and_wait_share(actions):
    res = train_throughput("clip_fast_p", actions, batch=2, steps=3, modes="fp32,bf16,bf16_cl", device="cpu",
                           warmup=1, rounds=3, overrides=TINY_CLIP, progress=False)
    assert [r["mode"] for r in res["modes"]] == ["fp32", "bf16", "bf16_cl"]
    assert res["task"] == "clip" and res["input"] == [3, 8, 48, 48] and res["device"] == "cpu"
    for r in res["modes"]:
        assert r["ok"] and r["error"] is None, r
        assert r["steps"] == 3 and r["samples"] == 6
        assert r["samples_per_s"] > 0 and r["step_ms_median"] > 0
        assert 0.0 <= r["data_wait_share"] <= 1.0
        assert 0.0 <= r["compute_ms_median"] <= r["step_ms_median"]
    assert res["modes"][0]["ratio_to_first"] == pytest.approx(1.0)
    assert res["modes"][1]["bf16"] and not res["modes"][1]["channels_last"] and res["modes"][2]["channels_last"]
    table = format_train_table(res)
    assert all(f"| {m} |" in table for m in ("fp32", "bf16", "bf16_cl")) and "clips/s" in table and "interleaved" in table


def test_unknown_mode_and_missing_data_are_clear_errors(actions, tmp_path, capsys):
    assert parse_modes(None) == ["fp32", "bf16", "bf16_cl", "bf16_cl_compile"]
    assert parse_modes("fp32,fp32_cl") == ["fp32", "fp32_cl"]
    with pytest.raises(ValueError, match="unknown mode fp8; known modes: fp32, fp32_cl, bf16, bf16_cl, bf16_cl_compile"):
        parse_modes("fp32,fp8")
    with pytest.raises(ValueError, match="unknown mode"):
        train_throughput("clip_fast_p", actions, modes=["bf16", "tf32"], device="cpu")
    with pytest.raises(FileNotFoundError, match="data not found"):
        train_throughput("clip_fast_p", tmp_path / "missing", device="cpu")
    assert main(["bench", "--train", "--models", "clip_fast_p", "--data", str(actions), "--modes", "fp32,fp8"]) == 2
    assert "known modes: fp32, fp32_cl, bf16, bf16_cl, bf16_cl_compile" in capsys.readouterr().err
    assert main(["bench", "--train", "--models", "clip_fast_p", "--data", str(tmp_path / "missing")]) == 2
    assert "data not found" in capsys.readouterr().err
    assert main(["bench", "--train", "--models", "clip_fast_p"]) == 2
    assert "--train needs --data" in capsys.readouterr().err


def test_a_failing_compile_is_reported_and_the_other_modes_run(actions, monkeypatch):
    def no_compile(*a, **k):
        raise RuntimeError("torch.compile is not supported here")

    monkeypatch.setattr(torch, "compile", no_compile)
    res = train_throughput("clip_fast_p", actions, batch=2, steps=2, modes="bf16_cl_compile,fp32", device="cpu",
                           warmup=1, overrides=TINY_CLIP, progress=False)
    failed, fp32 = res["modes"]
    assert not failed["ok"] and "torch.compile is not supported here" in failed["error"] and failed["ratio_to_first"] is None
    assert fp32["ok"] and fp32["samples_per_s"] > 0 and fp32["ratio_to_first"] == pytest.approx(1.0)
    assert res["first_mode"] == "fp32"
    assert "| bf16_cl_compile | failed: RuntimeError: torch.compile is not supported here" in format_train_table(res)
    with pytest.raises(RuntimeError, match="no mode ran: bf16_cl_compile: RuntimeError: torch.compile is not supported"):
        train_throughput("clip_fast_p", actions, batch=2, steps=1, modes="bf16_cl_compile", device="cpu",
                         overrides=TINY_CLIP, progress=False)


def test_compile_model_leaves_the_module_eager():
    model = create_model("stream_fast_s", input_size=(32, 32))
    net = compile_model(model)  # lazy: nothing compiles until called
    assert net.forward_frames is not model.forward_frames and "forward_frames" not in vars(model)
    assert all(k.startswith("_orig_mod.") for k in net.state_dict()) and not any("_orig_mod" in k for k in model.state_dict())
    assert net.num_classes == model.num_classes and list(net.parameters()) == list(model.parameters())


def test_cli_prints_json(actions, capsys):
    rc = main(["bench", "--train", "--models", "clip_fast_p", "--data", str(actions), "--input", "48x48", "--frames", "8",
               "--batch", "2", "--steps", "2", "--warmup", "1", "--modes", "bf16", "--device", "cpu", "--threads", "1",
               "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["threads"] == 1 and res["batch"] == 2 and res["input"] == [3, 8, 48, 48]
    assert [r["mode"] for r in res["modes"]] == ["bf16"] and res["modes"][0]["samples"] == 4


def test_run_compile_saves_the_plain_module(shapes_parquet, tmp_path):
    # The smallest crop model: inductor's C++ compile of one training and one eval graph is the cost.
    cfg, summary = train_tiny(shapes_parquet, tmp_path, model__name="sc_baseline", optim__epochs=1, run__compile=True)
    assert cfg.run.compile and "compile: true" in (tmp_path / "config.yaml").read_text()
    for name in ("last.pt", "best.pt"):
        ckpt = read_checkpoint(tmp_path / "checkpoints" / name)
        assert ckpt["state_dict"] and not any("_orig_mod" in k for k in ckpt["state_dict"]), name
    model, _ = model_from_checkpoint(tmp_path / "checkpoints" / "best.pt")
    assert model.model_name == "sc_baseline" and model(torch.zeros(2, 3, 32, 24)).shape == (2, 3)
    assert summary["best_epoch"] == 1 and 0.0 <= summary["val"]["macro_f1"] <= 1.0


@pytest.mark.slow
def test_compiled_mode_trains(shapes_parquet):
    res = train_throughput("sc_baseline", shapes_parquet, batch=8, steps=2, modes="fp32,bf16_cl_compile", device="cpu",
                           warmup=1, compile_warmup=2, progress=False)
    assert res["task"] == "crop" and all(r["ok"] for r in res["modes"]), res["modes"]
    assert "crops/s" in format_train_table(res)
