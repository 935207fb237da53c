#!/usr/bin/env bash
# Variants of fastcrop_p0 (the P before anti-aliasing) on the postures comparison (same data and 60-epoch recipe as the seeds60 table of
# crops_seeds.sh), each a registered model plus `--model.args`, then their latency side by side with sc_p.
# Usage: bash benchmarks/crops_variants.sh [OUT_DIR] (after crops.sh rendered OUT_DIR/postures.parquet); ~80 min.
set -euo pipefail
OUT=${1:-runs/bench}
ACT=${ACT:-.venv/bin/actkit}
SEEDS=${SEEDS:-0 1}
SUB=variants
VARIANTS="rep2 wide_s hires avgmax drop3 fused1 size_m sc_p"
declare -A SPEC=(  # model|args
  [rep2]="fastcrop_p0|{rep_branches: 2}"
  [wide_s]="fastcrop_s|{}"
  [hires]="fastcrop_p0|{widths: [24, 48, 96], depths: [1, 1, 3], strides: [1, 2, 2]}"
  [avgmax]="fastcrop_p0|{pool: avgmax}"
  [drop3]="fastcrop_p0|{dropout: 0.3}"
  [fused1]="fastcrop_p0|{fused: 1}"
  [size_m]="fastcrop_m|{}"
  [sc_p]="sc_p|{}"
)
for v in $VARIANTS; do  # two runs at a time (one per core)
  for s in $SEEDS; do
    $ACT -q train --data "$OUT/postures.parquet" --model "${SPEC[$v]%%|*}" --model.args "${SPEC[$v]#*|}" --epochs 60 \
      --seed "$s" --out "$OUT/$SUB/postures_${v}_s$s" --run.plots false --run.threads 1 --run.keep_last 1 --run.keep_best 1 > /dev/null &
  done
  wait
done
models="fastcrop_p0,sc_p"
for v in $VARIANTS; do models="$models,$OUT/$SUB/postures_${v}_s0/checkpoints/best.pt"; done
$ACT bench --models "$models" --input 32x24 | tee "$OUT/$SUB/bench.md"
.venv/bin/python - "$OUT" "$SUB" <<'PY' | tee "$OUT/$SUB.md"
import json, pathlib, statistics, sys
import yaml
out, sub = pathlib.Path(sys.argv[1]), sys.argv[2]
runs = {}
for d in sorted((out / sub).glob("postures_*_s*")):
    runs.setdefault(d.name.rsplit("_s", 1)[0].replace("postures_", "", 1), []).append(d)
print("| variant | model, `--model.args` | test macro-F1 per seed | mean | val macro-F1 mean |")
print("|---|---|---|---|---|")
for v, dirs in runs.items():
    t = [json.loads((d / "summary.json").read_text())["test"]["macro_f1"] for d in dirs]
    val = [json.loads((d / "summary.json").read_text())["val"]["macro_f1"] for d in dirs]
    m = yaml.safe_load((dirs[0] / "config.yaml").read_text())["model"]
    print(f"| {v} | {m['name']} `{json.dumps(m.get('args', {}))}` | {', '.join(f'{x:.4f}' for x in t)} "
          f"| {statistics.mean(t):.4f} | {statistics.mean(val):.4f} |")
PY
