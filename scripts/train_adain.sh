#!/usr/bin/env bash
# Train the AdaIN decoder that ships in src/painterly/pretrained/adain/, on a CPU.
# Usage: scripts/train_adain.sh [DATA_DIR] [OUT] [STEPS]   (defaults: ../shared/data, ~/painterly-runs/adain/decoder.pt, 8000)
# DATA_DIR holds train_256/ (photos) and styles_train/ (366 artworks of every kind, for training only; they do not
# ship).  None of the eight bundled paintings is among them: they measure how the decoder does on paintings it
# never saw.  It checkpoints every 250 steps and resumes where it stopped, so it can be interrupted and run again.
# Then: python scripts/ship_adain.py OUT  (slims to float16, scores, writes the card, the gallery and the sheet).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data}"
out="${2:-$HOME/painterly-runs/adain/decoder.pt}"
steps="${3:-8000}"
# CPU-sized: 128 px crops of the 256 px photos, and of the paintings held at 512 px (the paper: 256 px crops of
# 512 px images; here the strokes keep the size they have in a 512 px painting, the size they are painted from),
# never enlarged; the first WARMUP steps invert the encoder (no style loss), then the paper's losses with its
# learning-rate decay.
# ENCODER=vgg19-quarter trains the distilled encoder instead (Wang et al. 2020): its first DISTILL steps (default
# 4000) teach the student VGG19's features, and its decoder starts from the shipped VGG19 decoder (the student's
# relu4_1 is mapped into VGG19's), so it needs no warm-up; the default OUT is then ~/painterly-runs/distilled/.
encoder="${ENCODER:-vgg19}"
extra=(--warmup-steps "${WARMUP:-2000}")
if [ "$encoder" != vgg19 ]; then
    out="${2:-$HOME/painterly-runs/distilled/decoder.pt}"
    extra=(--encoder "$encoder" --distill-steps "${DISTILL:-4000}" --warmup-steps "${WARMUP:-0}"
           --init-decoder "$here/src/painterly/pretrained/adain/decoder.pt")
fi
mkdir -p "$(dirname "$out")"
painterly train-adain --content-data "$data/train_256" --style-data "$data/styles_train" -o "$out" \
    --steps "$steps" "${extra[@]}" --width "${WIDTH:-0.5}" --image-size "${IMAGE_SIZE:-128}" \
    --painting-side "${PAINTING_SIDE:-512}" --batch-size 8 --lr "${LR:-2e-4}" --style-weight 10 --photo-styles 0.1 \
    --checkpoint-every 250 --preview-every 250 --workers 1 --seed 0 --resume
