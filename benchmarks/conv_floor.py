"""The floor of one style-transfer step on this machine: VGG19's convolutions up to relu5_1, forward and input
gradient, each layer timed alone (fp32 and bf16, channels-last), and the seconds a step cannot go below.

Usage: python benchmarks/conv_floor.py [--height 384 --width 512]
"""

from __future__ import annotations

import argparse
import time

import torch

# (in, out, downsampling factor) of VGG19's convolutions up to conv5_1
CONVS = [
    (3, 64, 1),
    (64, 64, 1),
    (64, 128, 2),
    (128, 128, 2),
    (128, 256, 4),
    (256, 256, 4),
    (256, 256, 4),
    (256, 256, 4),
    (256, 512, 8),
    (512, 512, 8),
    (512, 512, 8),
    (512, 512, 8),
    (512, 512, 16),
]


def timed(fn, n: int = 5) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--height", type=int, default=384)
    ap.add_argument("--width", type=int, default=512)
    args = ap.parse_args()
    print(f"{args.width}x{args.height}, {torch.get_num_threads()} threads")
    for dtype in (torch.float32, torch.bfloat16):
        total_t = total_f = 0.0
        for cin, cout, down in CONVS:
            h, w = args.height // down, args.width // down
            conv = torch.nn.Conv2d(cin, cout, 3, padding=1).to(dtype=dtype, memory_format=torch.channels_last)
            conv.requires_grad_(False)
            x = torch.randn(1, cin, h, w, dtype=dtype).to(memory_format=torch.channels_last).requires_grad_(True)
            g = torch.randn(1, cout, h, w, dtype=dtype).to(memory_format=torch.channels_last)
            t = timed(lambda: torch.autograd.grad(conv(x), x, g))  # forward + input gradient
            flops = 2 * 2 * cin * cout * 9 * h * w
            total_t, total_f = total_t + t, total_f + flops
        name = str(dtype).replace("torch.", "")
        print(
            f"{name:9s} channels-last: {total_f / 1e9:.0f} GFLOP per step in {total_t:.3f} s "
            f"= {total_f / total_t / 1e9:.0f} GFLOP/s (the floor of one step)"
        )


if __name__ == "__main__":
    main()
