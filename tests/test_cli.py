"""End-to-end smoke through the `actkit` command line, in process: train -> eval -> export -> predict -> bench."""
from __future__ import annotations

import contextlib
import io
import json

import pytest
import yaml

from actkit.cli import main


@pytest.fixture(scope="module")
def cli_run(shapes_parquet, tmp_path_factory):
    """`actkit train` with a YAML file whose values some flags override; returns (run folder, stdout)."""
    folder = tmp_path_factory.mktemp("cli")
    cfg = folder / "run.yaml"
    cfg.write_text(yaml.safe_dump({"optim": {"epochs": 9, "lr": 0.01}, "data": {"batch_size": 8},
                                   "run": {"plots": False, "tensorboard": False, "keep_last": 1}}))
    out = folder / "run"
    code, stdout = _run(["-q", "train", "--config", str(cfg), "--data", str(shapes_parquet), "--out", str(out),
                         "--epochs", "2", "--model", "fastcrop_p", "--run.device", "cpu"])
    assert code == 0
    return out, stdout


def _run(argv):
    """main(argv) with stdout captured, for module-scoped fixtures (capsys is per test)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(argv)
    return code, buf.getvalue()


def test_models(capsys):
    assert main(["models", "sc_*"]) == 0
    out = capsys.readouterr().out
    assert "sc_p" in out and "26,609" in out and "1,587,153" in out
    assert "fastcrop" not in out


def test_train(cli_run):
    out, stdout = cli_run
    assert "best epoch" in stdout and "summary.json" in stdout
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["optim"]["epochs"] == 2       # flag beat the YAML's 9
    assert saved["optim"]["lr"] == 0.01        # YAML beat the default
    assert saved["model"]["name"] == "fastcrop_p"
    assert len(json.loads((out / "history.json").read_text())) == 2
    assert json.loads((out / "summary.json").read_text())["test"]["num_samples"] == 30
    assert (out / "checkpoints" / "best.pt").is_file()


def test_eval(cli_run, shapes_parquet, capsys):
    out, _ = cli_run
    assert main(["eval", "--model", str(out / "checkpoints" / "best.pt"), "--data", str(shapes_parquet), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "test" and report["num_samples"] == 30
    summary = json.loads((out / "summary.json").read_text())
    assert report["macro_f1"] == pytest.approx(summary["test"]["macro_f1"])
    assert main(["eval", "--model", str(out / "checkpoints" / "best.pt"), "--data", str(shapes_parquet),
                 "--split", "val"]) == 0
    assert "val: 30 crops" in capsys.readouterr().out


@pytest.fixture(scope="module")
def cli_export(cli_run, tmp_path_factory):
    """`actkit export --int8`; returns (onnx path, stdout)."""
    path = tmp_path_factory.mktemp("cli_export") / "m.onnx"
    code, stdout = _run(["export", str(cli_run[0] / "checkpoints" / "best.pt"), "--out", str(path), "--int8", "--calib", "16"])
    assert code == 0
    return path, stdout


def test_export_int8(cli_export):
    path, text = cli_export
    assert str(path) in text and "BatchNorm nodes 0" in text
    assert "(fp32)" in text and "(int8)" in text and "on 30 crops" in text
    assert path.is_file() and path.with_name("m.int8.onnx").is_file()


def test_predict(cli_export, shapes_parquet, tmp_path, capsys):
    cli_onnx = cli_export[0]
    jsonl = tmp_path / "preds.jsonl"
    assert main(["predict", str(shapes_parquet), "--model", str(cli_onnx), "--split", "test", "--show", "3",
                 "--out", str(jsonl)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[-1] == f"... 27 more (all in {jsonl})"
    assert all(f"{shapes_parquet}[" in line for line in lines[:3])
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == 30 and {"label", "confidence", "probs", "topk", "source"} <= set(rows[0])


@pytest.mark.parametrize("argv, match", [
    (["bench", "--models", "fastcrop_p", "--batch", "8,x"], "integers"),
    (["bench", "--models", "fastcrop_p", "--batch", "0"], ">= 1"),
    (["bench", "--train", "--models", "fastcrop_p", "--data", "d.parquet", "--batch", "8,16"], "one batch size"),
])
def test_bench_bad_batch_sizes(argv, match, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse rejects a malformed value itself
        code = e.code
    assert code == 2
    assert match in capsys.readouterr().err


def test_bench(capsys):
    assert main(["bench", "--models", "fastcrop_p,sc_p", "--iters", "40", "--batch", "8,4", "--input", "32x24"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(rows) == 3 and "fastcrop_p" in rows[1] and "sc_p" in rows[2]
    assert "batch sizes 8, 4" in out
    assert "| 1.00 |" in rows[1]  # the first model's ratio to itself


def test_bench_bad_input_size(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "--models", "sc_p", "--input", "big"])
    assert e.value.code == 2
    assert "HxW" in capsys.readouterr().err


# --------------------------------------------------------------------------- errors


def _one_line_error(capsys, verb):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"actkit {verb}: error: ")
    return err


@pytest.mark.parametrize("argv,verb,name", [
    (["predict", "{tmp}/missing.png", "--model", "{ckpt}"], "predict", "missing.png"),
    (["predict", "{data}", "--model", "{tmp}/missing.pt"], "predict", "missing.pt"),
    (["eval", "--model", "{ckpt}", "--data", "{tmp}/missing.parquet"], "eval", "missing.parquet"),
    (["export", "{tmp}/missing.pt"], "export", "missing.pt"),
    (["train", "--data", "{tmp}/missing.parquet", "--out", "{tmp}/run"], "train", "missing.parquet"),
    (["train", "--config", "{tmp}/missing.yaml"], "train", "missing.yaml"),
])
def test_missing_file_exit_code_2(argv, verb, name, cli_run, shapes_parquet, tmp_path, capsys):
    ckpt = cli_run[0] / "checkpoints" / "best.pt"
    argv = [a.format(tmp=tmp_path, ckpt=ckpt, data=shapes_parquet) for a in argv]
    assert main(argv) == 2
    assert name in _one_line_error(capsys, verb)


def test_unknown_model_suggests(shapes_parquet, tmp_path, capsys):
    assert main(["train", "--data", str(shapes_parquet), "--out", str(tmp_path), "--model", "fastcrop_pp"]) == 2
    err = _one_line_error(capsys, "train")
    assert "fastcrop_pp" in err and "Did you mean" in err and "fastcrop_p" in err
    assert main(["bench", "--models", "sc_pp"]) == 2
    assert "sc_p" in _one_line_error(capsys, "bench")


def test_bad_config_value_is_exit_2(shapes_parquet, tmp_path, capsys):
    assert main(["train", "--data", str(shapes_parquet), "--out", str(tmp_path), "--data.imbalance", "oversample"]) == 2
    assert "imbalance" in _one_line_error(capsys, "train")
    (tmp_path / "bad.yaml").write_text("optim:\n  lrr: 0.1\n")
    assert main(["train", "--config", str(tmp_path / "bad.yaml")]) == 2
    assert "Did you mean 'lr'" in _one_line_error(capsys, "train")


@pytest.mark.parametrize("argv", [["train", "--optim.lrr", "0.1"], ["predict", "x.png", "--model", "m.pt", "--frobnicate"],
                                  ["fly"], []])
def test_unknown_flag_or_verb_is_argparse_error(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_debug_reraises(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        main(["--debug", "export", str(tmp_path / "missing.pt")])


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("actkit ")


def test_bench_needs_models_or_decode(capsys):
    assert main(["bench"]) == 2
    assert "--models is required" in capsys.readouterr().err


def test_decode_bench_compares_sparse_and_whole(tmp_path, capsys):
    from actkit.bench.decode import run_decode_bench

    rows = run_decode_bench(tmp_path, gops=(8,), seconds=3.0, frames=4, repeats=1)
    assert rows[0]["identical"] is True and rows[0]["sparse_ms"] > 0 and rows[0]["whole_ms"] > 0
    assert "| 8 |" in capsys.readouterr().out and (tmp_path / "results.json").is_file()


def test_bench_clip_models(capsys):
    assert main(["bench", "--models", "clip_fast_p,clip_frame_p", "--iters", "10", "--batch", "2", "--input", "32x32"]) == 0
    out = capsys.readouterr().out
    assert "clips/s" in out and "16x32x32" in out


def test_output_piped_into_head_ends_quietly():
    import subprocess
    import sys

    proc = subprocess.run(f"{sys.executable} -m actkit.cli models --config | head -n 1", shell=True,
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr



def test_eval_and_stream_share_the_live_options_and_their_defaults():
    import dataclasses

    from actkit.cli import build_parser
    from actkit.config import StreamConfig

    p = build_parser()
    ev = vars(p.parse_args(["eval", "--model", "m.pt", "--data", "d"]))
    st = vars(p.parse_args(["stream", "--model", "m.pt", "--source", "0"]))
    shared = [f for f in dataclasses.fields(StreamConfig) if set(f.metadata["verbs"]) == {"stream", "eval"}]
    assert {f.name for f in shared} >= {"smooth", "window", "event_threshold", "min_event_frames", "event_hold",
                                         "event_lag", "rep_thresholds", "detector", "flip", "lowpass"}
    for f in shared:
        assert ev[f.name] == st[f.name] == getattr(StreamConfig(), f.name), f.name
    # the help of both verbs prints the same default for each shared flag
    helps = {}
    for verb in ("eval", "stream"):
        sub = next(a for a in p._subparsers._group_actions[0].choices.items() if a[0] == verb)[1]
        helps[verb] = {a.dest: a.help for a in sub._actions if a.dest in {f.name for f in shared}}
    assert helps["eval"] == helps["stream"] and len(helps["eval"]) == len(shared)
    # a value out of range is one clear error on either verb, before anything opens
    for argv in (["stream", "--model", "m", "--source", "0", "--window", "0"],
                 ["eval", "--model", "m", "--data", "d", "--event-threshold", "7"]):
        with pytest.raises(ValueError, match="window must be >= 1|event_threshold must be in"):
            from actkit.config import dataclass_from_args

            dataclass_from_args(StreamConfig, p.parse_args(argv))


def test_every_readme_command_parses():
    """Each `actkit ...` line of the README's shell blocks is accepted by the parser as written (the tour runs
    them for real in CI-sized form; a renamed or removed flag fails here first)."""
    import re
    import shlex
    from pathlib import Path

    from actkit.cli import build_parser

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("actkit "):
                commands.append(shlex.split(line)[1:])
    assert len(commands) >= 10
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)
        assert callable(args.fn), argv
