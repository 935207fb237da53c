"""Tiny synthetic fixtures: no test needs the internet or a real dataset."""
from __future__ import annotations

import numpy as np
import pytest

from actkit.data.schema import encode_png


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One intra-op thread: on a shared 2-core box, OpenMP spin-waiting makes tiny models 100x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_shape(kind: str, rng: np.random.Generator, h: int = 40, w: int = 30) -> np.ndarray:
    """A noisy crop with a bright vertical bar, horizontal bar or blob: learnable in a few epochs."""
    img = (rng.random((h, w, 3)) * 60).astype(np.uint8)
    colour = rng.integers(150, 256, 3)
    cy, cx = h // 2 + rng.integers(-3, 4), w // 2 + rng.integers(-3, 4)
    if kind == "tall":
        img[max(0, cy - 14):cy + 14, max(0, cx - 3):cx + 3] = colour
    elif kind == "wide":
        img[max(0, cy - 3):cy + 3, max(0, cx - 12):cx + 12] = colour
    else:
        img[max(0, cy - 6):cy + 6, max(0, cx - 6):cx + 6] = colour
    return img


def write_shapes_parquet(path, classes=("blob", "tall", "wide"), per_class: int = 60, seed: int = 0, extra_cols: bool = True):
    """Write an actkit-format crop Parquet of shapes with groups of 5 frames, split by group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    rows = {k: [] for k in ("split", "label", "class_id", "image_bytes", "group", "width", "height", "source")}
    for cid, name in enumerate(sorted(classes)):
        for i in range(per_class):
            g = i // 5
            split = "test" if g % 6 == 0 else "val" if g % 6 == 1 else "train"
            img = make_shape(name, rng)
            rows["split"].append(split)
            rows["label"].append(name)
            rows["class_id"].append(cid)
            rows["image_bytes"].append(encode_png(img))
            rows["group"].append(f"{name}_{g}")
            rows["width"].append(img.shape[1])
            rows["height"].append(img.shape[0])
            rows["source"].append(f"synthetic:{name}:{i}")
    if not extra_cols:
        for k in ("group", "width", "height"):
            rows.pop(k)
    pq.write_table(pa.table(rows), path)
    return path


@pytest.fixture(scope="session")
def shapes_parquet(tmp_path_factory):
    return write_shapes_parquet(tmp_path_factory.mktemp("data") / "shapes.parquet")


# --------------------------------------------------------------------------- engine fixtures

TINY_TRAIN = {
    "model.name": "fastcrop_p", "optim.epochs": 3, "optim.lr": 0.01, "data.batch_size": 8,
    "run.plots": False, "run.tensorboard": False, "run.keep_last": 1, "run.keep_best": 1, "run.device": "cpu",
}


def train_tiny(data, out, **overrides):
    """Train a tiny model on ``data`` into ``out`` (a few seconds on 2 cores); returns (cfg, summary).

    ``overrides`` are dotted config keys with ``__`` for ``.`` (``optim__epochs=2``).
    """
    from actkit.config import TrainConfig, resolve
    from actkit.engine.trainer import train

    o = {**TINY_TRAIN, "data.path": str(data), "run.out": str(out)}
    o.update({k.replace("__", "."): v for k, v in overrides.items()})
    cfg = resolve(TrainConfig, None, o)
    return cfg, train(cfg)


@pytest.fixture(scope="session")
def trained_run(shapes_parquet, tmp_path_factory):
    """Run folder of one tiny 3-class training, shared by the export / predict / CLI tests."""
    out = tmp_path_factory.mktemp("run3")
    train_tiny(shapes_parquet, out)
    return out


@pytest.fixture(scope="session")
def binary_run(shapes_parquet, tmp_path_factory):
    """Run folder of one tiny binary (``tall`` vs the rest) training."""
    out = tmp_path_factory.mktemp("runbin")
    train_tiny(shapes_parquet, out, data__positive="tall")
    return out


def write_video(path, frames, fourcc: str = "mp4v", fps: float = 10.0):
    """Write RGB ``frames`` (list of HxWx3 uint8) as a video with OpenCV; returns the path."""
    import cv2

    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert vw.isOpened(), f"OpenCV cannot write {fourcc} here"
    for f in frames:
        vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()
    return path


@pytest.fixture(scope="session")
def custom_template(tmp_path_factory):
    """A rendered custom project (jump / punch, 3 training and 2 validation videos each, no features yet): copy
    it before changing it (``shutil.copytree``)."""
    pytest.importorskip("pybullet_data")
    from actkit.custom.examples import rendered_project

    d = tmp_path_factory.mktemp("custom_template") / "proj"
    rendered_project(d, ["jump", "punch"], train_per_class=3, valid_per_class=2, frames=32, size=128, seed=1,
                     workers=1)
    return d
