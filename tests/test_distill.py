"""Knowledge distillation: the soft loss, the teacher's input, and a distilled run end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from actkit.engine.checkpoint import model_from_checkpoint
from actkit.engine.distill import Distiller, adapt_input, kd_loss, two_class
from actkit.models._base import DataConfig

from conftest import train_tiny


def test_kd_loss_is_the_tempered_kl_times_t_squared():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    T = 3.0
    p, q = torch.softmax(t / T, -1), torch.softmax(s / T, -1)
    by_hand = (p * (p.log() - q.log())).sum(-1).mean() * T * T
    assert torch.allclose(kd_loss(s, t, T), by_hand, atol=1e-6)
    assert kd_loss(t, t, T).abs().item() < 1e-6  # a student that matches the teacher pays nothing
    assert kd_loss(s, t, T).item() > 0.01


def test_kd_loss_reads_one_logit_as_a_bernoulli():
    s, t = torch.tensor([[0.5], [-2.0]]), torch.tensor([[1.5], [1.0]])
    p, q = torch.sigmoid(t), torch.sigmoid(s)
    kl = p * (p / q).log() + (1 - p) * ((1 - p) / (1 - q)).log()
    assert torch.allclose(kd_loss(s, t, 1.0), kl.mean(), atol=1e-6)
    assert two_class(s).shape == (2, 2) and two_class(torch.zeros(3, 4)).shape == (3, 4)


def test_adapt_input_renormalises_and_resizes():
    src = DataConfig(input_size=(8, 6), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    dst = DataConfig(input_size=(16, 12))
    raw = torch.rand(2, 3, 8, 6)
    x = (raw - 0.5) / 0.25
    assert adapt_input(x, src, src) is x  # nothing to do: the very same tensor
    out = adapt_input(x, src, dst)
    assert out.shape == (2, 3, 16, 12)
    # A constant image stays that constant, in the teacher's normalisation.
    flat = adapt_input(torch.full((1, 3, 8, 6), (0.8 - 0.5) / 0.25), src, dst)
    assert torch.allclose(flat, torch.full_like(flat, 0.8), atol=1e-5)
    clip = adapt_input(torch.zeros(2, 3, 4, 8, 6), src, dst)  # (B, C, T, H, W): time untouched
    assert clip.shape == (2, 3, 4, 16, 12)


def test_teacher_of_other_classes_or_settings_is_refused(trained_run, binary_run):
    cfg = DataConfig()
    teacher = trained_run / "checkpoints" / "best.pt"
    with pytest.raises(ValueError, match="same classes"):
        Distiller(binary_run / "checkpoints" / "best.pt", cfg, ["blob", "tall", "wide"], torch.device("cpu"))
    with pytest.raises(ValueError, match="colour"):
        Distiller(teacher, DataConfig(colour="y"), ["blob", "tall", "wide"], torch.device("cpu"))
    with pytest.raises(ValueError, match="alpha"):
        Distiller(teacher, cfg, ["blob", "tall", "wide"], torch.device("cpu"), alpha=1.5)
    with pytest.raises(ValueError, match="temperature"):
        Distiller(teacher, cfg, ["blob", "tall", "wide"], torch.device("cpu"), temperature=0)
    with pytest.raises(ValueError, match="not a streaming model"):
        Distiller(teacher, cfg, ["blob", "tall", "wide"], torch.device("cpu"), per_frame=True)
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        Distiller(trained_run / "nope.pt", cfg, ["blob", "tall", "wide"], torch.device("cpu"))


def test_teacher_is_frozen_and_stays_in_eval_mode(trained_run):
    path = trained_run / "checkpoints" / "best.pt"
    d = Distiller(path, DataConfig(), ["blob", "tall", "wide"], torch.device("cpu"), alpha=1.0)
    before = {k: v.clone() for k, v in d.teacher.state_dict().items()}
    x, y = torch.rand(4, 3, 32, 24), torch.tensor([0, 1, 2, 0])
    student = torch.zeros(4, 3, requires_grad=True)
    d.loss(torch.tensor(0.0), student, x, y).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert not d.teacher.training
    assert all(torch.equal(before[k], v) for k, v in d.teacher.state_dict().items())
    assert all(p.grad is None for p in d.teacher.parameters())


def _agreement(student_run, teacher_run, cfg):
    """Share of test crops where the student's class is the teacher's."""
    from actkit.engine.tasks import make_task

    votes = []
    for run in (student_run, teacher_run):
        model, _ = model_from_checkpoint(run / "checkpoints" / "best.pt")
        ds = make_task(cfg).datasets(model.data_cfg, 0)["test"]
        x = torch.stack([ds[i]["input"] for i in range(len(ds))])
        with torch.no_grad():
            votes.append(model(x).argmax(1).numpy())
    return float(np.mean(votes[0] == votes[1]))


def test_distilled_run_learns_from_the_teacher_alone(trained_run, shapes_parquet, tmp_path):
    """alpha 1: no label enters the loss, yet the student learns the teacher's classes, at another input size."""
    out = tmp_path / "kd"
    cfg, summary = train_tiny(shapes_parquet, out, optim__epochs=4, distill__teacher=str(trained_run / "checkpoints" / "best.pt"),
                              distill__alpha=1.0, distill__temperature=2.0, model__input_size=[24, 16])
    assert cfg.distill.alpha == 1.0
    assert summary["test"]["macro_f1"] >= 0.7
    assert _agreement(out, trained_run, cfg) >= 0.8
    history = json.loads((out / "history.json").read_text())
    plain = json.loads((trained_run / "history.json").read_text())
    assert history[0]["train_loss"] != pytest.approx(plain[0]["train_loss"])  # the loss is the soft one


def test_distill_flags_reach_the_config():
    from actkit.config import TrainConfig, resolve

    cfg = resolve(TrainConfig, None, {"distill.teacher": "t.pt", "distill.alpha": "0.7", "distill.temperature": "2"})
    assert (cfg.distill.teacher, cfg.distill.alpha, cfg.distill.temperature) == ("t.pt", 0.7, 2.0)
    assert resolve(TrainConfig).distill.teacher == ""
