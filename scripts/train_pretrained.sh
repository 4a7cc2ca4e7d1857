#!/usr/bin/env bash
# Train the networks that ship in src/painterly/pretrained/.
# A painting's name (starry-night, great-wave, ...) trains that painting's own real-time network, NAME.pt: realtime-nn
# with NOISE channels of noise beside the photo (default 4: Ulyanov et al. 2016), SINGLE_STEPS steps (default 2000),
# the painting at its size in `sizes` below (512 px; The Great Wave at its full 928 px so that its crests come out
# at the scale of the painting; Udnie at 384 px: at 512 px its planes came out as large soft blurs, at 256 px as a
# regular diamond lattice; docs/training.md), the content loss at the layer in `contents` below (relu2_2, the
# shallow layer of Johnson et al. 2016, which keeps the buildings' edges; The Starry Night's shipped network was
# trained with VGG19's default relu4_2).  This is the recipe of the shipped single networks; Udnie's shipped
# network had its first 1,600 steps with the painting at 256 px (SIZE=256 SINGLE_STEPS=1600 before the run).
# Composition VII's shipped network continued its 1,600 steps with twice the style weight and total variation 20
# (STYLE_WEIGHT=10 TV=20 SINGLE_STEPS=2400): more of the painting's colours, and its dotted chains weaker.
# quality and realtime train one network holding all eight bundled paintings (conditional instance normalisation,
# Dumoulin et al. 2017): quality.pt (johnson-nn) and realtime.pt (realtime-nn with NOISE), the paintings at STYLE_SIZE.
# Usage: scripts/train_pretrained.sh [DATA_DIR] [OUT_DIR] [quality|realtime|PAINTING ...]
#   (defaults: ../shared/data, ~/painterly-runs/pretrained, quality and realtime)
# DATA_DIR holds train_256/ (the photos) and styles/ (the paintings at full size).  Every run checkpoints every
# 200 steps and resumes where it stopped (the batches replay exactly), so the script can be stopped and run again.
# Then: python scripts/ship_pretrained.py OUT_DIR, or --single NAME=OUT_DIR/NAME.pt (slims to float16, scores, writes
# the cards and the sheets).
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
names=(starry-night great-wave the-scream composition-vii udnie water-lilies shipwreck delaunay-portrait)
sizes=(512 928 512 512 384 512 512 512)  # each painting's long side for its own network's style targets
contents=(relu4_2 relu2_2 relu2_2 relu2_2 relu2_2 relu2_2 relu2_2 relu2_2)  # each own network's content layer
extra=()
for p in "${paintings[@]:1}"; do extra+=(--extra-style "$p"); done
# chosen by looking at short A/B runs beside Johnson et al.'s released models (docs/feedforward_ab.jpg): 256 px
# crops, style targets from the paintings at STYLE_SIZE px, content 1, style 5, TV 1
common=(--data "$data/train_256" --image-size 256 --batch-size 4 --content-weight 1
        --style-weight "${STYLE_WEIGHT:-5}" --tv-weight "${TV:-1}"
        --checkpoint-every 200 --preview-every 200 --seed 0 --resume)
for variant in "${@:-quality realtime}"; do
    for v in $variant; do
        case "$v" in
            quality) arch=(johnson-nn); steps="${QUALITY_STEPS:-8000}" ;;
            realtime) arch=(realtime-nn --noise "${NOISE:-4}"); steps="${REALTIME_STEPS:-6000}" ;;
            *)
                for i in "${!names[@]}"; do
                    if [ "${names[$i]}" = "$v" ]; then
                        painterly train "${paintings[$i]}" --arch realtime-nn --noise "${NOISE:-4}" \
                            --steps "${SINGLE_STEPS:-2000}" --style-size "${SIZE:-${sizes[$i]}}" \
                            --content-layers "${contents[$i]}" "${common[@]}" -o "$out/$v.pt"
                        continue 2
                    fi
                done
                echo "unknown variant '$v' (quality, realtime or one of: ${names[*]})" >&2; exit 2 ;;
        esac
        painterly train "${paintings[0]}" "${extra[@]}" --arch "${arch[@]}" --steps "$steps" \
            --style-size "${STYLE_SIZE:-768}" "${common[@]}" -o "$out/$v.pt"
    done
done
