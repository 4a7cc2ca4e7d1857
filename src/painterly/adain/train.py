"""Training the AdaIN decoder (Huang & Belongie 2017, sec. 6) on photos and paintings, through the shared loop of
:mod:`painterly.training`."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..config import AdainTrainConfig
from ..errors import PainterlyError
from ..images import load_image, save_image, to_pil, to_tensor
from ..losses import total
from ..runtime import channels_last, resolve_device, resolve_precision
from ..training import PhotoCrops, StepSampler, TrainProgress, center_square, scan_photos, seed_worker, train_steps
from .model import Decoder, decoder_layer, encoder_name, load_decoder_checkpoint, save_decoder
from .ops import (
    ENCODER_LAYER,
    ENCODERS,
    STATISTICS_LAYERS,
    WCT_LEVELS,
    Embeddings,
    adain,
    create_encoder,
    mean_std,
    student_encoder,
)


class StyleCrops(torch.utils.data.IterableDataset):
    """An endless stream of style samples for the AdaIN decoder: random crops of the paintings (held in memory with
    short side ``painting_side``, default 2 x ``size``) at random scales, flipped, turned and colour-jittered when
    ``augment``; with probability ``photo_share`` a photo (colour-jittered) instead, so the decoder meets many more
    palettes and textures than a handful of paintings offer.  A crop is ``size`` to 2 x ``size`` pixels of the
    painting, never fewer: an enlarged crop is blurred, and a decoder shown blurred paintings learns to smear."""

    def __init__(
        self,
        paintings: list[Path],
        photos: list[Path],
        size: int,
        photo_share: float,
        augment: bool = True,
        painting_side: Optional[int] = None,
    ) -> None:
        self.painting_paths, self.photos, self.size = paintings, photos, size
        self.photo_share, self.augment = photo_share, augment
        self.painting_side = max(size, painting_side or 2 * size)
        self.paintings: list[Image.Image] = []

    def _load_paintings(self) -> None:
        for p in self.painting_paths:
            try:
                img = load_image(p, "style image")
            except PainterlyError:
                continue
            w, h = img.size
            s = self.painting_side / min(w, h)
            self.paintings.append(img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS))
        if not self.paintings:
            raise PainterlyError("no style image could be decoded")

    def _jitter(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        from PIL import ImageEnhance

        if len(self.painting_paths) < HUE_ROTATION_BELOW and rng.random() < 0.5:  # new palettes from few paintings
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
            crop = int(rng.uniform(self.size, min(side, 2 * self.size) + 1)) if self.augment else self.size
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


@torch.no_grad()
def fit_linear_decoder(decoder: Decoder, encoder: nn.Module, images: list[torch.Tensor], ridge: float = 1e-3) -> float:
    """relu1_1's decoder is a single 3x3 convolution, linear in its weights, so the weights that minimise the pixel
    loss over ``images`` ((1, 3, H, W) each) are a least-squares solution: the normal equations over every 3x3
    neighbourhood of relu1_1 features (reflection-padded, as the decoder pads).  Measured on held-out photos and
    paintings at 128 px: RMS error 0.017 for this solution against 0.16 after 1,500 Adam steps.  Sets the decoder's
    weights; returns the fit's mean squared pixel error."""
    conv = decoder.layers[-1]
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3) and len(decoder.layers) == 2
    assert conv.bias is not None
    n = conv.in_channels * 9 + 1
    normal = torch.zeros(n, n, dtype=torch.float64)
    target = torch.zeros(n, 3, dtype=torch.float64)
    pixels, energy = 0, 0.0

    def neighbourhoods(x: torch.Tensor) -> torch.Tensor:
        f = encoder(x, ["relu1_1"])["relu1_1"].float()
        p = nn.functional.unfold(nn.functional.pad(f, (1, 1, 1, 1), mode="reflect"), 3)[0]  # (C * 9, H * W)
        return torch.cat([p, torch.ones(1, p.shape[-1], device=p.device)]).T.double().cpu()

    for x in images:
        a, t = neighbourhoods(x), x[0].reshape(3, -1).T.double().cpu()
        normal += a.T @ a
        target += a.T @ t
        pixels += t.shape[0]
        energy += float((t**2).sum())
    w = torch.linalg.solve(normal + ridge * pixels / n * torch.eye(n, dtype=torch.float64), target)  # (n, 3)
    conv.weight.copy_(w[:-1].T.reshape_as(conv.weight).to(conv.weight))
    conv.bias.copy_(w[-1].to(conv.bias))
    # the residual of the fit: |t|^2 - 2 w.(A^T t) + w^T A^T A w, per pixel and channel
    residual = energy - 2 * float((w * target).sum()) + float((w * (normal @ w)).sum())
    return max(0.0, residual) / (3 * max(1, pixels))


#: the photos and paintings (each) of relu1_1's least-squares fit
LINEAR_FIT_IMAGES = 48
#: with this many paintings or more their own palettes suffice: no hue rotation (it paints colour casts that no
#: painting has)
HUE_ROTATION_BELOW = 50
#: the shallow layers of the warm-up's feature loss
WARMUP_LAYERS = ("relu1_1", "relu2_1")


def train_adain(cfg: AdainTrainConfig, callback: Optional[Callable[[TrainProgress], None]] = None) -> Path:
    """Train the AdaIN decoder (Huang & Belongie 2017, sec. 6): the decoder maps AdaIN(f(c), f(s)) back to an image
    g; the loss is the relu4_1 distance between f(g) and that target (content) plus the distance of f(g)'s
    per-channel means and standard deviations to the painting's at relu1_1..relu4_1 (style).  Returns the
    checkpoint path; Ctrl-C raises :class:`painterly.errors.Interrupted` after saving the last finished step."""

    device = resolve_device(cfg.device)
    dtype = resolve_precision(cfg.precision, device)
    out = Path(cfg.output)
    photos, bad_photos = scan_photos(cfg.content_data)
    paintings, bad_paintings = scan_photos(cfg.style_data)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    teacher = create_encoder(device, dtype)
    distilled = cfg.encoder != "vgg19"
    if cfg.distill_steps and not distilled:
        raise PainterlyError("--distill-steps trains a distilled --encoder (vgg19-quarter); vgg19 needs none")
    if distilled:  # the student learns to reproduce the teacher through linear maps, then serves as the encoder
        student = channels_last(student_encoder(ENCODERS[cfg.encoder]), device=device)
        embeddings = channels_last(Embeddings(student, teacher), device=device)
        encoder: Any = student
    else:
        encoder = teacher
    layer = cfg.layer  # the layer the decoder inverts; below relu4_1 the reconstruction is all it learns
    inverter_only = layer != ENCODER_LAYER
    if inverter_only and distilled:
        raise PainterlyError(
            f"--layer {layer} trains a decoder of VGG19's features; the distilled encoder has relu4_1 only"
        )
    decoder = channels_last(Decoder(cfg.width, layer=layer), device=device)
    trained = list(decoder.parameters()) + (
        list(student.parameters()) + list(embeddings.parameters()) if distilled else []
    )
    opt = torch.optim.Adam(trained, lr=cfg.lr)
    step, prior_seconds = 0, 0.0
    if cfg.resume and out.is_file():
        ck = load_decoder_checkpoint(out)
        if ck.get("settings", {}).get("width") != float(cfg.width):
            raise PainterlyError(
                f"--resume: '{out}' holds a decoder of width {ck.get('settings', {}).get('width')}, not {cfg.width}"
            )
        held = decoder_layer(ck)
        if held != layer:
            raise PainterlyError(f"--resume: '{out}' holds a decoder of {held}, not {layer}")
        if encoder_name(ck) != cfg.encoder:
            raise PainterlyError(f"--resume: '{out}' was trained for the {encoder_name(ck)} encoder, not {cfg.encoder}")
        step, prior_seconds = int(ck.get("step", 0)), float(ck.get("seconds", 0.0))
        decoder.load_state_dict(ck["state_dict"])  # a slimmed checkpoint's float16 is cast as it is copied
        if distilled:
            student.load_state_dict(ck["encoder_state"])
            if "embed_state" in ck:
                embeddings.load_state_dict(ck["embed_state"])
            elif step < cfg.distill_steps:  # a slimmed (shipped) checkpoint keeps no linear maps
                raise PainterlyError(
                    f"--resume: '{out}' keeps no distillation maps (a slimmed checkpoint), so it can only continue "
                    f"after its --distill-steps ({cfg.distill_steps}); it is at step {step}"
                )
        if "optimizer" in ck:  # a slimmed checkpoint continues with a fresh optimiser
            opt.load_state_dict(ck["optimizer"])
        if step >= cfg.steps:
            return out
    elif cfg.init_decoder:  # a sound start: another decoder of the same shape (for a distilled encoder, VGG19's)
        start = load_decoder_checkpoint(cfg.init_decoder)
        width, held = start.get("settings", {}).get("width"), decoder_layer(start)
        if (width, held) != (float(cfg.width), layer):
            raise PainterlyError(
                f"--init-decoder: '{cfg.init_decoder}' holds a decoder of width {width} at {held}, "
                f"not width {cfg.width} at {layer}"
            )
        decoder.load_state_dict(start["state_dict"])
    content = torch.utils.data.DataLoader(
        PhotoCrops(photos, cfg.image_size),
        batch_sampler=StepSampler(len(photos), cfg.batch_size, cfg.seed, step),
        num_workers=cfg.workers,
    )
    style = torch.utils.data.DataLoader(
        StyleCrops(paintings, photos, cfg.image_size, cfg.photo_styles, cfg.augment, cfg.painting_side),
        batch_size=cfg.batch_size,
        num_workers=cfg.workers,
        persistent_workers=cfg.workers > 0,
        worker_init_fn=seed_worker,
    )
    preview_photo = to_tensor(center_square(load_image(photos[len(photos) // 2], "preview photo"), cfg.image_size)).to(
        device
    )
    preview_style = to_tensor(center_square(load_image(paintings[0], "preview painting"), cfg.image_size)).to(device)
    autocast = dtype == torch.bfloat16

    def checkpoint(at: int) -> Path:
        return save_decoder(
            out,
            {
                "settings": dict(decoder.settings),
                "state_dict": decoder.state_dict(),
                "encoder": cfg.encoder,
                **(
                    {"encoder_state": student.state_dict(), "embed_state": embeddings.state_dict()} if distilled else {}
                ),
                "step": at,
                "steps": cfg.steps,
                "optimizer": opt.state_dict(),
                "seconds": prior_seconds + time.perf_counter() - t0,
                "train": dataclasses.asdict(cfg),
                "data": {
                    "photos": len(photos),
                    "unreadable_photos": bad_photos,
                    "paintings": [p.name for p in paintings],
                    "unreadable_paintings": bad_paintings,
                },
            },
        )

    def loss(c: torch.Tensor, s: torch.Tensor) -> dict[str, torch.Tensor]:
        """The paper's losses.  With a distilled encoder the transform and the content loss are in its space and
        the style loss in the teacher's (the decoder must invert the student, and paint like the teacher sees)."""
        with torch.no_grad():
            fc = encoder(c, [ENCODER_LAYER])[ENCODER_LAYER]
            s_stats = {k: mean_std(v) for k, v in teacher(s, STATISTICS_LAYERS).items()}
            code = mean_std(encoder(s, [ENCODER_LAYER])[ENCODER_LAYER]) if distilled else s_stats[ENCODER_LAYER]
            t = adain(fc, *code)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            g = decoder(t.to(memory_format=torch.channels_last))
        fg = teacher(g.float(), STATISTICS_LAYERS)
        content = encoder(g.float(), [ENCODER_LAYER])[ENCODER_LAYER] if distilled else fg[ENCODER_LAYER]
        lc = nn.functional.mse_loss(content.float(), t)
        ls = total(
            nn.functional.mse_loss(m, sm) + nn.functional.mse_loss(sd, ssd)
            for k in STATISTICS_LAYERS
            for (m, sd), (sm, ssd) in [(mean_std(fg[k]), s_stats[k])]
        )
        return {"content": cfg.content_weight * lc, "style": cfg.style_weight * ls}

    def distillation(images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The student's features, mapped linearly, against the teacher's at every statistics layer (each
        relative to the teacher's energy there)."""
        with torch.no_grad():
            target = teacher(images, STATISTICS_LAYERS)
        mapped = embeddings(student(images, STATISTICS_LAYERS))
        return {
            "distill": total(
                (mapped[k].float() - target[k].float()).pow(2).mean() / target[k].float().pow(2).mean().clamp_min(1e-8)
                for k in STATISTICS_LAYERS
            )
        }

    # the reconstruction's feature loss: the shallow layers up to the decoder's own
    shallow_layers = [k for k in WARMUP_LAYERS if WCT_LEVELS.index(k) >= WCT_LEVELS.index(layer)]

    def reconstruction(images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The warm-up (and all a shallower layer's decoder learns): the decoder inverts the encoder on photos and
        paintings (pixels and shallow features)."""
        with torch.no_grad():
            f = encoder(images, [layer])[layer]
            shallow = teacher(images, shallow_layers)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            g = decoder(f.to(memory_format=torch.channels_last))
        g = g.float()
        fg = teacher(g, shallow_layers)
        features = total(nn.functional.mse_loss(fg[k].float(), shallow[k].float()) for k in shallow_layers)
        return {"pixels": 255.0 * nn.functional.mse_loss(g, images), "features": features}

    @torch.no_grad()
    def write_preview() -> None:
        decoder.eval()
        fs = encoder(preview_style, [layer])[layer]
        fc = encoder(preview_photo, [layer])[layer]
        if inverter_only:  # the photo and the painting back from their own features
            g = torch.cat([decoder(f.float().to(memory_format=torch.channels_last)).float() for f in (fc, fs)], -1)
        else:
            g = decoder(adain(fc, *mean_std(fs)).to(memory_format=torch.channels_last)).float()
        decoder.train()
        pictures = torch.cat([preview_photo, preview_style, g.clamp(0, 1)], -1)
        save_image(to_pil(pictures), out.with_suffix(".preview.jpg"))

    if layer == "relu1_1" and step == 0:  # a linear decoder: its least-squares weights first
        rng = np.random.default_rng(cfg.seed)
        sample = [photos[i] for i in rng.permutation(len(photos))[:LINEAR_FIT_IMAGES]]
        sample += [paintings[i] for i in rng.permutation(len(paintings))[:LINEAR_FIT_IMAGES]]
        images = []
        for p in sample:
            try:
                images.append(to_tensor(center_square(load_image(p), cfg.image_size)).to(device))
            except PainterlyError:
                continue
        fit_linear_decoder(decoder, teacher, images)
    t0 = time.perf_counter()
    c_batches, s_batches = iter(content), iter(style)
    decoder.train()

    def compute(at: int) -> tuple[dict[str, torch.Tensor], int]:
        for group in opt.param_groups:  # the paper's decay: lr / (1 + decay * t)
            group["lr"] = (cfg.distill_lr if at < cfg.distill_steps else cfg.lr) / (1.0 + cfg.lr_decay * at)
        c = next(c_batches).to(device)
        s = next(s_batches).to(device)[: c.shape[0]]
        half = max(1, c.shape[0] // 2)
        mixed = torch.cat([c[:half], s[: c.shape[0] - half]])  # photos and paintings
        if at < cfg.distill_steps:
            student.train().requires_grad_(True)
            return distillation(mixed), c.shape[0]
        if distilled:
            student.eval().requires_grad_(False)
        if inverter_only or at < cfg.distill_steps + cfg.warmup_steps:
            return reconstruction(mixed), c.shape[0]
        return loss(c, s), c.shape[0]

    step = train_steps(
        cfg,
        step,
        step or None,
        device,
        opt,
        compute,
        reconstruction if inverter_only else (lambda x: loss(x, x)),
        checkpoint,
        write_preview,
        callback,
    )
    checkpoint(step)
    return out
