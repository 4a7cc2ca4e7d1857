#!/usr/bin/env bash
# Train the models that ship in src/painterly/pretrained/ (issue 6), one style after another, on a CPU.
# Usage: scripts/train_pretrained.sh [DATA_DIR] [OUT_DIR] [NAME ...]   (defaults: ../shared/data/train_256, runs/pretrained, all)
# Every run checkpoints every 100 steps and resumes where it stopped, so the script can be interrupted and run again.
# Then: python scripts/ship_pretrained.py OUT_DIR  (slims to float16, scores, writes the catalogue and the gallery).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data/train_256}"
out="${2:-$here/runs/pretrained}"
shift $(( $# > 2 ? 2 : $# )) || true
styles="$here/src/painterly/pretrained/styles"
mkdir -p "$out"
# the settings every shipped model was trained with (fast architecture; CPU-sized schedule)
common=(--data "$data" --arch fast --steps 700 --batch-size 4 --image-size 192 --style-size 256
        --content-weight 1 --tv-weight 1 --checkpoint-every 100 --preview-every 100 --seed 0 --resume)
declare -A style_weight=([starry-night]=5 [great-wave]=5 [the-scream]=5 [composition-vii]=5 [udnie]=5
                         [water-lilies]=5 [shipwreck]=5 [delaunay-portrait]=5)
order=(starry-night great-wave the-scream composition-vii udnie water-lilies shipwreck delaunay-portrait)
for name in "${@:-${order[@]}}"; do
    painterly train "$styles/$name.jpg" "${common[@]}" --style-weight "${style_weight[$name]}" -o "$out/$name.pt"
done
