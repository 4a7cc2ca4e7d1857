"""Training a feed-forward style network with a perceptual loss (Johnson et al. 2016; Tran & Nguyen's report,
sec. III), one painting or several in one conditional network (Dumoulin et al. 2017).

The loss is :class:`painterly.losses.PerceptualLoss` through the same backbone code as ``painterly transfer``:
content targets are the photos' own features, the style targets the paintings' Gram matrices, computed once.
Progress goes to a callback (:class:`painterly.training.TrainProgress`); the library never prints.  Under
``torchrun`` (``WORLD_SIZE`` > 1) the network is wrapped in DistributedDataParallel (NCCL on CUDA, gloo on CPU) and
every process reads its own share of the photos.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import torch
from PIL import Image
from torch import nn

from ..backbones import create_backbone
from ..checkpoint import load_checkpoint, save_checkpoint, thumbnail
from ..config import TrainConfig
from ..errors import PainterlyError
from ..images import load_image, resize_long_side, save_image, to_pil, to_tensor
from ..losses import PerceptualLoss, parse_layers
from ..runtime import channels_last, resolve_device, resolve_precision
from ..training import PhotoCrops, StepSampler, TrainProgress, center_square, distributed, scan_photos, train_steps
from .networks import ConditionalInstanceNorm, StyleNet, create_network, network_from_checkpoint


def train(cfg: TrainConfig, callback: Optional[Callable[[TrainProgress], None]] = None) -> Path:
    """Train ``cfg.arch`` on the photos of ``cfg.data`` to paint like ``cfg.style``; returns the checkpoint path."""
    rank, world = distributed()
    device = resolve_device(cfg.device)
    if world > 1:
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    dtype = resolve_precision(cfg.precision, device)
    out = Path(cfg.output)
    style_paths = [cfg.style, *cfg.extra_style]
    style_imgs = [load_image(p, "style image") for p in style_paths]
    paths, unreadable = scan_photos(cfg.data)
    torch.manual_seed(cfg.seed)

    backbone = create_backbone(cfg.backbone, cfg.weights)
    c_layers = parse_layers(cfg.content_layers, backbone.default_content_layers)
    s_layers = parse_layers(cfg.style_layers, backbone.default_style_layers)
    backbone.check_layers([*c_layers, *s_layers])
    backbone = backbone.truncate([*c_layers, *s_layers]).to(device).set_compute(dtype, channels_last=True)
    loss_fn = PerceptualLoss(
        backbone, c_layers, s_layers, cfg.content_weight, cfg.style_weight, cfg.tv_weight, cfg.content_loss
    )
    # every painting's Gram matrices, once; a batch takes one painting per photo (in turn, so a resumed run sees
    # the same pairs)
    grams = [
        loss_fn.style_targets([to_tensor(resize_long_side(im, cfg.style_size or cfg.image_size)).to(device)], [1.0])[0][
            1
        ]
        for im in style_imgs
    ]
    arch, known = cfg.arch, 0  # known: paintings of the --extend network, kept as they are
    if cfg.extend:
        base = load_checkpoint(cfg.extend, noun="--extend model")
        if base.get("settings", {}).get("norm") != "conditional":
            raise PainterlyError(
                f"--extend: '{cfg.extend}' holds one painting; it needs a network of several "
                "(trained on several paintings at once)"
            )
        arch, known = base["arch"], int(base["settings"]["styles"])
        style_paths = [*(s["name"] for s in base["styles"]), *style_paths]
        style_imgs = [*(Image.fromarray(s["thumbnail"].permute(1, 2, 0).numpy()) for s in base["styles"]), *style_imgs]
    n_styles = known + len(grams)
    settings: dict[str, Any] = {"norm": "conditional", "styles": n_styles} if n_styles > 1 else {"norm": cfg.norm}
    if cfg.extend:
        settings = {**base["settings"], "styles": n_styles}
    else:
        if cfg.width:
            settings["width"] = cfg.width
        if cfg.noise:
            settings["noise"] = cfg.noise
    net = channels_last(create_network(arch, **settings), device=device)
    if cfg.extend:
        _extend(net, base, known)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=cfg.lr)
    step, prior_seconds, saved = 0, 0.0, None  # saved: the step of the checkpoint on disk
    history: dict[str, list[float]] = {}  # the loss terms of every step, over every resumed run
    if cfg.resume and out.is_file():
        ck = load_checkpoint(out)
        if ck["arch"] != arch or ck.get("settings", {}) != net.settings:
            raise PainterlyError(
                f"--resume: '{out}' holds a {ck['arch']} network ({_described(ck.get('settings'))}), "
                f"not {arch} ({_described(net.settings)})"
            )
        trainable = [p.requires_grad for p in net.parameters()]
        net.load_state_dict(network_from_checkpoint(ck, out).state_dict())
        for p, t in zip(net.parameters(), trainable):
            p.requires_grad_(t)
        net.train()
        if "optimizer" in ck:
            opt.load_state_dict(ck["optimizer"])
            for group in opt.param_groups:  # the --lr of this run (the same unless changed on purpose)
                group["lr"] = cfg.lr
        step = saved = int(ck.get("step", 0))
        prior_seconds = float(ck.get("seconds", 0.0))
        history = {k: v.tolist()[:step] for k, v in ck.get("history", {}).items()}
        if step >= cfg.steps:  # trained this far already: leave the checkpoint (and its settings) as they are
            return out
    model: nn.Module = net
    if world > 1:
        model = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)

    data = PhotoCrops(paths, cfg.image_size)
    loader = torch.utils.data.DataLoader(
        data,
        batch_sampler=StepSampler(len(data), cfg.batch_size, cfg.seed, step, rank, world),
        num_workers=cfg.workers,
        pin_memory=device.type == "cuda",
    )
    preview_photo = to_tensor(center_square(load_image(paths[len(paths) // 2], "preview photo"), cfg.image_size)).to(
        device
    )
    autocast = dtype == torch.bfloat16  # the style network in bf16 too (CPU: 1.9 -> 0.86 s per johnson step)

    def checkpoint(at: int) -> Path:
        return save_checkpoint(
            out,
            {
                "arch": arch,
                "settings": dict(net.settings),
                "state_dict": net.state_dict(),
                "styles": [
                    {"name": Path(p).name, "thumbnail": thumbnail(im)} for p, im in zip(style_paths, style_imgs)
                ],
                "loss": {
                    "backbone": cfg.backbone,
                    "content_layers": dict(c_layers),
                    "style_layers": dict(s_layers),
                    "content_weight": cfg.content_weight,
                    "style_weight": cfg.style_weight,
                    "tv_weight": cfg.tv_weight,
                    "content_loss": cfg.content_loss,
                },
                "step": at,
                "steps": cfg.steps,
                "optimizer": opt.state_dict(),
                "history": {k: torch.tensor(v[:at], dtype=torch.float32) for k, v in history.items()},
                "seconds": prior_seconds + time.perf_counter() - t0,  # training time over every resumed run
                "train": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()},
                "data": {"photos": len(paths), "unreadable": unreadable},
            },
        )

    t0 = time.perf_counter()
    batches = iter(loader)
    net.train()

    def terms_of(x: torch.Tensor, at: int = 0) -> dict[str, torch.Tensor]:
        ids = (torch.arange(x.shape[0]) + (at * x.shape[0] * world + rank * x.shape[0])) % len(grams)
        target = {k: torch.cat([grams[int(i)][k] for i in ids]) for k in grams[0]}
        ids = ids + known
        seed = cfg.seed * 1_000_003 + at * world + rank  # the step's own: a resumed run replays its noise and jitter
        if cfg.noise:
            torch.manual_seed(seed)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            y = model(x, ids.to(device)) if n_styles > 1 else model(x)
        y = y.float()
        if cfg.jitter:
            x, y = jittered(x, y, cfg.jitter, seed)
        return loss_fn(y, loss_fn.content_targets(x), [(1.0, target)])

    def compute(at: int) -> tuple[dict[str, torch.Tensor], int]:
        x = next(batches).to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        return terms_of(x, at), x.shape[0] * world

    step = train_steps(
        cfg,
        step,
        saved,
        device,
        opt,
        compute,
        terms_of,
        checkpoint,
        lambda: save_image(preview(net, preview_photo), out.with_suffix(".preview.jpg")),
        callback,
        lead=rank == 0,
        history=history,
    )
    if rank == 0:
        checkpoint(step)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    return out


def jittered(x: torch.Tensor, y: torch.Tensor, most: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each photo of ``x`` and its picture in ``y`` cropped alike, ``most`` px smaller, at a random offset of 0 to
    ``most`` px on each axis (drawn from ``seed``: the same at every replay of a step).  The loss network's pooling
    grid then falls at a new place on every picture, so a lattice that the style network paints in step with it
    (a motif every 2, 4 or 8 px) no longer lowers the loss: the transformation robustness of Olah et al. 2017,
    "Feature Visualization"."""
    h, w = y.shape[-2:]
    most = min(most, h // 4, w // 4)
    if most < 1:
        return x, y
    offsets = torch.randint(0, most + 1, (y.shape[0], 2), generator=torch.Generator().manual_seed(seed)).tolist()

    def crop(t: torch.Tensor) -> torch.Tensor:
        return torch.stack([a[..., i : i + h - most, j : j + w - most] for a, (i, j) in zip(t, offsets)])

    return crop(x), crop(y)


def _extend(net: StyleNet, base: dict[str, Any], known: int) -> None:
    """``net`` (``known`` + n paintings) from the network of ``base`` (``known`` paintings): every weight copied,
    the new paintings' scales and shifts starting from the mean of the known ones; only those train (Dumoulin et
    al. 2017: a new painting is a new set of normalisation parameters), so the known paintings stay as they were."""
    state = base["state_dict"]
    with torch.no_grad():
        for name, p in net.state_dict().items():
            src = state[name].to(p.dtype)
            if src.shape == p.shape:
                p.copy_(src)
            else:  # a conditional row per painting
                p[:known] = src
                p[known:] = src.mean(0)
    net.requires_grad_(False)
    keep = torch.arange(net.styles) < known

    def only_new(grad: torch.Tensor) -> torch.Tensor:
        return grad.masked_fill(keep.to(grad.device)[:, None], 0)

    for m in net.modules():
        if isinstance(m, ConditionalInstanceNorm):
            for p in (m.weight, m.bias):
                p.requires_grad_(True)
                p.register_hook(only_new)


def _described(settings: Optional[dict[str, Any]]) -> str:
    return ", ".join(f"{k} {v}" for k, v in (settings or {}).items())


@torch.no_grad()
def preview(net: nn.Module, photo: torch.Tensor) -> Image.Image:
    """The photo beside the network's picture of it (of each of its paintings, for a conditional network)."""
    was = net.training
    net.eval()
    x = photo.contiguous(memory_format=torch.channels_last)
    n = getattr(net, "styles", 1)
    ys = [net(x, torch.tensor([i])) for i in range(n)] if n > 1 else [net(x)]
    net.train(was)
    return to_pil(torch.cat([photo, *(y.float().clamp(0, 1) for y in ys)], -1))
