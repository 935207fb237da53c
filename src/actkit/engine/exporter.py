"""ONNX export: dynamic batch, BatchNorm folded, simplified, self-describing, parity-checked.

The exported graph takes ``images`` (N, C, H, W) float32 preprocessed exactly as
:func:`actkit.data.transforms.crop_to_input` does and returns probabilities:
``prob_<positive>`` (N, 1) for binary models, ``probs`` (N, C) otherwise. Labels and
preprocessing live in the file's ``metadata_props``, so an ONNX file needs nothing else.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..utils.ort import ort_session, read_metadata
from .checkpoint import clip_views_of, model_from_checkpoint, read_checkpoint

log = logging.getLogger(__name__)
INPUT_NAME = "images"


PLAIN_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class _Affine(nn.Module):
    """A folded BatchNorm: ``x * scale + shift`` (exports as Mul/Add)."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        self.register_buffer("scale", scale)
        self.register_buffer("shift", bn.bias.detach() - bn.running_mean * scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.scale.view(shape) + self.shift.view(shape)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Copy of ``model`` (eval) with re-parameterised blocks fused, Conv+BN fused into the conv and every other BN made Mul/Add."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    from ..models.layers import reparameterize

    model = reparameterize(copy.deepcopy(model).eval())
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            names = list(module._modules)
            for a, b in zip(names, names[1:]):
                conv, bn = module._modules[a], module._modules[b]
                if isinstance(conv, (nn.Conv2d, nn.Conv3d)) and type(bn) in PLAIN_BATCHNORM:
                    module._modules[a] = fuse_conv_bn_eval(conv, bn)
                    module._modules[b] = nn.Identity()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) in PLAIN_BATCHNORM:  # subclasses (timm's BatchNormAct2d: BN + activation) stay whole
                setattr(parent, name, _Affine(child))
    return model


class ProbabilityModel(nn.Module):
    """Wraps a classifier so the graph outputs probabilities (sigmoid for one logit, else softmax)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return torch.sigmoid(logits) if logits.shape[-1] == 1 else torch.softmax(logits, dim=-1)


def input_shape(data_cfg: Any, batch: int = 1) -> tuple[int, ...]:
    """Model input shape: (N, C, H, W) for crop models, (N, C, T, H, W) for clip models (num_frames > 1)."""
    h, w = data_cfg.input_size
    if data_cfg.num_frames > 1:
        return (batch, data_cfg.in_chans, data_cfg.num_frames, h, w)
    return (batch, data_cfg.in_chans, h, w)


def output_name(class_names: list[str], num_logits: int) -> str:
    return f"prob_{class_names[-1]}" if num_logits == 1 else "probs"


def to_onnx(model: nn.Module, path: str | Path, input_shape: tuple[int, ...], out_name: str, opset: int = 17) -> None:
    """Trace ``model`` to ONNX with a dynamic batch dimension (legacy exporter, dynamo fallback)."""
    x = torch.zeros(input_shape)
    kwargs = dict(input_names=[INPUT_NAME], output_names=[out_name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, (x,), str(path), dynamic_axes={INPUT_NAME: {0: "batch"}, out_name: {0: "batch"}},
                              opset_version=opset, dynamo=False, **kwargs)
        except Exception as e:  # the TorchScript exporter is deprecated; fall back to torch.export
            log.info("legacy ONNX export failed (%s); using the dynamo exporter", e)
            torch.onnx.export(model, (x,), str(path), dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, **kwargs)


def simplify(path: Path) -> None:
    """Simplify the graph in place with onnxslim (constant folding, dead nodes, fusions)."""
    import onnx

    try:
        import onnxslim
    except ImportError:
        log.warning("onnxslim not installed: graph not simplified (pip install onnxslim)")
        return
    slim = onnxslim.slim(onnx.load(str(path)))
    onnx.save(slim, str(path))


def write_metadata(path: Path, meta: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Store labels and preprocessing in ``metadata_props`` (each value a string; ``actkit`` holds all as JSON).

    ``extra`` adds or replaces keys (the streaming exporter adds its state layout).
    """
    import onnx

    d = meta["data_cfg"]
    skeleton = meta.get("task") == "skeleton"
    clip = d.get("num_frames", 1) > 1 and not skeleton
    flat = {"actkit": json.dumps(meta), "labels": json.dumps(meta["class_names"]), "model_name": meta["model_name"],
            "input_size": json.dumps(d["input_size"]), "colour": d["colour"],
            "mean": json.dumps(d["mean"]), "std": json.dumps(d["std"]),
            "threshold": json.dumps(meta.get("threshold")), "input_range": "[0, 1] after colour conversion, then (x - mean) / std",
            "resize": ("clip of num_frames frames (N, C, T, H, W): one centre crop of the short side for every frame, "
                       "then resize (cv2), actkit.data.video.ClipTransform" if clip else
                       "keypoints (N, 4, T, 33): x, y, z about the hips in torso lengths and visibility, "
                       "actkit.data.skeleton_inputs.skeleton_input" if skeleton else
                       "crop box, area downscale / bilinear upscale (cv2), actkit.data.transforms.crop_to_input")}
    if skeleton:
        flat["input_range"] = "torso lengths (x, y, z), [0, 1] (visibility)"
    if clip:
        flat.update({"num_frames": json.dumps(d["num_frames"]), "fps": json.dumps(d.get("fps", 0.0))})
    flat.update(extra or {})
    m = onnx.load(str(path))
    del m.metadata_props[:]
    for k, v in flat.items():
        entry = m.metadata_props.add()
        entry.key, entry.value = k, str(v)
    m.producer_name = "actkit"
    onnx.save(m, str(path))


def export_model(model: nn.Module, class_names: list[str], out: str | Path, threshold: float | None = None,
                 opset: int = 17, do_simplify: bool = True, clip_views: dict[str, Any] | None = None) -> dict[str, Any]:
    """Export an in-memory actkit model; returns ``{path, output, parity_max_abs, nodes, bytes}``.
    ``clip_views``: a clip model's evaluation views (:func:`actkit.engine.checkpoint.clip_views_of`), kept in
    the metadata."""
    from .checkpoint import model_meta

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    folded = ProbabilityModel(fold_batchnorm(model))
    shape = model.input_shape(1) if hasattr(model, "input_shape") else input_shape(model.data_cfg, 1)
    name = output_name(class_names, model.num_classes)
    from ..utils.io import atomic_path
    with atomic_path(out) as tmp:
        to_onnx(folded, tmp, shape, name, opset)
        if do_simplify:
            simplify(tmp)
        write_metadata(tmp, model_meta(model, class_names, threshold, clip_views))
    parity = check_parity(model, out)
    import onnx
    nodes = [n.op_type for n in onnx.load(str(out)).graph.node]
    return {"path": str(out), "output": name, "parity_max_abs": parity, "nodes": len(nodes),
            "batchnorm_nodes": nodes.count("BatchNormalization"), "bytes": out.stat().st_size}


@torch.no_grad()
def check_parity(model: nn.Module, onnx_path: str | Path, batch: int = 8, seed: int = 0) -> float:
    """Max |torch - ONNX Runtime| over a random batch (the exported graph outputs probabilities)."""
    shape = model.input_shape(batch) if hasattr(model, "input_shape") else input_shape(model.data_cfg, batch)
    x = torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    ref = ProbabilityModel(model.eval())(x).numpy()
    sess = ort_session(onnx_path, threads=0)
    got = sess.run(None, {INPUT_NAME: x.numpy()})[0]
    return float(np.abs(ref - got).max())


def as_class_probs(p: np.ndarray) -> np.ndarray:
    """Graph output -> (N, C>=2) probabilities; renormalised because int8 softmax rows drift off 1."""
    p = np.clip(p.astype(np.float32, copy=False), 0.0, 1.0)
    if p.shape[1] == 1:
        return np.concatenate([1 - p, p], 1)
    return p / np.maximum(p.sum(1, keepdims=True), 1e-12)


def export_onnx(checkpoint: str | Path, out: str | Path | None = None, *, int8: bool = False, data: str | None = None,
                calib_samples: int = 1024, opset: int = 17) -> dict[str, Any]:
    """Export a checkpoint to ONNX (and optionally a static int8 model calibrated on the val split).

    Args:
        checkpoint: an actkit ``.pt`` checkpoint.
        out: ONNX path (default: the checkpoint path with ``.onnx``).
        int8: also write ``<out stem>.int8.onnx``, quantised with calibration data, and report
            the F1 change on the test split.
        data: Parquet with ``val``/``test`` splits for int8 calibration and checking
            (default: the dataset the checkpoint was trained on).
        calib_samples: number of calibration crops.
        opset: ONNX opset.

    Returns:
        A report dict (paths, parity, sizes, and for int8 the F1 before/after).
    """
    ckpt = read_checkpoint(checkpoint)
    model, _ = model_from_checkpoint(ckpt)
    out = Path(out) if out else Path(checkpoint).with_suffix(".onnx")
    report = export_model(model, ckpt["class_names"], out, ckpt.get("threshold"), opset,
                          clip_views=clip_views_of(ckpt.get("config")))
    log.info("exported %s: %d nodes, %.1f KB, torch-vs-ONNX max |diff| %.2e", out, report["nodes"], report["bytes"] / 1024, report["parity_max_abs"])
    if int8:
        data = data or (ckpt.get("config") or {}).get("data", {}).get("path")
        if not data:
            raise ValueError("int8 export needs calibration data: pass --data PATH.parquet")
        positive = (ckpt.get("config") or {}).get("data", {}).get("positive") or ""
        report["int8"] = quantize_int8(out, data, positive, calib_samples)
    return report


def _split_inputs(data: str, positive: str, split: str, data_cfg: Any, limit: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from ..data.crops import read_crops_table
    from ..data.schema import decode_image
    from ..data.transforms import crop_to_input

    table = read_crops_table(data)
    if positive:
        table = table.binary(positive)
    sub = table.select(split)
    if len(sub) == 0:
        raise ValueError(f"{data}: the {split} split is empty")
    idx = np.arange(len(sub))
    if limit and len(idx) > limit:
        idx = np.sort(np.random.default_rng(seed).choice(idx, limit, replace=False))
    x = np.stack([crop_to_input(decode_image(sub.images[i]), sub.boxes[i], data_cfg) for i in idx])
    return x, sub.class_ids[idx]


def quantize_int8(onnx_path: str | Path, data: str, positive: str = "", calib_samples: int = 1024) -> dict[str, Any]:
    """Static int8 (QDQ, per-channel) quantisation calibrated on ``val``; F1 change measured on ``test``.

    Activation ranges use the 99.999th percentile rather than min/max: one outlier crop in the
    calibration set otherwise stretches a range and costs resolution for every other crop.
    """
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from ..models import DataConfig
    from .metrics import classification_report

    onnx_path = Path(onnx_path)
    meta = read_metadata(onnx_path)
    data_cfg = DataConfig.from_dict(meta["data_cfg"])
    calib, _ = _split_inputs(data, positive, "val", data_cfg, calib_samples)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(calib[i:i + 1] for i in range(len(calib)))

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.it, None)
            return None if x is None else {INPUT_NAME: x}

    out = onnx_path.with_name(onnx_path.stem + ".int8.onnx")
    from ..utils.io import atomic_path
    t0 = time.perf_counter()
    with atomic_path(out) as tmp, atomic_path(onnx_path.with_name(onnx_path.stem + ".pre.onnx")) as pre:
        quant_pre_process(str(onnx_path), str(pre), skip_symbolic_shape=True)
        with contextlib.redirect_stdout(io.StringIO()):  # the calibrator prints its progress
            quantize_static(str(pre), str(tmp), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.Percentile)
        write_metadata(tmp, meta)
    onnx_path.with_name(onnx_path.stem + ".pre.onnx").unlink(missing_ok=True)
    x, y = _split_inputs(data, positive, "test", data_cfg)
    names, thr = meta["class_names"], meta.get("threshold")
    res = {}
    for tag, path in (("fp32", onnx_path), ("int8", out)):
        probs = as_class_probs(ort_session(path, threads=0).run(None, {INPUT_NAME: x})[0])
        r = classification_report(y, probs, names, threshold=thr if len(names) == 2 else None)
        res[tag] = {"macro_f1": r["macro_f1"], "accuracy": r["accuracy"], "f1": r.get("f1")}
    delta = (res["int8"]["macro_f1"] - res["fp32"]["macro_f1"]) * 100
    log.info("int8 %s: macro-F1 %.4f -> %.4f (%+.2f points) on %d test crops", out, res["fp32"]["macro_f1"], res["int8"]["macro_f1"], delta, len(y))
    return {"path": str(out), "bytes": out.stat().st_size, "test_samples": int(len(y)), **res,
            "macro_f1_change_points": delta, "seconds": time.perf_counter() - t0}
