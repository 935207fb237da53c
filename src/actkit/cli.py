"""`actkit` command line: each verb calls one public function of the library."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable

from . import __version__

log = logging.getLogger("actkit")


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().replace(",", "x").split("x"))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected HxW such as 32x24, got {text!r}") from e
    return h, w


def _names(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated list flag; None when not given."""
    return tuple(v for v in text.split(",") if v) if text else None


def cmd_train(a: argparse.Namespace) -> Any:
    from .config import TrainConfig, overrides_from_args, resolve
    from .engine.trainer import train

    cfg = resolve(TrainConfig, a.config, overrides_from_args(a))
    summary = train(cfg)
    test = summary.get("test") or summary["val"]
    print(f"best epoch {summary['best_epoch']}/{summary['epochs']}: {'test' if 'test' in summary else 'val'} "
          f"macro-F1 {test['macro_f1']:.4f} accuracy {test['accuracy']:.4f} -> {cfg.run.out}/summary.json")
    return summary


def cmd_eval(a: argparse.Namespace) -> Any:
    from .engine.evaluator import evaluate_file, format_report

    report = evaluate_file(a.model, a.data, a.split, a.out, a.threshold)
    print(json.dumps(report, indent=2) if a.json else format_report(report))
    return report


def cmd_export(a: argparse.Namespace) -> Any:
    from .engine.exporter import export_onnx

    r = export_onnx(a.checkpoint, a.out, int8=a.int8, data=a.data, calib_samples=a.calib)
    print(f"{r['path']}: {r['nodes']} nodes, {r['bytes'] / 1024:.1f} KB, BatchNorm nodes {r['batchnorm_nodes']}, "
          f"torch-vs-ONNX max |diff| {r['parity_max_abs']:.2e}")
    if "int8" in r:
        q = r["int8"]
        print(f"{q['path']}: {q['bytes'] / 1024:.1f} KB, test macro-F1 {q['fp32']['macro_f1']:.4f} (fp32) -> "
              f"{q['int8']['macro_f1']:.4f} (int8): {q['macro_f1_change_points']:+.2f} points on {q['test_samples']} crops")
    return r


def cmd_predict(a: argparse.Namespace) -> Any:
    from .engine.predictor import predict

    results = predict(a.source, a.model, a.boxes, a.out, a.split, a.every, a.threads)
    for r in results[: a.show]:
        where = f"{r.source}" + (f" frame {r.frame}" if r.frame is not None else "")
        print(f"{where}: {r.label} {r.confidence:.3f}  " + "  ".join(f"{n}={p:.3f}" for n, p in r.topk(3)))
    if len(results) > a.show:
        print(f"... {len(results) - a.show} more" + (f" (all in {a.out})" if a.out else " (use --out FILE.jsonl)"))
    return results


def cmd_bench(a: argparse.Namespace) -> Any:
    from .engine.bench import bench, format_table

    res = bench(list(_names(a.models) or ()), a.input, iters=a.iters, batch=a.batch)
    print(json.dumps(res, indent=2) if a.json else format_table(res))
    return res


def cmd_data_crops(a: argparse.Namespace) -> Any:
    from .data.crops import build_crops

    classes = _names(a.classes)
    s = build_crops(a.source, a.out, val=a.val, test=a.test, seed=a.seed, group_regex=a.group_regex,
                    classes=list(classes) if classes else None, plots=not a.no_plots)
    print(f"{a.out}: " + ", ".join(f"{k} {sum(v.values())}" for k, v in s["counts"].items()) + f"; skipped {s['n_skipped']}")
    return s


def cmd_data_resplit(a: argparse.Namespace) -> Any:
    from .data.crops import resplit

    s = resplit(a.input, a.out, val=a.val, test=a.test, seed=a.seed, group_regex=a.group_regex)
    print(f"{a.out}: regrouped; {s.get('straddling_before', 0)} groups straddled splits before")
    return s


def cmd_synth_postures(a: argparse.Namespace) -> Any:
    from .data.synth.postures import render_postures

    s = render_postures(a.out, n=a.n, seed=a.seed, workers=a.workers, sheet=a.sheet)
    print(json.dumps({k: v for k, v in s.items() if k != "path"}, indent=1, default=str))
    return s


def cmd_synth_actions(a: argparse.Namespace) -> Any:
    from .data.synth.actions import render_actions

    s = render_actions(a.out, clips_per_class=a.clips_per_class, frames=a.frames, size=a.size, fps=a.fps,
                       seed=a.seed, workers=a.workers, sheet=a.sheet, classes=_names(a.classes))
    print(json.dumps(s, indent=1, default=str))
    return s


def cmd_synth_reps(a: argparse.Namespace) -> Any:
    from .data.synth.reps import render_reps

    s = render_reps(a.out, videos_per_exercise=a.videos_per_exercise, seconds=tuple(a.seconds), size=a.size,
                    fps=a.fps, seed=a.seed, workers=a.workers, exercises=_names(a.exercises), sheet=a.sheet)
    print(json.dumps(s, indent=1, default=str))
    return s


def cmd_models(a: argparse.Namespace) -> Any:
    from .models import count_params, create_model, list_models, model_entry

    names = list_models(a.pattern)
    for n in names:
        e = model_entry(n)
        print(f"{n:<16}{e.family:<10}{count_params(create_model(n)):>11,}  {e.doc}")
    return names


def cmd_demo(a: argparse.Namespace) -> Any:
    from .apps.postures import run_demo

    report = run_demo(a.out, n=a.n, epochs=a.epochs, seed=a.seed, workers=a.workers)
    print(f"demo report: {report}")
    return report


def build_parser() -> argparse.ArgumentParser:
    from .config import TrainConfig, add_config_flags

    p = argparse.ArgumentParser(prog="actkit", description="Recognise what people are doing and in what state they are.")
    p.add_argument("--version", action="version", version=f"actkit {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("--debug", action="store_true", help="full tracebacks on errors")
    sub = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, fn: Callable, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(fn=fn)
        return sp

    sp = verb("train", cmd_train, "train a crop classifier from a Parquet crop dataset")
    sp.add_argument("--config", help="YAML file with sections data/model/optim/run (flags override it)")
    add_config_flags(sp, TrainConfig)

    sp = verb("eval", cmd_eval, "evaluate a .pt/.onnx model on a dataset split (metrics, calibration, threshold, plots)")
    sp.add_argument("--model", required=True, help=".pt checkpoint or .onnx file")
    sp.add_argument("--data", required=True, help="Parquet crop dataset")
    sp.add_argument("--split", default="test", choices=("train", "val", "test"))
    sp.add_argument("--threshold", type=float, help="binary threshold (default: the model's tuned one)")
    sp.add_argument("--out", help="folder for eval_<split>.json and plots")
    sp.add_argument("--json", action="store_true", help="print the full report as JSON")

    sp = verb("export", cmd_export, "export a checkpoint to ONNX (optionally int8)")
    sp.add_argument("checkpoint", help=".pt checkpoint")
    sp.add_argument("--format", default="onnx", choices=("onnx",))
    sp.add_argument("--out", help="output .onnx (default: beside the checkpoint)")
    sp.add_argument("--int8", action="store_true", help="also write a static int8 model calibrated on the val split")
    sp.add_argument("--data", help="Parquet for int8 calibration/check (default: the training data)")
    sp.add_argument("--calib", type=int, default=1024, help="calibration crops for int8")

    sp = verb("predict", cmd_predict, "classify an image, folder, Parquet file or video")
    sp.add_argument("source", help="image, folder of images, .parquet or video file")
    sp.add_argument("--model", required=True, help=".pt checkpoint or .onnx file")
    sp.add_argument("--boxes", help="CSV of crop boxes: image|frame,x0,y0,x1,y1 (default: the whole image)")
    sp.add_argument("--out", help="write every result as JSON lines here")
    sp.add_argument("--split", help="for Parquet sources: only this split")
    sp.add_argument("--every", type=int, default=1, help="for videos: every N-th frame")
    sp.add_argument("--threads", type=int, default=0, help="CPU threads (0: default)")
    sp.add_argument("--show", type=int, default=20, help="print at most this many results")

    sp = verb("bench", cmd_bench, "latency and throughput of several models side by side (ONNX Runtime)")
    sp.add_argument("--models", required=True, help="comma-separated registry names, .pt or .onnx files")
    sp.add_argument("--input", type=_size, help="input HxW for registry names, e.g. 32x24")
    sp.add_argument("--iters", type=int, default=2000, help="batch-1 calls per model and thread setting")
    sp.add_argument("--batch", type=int, default=64, help="batch size for throughput")
    sp.add_argument("--json", action="store_true", help="print JSON instead of a table")

    dp = sub.add_parser("data", help="build and fix crop datasets").add_subparsers(dest="data_verb", metavar="DATA_VERB", required=True)
    sp = dp.add_parser("crops", help="build a Parquet crop dataset from a class-folder tree or a CSV (path,label[,group])")
    sp.set_defaults(fn=cmd_data_crops)
    sp.add_argument("source", help="folder <root>/<class>/... or CSV")
    sp.add_argument("--out", required=True, help="output .parquet")
    sp.add_argument("--classes", help="comma-separated allowed classes (others are skipped and listed)")
    sp.add_argument("--no-plots", action="store_true", help="skip the class-ratio and size PNGs")
    for s in (sp, dp.add_parser("resplit", help="re-split a Parquet (e.g. a leaky random split) by groups")):
        if s is not sp:
            s.set_defaults(fn=cmd_data_resplit)
            s.add_argument("input", help="input .parquet")
            s.add_argument("--out", required=True, help="output .parquet")
        s.add_argument("--val", type=float, default=0.1, help="validation fraction")
        s.add_argument("--test", type=float, default=0.1, help="test fraction")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--group-regex", help="regex on the path whose first group names the group (video, person, face)")

    syp = sub.add_parser("synth", help="render synthetic labelled data from motion capture").add_subparsers(dest="synth_verb", metavar="SET", required=True)
    sp = syp.add_parser("postures", help="person crops (standing / sitting / lying) labelled from body geometry")
    sp.set_defaults(fn=cmd_synth_postures)
    sp.add_argument("--out", required=True, help="output .parquet")
    sp.add_argument("--n", type=int, default=3000, help="number of crops to render")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2, help="render processes")
    sp.add_argument("--sheet", help="also write a contact-sheet PNG here")

    sp = syp.add_parser("actions", help="the 15 motion-capture clips as 15 action classes, as mp4 clips in UCF-101 layout")
    sp.set_defaults(fn=cmd_synth_actions)
    sp.add_argument("--out", required=True, help="output folder (re-running resumes: finished clips are kept)")
    sp.add_argument("--clips-per-class", type=int, default=20)
    sp.add_argument("--frames", type=int, default=32, help="frames per clip")
    sp.add_argument("--size", type=int, default=112, help="frame size in pixels (square)")
    sp.add_argument("--fps", type=int, default=16)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2, help="render processes")
    sp.add_argument("--classes", help="comma-separated clip names (default: all 15)")
    sp.add_argument("--sheet", help="also write a contact-sheet PNG here")

    sp = syp.add_parser("reps", help="exercise videos (squat, jumping jack, lunge, arm raise) with per-frame phase tags and true rep counts")
    sp.set_defaults(fn=cmd_synth_reps)
    sp.add_argument("--out", required=True, help="output folder (re-running resumes: finished videos are kept)")
    sp.add_argument("--videos-per-exercise", type=int, default=8)
    sp.add_argument("--seconds", type=float, nargs=2, default=(6.0, 12.0), metavar=("MIN", "MAX"), help="video length range")
    sp.add_argument("--size", type=int, default=112, help="frame size in pixels (square)")
    sp.add_argument("--fps", type=int, default=16)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2, help="render processes")
    sp.add_argument("--exercises", help="comma-separated subset of squat,jumping_jack,lunge,arm_raise")
    sp.add_argument("--sheet", help="also write a contact-sheet PNG here")

    sp = verb("models", cmd_models, "list registered models with parameter counts")
    sp.add_argument("pattern", nargs="?", default="*", help="glob, e.g. 'sc_*'")

    sp = verb("demo", cmd_demo, "render postures, train, evaluate, export, bench and write a report")
    sp.add_argument("--out", default="runs/demo")
    sp.add_argument("--n", type=int, default=4000, help="crops to render")
    sp.add_argument("--epochs", type=int, default=30)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=2)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``actkit`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    try:
        args.fn(args)
    except (ValueError, FileNotFoundError, KeyError, ImportError, RuntimeError) as e:
        if args.debug:
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"actkit {args.verb}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished checkpoints and files are intact", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
