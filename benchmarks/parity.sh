#!/usr/bin/env bash
# Reference landmarks from MediaPipe 0.10.21's own Python solutions on the sample photos and 51 rendered frames,
# written to tests/data/mediapipe_reference.json (what tests/test_perception_parity.py compares actkit with).
# Needs a network to the package registry once, for the throw-away reference venv.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${REF_VENV:-/tmp/mpref}
[ -x "$REF/bin/python" ] || { python3 -m venv "$REF" && "$REF/bin/pip" install -q mediapipe==0.10.21; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
.venv/bin/actkit -q data fetch opencv-samples
.venv/bin/python - "$WORK" <<'PY'
import json, sys
from pathlib import Path

import cv2

from actkit.bench.perception import rendered_frames
from actkit.perception.samples import SAMPLES, sample_path

work = Path(sys.argv[1])
items = [{"name": Path(k).name, "path": str(sample_path(k))} for k in SAMPLES if not k.endswith(".avi")]
for i, rgb in enumerate(rendered_frames(work / "rendered")):
    path = work / f"{i:03d}.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    items.append({"name": f"rendered/{i:03d}", "path": str(path)})
(work / "images.json").write_text(json.dumps(items))
PY
"$REF/bin/python" benchmarks/mediapipe_reference.py "$WORK/images.json" tests/data/mediapipe_reference.json 2>&1 \
  | grep -v "^[WI]0000\|^INFO\|^WARNING" || true
echo "wrote tests/data/mediapipe_reference.json"
