#!/usr/bin/env bash
# Train the four reconstruction decoders of `painterly adain --method multi-wct` (Li et al. 2017, "Universal Style
# Transfer via Feature Transforms"): each learns to invert VGG19 at its layer (relu4_1, relu3_1, relu2_1, relu1_1)
# on photos and paintings, with a pixel and a shallow-feature loss and no style loss at all.
# Usage: scripts/train_wct.sh [DATA_DIR] [OUT_DIR]   (defaults: ../shared/data, ~/painterly-runs/wct)
# DATA_DIR holds train_256/ (photos) and styles_train/ (artworks for training only; they do not ship).  Every run
# checkpoints every 250 steps and resumes where it stopped.  Steps per layer: STEPS4, STEPS3, STEPS2, STEPS1.
# Then: python scripts/ship_wct.py OUT_DIR  (slims them to float16 into src/painterly/pretrained/adain/).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data}"
out="${2:-$HOME/painterly-runs/wct}"
mkdir -p "$out"
train() {  # LAYER STEPS LR
    painterly train-adain --layer "$1" --content-data "$data/train_256" --style-data "$data/styles_train" \
        -o "$out/wct-$1.pt" --steps "$2" --warmup-steps "$2" --width 0.5 --image-size 128 --batch-size 8 \
        --lr "${3:-2e-4}" --photo-styles 0.1 --checkpoint-every 250 --preview-every 250 --workers 1 --seed 0 --resume
}
# the shallow ones first: they are cheap.  relu1_1's decoder is a single convolution: it starts from its
# least-squares weights (Adam alone was still far from the photo after 2,000 steps) and is polished briefly
train relu1_1 "${STEPS1:-250}" 1e-4
train relu2_1 "${STEPS2:-1500}"
train relu3_1 "${STEPS3:-2000}"
# relu4_1: the same recipe as the AdaIN decoder's warm-up (scripts/train_adain.sh), all of it reconstruction
train relu4_1 "${STEPS4:-2000}"
