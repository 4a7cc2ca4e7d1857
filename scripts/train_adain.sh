#!/usr/bin/env bash
# Train the AdaIN decoder that ships in src/painterly/pretrained/adain/, on a CPU.
# Usage: scripts/train_adain.sh [DATA_DIR] [OUT] [STEPS]   (defaults: ../shared/data, runs/adain/decoder.pt, 6000)
# DATA_DIR holds train_256/ (photos) and styles/ (paintings).
# It checkpoints every 250 steps and resumes where it stopped, so it can be interrupted and run again.
# Only five of the bundled paintings are training styles; The Scream, The Shipwreck of the Minotaur and Delaunay's
# portrait are held out to measure how the decoder does on paintings it never saw.
# Then: python scripts/ship_adain.py OUT  (slims to float16, scores on held-out pairs, writes the card and gallery).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data}"
out="${2:-$here/runs/adain/decoder.pt}"
steps="${3:-6000}"
styles="$(dirname "$out")/styles"
mkdir -p "$styles"
for name in vangogh_starry_night hokusai_great_wave kandinsky_composition_vii picabia_udnie monet_water_lilies_1919; do
    ln -sf "$data/styles/$name.jpg" "$styles/$name.jpg"
done
# CPU-sized: 128 px crops of the 256 px photos (the paper: 256 px crops of 512 px images, the same share of the
# picture), a decoder of half the paper's width, lr 2e-4 for the short schedule; the rest as in the paper
painterly train-adain --content-data "$data/train_256" --style-data "$styles" -o "$out" --steps "$steps" \
    --width 0.5 --image-size 128 --batch-size 8 --lr 2e-4 --style-weight 10 --photo-styles 0.25 \
    --checkpoint-every 250 --preview-every 250 --workers 1 --seed 0 --resume
