"""`actkit` command line: one module per verb, each with ``add_parser(sub)`` and ``run(args)`` calling one
public function of the library. Flags of configured verbs come from the config dataclasses
(:mod:`actkit.config`)."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from .. import __version__
from . import app, bench, custom, data, demo, evaluate, export, keypoints, models, predict, stream, studio, synth, train

VERBS = (train, evaluate, export, predict, stream, keypoints, app, custom, studio, bench, data, synth, models, demo)  # in `actkit --help` order
LOADS_CHECKPOINTS = (train, evaluate, export, predict, stream, app, custom, bench)


def build_parser() -> argparse.ArgumentParser:
    """The ``actkit`` parser with every verb."""
    p = argparse.ArgumentParser(prog="actkit", description="Recognise what people are doing and in what state they are.")
    p.add_argument("--version", action="version", version=f"actkit {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("--debug", action="store_true", help="full tracebacks on errors")
    sub = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in VERBS:
        sp = module.add_parser(sub)
        if module in LOADS_CHECKPOINTS:
            sp.add_argument("--trust-checkpoint", action="store_true",
                            help="load .pt files that name code beyond tensors (older or foreign checkpoints): "
                                 "only for files from a source you trust, as loading them can run that code")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``actkit`` command."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what a launcher re-runs (actkit train --nproc)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    trusted = getattr(args, "trust_checkpoint", False)
    if trusted:
        from ..engine.checkpoint import trust_checkpoints

        trust_checkpoints(True)
    try:
        args.fn(args)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError, ImportError, RuntimeError) as e:
        if args.debug:
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"actkit {args.verb}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished checkpoints and files are intact", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    finally:
        if trusted:
            trust_checkpoints(False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
