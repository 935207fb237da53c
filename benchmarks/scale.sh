#!/usr/bin/env bash
# Scale-out figures in BENCHMARKS.md: DDP training with 1 vs 2 processes on CPU (2 threads vs 2 x 1 thread), and
# Ray batch inference over 200 rendered clips with 1 vs 2 workers. Usage: bash benchmarks/scale.sh [OUT]
# (repo root, after `make install`). About 10 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/scale}
A=.venv/bin/actkit
mkdir -p "$OUT"
TEN=backflip,cartwheel,crawl,dance_a,dance_b,getup_facedown,getup_faceup,roll,run,spinkick

# 1. Data: crops of rendered postures; rendered action clips.
$A -q synth postures --out "$OUT/postures.parquet" --n 3000 --seed 0
$A -q synth actions --out "$OUT/actions10v" --classes $TEN --clips-per-class 40 --frames 32 --size 128 --seed 0

# 2. DDP: the same global batch, 1 process x 2 threads vs 2 processes x 1 thread (history.json: samples/s,
#    val macro-F1 per epoch, epoch seconds).
for N in 1 2; do
  $A -q train --config postures --data "$OUT/postures.parquet" --epochs 8 --batch-size 64 --run.plots false \
      --run.tensorboard false --seed 0 --run.threads $((3 - N)) --device cpu --out "$OUT/ddp_crop$N" --overwrite --nproc $N
  $A -q train --task clip --data "$OUT/actions10v" --model clip_fast_p --frames 8 --epochs 15 --batch-size 16 \
      --lr 0.01 --run.plots false --run.tensorboard false --seed 0 --run.threads $((3 - N)) --device cpu \
      --out "$OUT/ddp_clip$N" --overwrite --nproc $N
done

# 3. Ray: a streaming model per frame over 200 clips, 1 and 2 workers.
$A train --task clip --data "$OUT/actions10v" --model stream_fast_s --model.args '{input_size: [112, 112]}' \
    --frames 16 --epochs 12 --batch-size 8 --lr 2e-3 --run.plots false --run.threads 1 --seed 0 --out "$OUT/pix10"
python3 - "$OUT" <<'PY'
import csv, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/actions10v/manifest.csv")))[:200]
open(f"{out}/ray200.csv", "w").write("path\n" + "\n".join(f"actions10v/{r['path']}" for r in rows) + "\n")
PY
for W in 1 2; do
  $A -q predict "$OUT/ray200.csv" --model "$OUT/pix10/checkpoints/best.pt" --ray --workers $W --out "$OUT/ray_w$W" --overwrite
done
