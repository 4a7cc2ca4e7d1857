"""Ship the decoders of ``painterly adain --method multi-wct`` (Li et al. 2017, "Universal Style Transfer via Feature
Transforms") inside the package: slim the four reconstruction decoders of scripts/train_wct.sh to float16 into
src/painterly/pretrained/adain/wct-LAYER.pt, score every photo of ../shared/data/content with every bundled painting
at 512 px (none of them was among the training artworks), time it, and write the card
(src/painterly/pretrained/adain/wct_card.json) and the 9 x 8 gallery (docs/wct_gallery.jpg).

Usage: python scripts/ship_wct.py DIR [--size 512] [--alpha A] [--eval-only] [--work DIR]
``--eval-only`` scores the decoders in DIR without shipping them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from painterly.adain.model import AdaIN, load_decoder_checkpoint, slim_decoder
from painterly.app.bench import bench_adain
from painterly.config import AdainConfig
from painterly.metrics import distances
from painterly.shipped import WCT_DECODERS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ship_adain import evaluate, gallery, summary  # noqa: E402
from ship_pretrained import DATA, PAINTINGS, ROOT  # noqa: E402

CARD = WCT_DECODERS["relu4_1"].with_name("wct_card.json")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="folder with wct-relu4_1.pt .. wct-relu1_1.pt")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--alpha", type=float, default=AdainConfig().alpha)
    ap.add_argument("--eval-only", action="store_true")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "ship_wct")
    a = ap.parse_args()
    checkpoints = {layer: load_decoder_checkpoint(a.dir / path.name) for layer, path in WCT_DECODERS.items()}
    for layer, ck in checkpoints.items():
        print(f"{layer}: step {ck['step']}, {ck.get('seconds', 0) / 60:.0f} min", flush=True)
    if not a.eval_only:
        for path in WCT_DECODERS.values():
            slim_decoder(a.dir / path.name, path, half=True)
    model = AdaIN(device="cpu", wct_decoders=None if not a.eval_only else a.dir)
    photos = sorted((DATA / "content").iterdir())
    paintings = list(PAINTINGS)

    def score(out, content, style):
        d = distances(out, content, style)
        return d["style"], d["content"]

    rows = evaluate(model, paintings, photos, a.size, score, a.work / "multi-wct", "multi-wct", a.alpha)
    print(json.dumps(summary(rows)), flush=True)
    if a.eval_only:
        return 0
    ms = bench_adain(512, method="multi-wct")
    card = {
        "method": "multi-level whitening-colouring (Li et al. 2017) at relu4_1, relu3_1, relu2_1, relu1_1 of the "
        "bundled VGG19, each level through its own reconstruction decoder",
        "alpha": a.alpha,
        "decoders": {
            layer: {
                "bytes": path.stat().st_size,
                "width": ck["settings"]["width"],
                "steps": ck["step"],
                "image_size": ck["train"]["image_size"],
                "batch_size": ck["train"]["batch_size"],
                "seconds": round(float(ck.get("seconds", 0.0))),
                "paintings": len(ck["data"]["paintings"]),
                "photos": ck["data"]["photos"],
            }
            for (layer, path), ck in zip(WCT_DECODERS.items(), checkpoints.values())
        },
        "training_command": "scripts/train_wct.sh",
        "scores": {"size": a.size, "held_out": summary(rows), "per_pair": rows},
        "cpu_ms_512": {"new_painting": ms["ms"], "painting_known": ms["ms_style_cached"]},
    }
    CARD.write_text(json.dumps(card, indent=1) + "\n")
    gallery(model, photos, paintings, ROOT / "docs" / "wct_gallery.jpg", cell=256, method="multi-wct", alpha=a.alpha)
    print(json.dumps({"held_out": card["scores"]["held_out"], "cpu_ms_512": card["cpu_ms_512"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
