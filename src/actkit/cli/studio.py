"""`actkit studio`: the web studio to record, annotate, train and test custom classifiers."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import verb


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sp = verb(sub, "studio", run, "the web studio: record, annotate, train and test custom classifiers in a browser")
    sp.add_argument("--project", help="open this project folder (made if missing: name the classes in the page)")
    sp.add_argument("--root", default=".", help="folder new projects are made in and listed from")
    sp.add_argument("--host", default="127.0.0.1", help="bind address; anything but localhost needs --token")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--token", help="access token every request must carry (required off localhost)")
    sp.add_argument("--max-upload-mb", type=float, default=200.0)
    return sp


def run(a: argparse.Namespace) -> Any:
    try:
        from ..studio.server import serve
    except ImportError as e:
        raise ImportError(f"the studio needs its extra ({e}): pip install 'actkit[studio]'") from e

    return serve(root=a.root, project=a.project, host=a.host, port=a.port, token=a.token,
                 max_upload_mb=a.max_upload_mb)
