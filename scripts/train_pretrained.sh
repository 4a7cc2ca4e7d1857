#!/usr/bin/env bash
# Train the two networks that ship in src/painterly/pretrained/, each holding all eight bundled paintings (conditional
# instance normalisation, Dumoulin et al. 2017): quality.pt (johnson-nn, for pictures) and realtime.pt (realtime-nn,
# for video and the webcam, with NOISE channels of noise beside the photo, default 4: Ulyanov et al. 2016).
# Usage: scripts/train_pretrained.sh [DATA_DIR] [OUT_DIR] [quality|realtime ...]
#   (defaults: ../shared/data, ~/painterly-runs/pretrained, both)
# DATA_DIR holds train_256/ (the photos) and styles/ (the paintings at full size).  Every run checkpoints every
# 200 steps and resumes where it stopped (the batches replay exactly), so the script can be stopped and run again.
# Then: python scripts/ship_pretrained.py OUT_DIR  (slims to float16, scores, writes the cards and the sheets).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data}"
out="${2:-$HOME/painterly-runs/pretrained}"
shift $(( $# > 2 ? 2 : $# )) || true
mkdir -p "$out"
s="$data/styles"
# the order is the shipped names' order (scripts/ship_pretrained.py PAINTINGS)
paintings=("$s/vangogh_starry_night.jpg" "$s/hokusai_great_wave.jpg" "$s/munch_the_scream.jpg"
           "$s/kandinsky_composition_vii.jpg" "$s/picabia_udnie.jpg" "$s/monet_water_lilies_1919.jpg"
           "$s/turner_shipwreck_of_the_minotaur.jpg" "$s/delaunay_1906_portrait.jpg")
extra=()
for p in "${paintings[@]:1}"; do extra+=(--extra-style "$p"); done
# chosen by looking at short A/B runs beside Johnson et al.'s released models (docs/feedforward_ab.jpg): 256 px
# crops, style targets from the paintings at STYLE_SIZE px, content 1, style 5, TV 1
common=(--data "$data/train_256" --image-size 256 --style-size "${STYLE_SIZE:-768}" --batch-size 4
        --content-weight 1 --style-weight 5 --tv-weight 1 --checkpoint-every 200 --preview-every 200 --seed 0
        --resume)
for variant in "${@:-quality realtime}"; do
    for v in $variant; do
        case "$v" in
            quality) arch=(johnson-nn); steps="${QUALITY_STEPS:-8000}" ;;
            realtime) arch=(realtime-nn --noise "${NOISE:-4}"); steps="${REALTIME_STEPS:-6000}" ;;
            *) echo "unknown variant '$v' (quality or realtime)" >&2; exit 2 ;;
        esac
        painterly train "${paintings[0]}" "${extra[@]}" --arch "${arch[@]}" --steps "$steps" "${common[@]}" \
            -o "$out/$v.pt"
    done
done
