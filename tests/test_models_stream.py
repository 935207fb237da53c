"""Streaming models (task="stream"): the contract the live pipeline codes against, for every registered one.

Tiny input sizes throughout; each check would fail if streaming state, causality or export broke.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from actkit.engine.checkpoint import model_from_checkpoint, save_checkpoint
from actkit.streaming.export import OnnxStreamer, export_stream_onnx
from actkit.bench.streaming import bench_stream, format_stream_table
from actkit.models import create_model, list_models, model_entry

STREAM = list_models(task="stream")
SIZE = (64, 64)
# Every registered model, plus the learned temporal conv variant (it has weights to get right).
VARIANTS = [(n, {}) for n in STREAM] + [("stream_fast_s", {"temporal": "conv"})]
IDS = [n + "".join(f"-{v}" for v in kw.values()) for n, kw in VARIANTS]


def _model(name, num_classes=3, size=SIZE, **kw):
    """Eval model with non-trivial BatchNorm stats and temporal-conv weights, so folding and taps count.

    The stats come from one training-mode batch (momentum 1), not from random numbers: random
    stats leave unnormalised activations that decay through 50 layers into outputs that no
    longer depend on the input, and then the causality checks below would prove nothing.
    """
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes, input_size=size, **kw)
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = 1.0
        if type(m).__name__ == "CausalTemporalConv":
            m.weight.data.copy_(torch.randn(m.weight.shape, generator=g) * 0.5)
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, 0, 0.1, generator=g)
    with torch.no_grad():
        model.train()(_clip(b=2, t=4, size=size, seed=99))
    return model.eval()


def _clip(b=2, t=6, size=SIZE, seed=0):
    return torch.rand(b, 3, t, *size, generator=torch.Generator().manual_seed(seed))


def _stream(model, x):
    state, outs = model.init_state(x.shape[0]), []
    for t in range(x.shape[2]):
        logits, state = model.step(x[:, :, t], state)
        outs.append(logits)
    return torch.stack(outs, 1)


def test_registry_has_reference_and_fast_stream_models():
    assert {"tsm_mobilenetv2", "stream_fast_s", "stream_fast_m"} <= set(STREAM)
    assert all(model_entry(n).task == "stream" for n in STREAM)
    assert not set(STREAM) & set(list_models(task="crop"))


def test_reference_matches_mobilenetv2_widths():
    """Backbone params equal torchvision's MobileNetV2 features (the temporal shift adds none)."""
    tv = pytest.importorskip("torchvision")
    ours = create_model("tsm_mobilenetv2")
    ref = tv.models.mobilenet_v2(num_classes=10)
    n_ours = sum(p.numel() for p in ours.parameters())
    assert n_ours == sum(p.numel() for p in ref.parameters())
    assert ours.data_cfg.input_size == (256, 256) and ours.data_cfg.fps == 16 and ours.num_features == 1280


@pytest.mark.parametrize("name", STREAM)
def test_forward_is_mean_of_per_frame_logits(name):
    model = _model(name)
    x = _clip()
    with torch.no_grad():
        frames = model.forward_frames(x)
        clip = model(x)
    assert frames.shape == (2, 6, 3) and clip.shape == (2, 3)
    torch.testing.assert_close(clip, frames.mean(1))
    assert model.data_cfg.num_frames > 1 and model.data_cfg.fps > 0


@pytest.mark.parametrize("name,kw", VARIANTS, ids=IDS)
def test_backward_gives_finite_grads_everywhere(name, kw):
    torch.manual_seed(0)
    model = create_model(name, num_classes=3, input_size=(32, 32), **kw).train()
    loss = torch.nn.functional.cross_entropy(model(_clip(t=4, size=(32, 32))), torch.tensor([0, 2]))
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}.{pname} gets no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}.{pname} has a non-finite gradient"


@pytest.mark.parametrize("name", STREAM)
def test_reset_classifier_and_checkpoint_round_trip(name, tmp_path):
    model = _model(name)
    model.reset_classifier(5)
    assert model.num_classes == 5 and model.config_dict()["num_classes"] == 5
    path = save_checkpoint(tmp_path / "m.pt", model, list("abcde"))
    loaded, _ = model_from_checkpoint(path)
    assert loaded.config_dict() == model.config_dict()
    x = _clip(t=3)
    with torch.no_grad():
        torch.testing.assert_close(loaded.forward_frames(x), model.forward_frames(x))
        assert loaded.forward_frames(x).shape == (2, 3, 5)


@pytest.mark.parametrize("name,kw", VARIANTS, ids=IDS)
def test_streaming_equals_offline(name, kw):
    model = _model(name, **kw)
    x = _clip(t=10)
    state = model.init_state(2)
    assert [tuple(s.shape) for s in state] == [(2, *s) for s in model.state_shapes()]
    assert all(float(s.abs().sum()) == 0 for s in state)
    with torch.no_grad():
        offline, online = model.forward_frames(x), _stream(model, x)
    assert (offline - online).abs().max() <= 1e-4
    assert offline.abs().max() > 1e-3  # not trivially equal


@pytest.mark.parametrize("name,kw", VARIANTS, ids=IDS)
def test_causal_with_the_stated_receptive_field(name, kw):
    """Frame t's logits ignore frames > t, see frame t - (rf - 1), and forget frame t - rf."""
    model = _model(name, **kw)
    rf = model.receptive_field()
    assert rf > 1
    x = _clip(b=1, t=rf + 1)
    y = x.clone()
    y[:, :, 0] = torch.rand(y[:, :, 0].shape, generator=torch.Generator().manual_seed(5))
    z = x.clone()
    z[:, :, 3] = 0.0
    with torch.no_grad():
        fx, fy, fz = model.forward_frames(x)[0], model.forward_frames(y)[0], model.forward_frames(z)[0]
    torch.testing.assert_close(fz[:3], fx[:3], rtol=0, atol=0)  # the future does not leak
    assert (fz[3] - fx[3]).abs().max() > 1e-5
    assert (fy[rf - 1] - fx[rf - 1]).abs().max() > 1e-7  # frame 0 still reaches frame rf-1 ...
    torch.testing.assert_close(fy[rf], fx[rf], rtol=0, atol=0)  # ... and no further


def test_fast_models_reach_two_and_a_half_seconds():
    for name in ("stream_fast_s", "stream_fast_m"):
        model = create_model(name)
        assert model.receptive_field() / model.data_cfg.fps >= 2.5


def test_clear_errors():
    model = _model("stream_fast_s", size=(32, 32))
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        model(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="input_size"):
        model.step(torch.rand(1, 3, 40, 32), model.init_state())
    with pytest.raises(ValueError, match="state tensors"):
        model.step(torch.rand(1, 3, 32, 32), model.init_state()[:-1])
    with pytest.raises(ValueError, match="temporal"):
        create_model("stream_fast_s", temporal="lstm")
    with pytest.raises(ValueError, match="same length"):
        create_model("stream_fast_s", dilations=(1, 2))
    with pytest.raises(TypeError, match="dilations"):
        create_model("stream_fast_s", dilation=(1, 2))


# --------------------------------------------------------------------------- ONNX


@pytest.mark.parametrize("name,kw", VARIANTS, ids=IDS)
def test_onnx_streaming_matches_torch(name, kw, tmp_path):
    model = _model(name, **kw)
    rep = export_stream_onnx(model, tmp_path / "s.onnx", class_names=["a", "b", "c"], check_frames=3)
    n = len(model.state_shapes())
    assert rep["inputs"] == ["frame"] + [f"state_{i}" for i in range(n)]
    assert rep["outputs"] == ["logits"] + [f"new_state_{i}" for i in range(n)]
    assert rep["batchnorm_nodes"] == 0 and rep["parity_max_abs"] < 1e-4
    graph = onnx.load(rep["path"]).graph
    assert [i.name for i in graph.input] == rep["inputs"] and [o.name for o in graph.output] == rep["outputs"]

    x = _clip(b=1, t=10, seed=3)
    with torch.no_grad():
        ref = _stream(model, x)[0].numpy()
    streamer = OnnxStreamer(rep["path"])
    assert streamer.class_names == ["a", "b", "c"]
    got = np.stack([streamer.step(x[0, :, t].numpy()) for t in range(10)])
    # fp32 rounding through ~50 layers and 10 steps scales with the logits (tsm_mobilenetv2's reach 4.8 here
    # and differ by 1.02e-4 under some thread counts): 1e-4 relative to the largest logit, at least 1e-4
    assert np.abs(got - ref).max() <= 1e-4 * max(1.0, float(np.abs(ref).max()))
    streamer.reset()
    np.testing.assert_allclose(streamer.step(x[0, :, 0].numpy()), ref[0], atol=1e-4)
    with pytest.raises(ValueError, match="shape"):
        streamer.step(np.zeros((3, 8, 8), np.float32))
    meta = streamer.meta
    assert meta["model_name"] == name and meta["data_cfg"] == model.data_cfg.to_dict()
    assert meta["stream"]["state_shapes"] == [[1, *s] for s in model.state_shapes()]


def test_export_from_checkpoint_and_non_stream_models_are_refused(tmp_path):
    model = _model("stream_fast_s", num_classes=2, size=(32, 32))
    path = save_checkpoint(tmp_path / "m.pt", model, ["idle", "wave"])
    rep = export_stream_onnx(path, tmp_path / "m.onnx", check_frames=2)
    assert rep["parity_max_abs"] < 1e-4
    assert OnnxStreamer(rep["path"]).class_names == ["idle", "wave"]
    with pytest.raises(ValueError, match="not a streaming model"):
        export_stream_onnx(create_model("fastcrop_p"), tmp_path / "c.onnx")
    with pytest.raises(FileNotFoundError):
        OnnxStreamer(tmp_path / "missing.onnx")


def test_bench_stream_smoke():
    res = bench_stream(["stream_fast_s", "stream_fast_m"], threads=(1,), frames=4, rounds=2, input_size=(32, 32))
    rows = res["models"]
    assert [r["name"] for r in rows] == ["stream_fast_s", "stream_fast_m"]
    assert rows[0]["ratio_to_first"]["1thread"] == pytest.approx(1.0)
    assert all(r["latency_ms"]["1thread"]["median"] > 0 and r["max_fps"]["1thread"] > 0 for r in rows)
    assert "stream_fast_m" in format_stream_table(res)
    with pytest.raises(ValueError, match="not a streaming model"):
        bench_stream(["fastcrop_p"], threads=(1,), frames=2)


def test_cli_bench_stream(capsys):
    from actkit.cli import main

    assert main(["bench", "--stream", "--models", "stream_fast_s", "--input", "32x32", "--iters", "4"]) == 0
    out = capsys.readouterr().out
    assert "stream_fast_s" in out and "2thread median ms/frame" in out
