"""Where the time of each feed-forward architecture goes on this machine: per-layer milliseconds for one
512x512 image, bf16 channels-last, as trained (unfolded) and as applied (for_inference).

Usage: python benchmarks/feedforward_profile.py [ARCH ...] [--size 512] [--top 6]
"""

from __future__ import annotations

import argparse
import time

import torch

from painterly.feedforward.networks import NETWORKS, create_network, for_inference


def per_layer(net: torch.nn.Module, x: torch.Tensor, runs: int = 3) -> tuple[dict[str, float], dict[str, float]]:
    times: dict[str, float] = {}
    hooks = []
    for name, m in net.named_modules():
        if next(m.children(), None) is None and not isinstance(m, torch.nn.Identity):
            key = f"{name} ({type(m).__name__})"
            hooks.append(
                m.register_forward_pre_hook(lambda mod, i, k=key: times.__setitem__(k + "@", time.perf_counter()))
            )
            hooks.append(
                m.register_forward_hook(
                    lambda mod, i, o, k=key: times.__setitem__(
                        k, times.get(k, 0.0) + time.perf_counter() - times[k + "@"]
                    )
                )
            )
    with torch.inference_mode():
        net(x)
        times.clear()
        for _ in range(runs):
            net(x)
    for h in hooks:
        h.remove()
    layers = {k: v / runs * 1000 for k, v in times.items() if not k.endswith("@")}
    kinds: dict[str, float] = {}
    for k, v in layers.items():
        kind = k.rsplit("(", 1)[1].rstrip(")")
        kinds[kind] = kinds.get(kind, 0.0) + v
    return layers, kinds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("archs", nargs="*", default=NETWORKS.names())
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--top", type=int, default=6)
    args = ap.parse_args()
    x = torch.rand(1, 3, args.size, args.size).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    for arch in args.archs:
        torch.manual_seed(0)
        net = create_network(arch).eval()
        applied = for_inference(net, torch.bfloat16)  # folded in fp32, then cast
        trained = net.to(torch.bfloat16, memory_format=torch.channels_last)
        for label, model in (("as trained", trained), ("as applied", applied)):
            layers, kinds = per_layer(model, x)
            print(
                f"{arch}, {label}: "
                + ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
            )
            for k, v in sorted(layers.items(), key=lambda kv: -kv[1])[: args.top]:
                print(f"    {v:6.1f} ms  {k}")


if __name__ == "__main__":
    main()
