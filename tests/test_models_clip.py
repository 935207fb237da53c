"""Registry-driven clip-model tests: every ``task="clip"`` model gets forward, backward, reset and config checks."""
from __future__ import annotations

import json
import urllib.error

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from actkit.engine.exporter import INPUT_NAME, export_model

from actkit.utils.ort import ort_session, read_metadata
from actkit.models import count_params, create_model, list_models, model_entry
from actkit.models.heads import FactorisedHead, parts_vocab

CLIP = list_models(task="clip")
# Tiny clips where the architecture allows; the rest run at their native size and are slow.
TINY = dict(num_frames=4, input_size=(32, 32))
TINY_FOR = {"tv_s3d": dict(num_frames=8, input_size=(32, 32))}  # S3D pools time 8x
NATIVE_ONLY = {"tv_mvit_v2_s", "hf_timesformer_base", "hf_videomae_base"}
HEAVY = NATIVE_ONLY | {"tv_swin3d_t"}
EXPORTABLE = ["clip_fast_p", "clip_fast_s", "clip_frame_p", "clip_frame_s", "tv_mc3_18",
              pytest.param("tv_r3d_18", marks=pytest.mark.slow), pytest.param("tv_r2plus1d_18", marks=pytest.mark.slow)]
TV_PARAMS = {"tv_r3d_18": 33_371_472, "tv_mc3_18": 11_695_440, "tv_r2plus1d_18": 31_505_325, "tv_s3d": 8_320_048,
             "tv_mvit_v2_s": 34_537_744, "tv_swin3d_t": 28_158_070}  # torchvision's weights meta["num_params"]


def _params(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in names]


def _make(name, **kw):
    torch.manual_seed(0)
    over = {} if name in NATIVE_ONLY else TINY_FOR.get(name, TINY)
    return create_model(name, **{**over, **kw})


def _clip(model, batch=2, seed=0):
    d = model.data_cfg
    return torch.randn(batch, d.in_chans, d.num_frames, *d.input_size, generator=torch.Generator().manual_seed(seed))


def test_registry_lists_every_clip_family():
    assert {"clip_fast_p", "clip_fast_s", "clip_frame_p", "clip_frame_s", "hf_timesformer", "hf_videomae"} <= set(CLIP)
    assert set(TV_PARAMS) <= set(CLIP)
    assert not set(CLIP) & set(list_models(task="crop"))
    assert all(model_entry(n).task == "clip" for n in CLIP)


@pytest.mark.parametrize("name", _params(CLIP))
def test_forward_shape_and_data_cfg(name):
    model = _make(name, num_classes=3).eval()
    d = model.data_cfg
    assert model.model_name == name and model.num_classes == 3
    assert d.colour == "rgb" and len(d.mean) == len(d.std) == 3 and d.fps > 0
    if name not in NATIVE_ONLY:
        assert (d.num_frames, d.input_size) == tuple(TINY_FOR.get(name, TINY).values())
    x = _clip(model)
    with torch.no_grad():
        y = model(x)
        assert torch.equal(y, model.forward_head(model.forward_features(x)))
    assert y.shape == (2, 3) and torch.isfinite(y).all()


@pytest.mark.parametrize("name", _params(CLIP))
def test_backward_gives_finite_grads(name):
    model = _make(name, num_classes=3).train()
    loss = F.cross_entropy(model(_clip(model)), torch.tensor([0, 2]))
    loss.backward()
    grads = [(n, p.grad) for n, p in model.named_parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for _, g in grads if g is not None)
    assert model.head.weight.grad is not None and model.head.weight.grad.abs().sum() > 0
    assert sum(g is not None for _, g in grads) > 0.9 * len(grads)  # nearly every parameter is used


@pytest.mark.parametrize("name", _params(CLIP))
def test_reset_classifier_and_config_round_trip(name):
    model = _make(name, num_classes=3).eval()
    model.reset_classifier(5)
    assert model.num_classes == 5 and model.config_dict()["num_classes"] == 5
    cfg = json.loads(json.dumps(model.config_dict()))  # what a checkpoint / ONNX metadata holds
    again = create_model(name, **cfg).eval()
    again.load_state_dict(model.state_dict())
    x = _clip(model, batch=1)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))
    assert again.data_cfg == model.data_cfg


@pytest.mark.parametrize("name", _params(sorted(TV_PARAMS)))
def test_torchvision_param_counts_match_published(name):
    assert count_params(create_model(name)) == TV_PARAMS[name]


def test_published_preprocessing_in_data_cfg():
    r3d = create_model("tv_r3d_18").data_cfg
    assert (r3d.num_frames, r3d.input_size, r3d.fps) == (16, (112, 112), 15.0)
    assert r3d.mean == (0.43216, 0.394666, 0.37645) and r3d.std == (0.22803, 0.22145, 0.216989)
    assert create_model("tv_swin3d_t").data_cfg.num_frames == 32
    assert create_model("hf_videomae").data_cfg.mean == (0.485, 0.456, 0.406)


def test_input_that_is_not_a_clip_is_refused():
    model = create_model("clip_fast_p", **TINY)
    with pytest.raises(ValueError, match=r"expects a clip \(B, 3, T, H, W\)"):
        model(torch.rand(2, 3, 32, 32))


def test_mvit_refuses_other_clip_shapes():
    with pytest.raises(ValueError, match="16 frames of 224x224"):
        create_model("tv_mvit_v2_s", num_frames=8)


# --------------------------------------------------------------------------- temporal modelling


def test_clip_fast_sees_frame_order_and_frame_baseline_does_not():
    x = torch.randn(1, 3, 8, 32, 32, generator=torch.Generator().manual_seed(0))
    fast = create_model("clip_fast_p", num_frames=8, input_size=(32, 32), num_classes=4).eval()
    frame = create_model("clip_frame_p", num_frames=8, input_size=(32, 32), num_classes=4).eval()
    with torch.no_grad():
        a, b = fast.forward_features(x), fast.forward_features(x.flip(2))
        assert (a - b).norm() > 0.05 * a.norm()  # relative: untrained activations are small
        torch.testing.assert_close(frame.forward_features(x), frame.forward_features(x.flip(2)))


def test_clip_frame_center_mode_reads_only_the_centre_frame():
    model = create_model("clip_frame_p", frames="center", num_frames=5, input_size=(32, 32)).eval()
    x = torch.randn(2, 3, 5, 32, 32)
    y = x.clone()
    y[:, :, [0, 1, 3, 4]] = 0
    z = x.clone()
    z[:, :, 2] = 0
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(y))
        assert not torch.allclose(model(x), model(z))


def test_clip_frame_avg_logits_is_mean_of_per_frame_logits():
    model = create_model("clip_frame_p", frames="avg_logits", num_frames=3, input_size=(32, 32), num_classes=4).eval()
    x = torch.randn(2, 3, 3, 32, 32)
    with torch.no_grad():
        per_frame = torch.stack([model.head(model.backbone(x[:, :, i])) for i in range(3)], 1)
        torch.testing.assert_close(model(x), per_frame.mean(1))
    with pytest.raises(ValueError, match="frames must be one of"):
        create_model("clip_frame_p", frames="max")


def test_clip_frame_timm_backbone_loads_a_local_file_only(tmp_path):
    timm = pytest.importorskip("timm")
    src = timm.create_model("resnet18", num_classes=0)
    torch.save(src.state_dict(), tmp_path / "r18.pth")
    model = create_model("clip_frame_p", backbone="resnet18", pretrained=str(tmp_path / "r18.pth"), num_classes=3, **TINY).eval()
    assert model.num_features == 512
    torch.testing.assert_close(model.backbone.conv1.weight, src.conv1.weight)
    with torch.no_grad():
        assert model(_clip(model)).shape == (2, 3)
    with pytest.raises(FileNotFoundError, match="local timm state-dict"):
        create_model("clip_frame_p", backbone="resnet18", pretrained=str(tmp_path / "missing.pth"))


# --------------------------------------------------------------------------- HF frames contract


@pytest.mark.parametrize("name", ["hf_timesformer", "hf_videomae"])
def test_hf_refuses_a_clip_with_other_frames(name):
    model = create_model(name, num_frames=8, input_size=(32, 32)).eval()
    assert model.data_cfg.num_frames == model.net.config.num_frames == 8
    with pytest.raises(ValueError, match=r"built for 8 frames.*has 24"):
        model(torch.rand(1, 3, 24, 32, 32))


@pytest.mark.parametrize("kind,name", [("videomae", "hf_videomae"), ("timesformer", "hf_timesformer")])
def test_hf_local_folder_matches_transformers(kind, name, tmp_path):
    import transformers

    cfg_cls, model_cls = {"videomae": ("VideoMAEConfig", "VideoMAEForVideoClassification"),
                          "timesformer": ("TimesformerConfig", "TimesformerForVideoClassification")}[kind]
    torch.manual_seed(0)
    hf = getattr(transformers, model_cls)(getattr(transformers, cfg_cls)(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=32,
        patch_size=16, num_frames=4, num_labels=3)).eval()
    hf.save_pretrained(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_mean": [0.45] * 3, "image_std": [0.225] * 3}))
    model = create_model(name, pretrained=str(tmp_path), num_classes=3).eval()
    assert model.data_cfg.num_frames == 4 and model.data_cfg.input_size == (32, 32)
    assert model.data_cfg.mean == (0.45, 0.45, 0.45)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        ref = hf(pixel_values=x.transpose(1, 2)).logits
        torch.testing.assert_close(model(x), ref)
        again = create_model(name, **json.loads(json.dumps(model.config_dict()))).eval()  # no folder needed
        again.load_state_dict(model.state_dict())
        torch.testing.assert_close(again(x), ref)
    with pytest.raises(ValueError, match="config.num_frames=4 but num_frames=8"):
        create_model(name, pretrained=str(tmp_path), num_frames=8)
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        create_model(name, pretrained=str(tmp_path / "nope"))


# --------------------------------------------------------------------------- torchvision weights


def test_tv_local_weights_file_loads_and_replaces_the_classifier(tmp_path):
    import torchvision

    torch.manual_seed(1)
    src = torchvision.models.video.mc3_18(num_classes=400).eval()
    torch.save(src.state_dict(), tmp_path / "mc3.pth")
    x = torch.randn(1, 3, 4, 32, 32)
    model = create_model("tv_mc3_18", pretrained=str(tmp_path / "mc3.pth"), **TINY).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), src(x))
    five = create_model("tv_mc3_18", pretrained=str(tmp_path / "mc3.pth"), num_classes=5, **TINY)
    torch.testing.assert_close(five.backbone.stem[0].weight, src.stem[0].weight)
    assert five.config_dict()["pretrained"] == ""  # a checkpoint rebuilds without the file
    with pytest.raises(FileNotFoundError, match="KINETICS400_V1"):
        create_model("tv_mc3_18", pretrained=str(tmp_path / "missing.pth"))


def test_tv_weights_name_offline_is_one_clear_error(tmp_path, monkeypatch):
    import socket

    seen = {}

    def blocked(*a, **k):
        seen["timeout"] = socket.getdefaulttimeout()
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))  # empty cache: a download is attempted
    monkeypatch.setattr(torch.hub, "urlopen", blocked)
    with pytest.raises(RuntimeError, match="could not fetch") as e:
        create_model("tv_r3d_18", pretrained="KINETICS400_V1")
    assert "r3d_18-b3b3357e.pth" in str(e.value) and "pretrained='/path/to/r3d_18-b3b3357e.pth'" in str(e.value)
    assert 0 < seen["timeout"] <= 30


# --------------------------------------------------------------------------- ONNX export


@pytest.mark.parametrize("name", EXPORTABLE)
def test_export_parity_dynamic_batch_and_metadata(name, tmp_path):
    model = _make(name, num_classes=3).eval()
    g = torch.Generator().manual_seed(1)
    for m in model.modules():  # fresh BN stats would make folding trivially right
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    report = export_model(model, ["a", "b", "c"], tmp_path / f"{name}.onnx")
    assert report["parity_max_abs"] < 1e-4 and report["batchnorm_nodes"] == 0
    sess = ort_session(report["path"])
    assert sess.get_inputs()[0].shape[1:] == [3, 4, 32, 32]
    x = _clip(model, batch=3, seed=2)
    with torch.no_grad():
        ref = torch.softmax(model(x), -1).numpy()
    for n in (1, 3):
        np.testing.assert_allclose(sess.run(None, {INPUT_NAME: x[:n].numpy()})[0], ref[:n], atol=1e-4)
    meta = read_metadata(report["path"])
    assert meta["data_cfg"]["num_frames"] == 4 and meta["model_name"] == name


# --------------------------------------------------------------------------- factorised head

DIVES = [("back", "2.5", "1.5", "pike"), ("back", "1.5", "0", "tuck"), ("forward", "2.5", "1.5", "pike"),
         ("forward", "3.5", "0", "tuck"), ("inward", "1.5", "0", "pike"), ("reverse", "2.5", "0", "tuck")]


def _brute_force_probs(head, feats, classes):
    parts = [torch.softmax(p, -1) for p in head.part_logits(feats)]
    joint = torch.stack([torch.stack([parts[k][:, c[k]] for k in range(len(c))], 0).prod(0) for c in classes], 1)
    return joint / joint.sum(1, keepdim=True)


def test_parts_vocab():
    vocab, classes = parts_vocab(DIVES)
    assert vocab[0] == ["back", "forward", "inward", "reverse"] and vocab[3] == ["pike", "tuck"]
    assert [tuple(vocab[k][i] for k, i in enumerate(c)) for c in classes] == DIVES
    with pytest.raises(ValueError, match="same part tuple"):
        parts_vocab(DIVES + DIVES[:1])
    with pytest.raises(ValueError, match="must all have 4 parts"):
        parts_vocab(DIVES + [("back", "1")])


def test_factorised_head_decodes_only_valid_classes_and_normalises():
    vocab, classes = parts_vocab(DIVES)
    head = FactorisedHead(8, vocab, classes)
    feats = torch.randn(64, 8) * 3
    logits = head(feats)
    assert logits.shape == (64, len(DIVES))
    probs = torch.softmax(logits, -1)
    torch.testing.assert_close(probs.sum(1), torch.ones(64))
    torch.testing.assert_close(probs, _brute_force_probs(head, feats, classes))
    # The best valid combination can differ from the per-part argmax (which may be invalid).
    per_part = torch.stack([p.argmax(-1) for p in head.part_logits(feats)], 1)
    valid = {tuple(c) for c in classes}
    assert any(tuple(r.tolist()) not in valid for r in per_part)
    assert all(tuple(classes[i]) in valid for i in logits.argmax(-1).tolist())


def _train(head, feats, labels, steps=150):
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(head(feats), labels).backward()
        opt.step()
    return (head(feats).argmax(-1) == labels).float().mean().item()


def test_flat_and_factorised_heads_both_learn_a_synthetic_problem():
    g = torch.Generator().manual_seed(0)
    vocab, classes = parts_vocab(DIVES)
    labels = torch.arange(len(DIVES)).repeat(40)
    centres = torch.randn(len(DIVES), 16, generator=g) * 2
    feats = centres[labels] + torch.randn(len(labels), 16, generator=g) * 0.5
    torch.manual_seed(0)
    flat = torch.nn.Linear(16, len(DIVES))
    fact = FactorisedHead(16, vocab, classes)
    chance = 1 / len(DIVES)
    assert (flat(feats).argmax(-1) == labels).float().mean() < 0.5
    assert _train(flat, feats, labels) > 0.95
    assert _train(fact, feats, labels) > 0.95 > chance


def test_clip_model_with_factorised_head_trains_exports_and_reloads(tmp_path):
    torch.manual_seed(0)
    model = create_model("clip_fast_p", label_parts=DIVES, **TINY)
    assert model.num_classes == len(DIVES) and isinstance(model.head, FactorisedHead)
    x, y = torch.randn(12, 3, 4, 32, 32), torch.arange(12) % len(DIVES)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    model.eval()
    parts = model.part_logits(model.forward_features(x))
    assert [p.shape[1] for p in parts] == [4, 3, 2, 2]
    cfg = json.loads(json.dumps(model.config_dict()))
    assert cfg["head"] == "factorised" and cfg["label_parts"][0] == list(DIVES[0])
    again = create_model("clip_fast_p", **cfg).eval()
    again.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))
    report = export_model(model, [" ".join(d) for d in DIVES], tmp_path / "f.onnx")
    assert report["parity_max_abs"] < 1e-4


def test_factorised_head_errors_are_clear():
    with pytest.raises(ValueError, match="needs label_parts"):
        create_model("clip_fast_p", head="factorised")
    with pytest.raises(ValueError, match="num_classes=3 but label_parts has 6"):
        create_model("clip_fast_p", label_parts=DIVES, num_classes=3)
    model = create_model("clip_fast_p", label_parts=DIVES, **TINY)
    with pytest.raises(ValueError, match="pass label_parts"):
        model.reset_classifier(10)
    model.reset_classifier(2, label_parts=DIVES[:2])
    assert model.num_classes == 2 and model.head.out_features == 2
    with pytest.raises(ValueError, match="unknown head"):
        create_model("clip_fast_p", head="mlp")


def test_factorised_head_on_every_family():
    for name in ("clip_frame_p", "tv_r3d_18", "hf_videomae"):
        model = create_model(name, label_parts=DIVES, **TINY).eval()
        with torch.no_grad():
            p = torch.softmax(model(_clip(model)), -1)
        assert p.shape == (2, 6)
        torch.testing.assert_close(p.sum(1), torch.ones(2))


def _moving_squares(n, seed, frames=8, size=32):
    """Direction of motion (4 classes): no single frame tells it, the frame order does."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (n,), generator=g)
    x = torch.randn(n, 3, frames, size, size, generator=g) * 0.3
    for i in range(n):
        r0, c0 = torch.randint(8, size - 8, (2,), generator=g).tolist()
        dr, dc = [(0, 1), (0, -1), (1, 0), (-1, 0)][y[i]]
        for t in range(frames):
            r, c = r0 + dr * (t - frames // 2), c0 + dc * (t - frames // 2)
            x[i, :, t, max(r - 3, 0):r + 3, max(c - 3, 0):c + 3] += 2.0
    return x, y


@pytest.mark.slow
def test_temporal_model_learns_motion_direction_and_frame_baseline_cannot():
    (xtr, ytr), (xte, yte) = _moving_squares(512, 0), _moving_squares(256, 1)
    acc = {}
    for name in ("clip_fast_p", "clip_frame_p"):
        torch.manual_seed(0)
        model = create_model(name, num_classes=4, num_frames=8, input_size=(32, 32))
        opt = torch.optim.AdamW(model.parameters(), 3e-3)
        for _ in range(8):
            model.train()
            for b in torch.randperm(512).split(32):
                opt.zero_grad()
                F.cross_entropy(model(xtr[b]), ytr[b]).backward()
                opt.step()
        with torch.no_grad():
            acc[name] = (model.eval()(xte).argmax(-1) == yte).float().mean().item()
    assert acc["clip_fast_p"] > 0.7 and acc["clip_frame_p"] < 0.4, acc


@pytest.mark.parametrize("old_k,new_k", [(2, 1), (1, 2)])
def test_init_from_refits_a_clip_fast_stem_to_other_stem_frames(old_k, new_k, tmp_path):
    """model.init_from across stem_frames: a still clip gives the same stem output; every other weight is copied."""
    from actkit.engine.checkpoint import init_from_checkpoint, save_checkpoint

    names = ["a", "b", "c"]
    old = create_model("clip_fast_p", num_frames=4, input_size=(32, 32), num_classes=3, stem_frames=old_k)
    with torch.no_grad():
        old.stem[0].weight.normal_()
    path = save_checkpoint(tmp_path / "old.pt", old, names)
    new = create_model("clip_fast_p", num_frames=4, input_size=(32, 32), num_classes=3, stem_frames=new_k)
    init_from_checkpoint(new, path, names)
    old_sd, new_sd = old.state_dict(), new.state_dict()
    assert new_sd["stem.0.weight"].shape[1] == 3 * new_k != old_sd["stem.0.weight"].shape[1]
    for k in set(old_sd) - {"stem.0.weight"}:
        torch.testing.assert_close(new_sd[k], old_sd[k], msg=k)
    still = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    conv = lambda m, k: m.stem[0](still.repeat(1, k, 1, 1))  # noqa: E731
    torch.testing.assert_close(conv(new, new_k), conv(old, old_k), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(conv(new, new_k), conv(create_model("clip_fast_p", num_frames=4, input_size=(32, 32),
                                                                    num_classes=3, stem_frames=new_k), new_k))
