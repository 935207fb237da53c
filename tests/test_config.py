"""The typed run config: defaults <- YAML <- flags, strict keys, coercion, saved resolved config."""
from __future__ import annotations

import argparse

import pytest
import yaml

from actkit.config import (TrainConfig, add_config_flags, coerce, from_dict, leaf_fields, load_yaml, overrides_from_args,
                           resolve, save_yaml, to_dict)


def _yaml(tmp_path, text):
    p = tmp_path / "run.yaml"
    p.write_text(text)
    return p


def test_defaults():
    cfg = resolve(TrainConfig)
    assert cfg == TrainConfig()
    assert cfg.optim.epochs == 30 and cfg.optim.lr == 1e-2 and cfg.data.batch_size == 64 and cfg.data.imbalance == "loss" and cfg.model.input_size == []


def test_yaml_then_overrides_precedence(tmp_path):
    p = _yaml(tmp_path, "optim:\n  lr: 0.05\n  epochs: 7\ndata:\n  batch_size: 32\n")
    cfg = resolve(TrainConfig, p, {"optim.lr": "0.001", "model.name": "sc_p"})
    assert cfg.optim.lr == 0.001          # flag beats YAML
    assert cfg.optim.epochs == 7          # YAML beats default
    assert cfg.data.batch_size == 32
    assert cfg.model.name == "sc_p"       # flag beats default
    assert cfg.optim.weight_decay == 0.02  # untouched default
    assert isinstance(cfg.optim.epochs, int) and isinstance(cfg.optim.lr, float)


def test_empty_yaml_section_with_flag_override(tmp_path):
    # `optim:` with nothing under it is YAML null; a flag for that section must still apply.
    p = _yaml(tmp_path, "optim:\nrun:\n  seed: 3\n")
    cfg = resolve(TrainConfig, p, {"optim.epochs": "2"})
    assert cfg.optim.epochs == 2 and cfg.run.seed == 3


@pytest.mark.parametrize("tree,where,suggest", [
    ({"optim": {"lrr": 0.1}}, "optim.", "lr"),
    ({"data": {"batchsize": 4}}, "data.", "batch_size"),
    ({"optm": {"lr": 0.1}}, "", "optim"),
])
def test_unknown_key_is_rejected_with_suggestion(tree, where, suggest):
    with pytest.raises(ValueError) as e:
        from_dict(TrainConfig, tree)
    msg = str(e.value)
    assert "unknown config key" in msg and where in msg
    assert f"Did you mean {suggest!r}" in msg


def test_unknown_key_from_yaml_and_flag(tmp_path):
    with pytest.raises(ValueError, match="Did you mean 'keep_last'"):
        resolve(TrainConfig, _yaml(tmp_path, "run:\n  keep_lst: 2\n"))
    with pytest.raises(ValueError, match="Did you mean 'epochs'"):
        resolve(TrainConfig, None, {"optim.epoch": "3"})


def test_bad_choice_is_rejected():
    with pytest.raises(ValueError, match="imbalance.*not one of"):
        resolve(TrainConfig, None, {"data.imbalance": "oversample"})
    with pytest.raises(ValueError, match="colour"):
        resolve(TrainConfig, None, {"model.colour": "hsv"})
    assert resolve(TrainConfig, None, {"data.imbalance": "sampler"}).data.imbalance == "sampler"


@pytest.mark.parametrize("text,value", [("true", True), ("Yes", True), ("1", True), ("on", True),
                                        ("false", False), ("NO", False), ("0", False), ("off", False)])
def test_bool_coercion(text, value):
    assert coerce(text, bool) is value
    assert resolve(TrainConfig, None, {"run.plots": text}).run.plots is value


def test_bad_bool_and_number_are_errors():
    with pytest.raises(ValueError, match="run.plots"):
        resolve(TrainConfig, None, {"run.plots": "maybe"})
    with pytest.raises(ValueError, match="optim.epochs"):
        resolve(TrainConfig, None, {"optim.epochs": "many"})


@pytest.mark.parametrize("text", ["32,24", "32x24", [32, 24]])
def test_list_coercion(text):
    assert resolve(TrainConfig, None, {"model.input_size": text}).model.input_size == [32, 24]


@pytest.mark.parametrize("text", ["{rep_branches: 2, widths: [48, 128]}", {"rep_branches": 2, "widths": [48, 128]}])
def test_mapping_coercion(text):
    assert resolve(TrainConfig, None, {"model.args": text}).model.args == {"rep_branches": 2, "widths": [48, 128]}


@pytest.mark.parametrize("text", ["rep_branches", "[1, 2]", "{a: [1"])
def test_bad_mapping_names_the_key(text):
    with pytest.raises(ValueError, match="model.args"):
        resolve(TrainConfig, None, {"model.args": text})


def test_section_must_be_mapping():
    with pytest.raises(ValueError, match="optim"):
        from_dict(TrainConfig, {"optim": 3})


def test_yaml_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_yaml(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match="run.yaml"):
        load_yaml(_yaml(tmp_path, "optim: [1, 2\n"))
    with pytest.raises(ValueError, match="mapping"):
        load_yaml(_yaml(tmp_path, "- 1\n- 2\n"))


def test_save_yaml_round_trip(tmp_path):
    cfg = resolve(TrainConfig, None, {"optim.lr": "0.01", "model.input_size": "24x40", "run.plots": "false",
                                      "data.positive": "sitting"})
    save_yaml(cfg, tmp_path / "config.yaml")
    plain = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert plain == to_dict(cfg)
    assert plain["optim"]["lr"] == 0.01 and plain["run"]["plots"] is False
    assert resolve(TrainConfig, tmp_path / "config.yaml") == cfg


def _parser():
    p = argparse.ArgumentParser()
    add_config_flags(p, TrainConfig)
    return p


def test_every_leaf_field_has_a_flag():
    p = _parser()
    for dotted, f, _ in leaf_fields(TrainConfig):
        args = p.parse_args([f"--{dotted}", "1"])
        assert overrides_from_args(args) == {dotted: "1"}


def test_flags_default_to_unset():
    assert overrides_from_args(_parser().parse_args([])) == {}


def test_aliases_and_dotted_flags():
    args = _parser().parse_args(["--epochs", "3", "--data", "x.parquet", "--model", "sc_p", "--optim.lr", "0.1",
                                 "--batch-size", "4", "--run.keep_last", "2"])
    over = overrides_from_args(args)
    assert over == {"optim.epochs": "3", "data.path": "x.parquet", "model.name": "sc_p", "optim.lr": "0.1",
                    "data.batch_size": "4", "run.keep_last": "2"}
    cfg = resolve(TrainConfig, None, over)
    assert (cfg.optim.epochs, cfg.data.path, cfg.model.name, cfg.optim.lr, cfg.data.batch_size, cfg.run.keep_last) == \
        (3, "x.parquet", "sc_p", 0.1, 4, 2)


def test_unknown_flag_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        _parser().parse_args(["--optim.lrr", "1"])
    assert e.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_shipped_recipes_resolve_by_name_and_flags_override_them():
    from actkit.config import recipes

    names = recipes()
    assert {"postures", "actions", "streams"} <= set(names)
    tasks = {n: resolve(TrainConfig, n).task for n in names}
    assert tasks["postures"] == "crop" and tasks["actions"] == "clip" and tasks["streams"] == "stream"
    cfg = resolve(TrainConfig, "postures", {"data.path": "x.parquet", "optim.epochs": "3"})
    assert cfg.model.name == "fastcrop_p" and cfg.optim.ema == 0.995 and cfg.optim.epochs == 3
    with pytest.raises(FileNotFoundError, match="shipped recipes: .*postures"):
        resolve(TrainConfig, "no_such_recipe")
