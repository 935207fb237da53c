"""Registry-driven model tests: every registered model gets forward, backward, export and metadata checks."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from actkit.engine.exporter import INPUT_NAME, export_model

from actkit.utils.ort import ort_session, read_metadata
from actkit.models import count_params, create_model, list_models, model_entry, register_model
from actkit.models._registry import _REGISTRY

MODELS = list_models(task="crop")
REFERENCE_PARAMS = {"sc_p": 26_609, "sc_n": 40_769, "sc_t": 65_425, "sc_s": 118_321,
                    "sc_c": 212_689, "sc_m": 416_785, "sc_l": 1_587_153}


def test_registry_holds_both_families():
    assert set(REFERENCE_PARAMS) <= set(MODELS)
    assert {"fastcrop_p", "fastcrop_s", "fastcrop_m", "fastcrop_l", "sc_baseline", "sc_convnext"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("num_classes", [1, 3])
@pytest.mark.parametrize("size", [(32, 24), (24, 40)])
def test_forward_shape(name, num_classes, size):
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes, input_size=size).eval()
    assert model.model_name == name
    assert model.num_classes == num_classes
    assert model.data_cfg.input_size == size
    x = torch.rand(2, model.data_cfg.in_chans, *size)
    with torch.no_grad():
        y = model(x)
        assert torch.equal(y, model.forward_head(model.forward_features(x)))
    assert y.shape == (2, num_classes)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", MODELS)
def test_backward_gives_finite_grads_everywhere(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=3).train()
    x = torch.rand(4, 3, 32, 24)
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"{name}.{pname} gets no gradient (unused parameter?)"
            assert torch.isfinite(p.grad).all(), f"{name}.{pname} has a non-finite gradient"
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", MODELS)
def test_reset_classifier(name):
    model = create_model(name, num_classes=3).eval()
    model.reset_classifier(5)
    assert model.num_classes == 5
    assert model.config_dict()["num_classes"] == 5
    with torch.no_grad():
        assert model(torch.rand(2, 3, 32, 24)).shape == (2, 5)


@pytest.mark.parametrize("name", MODELS)
def test_colour_y_has_one_input_channel(name):
    model = create_model(name, colour="y").eval()
    assert model.data_cfg.in_chans == 1
    assert len(model.data_cfg.mean) == len(model.data_cfg.std) == 1
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 1
    with torch.no_grad():
        assert model(torch.rand(2, 1, 32, 24)).shape == (2, 1)


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_reference_param_counts_are_exact(name):
    assert count_params(create_model(name)) == REFERENCE_PARAMS[name]


# --------------------------------------------------------------------------- ONNX export


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Export every registered model once (binary, with a threshold); tests share the files."""
    folder = tmp_path_factory.mktemp("onnx")
    cache = {}

    def get(name):
        if name not in cache:
            torch.manual_seed(0)
            model = create_model(name, num_classes=1).eval()
            _randomise_bn_stats(model)
            report = export_model(model, ["not_tall", "tall"], folder / f"{name}.onnx", threshold=0.37)
            cache[name] = (model, report)
        return cache[name]

    return get


def _randomise_bn_stats(model):
    # Fresh BatchNorm stats are mean 0 / var 1, so folding them is trivially right; make folding count.
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


@pytest.mark.parametrize("name", MODELS)
def test_export_parity_and_no_batchnorm(name, exported):
    _, report = exported(name)
    assert report["parity_max_abs"] < 1e-4
    assert report["batchnorm_nodes"] == 0
    assert report["output"] == "prob_tall"
    assert report["bytes"] > 0 and report["nodes"] > 0


@pytest.mark.parametrize("name", MODELS)
def test_export_dynamic_batch(name, exported):
    model, report = exported(name)
    sess = ort_session(report["path"])
    x = torch.rand(5, 3, 32, 24, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = torch.sigmoid(model(x)).numpy()
    for n in (1, 5):
        got = sess.run(None, {INPUT_NAME: x[:n].numpy()})[0]
        assert got.shape == (n, 1)
        np.testing.assert_allclose(got, ref[:n], atol=1e-4)


@pytest.mark.parametrize("name", MODELS)
def test_export_metadata_round_trip(name, exported):
    model, report = exported(name)
    meta = read_metadata(report["path"])
    assert meta["model_name"] == name
    assert meta["class_names"] == ["not_tall", "tall"]
    assert meta["data_cfg"] == model.data_cfg.to_dict()
    assert meta["threshold"] == pytest.approx(0.37)
    assert meta["model_config"]["num_classes"] == 1


def test_export_colour_y_input_has_one_channel(tmp_path):
    model = create_model("fastcrop_p", num_classes=3, colour="y").eval()
    report = export_model(model, ["a", "b", "c"], tmp_path / "y.onnx")
    assert report["parity_max_abs"] < 1e-4
    sess = ort_session(report["path"])
    assert sess.get_inputs()[0].shape[1:] == [1, 32, 24]
    assert sess.run(None, {INPUT_NAME: np.zeros((3, 1, 32, 24), np.float32)})[0].shape == (3, 3)
    assert read_metadata(report["path"])["data_cfg"]["colour"] == "y"


ARCHS = ("baseline", "inverted_se", "convnext")
HEADS = ("avg", "avgmax_mlp", "transformer", "mlp_mixer")


@pytest.mark.parametrize("arch,head", list(itertools.product(ARCHS, HEADS)))
def test_every_arch_and_head_at_non_divisible_size(arch, head, tmp_path):
    """17x13 with a 3x3 token grid: feature maps are odd and smaller than the grid."""
    torch.manual_seed(0)
    model = create_model("sc_t", arch=arch, head=head, num_classes=3, input_size=(17, 13), token_grid=(3, 3)).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 17, 13)).shape == (2, 3)
    if head in ("transformer", "mlp_mixer") or arch == "convnext":
        report = export_model(model, ["a", "b", "c"], tmp_path / "m.onnx")
        assert report["parity_max_abs"] < 1e-4
        assert report["batchnorm_nodes"] == 0


def test_token_grid_bins_cover_odd_maps_like_adaptive_pooling():
    from actkit.models.layers import grid_pool

    x = torch.rand(2, 4, 5, 3)
    tokens = grid_pool(x, (2, 2))
    ref = torch.nn.functional.adaptive_avg_pool2d(x, (2, 2)).flatten(2).transpose(1, 2)
    torch.testing.assert_close(tokens, ref)


# --------------------------------------------------------------------------- registry


def test_duplicate_name_is_refused_and_registry_untouched():
    before = dict(_REGISTRY)

    def sc_p(**kw):  # same name as the reference SC-P
        raise AssertionError("must never be registered")

    with pytest.raises(ValueError, match="already registered"):
        register_model("throwaway")(sc_p)
    assert _REGISTRY == before
    assert model_entry("sc_p").family == "sc"
    assert count_params(create_model("sc_p")) == REFERENCE_PARAMS["sc_p"]


def test_unknown_model_suggests_close_name():
    with pytest.raises(KeyError, match="sc_p") as e:
        create_model("sc_pp")
    assert "Did you mean" in str(e.value)


def test_unknown_override_suggests_field():
    with pytest.raises(TypeError, match="num_classes"):
        create_model("sc_p", num_clases=3)
    with pytest.raises(TypeError, match="widths"):
        create_model("fastcrop_p", width=(8, 16))


def test_list_models_pattern_and_task():
    sc = list_models("sc_*")
    assert sc and all(n.startswith("sc_") for n in sc)
    assert list_models("fastcrop_*") == ["fastcrop_l", "fastcrop_m", "fastcrop_p", "fastcrop_s"]
    assert list_models("nothing_like_this*") == []
    assert list_models(task="crop") == MODELS
    assert list_models(task="video") == []
    assert MODELS == sorted(MODELS)


def test_deprecated_names_build_the_design_they_named_with_a_warning():
    from actkit.models._registry import build_config
    from actkit.models.crop_fast import FastCropConfig

    with pytest.warns(DeprecationWarning, match="fastcrop_p1"):
        p1 = create_model("fastcrop_p1", num_classes=3)
    assert p1.model_name == "fastcrop_p" and p1.cfg.late_head is False and p1.cfg.pool == "gdc"
    with pytest.warns(DeprecationWarning, match="fastcrop_p0"):
        p0 = create_model("fastcrop_p0", num_classes=3)
    earlier = build_config(FastCropConfig, dict(stem=24, widths=(48, 96), depths=(2, 3), head_dim=256), {"num_classes": 3})
    assert p0.cfg == earlier  # exactly the earlier design: a stored benchmark's name still builds it
    assert count_params(p0) != count_params(create_model("fastcrop_p", num_classes=3))


def test_bad_arch_or_head_is_a_clear_error():
    with pytest.raises(ValueError, match="arch"):
        create_model("sc_p", arch="resnet")
    with pytest.raises(ValueError, match="head"):
        create_model("sc_p", head="gap")
    with pytest.raises(ValueError, match="colour"):
        create_model("sc_p", colour="hsv")


@pytest.mark.parametrize("cin,cout,k,stride,groups,branches", [
    (3, 24, 3, 2, 1, 2),      # stem: no identity branch
    (16, 16, 3, 1, 16, 3),    # depthwise with identity and scale branches
    (16, 16, 3, 2, 16, 1),    # strided depthwise
    (16, 16, 1, 1, 1, 2),     # pointwise with identity
    (16, 32, 1, 1, 1, 2),     # pointwise widening
])
def test_rep_conv_bn_fuses_to_one_equivalent_conv(cin, cout, k, stride, groups, branches):
    from actkit.models.layers import RepConvBN, reparameterize

    torch.manual_seed(0)
    block = torch.nn.Sequential(RepConvBN(cin, cout, k, stride, groups, branches))
    _randomise_bn_stats(block)
    for m in block.modules():  # non-trivial BN affine parameters too
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    block.eval()
    x = torch.randn(2, cin, 9, 7)
    with torch.no_grad():
        ref = block(x)
        fused = reparameterize(block)
        got = fused(x)
    convs = [m for m in fused.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 and convs[0].bias is not None
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_reparameterize_refuses_training_mode():
    from actkit.models.layers import RepConvBN, reparameterize

    with pytest.raises(ValueError, match="eval"):
        reparameterize(torch.nn.Sequential(RepConvBN(4, 4)))


def test_rep_branches_export_to_the_plain_graph(tmp_path):
    plain = create_model("fastcrop_p", num_classes=3).eval()
    rep = create_model("fastcrop_p", num_classes=3, rep_branches=2).eval()
    _randomise_bn_stats(rep)
    assert count_params(rep) > 1.5 * count_params(plain)  # the training-time branches
    a = export_model(plain, ["a", "b", "c"], tmp_path / "plain.onnx")
    b = export_model(rep, ["a", "b", "c"], tmp_path / "rep.onnx")
    assert b["parity_max_abs"] < 1e-4
    assert b["nodes"] == a["nodes"]  # inference pays for the plain graph only
    assert abs(b["bytes"] - a["bytes"]) < 0.02 * a["bytes"]


def test_fused_blocks_replace_depthwise_pairs(tmp_path):
    plain = create_model("fastcrop_p", num_classes=3).eval()
    fused = create_model("fastcrop_p", num_classes=3, fused=2, rep_branches=1).eval()
    _randomise_bn_stats(fused)
    assert not any(m.groups > 1 for m in fused.blocks[:2].modules() if isinstance(m, torch.nn.Conv2d))
    a = export_model(plain, ["a", "b", "c"], tmp_path / "plain.onnx")
    b = export_model(fused, ["a", "b", "c"], tmp_path / "fused.onnx")
    assert b["parity_max_abs"] < 1e-4
    import onnx

    def convs(report):
        return sum(n.op_type == "Conv" for n in onnx.load(report["path"]).graph.node)

    assert convs(b) == convs(a) - 2  # one conv instead of two, in each of the two fused blocks


def test_input_norm_takes_out_a_colour_cast_and_exports_as_one_node(tmp_path):
    import onnx

    model = create_model("fastcrop_p", num_classes=3, input_norm="instance").eval()
    _randomise_bn_stats(model)
    x = torch.rand(4, 3, 32, 24, generator=torch.Generator().manual_seed(0))
    cast = x * torch.tensor([0.6, 0.9, 0.7]).view(1, 3, 1, 1) + torch.tensor([0.2, 0.0, 0.1]).view(1, 3, 1, 1)
    plain = create_model("fastcrop_p", num_classes=3).eval()
    _randomise_bn_stats(plain)
    with torch.no_grad():  # per-channel gain and offset: nearly the same crop to it, not to the plain model
        moved = (model.forward_features(x) - model.forward_features(cast)).abs().max()
        moved_plain = (plain.forward_features(x) - plain.forward_features(cast)).abs().max()
    assert moved < 0.2 * moved_plain  # not exactly 0: eps 1e-3 in the variance
    a = export_model(plain, ["a", "b", "c"], tmp_path / "plain.onnx")
    b = export_model(model, ["a", "b", "c"], tmp_path / "in.onnx")
    assert b["parity_max_abs"] < 1e-4
    ops = [n.op_type for n in onnx.load(b["path"]).graph.node]
    assert ops.count("InstanceNormalization") == 1 and b["nodes"] == a["nodes"] + 1
    with pytest.raises(ValueError, match="input_norm"):
        create_model("fastcrop_p", input_norm="batch")


@pytest.mark.parametrize("pool", ["gdc", "flat"])
@pytest.mark.parametrize("size", [(32, 24), (24, 40)])
def test_position_aware_pools_tell_where_a_feature_is_and_export(tmp_path, pool, size):
    import onnx

    model = create_model("fastcrop_p", num_classes=3, pool=pool, input_size=size)
    assert model.training  # sizing the head ran a pass in eval mode: no BatchNorm statistic moved
    assert all(torch.equal(m.running_var, torch.ones_like(m.running_var)) for m in model.modules()
               if isinstance(m, torch.nn.BatchNorm2d))
    model.eval()
    plain = create_model("fastcrop_p", num_classes=3, input_size=size, pool="avg").eval()
    _randomise_bn_stats(model)
    fmap = torch.rand(2, model.num_features, *model.forward_features(torch.zeros(1, 3, *size)).shape[2:],
                      generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # the same features, upside down: average pooling cannot tell, these heads can
        assert torch.allclose(plain.forward_head(fmap), plain.forward_head(fmap.flip(2)), atol=1e-6)
        assert (model.forward_head(fmap) - model.forward_head(fmap.flip(2))).abs().max() > 1e-3
    a = export_model(plain, ["a", "b", "c"], tmp_path / "plain.onnx")
    b = export_model(model, ["a", "b", "c"], tmp_path / f"{pool}.onnx")
    assert b["parity_max_abs"] < 1e-4
    ops = [n.op_type for n in onnx.load(b["path"]).graph.node]
    assert "GlobalAveragePool" not in ops and "BatchNormalization" not in ops
    assert b["nodes"] <= a["nodes"]  # the GDC's BN folds into its conv, which replaces the pooling node
    with pytest.raises(ValueError, match="pool must be one of"):
        create_model("fastcrop_p", pool="attention")


def test_dw_kernel_widens_the_depthwise_convs_and_exports(tmp_path):
    with pytest.warns(DeprecationWarning):
        model = create_model("fastcrop_p0", num_classes=3, dw_kernel=5, rep_branches=1).eval()
    _randomise_bn_stats(model)
    dw = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels]
    assert dw and all(m.kernel_size == (5, 5) for m in dw if m.kernel_size != (1, 1))
    report = export_model(model, ["a", "b", "c"], tmp_path / "k5.onnx")
    assert report["parity_max_abs"] < 1e-4  # the 1x1 branch fuses into the centre of the 5x5 kernel
    with pytest.raises(ValueError, match="dw_kernel must be odd"):
        create_model("fastcrop_p", dw_kernel=4)


@pytest.mark.parametrize("blur", [3, 2])
@pytest.mark.parametrize("groups, cin, cout", [(8, 8, 8), (1, 3, 5)])
def test_blur_conv_is_blur_then_conv_and_kills_the_nyquist_pattern(groups, cin, cout, blur):
    import torch.nn.functional as F

    from actkit.models.layers import BlurConv2d

    torch.manual_seed(0)
    conv = BlurConv2d(cin, cout, 3, 2, groups, blur=blur)
    assert conv.weight.shape[-1] == 3  # the learnt kernel; the composed one is 3 + blur - 1 wide
    assert conv.composed_weight().shape[-1] == 2 + blur
    x = torch.randn(2, cin, 16, 12)
    with torch.no_grad():
        m = blur - 1
        blurred = F.conv2d(F.pad(x, (m, m, m, m)), conv.blur.expand(cin, 1, blur, blur), groups=cin)
        assert torch.allclose(conv(x), F.conv2d(blurred, conv.weight, None, 2, groups=groups), atol=1e-5)
        assert conv(x).shape[-2:] == (8, 6)  # the plain stride-2 conv's output size
        assert torch.equal(conv.plain()(x), conv(x))
        # A one-pixel checkerboard aliases to a flat map under a plain stride-2 conv; the blur removes it.
        checker = ((torch.arange(16)[:, None] + torch.arange(12)[None, :]) % 2 * 2 - 1).float().expand(1, cin, 16, 12)
        plain = torch.nn.Conv2d(cin, cout, 3, 2, 1, groups=groups, bias=False)
        plain.weight.copy_(conv.weight)
        assert plain(checker)[..., 1:-1, 1:-1].abs().max() > 0.1
        assert conv(checker)[..., 1:-1, 1:-1].abs().max() < 1e-5


@pytest.mark.parametrize("antialias, blur", [("blocks", 3), ("all", 3), ("stem", 2)])
def test_antialias_exports_one_conv_per_blurred_conv(tmp_path, antialias, blur):
    import onnx

    from actkit.models.layers import BlurConv2d

    model = create_model("fastcrop_p", num_classes=3, antialias=antialias, blur=blur).eval()
    blurred = [m for m in model.modules() if isinstance(m, BlurConv2d)]
    assert len(blurred) == {"stem": 1, "blocks": 2, "all": 3}[antialias]  # the stem; the first block of each stage
    assert (model.stem[0] in blurred) == (antialias != "blocks")
    plain = create_model("fastcrop_p", num_classes=3, antialias="none").eval()
    assert count_params(model) == count_params(plain)  # smoother, not bigger
    _randomise_bn_stats(model)
    a = export_model(plain, ["a", "b", "c"], tmp_path / "plain.onnx")
    b = export_model(model, ["a", "b", "c"], tmp_path / "aa.onnx")
    assert b["parity_max_abs"] < 1e-4 and b["nodes"] == a["nodes"]
    kernels = [n for n in onnx.load(b["path"]).graph.node if n.op_type == "Conv"
               and any(att.name == "kernel_shape" and list(att.ints) == [blur + 2] * 2 for att in n.attribute)]
    assert len(kernels) == len(blurred)
    with pytest.raises(ValueError, match="antialias must be one of"):
        create_model("fastcrop_p", antialias="head")
    with pytest.raises(ValueError, match="blur size"):
        create_model("fastcrop_p", blur=5)


@pytest.mark.parametrize("blur, groups", [(3, 1), (2, 1), (3, 6), (2, 6)])
def test_rep_branches_with_blur_fuse_to_one_blurred_conv(blur, groups):
    from actkit.models.layers import BlurConv2d, RepConvBN, reparameterize

    torch.manual_seed(0)
    block = RepConvBN(6, 12, 3, 2, groups, branches=2, blur=blur)
    assert all(isinstance(b[0], BlurConv2d) for b in [*block.convs, block.scale])
    _randomise_bn_stats(block)
    block.eval()
    x = torch.randn(2, 6, 16, 12)
    with torch.no_grad():
        fused = reparameterize(torch.nn.Sequential(block).eval())[0]
        assert fused[0].kernel_size == (2 + blur, 2 + blur)
        assert torch.allclose(fused(x), block(x), atol=1e-5)


def test_antialiased_model_with_rep_branches_exports_the_plain_graph(tmp_path):
    plain = create_model("fastcrop_p", num_classes=3, antialias="all", blur=2).eval()
    rep = create_model("fastcrop_p", num_classes=3, antialias="all", blur=2, rep_branches=2).eval()
    _randomise_bn_stats(rep)
    a = export_model(plain, ["a", "b", "c"], tmp_path / "plain.onnx")
    b = export_model(rep, ["a", "b", "c"], tmp_path / "rep.onnx")
    assert b["parity_max_abs"] < 1e-4 and b["nodes"] == a["nodes"]


def test_checkpoint_older_than_a_field_loads_as_it_was_trained():
    import dataclasses

    from actkit.engine.checkpoint import model_from_checkpoint
    from actkit.models.layers import BlurConv2d

    # A fastcrop_p checkpoint of 2026-11-23 ({pool: gdc} + the 16x12 block) has no `antialias`, `blur` or `late_head` field.
    old = create_model("fastcrop_p", num_classes=3, antialias="none", late_head=False).eval()
    _randomise_bn_stats(old)
    config = {k: v for k, v in dataclasses.asdict(old.cfg).items() if k not in ("antialias", "blur", "late_head")}
    ckpt = {"model_name": "fastcrop_p", "model_config": config, "data_cfg": old.data_cfg.to_dict(),
            "state_dict": old.state_dict()}
    model, _ = model_from_checkpoint(ckpt)
    assert model.cfg.antialias == "none" and not any(isinstance(m, BlurConv2d) for m in model.modules())
    assert not model.cfg.late_head and model.late is None
    x = torch.rand(2, 3, 32, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(x), old(x))
    new = dict(config, antialias="all", blur=2)  # a checkpoint that stores the fields keeps them (fastcrop_p1 (P without late_head))
    model, _ = model_from_checkpoint(dict(ckpt, model_config=new))
    assert model.cfg.antialias == "all" and model.cfg.blur == 2 and not model.cfg.late_head


@pytest.mark.parametrize("pool", ["gdc", "avg"])
def test_late_head_moves_the_head_width_after_pooling(tmp_path, pool):
    import onnx

    model = create_model("fastcrop_p", num_classes=3, pool=pool, late_head=True, head_dim=64).eval()
    early = create_model("fastcrop_p", num_classes=3, pool=pool, head_dim=64, late_head=False).eval()
    _randomise_bn_stats(model)
    # No 1x1 conv after the last block: the features are the last stage's; the width is a linear layer.
    assert model.num_features == model.cfg.widths[-1] and early.num_features == 64
    assert model.late[0].in_features == model.cfg.widths[-1] and model.late[0].out_features == 64
    assert model.fc.in_features == 64
    x = torch.rand(4, 3, 32, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert model(x).shape == (4, 3)
    a = export_model(early, ["a", "b", "c"], tmp_path / "early.onnx")
    b = export_model(model, ["a", "b", "c"], tmp_path / "late.onnx")
    assert b["parity_max_abs"] < 1e-4
    ops = [n.op_type for n in onnx.load(b["path"]).graph.node]
    early_ops = [n.op_type for n in onnx.load(a["path"]).graph.node]
    assert ops.count("Gemm") == 2 and early_ops.count("Gemm") == 1
    assert ops.count("Conv") == early_ops.count("Conv") - 1
