"""Training a feed-forward style network with a perceptual loss (Johnson et al. 2016; seed 000; seed 001 sec. III).

The loss is :class:`painterly.losses.PerceptualLoss` through the same backbone code as ``painterly transfer``:
content targets are the photos' own features, the style target is the painting's Gram matrices, computed once.
Progress goes to a callback (:class:`TrainIterate`); the library never prints.  Under ``torchrun`` (``WORLD_SIZE``
> 1) the network is wrapped in DistributedDataParallel (NCCL on CUDA, gloo on CPU) and every process reads its own
share of the photos.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch
from PIL import Image
from torch import nn

from .backbones import create_backbone
from .config import TrainConfig
from .errors import PainterlyError
from .images import load_image, resize_long_side, save_image, to_pil, to_tensor
from .losses import PerceptualLoss
from .models import load_checkpoint, network_from_checkpoint, save_checkpoint, thumbnail
from .networks import create_network
from .optimize import parse_layers, resolve_device, resolve_precision

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm"}


def image_files(folder: str | Path) -> list[Path]:
    """Files with an image suffix under ``folder``, recursively, sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def scan_photos(folder: str | Path) -> tuple[list[Path], int]:
    """Every readable image under ``folder`` (recursive, sorted) and the number of unreadable ones skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise PainterlyError(f"training data folder '{folder}' not found")
    good, bad = [], 0
    for p in image_files(root):
        try:
            with Image.open(p) as im:
                im.size  # header only: cheap; broken pixel data is caught when loaded
            good.append(p)
        except Exception:  # noqa: BLE001 - any unreadable file is skipped and counted
            bad += 1
    if not good:
        raise PainterlyError(f"no readable images in '{folder}'" + (f" ({bad} unreadable files skipped)" if bad else ""))
    return good, bad


class PhotoCrops(torch.utils.data.Dataset):
    """Photos scaled so the short side is ``size``, then a random ``size x size`` crop, as tensors in [0, 1].
    A file that fails to decode is replaced by the next one (and counted in ``failed``)."""

    def __init__(self, paths: list[Path], size: int) -> None:
        self.paths, self.size = paths, size
        self.failed = 0

    def __len__(self) -> int:
        return len(self.paths)

    def _load(self, i: int) -> torch.Tensor:
        with Image.open(self.paths[i]) as im:
            im = im.convert("RGB")
        w, h = im.size
        s = self.size / min(w, h)
        im = im.resize((max(self.size, round(w * s)), max(self.size, round(h * s))), Image.Resampling.BILINEAR)
        x0 = np.random.randint(0, im.width - self.size + 1)
        y0 = np.random.randint(0, im.height - self.size + 1)
        return to_tensor(im.crop((x0, y0, x0 + self.size, y0 + self.size)))[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        for k in range(len(self.paths)):
            try:
                return self._load((i + k) % len(self.paths))
            except Exception:  # noqa: BLE001 - a truncated or corrupt photo: take the next
                self.failed += 1
        raise PainterlyError("no training photo could be decoded")


def _seed_worker(worker_id: int) -> None:
    np.random.seed((torch.initial_seed() + worker_id) % 2**32)


@dataclass
class TrainIterate:
    """What the training loop hands its callback after each step."""

    step: int
    steps: int
    terms: dict[str, float]
    images_per_second: float
    elapsed: float
    event: str = ""  # "", "preview", "checkpoint"


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C / SIGTERM during training: the checkpoint at ``.path`` holds the last finished step."""

    def __init__(self, path: Path, step: int) -> None:
        super().__init__("interrupted")
        self.path, self.step = path, step


def _distributed() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def _batches(loader: torch.utils.data.DataLoader, sampler: Any) -> Iterator[torch.Tensor]:
    for epoch in itertools.count():
        if sampler is not None:
            sampler.set_epoch(epoch)
        yield from loader


def train(cfg: TrainConfig, callback: Optional[Callable[[TrainIterate], None]] = None) -> Path:
    """Train ``cfg.arch`` on the photos of ``cfg.data`` to paint like ``cfg.style``; returns the checkpoint path."""
    rank, world = _distributed()
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
    style_img = load_image(cfg.style, "style image")
    paths, unreadable = scan_photos(cfg.data)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed + rank)

    backbone = create_backbone(cfg.backbone, cfg.weights)
    c_layers = parse_layers(cfg.content_layers, backbone.default_content_layers)
    s_layers = parse_layers(cfg.style_layers, backbone.default_style_layers)
    backbone.check_layers([*c_layers, *s_layers])
    backbone = backbone.truncate([*c_layers, *s_layers]).to(device).set_compute(dtype, channels_last=True)
    loss_fn = PerceptualLoss(backbone, c_layers, s_layers, cfg.content_weight, cfg.style_weight, cfg.tv_weight,
                             cfg.content_loss)
    style_t = to_tensor(resize_long_side(style_img, cfg.style_size or cfg.image_size)).to(device)
    s_targets = loss_fn.style_targets([style_t], [1.0])

    net = create_network(cfg.arch, norm=cfg.norm).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step, prior_seconds = 0, 0.0
    if cfg.resume and out.is_file():
        ck = load_checkpoint(out)
        if ck["arch"] != cfg.arch or ck.get("settings", {}).get("norm") != cfg.norm:
            raise PainterlyError(f"--resume: '{out}' holds a {ck['arch']} ({ck.get('settings')}) network, "
                                 f"not {cfg.arch} with {cfg.norm} norm")
        net.load_state_dict(network_from_checkpoint(ck, out).state_dict())
        net.train().requires_grad_(True)
        if "optimizer" in ck:
            opt.load_state_dict(ck["optimizer"])
        step = int(ck.get("step", 0))
        prior_seconds = float(ck.get("seconds", 0.0))
        if step >= cfg.steps:  # trained this far already: leave the checkpoint (and its settings) as they are
            return out
    model: nn.Module = net
    if world > 1:
        model = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)

    data = PhotoCrops(paths, cfg.image_size)
    sampler = (torch.utils.data.distributed.DistributedSampler(data, num_replicas=world, rank=rank, seed=cfg.seed)
               if world > 1 else None)
    loader = torch.utils.data.DataLoader(
        data, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler, drop_last=len(data) >= cfg.batch_size,
        num_workers=cfg.workers, pin_memory=device.type == "cuda", persistent_workers=cfg.workers > 0,
        worker_init_fn=_seed_worker, generator=torch.Generator().manual_seed(cfg.seed + rank))
    preview_photo = to_tensor(_center_square(load_image(paths[len(paths) // 2], "preview photo"),
                                             cfg.image_size)).to(device)
    autocast = device.type == "cuda" and dtype == torch.bfloat16

    def checkpoint(at: int) -> Path:
        return save_checkpoint(out, {
            "arch": cfg.arch, "settings": dict(net.settings), "state_dict": net.state_dict(),
            "style": {"name": Path(cfg.style).name, "thumbnail": thumbnail(style_img)},
            "loss": {"backbone": cfg.backbone, "content_layers": dict(c_layers), "style_layers": dict(s_layers),
                     "content_weight": cfg.content_weight, "style_weight": cfg.style_weight,
                     "tv_weight": cfg.tv_weight, "content_loss": cfg.content_loss},
            "step": at, "steps": cfg.steps, "optimizer": opt.state_dict(),
            "seconds": prior_seconds + time.perf_counter() - t0,  # training time over every resumed run
            "train": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()},
            "data": {"photos": len(paths), "unreadable": unreadable},
        })

    t0 = time.perf_counter()
    seen = 0
    batches = _batches(loader, sampler)
    net.train()
    try:
        while step < cfg.steps:
            x = next(batches).to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                y = model(x)
            c_targets = loss_fn.content_targets(x)
            terms = loss_fn(y.float(), c_targets, s_targets)
            total = sum(terms.values())
            if not torch.isfinite(total):
                raise PainterlyError(f"training diverged at step {step + 1} (loss {float(total)}); "
                                     f"try a smaller --lr (now {cfg.lr})")
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            step += 1
            seen += x.shape[0] * world
            event = ""
            if rank == 0 and cfg.preview_every and step % cfg.preview_every == 0:
                save_image(preview(net, preview_photo), out.with_suffix(".preview.jpg"))
                event = "preview"
            if rank == 0 and cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < cfg.steps:
                checkpoint(step)
                event = "checkpoint"
            if callback is not None and rank == 0:
                el = time.perf_counter() - t0
                vals = {k: float(v.detach()) for k, v in terms.items()}
                vals["total"] = float(total.detach())
                callback(TrainIterate(step, cfg.steps, vals, seen / max(el, 1e-9), el, event))
    except KeyboardInterrupt:
        if rank == 0 and step > 0:
            raise TrainingInterrupted(checkpoint(step), step) from None
        raise
    if rank == 0:
        checkpoint(step)
    if world > 1:
        import torch.distributed as dist
        dist.barrier()
    return out


@torch.no_grad()
def preview(net: nn.Module, photo: torch.Tensor) -> Image.Image:
    """The photo beside the network's picture of it."""
    was = net.training
    net.eval()
    y = net(photo.contiguous(memory_format=torch.channels_last)).clamp(0, 1)
    net.train(was)
    return to_pil(torch.cat([photo, y.float()], -1))


def _center_square(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    s = min(w, h)
    return img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize(
        (size, size), Image.Resampling.LANCZOS)
