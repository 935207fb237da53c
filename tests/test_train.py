"""Training: it learns, writes a complete run folder, resumes exactly, and fails clearly."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from actkit.config import TrainConfig, resolve
from actkit.engine import trainer
from actkit.engine.checkpoint import read_checkpoint
from actkit.engine.trainer import Events, load_task_table, make_loader, make_loss, train

from conftest import TINY_TRAIN, train_tiny

# Timing fields differ between runs by nature; everything else in a history row must not.
TIMING = ("epoch_seconds", "train_samples_per_s", "data_wait_share")


@pytest.fixture(scope="module")
def full_run(shapes_parquet, tmp_path_factory):
    """4 epochs with TensorBoard and rotation (keep_last=2, keep_best=2); plots are checked apart (slow to draw)."""
    out = tmp_path_factory.mktemp("full")
    cfg, summary = train_tiny(shapes_parquet, out, optim__epochs=4, run__tensorboard=True,
                              run__keep_last=2, run__keep_best=2)
    return out, cfg, summary


def test_training_learns(full_run):
    out, _, summary = full_run
    history = json.loads((out / "history.json").read_text())
    # Chance macro-F1 on 3 balanced classes is about 0.33.
    assert max(h["val_macro_f1"] for h in history) >= 0.8
    assert summary["test"]["macro_f1"] >= 0.7
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_run_folder_contents(full_run):
    out, cfg, summary = full_run
    assert resolve(TrainConfig, out / "config.yaml") == cfg
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["class_names"] == ["blob", "tall", "wide"] == summary["class_names"]
    assert on_disk["epochs"] == 4
    for key in ("macro_f1", "accuracy", "confusion", "per_class"):
        assert key in on_disk["test"] and key in on_disk["val"]
    assert on_disk["test"]["num_samples"] == 30  # 2 of 12 groups per class are test, 5 crops each
    assert on_disk["threshold"] is None  # multi-class: argmax


def test_checkpoint_rotation(full_run):
    out, _, summary = full_run
    ck = out / "checkpoints"
    history = json.loads((out / "history.json").read_text())
    assert sorted(p.name for p in ck.glob("epoch_*.pt")) == ["epoch_002.pt", "epoch_003.pt"]
    scores = [h["val_macro_f1"] for h in history]
    best_files = sorted(ck.glob("best_*.pt"))
    assert len(best_files) == 2
    kept = sorted((float(p.stem.rsplit("_", 1)[1]) for p in best_files), reverse=True)
    np.testing.assert_allclose(kept, sorted(scores, reverse=True)[:2], atol=1e-6)
    assert read_checkpoint(ck / "last.pt")["epoch"] == 3
    best = read_checkpoint(ck / "best.pt")
    assert best["epoch"] == int(np.argmax(scores)) == summary["best_epoch"] - 1
    assert [h["is_best"] for h in history] == [s > max(scores[:i], default=-1) for i, s in enumerate(scores)]


def test_checkpoint_is_self_describing(full_run):
    out, cfg, _ = full_run
    ckpt = read_checkpoint(out / "checkpoints" / "best.pt")
    for key in ("model_name", "model_config", "class_names", "data_cfg", "state_dict", "optimizer", "scheduler",
                "rng", "epoch", "config", "threshold"):
        assert key in ckpt
    assert ckpt["model_name"] == "fastcrop_p" and ckpt["model_config"]["num_classes"] == 3
    assert ckpt["config"]["optim"]["epochs"] == 4 and ckpt["config"]["data"]["path"] == cfg.data.path


def test_tensorboard_scalars(full_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _, _ = full_run
    events = list((out / "tb").glob("events.out.tfevents.*"))
    assert events
    acc = EventAccumulator(str(out / "tb"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"train/loss", "val/macro_f1", "val/loss"} <= set(tags)
    assert [e.step for e in acc.Scalars("val/macro_f1")] == [0, 1, 2, 3]


def test_plots_when_enabled(shapes_parquet, tmp_path, full_run):
    train_tiny(shapes_parquet, tmp_path, optim__epochs=1, run__plots=True)
    for name in ("epoch_001_confusion.png", "epoch_001_roc.png", "epoch_001_pr.png", "test_best_confusion.png",
                 "test_best_roc.png", "test_best_pr.png", "test_best_reliability.png", "history.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 1000, name
    assert not (full_run[0] / "plots").exists()  # run.plots=False writes none


def _strip(history):
    return [{k: v for k, v in h.items() if k not in TIMING} for h in history]


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_after_interruption_is_exact(shapes_parquet, tmp_path, ema):
    """4 epochs straight == 4 epochs interrupted after epoch 2 and resumed with run.resume=auto
    (with a weight average too: both the average and the trained weights come back)."""
    _, straight = train_tiny(shapes_parquet, tmp_path / "a", optim__epochs=4, optim__ema=ema)

    def stop_after_second(row):
        if row["epoch"] == 1:
            raise KeyboardInterrupt

    cfg = resolve(TrainConfig, None, {**TINY_TRAIN, "data.path": str(shapes_parquet), "run.out": str(tmp_path / "b"),
                                      "optim.epochs": 4, "optim.ema": ema})
    with pytest.raises(KeyboardInterrupt):
        train(cfg, Events(on_epoch_end=[stop_after_second]))
    assert read_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")["epoch"] == 1
    torch.manual_seed(123)  # whatever the process did in between must not matter
    np.random.seed(123)
    cfg.run.resume = "auto"
    resumed = train(cfg)

    a = read_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    b = read_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")
    assert a["epoch"] == b["epoch"] == 3
    for k, v in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][k], v, rtol=0, atol=1e-6, msg=k)
    assert ("train_state_dict" in a) == bool(ema)
    for k, v in a.get("train_state_dict", {}).items():
        torch.testing.assert_close(b["train_state_dict"][k], v, rtol=0, atol=1e-6, msg=k)
    ha = json.loads((tmp_path / "a" / "history.json").read_text())
    hb = json.loads((tmp_path / "b" / "history.json").read_text())
    assert _strip(hb) == _strip(ha)
    assert resumed["test"]["macro_f1"] == straight["test"]["macro_f1"]
    assert resumed["best_epoch"] == straight["best_epoch"]


@pytest.mark.parametrize("setting", ["on", "off"])
def test_channels_last_setting_reaches_the_weights(setting, shapes_parquet, tmp_path):
    _, summary = train_tiny(shapes_parquet, tmp_path, optim__epochs=1, run__channels_last=setting)
    sd = read_checkpoint(tmp_path / "checkpoints" / "last.pt")["state_dict"]
    convs = [v for v in sd.values() if v.dim() == 4 and v.shape[1] > 1 and v.shape[-1] > 1]  # layouts differ
    assert convs
    for w in convs:
        assert w.is_contiguous(memory_format=torch.channels_last) == (setting == "on")
    assert 0.0 <= summary["test"]["macro_f1"] <= 1.0


def test_channels_last_auto_follows_device_and_family():
    from actkit.models import create_model

    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    crop = create_model("fastcrop_p", num_classes=3)
    stream = create_model("stream_fast_s", num_classes=3, input_size=(48, 48))
    clip = create_model("clip_fast_p", num_classes=3, input_size=(48, 48), num_frames=4)
    assert trainer.use_channels_last(crop, cpu) and trainer.use_channels_last(stream, cpu)
    assert not trainer.use_channels_last(clip, cpu)  # measured slower on CPU
    assert trainer.use_channels_last(clip, gpu)
    assert not trainer.use_channels_last(crop, gpu, "off") and trainer.use_channels_last(clip, cpu, "on")
    with pytest.raises(ValueError, match="channels_last"):
        trainer.use_channels_last(crop, cpu, "yes")
    # clips fold time into the batch inside 2-D models: their input keeps its layout; 3-D CNNs take it channels-last
    assert trainer.channels_last_inputs(crop) and not trainer.channels_last_inputs(clip)
    assert trainer.channels_last_inputs(create_model("tv_r3d_18", num_classes=3))


def test_init_from_a_checkpoint(trained_run, shapes_parquet, tmp_path):
    """model.init_from: all weights for the same classes, all but the classifier for new ones."""
    from actkit.engine.checkpoint import init_from_checkpoint
    from actkit.models import create_model

    src = read_checkpoint(trained_run / "checkpoints" / "best.pt")
    names = list(src["class_names"])
    model = create_model("fastcrop_p", num_classes=len(names))
    init_from_checkpoint(model, trained_run / "checkpoints" / "best.pt", names)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, src["state_dict"][k], msg=k)

    fresh = create_model("fastcrop_p", num_classes=2)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    note = init_from_checkpoint(fresh, trained_run / "checkpoints" / "best.pt", ["cat", "dog"])
    assert "classifier starts fresh" in note
    changed = {k for k, v in fresh.state_dict().items() if not torch.equal(v, before[k])}
    kept = {k for k, v in fresh.state_dict().items() if k in src["state_dict"] and src["state_dict"][k].shape == v.shape
            and torch.equal(v, src["state_dict"][k])}
    assert changed and changed <= kept  # every loaded tensor came from the checkpoint...
    assert set(fresh.state_dict()) - kept  # ...and the classifier did not

    # classes in both (matched by name, any case and underscores) keep their classifier rows; new ones start fresh
    mixed = create_model("fastcrop_p", num_classes=3)
    fresh_fc = mixed.fc.weight.detach().clone()
    new_names = ["dog", names[1].upper(), "_".join(names[0])]
    note = init_from_checkpoint(mixed, trained_run / "checkpoints" / "best.pt", new_names)
    assert "2 classes in both" in note
    w, b = src["state_dict"]["fc.weight"], src["state_dict"]["fc.bias"]
    torch.testing.assert_close(mixed.fc.weight[1], w[1])
    torch.testing.assert_close(mixed.fc.weight[2], w[0])
    torch.testing.assert_close(mixed.fc.bias[2], b[0])
    torch.testing.assert_close(mixed.fc.weight[0], fresh_fc[0])

    with pytest.raises(ValueError, match="do not fit"):
        init_from_checkpoint(create_model("sc_p", num_classes=3), trained_run / "checkpoints" / "best.pt", names)
    with pytest.raises(FileNotFoundError):
        init_from_checkpoint(model, tmp_path / "none.pt", names)

    # through the trainer: 1 epoch at lr 0 from the checkpoint keeps its weights (and its accuracy)
    _, summary = train_tiny(shapes_parquet, tmp_path / "ft", optim__epochs=1, optim__lr=0.0,
                            model__init_from=str(trained_run / "checkpoints" / "best.pt"))
    out = read_checkpoint(tmp_path / "ft" / "checkpoints" / "last.pt")["state_dict"]
    for k, v in out.items():
        if k.endswith("weight") and v.dim() > 1:
            torch.testing.assert_close(v, src["state_dict"][k], msg=k)


def test_binary_view_has_two_classes_and_tuned_threshold(binary_run):
    best = read_checkpoint(binary_run / "checkpoints" / "best.pt")
    assert best["class_names"] == ["not_tall", "tall"]
    assert best["model_config"]["num_classes"] == 1
    assert isinstance(best["threshold"], float) and 0.0 < best["threshold"] < 1.0
    summary = json.loads((binary_run / "summary.json").read_text())
    assert summary["threshold"] == pytest.approx(best["threshold"])
    assert summary["test"]["threshold"] == pytest.approx(best["threshold"])
    assert summary["val"]["tuned_threshold"] == pytest.approx(best["threshold"])


def test_keep_best_zero_still_tracks_best(shapes_parquet, tmp_path):
    _, summary = train_tiny(shapes_parquet, tmp_path, optim__epochs=2, run__keep_best=0)
    assert not list((tmp_path / "checkpoints").glob("best_*.pt"))
    history = json.loads((tmp_path / "history.json").read_text())
    scores = [h["val_macro_f1"] for h in history]
    assert read_checkpoint(tmp_path / "checkpoints" / "best.pt")["epoch"] == int(np.argmax(scores))


def test_colour_and_input_size_reach_the_model(shapes_parquet, tmp_path):
    train_tiny(shapes_parquet, tmp_path, optim__epochs=1, model__name="sc_p", model__colour="y",
               model__input_size="24x40")
    ckpt = read_checkpoint(tmp_path / "checkpoints" / "best.pt")
    assert ckpt["data_cfg"]["colour"] == "y" and ckpt["data_cfg"]["input_size"] == [24, 40]
    assert ckpt["model_config"]["input_size"] == [24, 40]
    assert ckpt["state_dict"]["stem.0.0.weight"].shape[1] == 1  # one input channel


def test_model_args_reach_the_model_and_export_fused(shapes_parquet, tmp_path):
    from actkit.engine.exporter import export_onnx

    train_tiny(shapes_parquet, tmp_path, optim__epochs=1, model__args="{rep_branches: 1, head_dim: 64}")
    ckpt = read_checkpoint(tmp_path / "checkpoints" / "best.pt")
    assert ckpt["model_config"]["rep_branches"] == 1 and ckpt["model_config"]["head_dim"] == 64
    assert any(k.startswith("stem.convs.0.") for k in ckpt["state_dict"])
    report = export_onnx(tmp_path / "checkpoints" / "best.pt", tmp_path / "m.onnx")
    assert report["parity_max_abs"] < 1e-4


def test_unknown_model_arg_is_named(shapes_parquet, tmp_path):
    with pytest.raises(TypeError, match="rep_branch"):
        train_tiny(shapes_parquet, tmp_path, model__args="{rep_branch: 2}")


def test_bad_input_size(shapes_parquet, tmp_path):
    with pytest.raises(ValueError, match="H,W"):
        train_tiny(shapes_parquet, tmp_path, model__input_size="32")


# --------------------------------------------------------------------------- imbalance: corrected once


def test_make_loss_weights_only_for_loss_mode():
    counts = np.array([30, 10])
    bce = make_loss(1, counts, "loss")
    assert bce.pos_weight is not None and float(bce.pos_weight) == pytest.approx(3.0)
    assert make_loss(1, counts, "sampler").pos_weight is None
    assert make_loss(1, counts, "none").pos_weight is None
    counts3 = np.array([60, 20, 20])
    ce = make_loss(3, counts3, "loss")
    np.testing.assert_allclose(ce.weight.numpy(), [100 / 180, 100 / 60, 100 / 60], rtol=1e-6)
    assert make_loss(3, counts3, "sampler").weight is None
    assert make_loss(3, counts3, "none").weight is None


def test_bce_loss_takes_one_logit_and_int_labels():
    loss = make_loss(1, np.array([5, 5]), "none")
    val = loss(torch.tensor([[10.0], [-10.0]]), torch.tensor([1, 0]))
    assert float(val) < 1e-3


class _Labels(torch.utils.data.Dataset):
    def __init__(self, labels):
        self.labels = np.asarray(labels, np.int64)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"label": int(self.labels[i])}


def test_balanced_sampler_balances_and_plain_loader_does_not():
    ds = _Labels([0] * 90 + [1] * 10)
    balanced = make_loader(ds, 100, True, seed=0, epoch=0, workers=0, balanced=True)
    assert isinstance(balanced.sampler, torch.utils.data.WeightedRandomSampler)
    ys = np.concatenate([b["label"].numpy() for _ in range(5) for b in balanced])
    assert 0.4 < ys.mean() < 0.6
    plain = make_loader(ds, 100, True, seed=0, epoch=0, workers=0, balanced=False)
    assert not isinstance(plain.sampler, torch.utils.data.WeightedRandomSampler)
    assert sorted(next(iter(plain))["label"].tolist()) == sorted(ds.labels.tolist())


def test_loader_order_depends_only_on_seed_and_epoch():
    ds = _Labels(list(range(20)))
    order = lambda seed, epoch: next(iter(make_loader(ds, 20, True, seed, epoch, 0)))["label"].tolist()  # noqa: E731
    assert order(0, 1) == order(0, 1)
    assert order(0, 1) != order(0, 2)


@pytest.mark.parametrize("imbalance", ["loss", "sampler", "none"])
def test_trainer_corrects_imbalance_once(imbalance, shapes_parquet, tmp_path, monkeypatch):
    seen = {"balanced": [], "loss": []}
    real_loader, real_loss = trainer.make_loader, trainer.make_loss

    def spy_loader(ds, batch_size, shuffle, seed, epoch, workers, balanced=False, **kw):
        if shuffle:  # the training loader
            seen["balanced"].append(balanced)
        return real_loader(ds, batch_size, shuffle, seed, epoch, workers, balanced, **kw)

    def spy_loss(*args, **kw):
        fn = real_loss(*args, **kw)
        seen["loss"].append(fn)
        return fn

    monkeypatch.setattr(trainer, "make_loader", spy_loader)
    monkeypatch.setattr(trainer, "make_loss", spy_loss)
    train_tiny(shapes_parquet, tmp_path, optim__epochs=1, data__imbalance=imbalance)
    assert seen["balanced"] == [imbalance == "sampler"]
    (loss,) = seen["loss"]
    assert (loss.weight is not None) == (imbalance == "loss")


# --------------------------------------------------------------------------- splits


def test_missing_val_split_is_carved_from_train_by_group(shapes_parquet, tmp_path):
    t = pq.read_table(shapes_parquet)
    splits = ["train" if s == "val" else s for s in t.column("split").to_pylist()]
    path = tmp_path / "noval.parquet"
    pq.write_table(t.set_column(t.column_names.index("split"), "split", [splits]), path)

    cfg = resolve(TrainConfig, None, {"data.path": str(path)})
    table = load_task_table(cfg)
    assert np.any(table.splits == "val")
    assert np.array_equal(table.splits == "test", np.array(splits) == "test")  # test rows untouched
    train_groups = set(table.groups[table.splits == "train"])
    val_groups = set(table.groups[table.splits == "val"])
    assert val_groups and not train_groups & val_groups
    assert set(table.labels[table.splits == "val"]) == {"blob", "tall", "wide"}
    _, summary = train_tiny(path, tmp_path / "run", optim__epochs=1)
    assert summary["val"]["num_samples"] == int(np.sum(table.splits == "val"))


# --------------------------------------------------------------------------- clear errors


def test_no_data_path(tmp_path):
    cfg = resolve(TrainConfig, None, {"run.out": str(tmp_path)})
    with pytest.raises(ValueError, match="--data"):
        train(cfg)


def test_missing_data_file_is_named(tmp_path):
    with pytest.raises((ValueError, FileNotFoundError), match="nowhere.parquet"):
        train_tiny(tmp_path / "nowhere.parquet", tmp_path / "run")


def test_unknown_positive_class(shapes_parquet, tmp_path):
    with pytest.raises(ValueError, match="talll.*did you mean 'tall'"):
        train_tiny(shapes_parquet, tmp_path, data__positive="talll")


def test_unknown_model(shapes_parquet, tmp_path):
    with pytest.raises(KeyError, match="fastcrop_p"):
        train_tiny(shapes_parquet, tmp_path, model__name="fastcrop_pp")


def test_resume_from_checkpoint_of_another_model(trained_run, shapes_parquet, tmp_path):
    last = trained_run / "checkpoints" / "last.pt"
    with pytest.raises(ValueError, match="fastcrop_p.*sc_p"):
        train_tiny(shapes_parquet, tmp_path, model__name="sc_p", run__resume=str(last))
    with pytest.raises(ValueError, match="tall"):  # same model, other classes
        train_tiny(shapes_parquet, tmp_path / "b", data__positive="tall", run__resume=str(last))


def test_resume_from_missing_checkpoint(shapes_parquet, tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.pt"):
        train_tiny(shapes_parquet, tmp_path, run__resume=str(tmp_path / "gone.pt"))


def test_crop_task_trains_with_mixup_and_cutmix(shapes_parquet, tmp_path, monkeypatch):
    seen = []
    real = trainer.make_batch_transform

    def spy(cfg, num_logits):
        t = real(cfg, num_logits)
        def wrapped(x, y):
            x, target = t(x, y)
            seen.append(target)
            return x, target
        return wrapped

    monkeypatch.setattr(trainer, "make_batch_transform", spy)
    _, summary = train_tiny(shapes_parquet, tmp_path / "mix", optim__epochs=4, data__mixup=0.4, data__cutmix=1.0)
    assert seen and all(t.dtype.is_floating_point and t.shape[1] == 3 for t in seen)  # soft targets reached the loss
    assert summary["test"]["macro_f1"] >= 0.7
    with pytest.raises(ValueError, match="multi-class"):
        train_tiny(shapes_parquet, tmp_path / "bin", data__positive="tall", data__mixup=0.4)


def test_weight_average_follows_the_weights_and_is_what_the_run_keeps(shapes_parquet, tmp_path):
    from actkit.engine.ema import WeightAverage

    lin = torch.nn.Linear(2, 1, bias=False)
    torch.nn.init.zeros_(lin.weight)
    avg = WeightAverage(lin, 0.5)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    for _ in range(3):
        avg.update(lin)  # decays 0.1, 0.18, 0.25 during warm-up (all under 0.5)
    assert torch.allclose(avg.module.weight, torch.full((1, 2), 1 - 0.1 * (2 / 11) * 0.25))
    assert not avg.module.weight.requires_grad
    for bad in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="optim.ema"):
            WeightAverage(lin, bad)

    _, summary = train_tiny(shapes_parquet, tmp_path, optim__epochs=2, optim__ema=0.9)
    best = read_checkpoint(tmp_path / "checkpoints" / "best.pt")
    assert best["ema"]["updates"] > 0
    moved = max((best["state_dict"][k] - v).abs().max() for k, v in best["train_state_dict"].items()
                if v.dtype.is_floating_point)
    assert moved > 1e-4  # the kept model is the average, not the last step's weights
