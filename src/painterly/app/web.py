"""`painterly serve`: a local web page (Gradio) over the library.

Upload a photo, pick a bundled painting (or upload one), choose the method (a shipped model, AdaIN, or the full
optimisation of Gatys et al.) and watch it paint; download the PNG with its settings.  A webcam tab streams the
browser's camera through a shipped model.  The endpoint ``/transfer`` (api_name ``transfer``) takes a photo and a
painting and returns the picture (AdaIN), for ``gradio_client``.

Safety: binds to 127.0.0.1 unless told otherwise; requests wait in Gradio's queue (``concurrency`` at a time);
uploads above ``max_bytes`` are refused by the server and above ``max_pixels`` by the loader; the page only ever
reads files Gradio stored for this app (uploads) and the bundled paintings, which it hands out as images, not
paths; every error becomes a message on the page.
"""

from __future__ import annotations

import json
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image

from ..config import AdainConfig, ApplyConfig, ServeConfig, TransferConfig, field_range
from ..errors import Interrupted, PainterlyError
from ..images import load_image, resize_long_side, to_pil, to_tensor
from ..shipped import PRETRAINED, shipped_models

gr: Any
try:
    import gradio as gr
except ImportError:  # the web extra is optional; require_gradio() says how to get it
    gr = None

METHODS = (
    "Shipped model",
    "AdaIN (any painting, one pass)",
    "Optimisation (Gatys et al., slow)",
    "Multi-level WCT (any painting, one pass, Li et al.)",
)
NO_BLEND = "(none)"


def require_gradio() -> Any:
    """Gradio, or a one-line error saying how to install it."""
    if gr is None:
        raise PainterlyError("the web page needs Gradio: pip install 'painterly[web]'")
    return gr


def paintings() -> list[tuple[str, Path]]:
    """The bundled paintings, (name, path), shipped-model paintings first."""
    names = sorted(p.stem for p in (PRETRAINED / "styles").glob("*.jpg"))
    models = shipped_models()
    return [(n, PRETRAINED / "styles" / f"{n}.jpg") for n in sorted(names, key=lambda n: (n not in models, n))]


class Painter:
    """The page's work, without the page: loads models once, checks inputs, paints.  Thread-safe enough for
    Gradio's queue (models are loaded under a lock, then only read)."""

    def __init__(self, cfg: ServeConfig) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        self._models: dict[tuple, Any] = {}
        self._adain: Any = None
        self.workdir = Path(tempfile.mkdtemp(prefix="painterly-web-"))

    # -- inputs ---------------------------------------------------------------------------------------------
    def image(self, path: Any, what: str) -> Image.Image:
        """An uploaded file (a path in Gradio's upload folder) or array, checked: one-line PainterlyError."""
        if path is None:
            raise PainterlyError(f"no {what} given")
        if isinstance(path, np.ndarray):
            h, w = path.shape[:2]
            if h * w > self.cfg.max_pixels:
                raise PainterlyError(f"the {what} is {w}x{h}, above the limit of {self.cfg.max_pixels:,} pixels")
            return Image.fromarray(path.astype(np.uint8)).convert("RGB")
        p = Path(str(path))
        if p.is_file() and p.stat().st_size > self.cfg.max_bytes:
            raise PainterlyError(f"the {what} is {p.stat().st_size:,} bytes, above the limit of {self.cfg.max_bytes:,}")
        try:
            with Image.open(p) as im:  # the header only: refuse big pictures before decoding them
                w, h = im.size
        except Exception:  # noqa: BLE001 - unreadable: load_image below names the problem
            w = h = 0
        if w * h > self.cfg.max_pixels:
            raise PainterlyError(f"the {what} is {w}x{h}, above the limit of {self.cfg.max_pixels:,} pixels")
        try:
            return load_image(p, what).copy()
        except PainterlyError as e:  # name the upload by its base name only
            raise PainterlyError(str(e).replace(str(p), p.name)) from None

    def painting(self, index: Optional[int], upload: Any) -> tuple[str, Image.Image]:
        """The uploaded painting if any, else the bundled one picked in the gallery."""
        if upload is not None:
            return "upload", self.image(upload, "painting")
        options = paintings()
        try:
            i = int(index)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            i = -1
        if not 0 <= i < len(options):
            raise PainterlyError("pick a painting in the gallery or upload one")
        name, path = options[i]
        return name, load_image(path, "painting")

    # -- methods --------------------------------------------------------------------------------------------
    def model(self, name: str, mix: Optional[str] = None, stroke_scale: float = 1.0, variant: str = "quality") -> Any:
        """A shipped model by name (never a path: no request names a file on the server), with a blend of its
        paintings (``mix``) and a stroke scale."""
        from ..feedforward.stylizer import Stylizer

        if name not in shipped_models(variant):
            raise PainterlyError(
                f"no shipped model named '{str(name)[:40]}'; shipped: {', '.join(shipped_models(variant))}"
            )
        key = (name, mix, float(stroke_scale), variant)
        with self._lock:
            if key not in self._models:
                self._models[key] = Stylizer(name, self.cfg.device, mix=mix, stroke_scale=stroke_scale, variant=variant)
            return self._models[key]

    def adain(self) -> Any:
        from ..adain.model import AdaIN

        with self._lock:
            if self._adain is None:
                self._adain = AdaIN(device=self.cfg.device)
            return self._adain

    def paint(
        self,
        photo: Image.Image,
        painting_name: str,
        painting: Image.Image,
        method: str,
        size: int,
        strength: float,
        preserve_color: bool,
        iterations: int,
        cancel: Optional[threading.Event] = None,
        stroke_scale: float = ApplyConfig.stroke_scale,
        blend_with: Optional[str] = None,
        blend: float = 0.5,
        mask: Any = None,
        keep_photo: bool = False,
    ) -> Iterator[tuple[Image.Image, str, float]]:
        """Yield (picture so far, status, fraction done) until done; the last one is the result.  With a shipped
        model: ``stroke_scale``, and ``blend_with`` another shipped painting, ``blend`` of it.  With the
        optimisation: ``mask`` (an upload or a drawing: white takes the painting, black ``blend_with`` or, with
        ``keep_photo``, the photo)."""
        size = max(16, min(int(size), self.cfg.max_size))
        strength = float(min(max(strength, 0.0), 1.0))
        photo = resize_long_side(photo, size)
        t = time.perf_counter()
        if method == METHODS[0]:
            if painting_name not in shipped_models():
                raise PainterlyError(
                    f"no shipped model for this painting; shipped: {', '.join(shipped_models())} (or choose AdaIN)"
                )
            lo, hi = field_range(ApplyConfig, "stroke_scale")
            stroke_scale = float(min(max(stroke_scale, lo), hi))
            mix = None
            if blend_with and blend_with != painting_name:
                b = float(min(max(blend, 0.0), 1.0))
                mix = f"{painting_name}:{1 - b},{blend_with}:{b}"
            x = to_tensor(photo)
            y = self.model(painting_name, mix, stroke_scale).tensor(x).cpu()
            if preserve_color:
                from ..color import recombine

                y = recombine(y, x)
            yield to_pil(strength * y + (1 - strength) * x), f"done in {time.perf_counter() - t:.1f} s", 1.0
        elif method in (METHODS[1], METHODS[3]):
            transform = "adain" if method == METHODS[1] else "multi-wct"
            y = self.adain()(
                photo, painting, size=None, alpha=strength, preserve_color=preserve_color, method=transform
            )
            yield y, f"done in {time.perf_counter() - t:.1f} s", 1.0
        elif method == METHODS[2]:
            regions = None
            if mask is not None:
                second = dict(paintings()).get(blend_with or "")
                if not keep_photo and second is None:
                    raise PainterlyError("a mask needs a second painting ('Blend with') or 'Black keeps the photo'")
                regions = (self._mask(mask, photo.size), None if keep_photo else str(second), keep_photo)
            yield from self._optimise(photo, painting, size, strength, preserve_color, iterations, cancel, t, regions)
        else:
            raise PainterlyError(f"unknown method '{method}'")

    def _optimise(
        self,
        photo: Image.Image,
        painting: Image.Image,
        size: int,
        strength: float,
        preserve_color: bool,
        iterations: int,
        cancel: Optional[threading.Event],
        t: float,
        regions: Optional[tuple[str, Optional[str], bool]] = None,
    ) -> Iterator[tuple[Image.Image, str, float]]:
        """The Gatys loop in a thread; its pictures come back through a queue every few steps.  ``regions``: (mask
        file, the black region's painting or None, keep the photo there)."""
        from ..gatys.engine import StyleTransfer

        iterations = max(1, min(int(iterations), self.cfg.max_iterations))
        # strength 1 is the command line's style weight
        spatial: dict[str, Any] = {}
        if regions is not None:
            mask_file, second, keep = regions
            spatial = {"mask": mask_file, "keep_photo": keep, "extra_style": (second,) if second else ()}
        engine = StyleTransfer(
            size=size,
            iterations=iterations,
            style_weight=TransferConfig.style_weight * strength,
            preserve_color=preserve_color,
            device=self.cfg.device,
            **spatial,
        )
        engine.check_memory(photo, [painting])
        updates: queue.Queue[tuple[str, Any]] = queue.Queue()

        def callback(it: Any) -> None:
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            if it.step % 10 == 0 or it.step == it.total:
                updates.put(("progress", (it.pil(), it.step, it.total)))

        def work() -> None:
            try:
                updates.put(("done", engine.run(photo, painting, callback)))
            except Interrupted as e:
                updates.put(("done", e.saved.result))
            except BaseException as e:  # noqa: BLE001 - handed to the page's thread
                updates.put(("error", e))

        threading.Thread(target=work, daemon=True).start()
        while True:
            kind, item = updates.get()
            if kind == "progress":
                img, step, total = item
                yield img, f"step {step} of {total} ({time.perf_counter() - t:.0f} s)", step / total
            elif kind == "done":
                yield (
                    item.image,
                    (
                        f"stopped at step {item.steps}"
                        if item.stopped != "completed"
                        else f"done: {item.steps} steps in {item.seconds:.1f} s"
                    ),
                    1.0,
                )
                return
            else:
                raise item

    def _mask(self, mask: Any, size: tuple[int, int]) -> str:
        """An uploaded or drawn mask (Gradio's editor gives its layers flattened as ``composite``) as a grey PNG of
        the photo's size in this app's folder."""
        if isinstance(mask, dict):
            mask = mask.get("composite")
        if mask is None:
            raise PainterlyError("the mask is empty")
        img = self.image(mask, "mask")
        path = self.workdir / f"mask-{time.perf_counter_ns()}.png"
        img.convert("L").resize(size, Image.Resampling.BILINEAR).save(path)
        return str(path)

    def save(self, image: Image.Image, settings: dict[str, Any]) -> list[str]:
        """The result as PNG with its settings as JSON, in this app's temporary folder."""
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{int(time.perf_counter() * 1000) % 1000:03d}"
        png, js = self.workdir / f"painterly-{stamp}.png", self.workdir / f"painterly-{stamp}.json"
        image.save(png)
        js.write_text(json.dumps({**settings, "width": image.size[0], "height": image.size[1]}, indent=1))
        return [str(png), str(js)]


def build_app(cfg: Optional[ServeConfig] = None) -> Any:
    """The Gradio Blocks app (not started)."""
    require_gradio()
    cfg = cfg or ServeConfig()
    painter = Painter(cfg)
    options = paintings()
    gallery_items = [(resize_long_side(load_image(p), 256), n) for n, p in options]
    cancels: dict[str, threading.Event] = {}

    def run(
        photo: Any,
        index: Optional[int],
        upload: Any,
        method: str,
        size: int,
        strength: float,
        preserve: bool,
        iterations: int,
        stroke_scale: float,
        blend_with: Optional[str],
        blend: float,
        mask: Any,
        keep_photo: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),
    ) -> Iterator[tuple[Any, ...]]:
        key = getattr(request, "session_hash", None) or "default"
        cancel = cancels.setdefault(key, threading.Event())
        cancel.clear()
        try:
            img = painter.image(photo, "photo")
            name, painting = painter.painting(index, upload)
            last = None
            blend_with = None if blend_with in (None, NO_BLEND) else blend_with
            for last, status, done in painter.paint(
                img,
                name,
                painting,
                method,
                size,
                strength,
                preserve,
                iterations,
                cancel,
                stroke_scale,
                blend_with,
                blend,
                _drawn(mask) if method == METHODS[2] else None,
                keep_photo,
            ):
                progress(done, desc=status)  # Gradio's progress bar over the result
                yield last, None, None, status
            settings = {
                "method": method,
                "painting": name,
                "size": size,
                "strength": strength,
                "preserve_color": preserve,
                "iterations": iterations if method == METHODS[2] else None,
            }
            if method == METHODS[0]:
                settings.update(stroke_scale=stroke_scale, blend_with=blend_with, blend=blend if blend_with else None)
            if method == METHODS[2] and _drawn(mask) is not None:
                settings.update(mask=True, black_region="the photo" if keep_photo else blend_with)
            assert last is not None  # paint() yields at least the result
            photo_small = resize_long_side(img, max(last.size)).resize(last.size)
            yield last, (photo_small, last), painter.save(last, settings), status
        except PainterlyError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except MemoryError:
            raise gr.Error("out of memory; try a smaller size", print_exception=False) from None

    def stop(request: gr.Request) -> None:
        key = getattr(request, "session_hash", None) or "default"
        if key in cancels:
            cancels[key].set()

    def api_transfer(content: str, style: str) -> str:
        """Paint the photo ``content`` like the painting ``style`` with AdaIN (long side at most AdaIN's default
        size).  The picture goes out as a file of its own: Gradio rewrites a returned image's cache file in place,
        so two requests with the same picture would race (a client could read half a file); a file is copied
        into the cache atomically."""
        try:
            img = painter.image(content, "photo")
            out = painter.adain()(img, painter.image(style, "painting"), size=min(AdainConfig.size, max(img.size)))
        except PainterlyError as e:
            raise gr.Error(str(e), print_exception=False) from None
        fd, name = tempfile.mkstemp(suffix=".png", prefix="api-", dir=painter.workdir)
        os.close(fd)
        out.save(name)
        path = Path(name)
        return str(path)

    def webcam(frame: Optional[np.ndarray], model: str) -> Optional[np.ndarray]:
        if frame is None:
            return None
        img = resize_long_side(Image.fromarray(frame), cfg.webcam_size)
        try:
            return np.asarray(painter.model(model)(img))
        except PainterlyError as e:
            raise gr.Error(str(e), print_exception=False) from None

    with gr.Blocks(title="painterly") as app:
        gr.Markdown("# painterly\nRender a photo in the style of a painting.")
        with gr.Tab("Paint"):
            with gr.Row():
                with gr.Column():
                    photo = gr.Image(type="filepath", label="Photo", sources=["upload", "clipboard"])
                    gallery = gr.Gallery(
                        gallery_items,
                        label="Painting (click one)",
                        columns=4,
                        height=260,
                        allow_preview=False,
                        elem_id="paintings",
                    )
                    picked = gr.State(0)
                    picked_label = gr.Markdown(f"Painting: **{options[0][0]}**" if options else "")
                    upload = gr.Image(type="filepath", label="... or upload a painting", sources=["upload"])
                    method = gr.Radio(list(METHODS), value=METHODS[0], label="Method")
                    with gr.Row():
                        size = gr.Slider(
                            64,
                            cfg.max_size,
                            value=min(TransferConfig.size, cfg.max_size),
                            step=16,
                            label="Size (long side, px)",
                        )
                        strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Style strength")
                    with gr.Row():
                        preserve = gr.Checkbox(False, label="Keep the photo's colours")
                        iterations = gr.Slider(
                            10,
                            cfg.max_iterations,
                            value=min(TransferConfig.iterations, cfg.max_iterations),
                            step=10,
                            label="Iterations (optimisation)",
                        )
                    with gr.Row():  # shipped models only
                        stroke = gr.Slider(
                            *field_range(ApplyConfig, "stroke_scale"),
                            value=ApplyConfig.stroke_scale,
                            step=0.25,
                            label="Stroke size (shipped model)",
                        )
                        blend_with = gr.Dropdown(
                            [NO_BLEND, *shipped_models()], value=NO_BLEND, label="Blend with (shipped model)"
                        )
                        blend = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Blend amount")
                    with gr.Accordion("Mask (optimisation): paint regions differently", open=False):
                        mask = gr.ImageEditor(
                            type="numpy",
                            label="Upload or draw: white takes the painting, black the 'Blend with' painting",
                            sources=["upload", "clipboard"],
                            brush=gr.Brush(colors=["#ffffff", "#000000"], color_mode="fixed"),
                        )
                        keep_photo = gr.Checkbox(False, label="Black keeps the photo")
                    with gr.Row():
                        go = gr.Button("Paint", variant="primary")
                        cancel = gr.Button("Cancel", variant="stop")
                with gr.Column():
                    result = gr.Image(type="pil", label="Result", format="png", elem_id="result")
                    status = gr.Markdown(elem_id="status")
                    slider = gr.ImageSlider(type="pil", label="Before / after", format="png")
                    files = gr.File(label="Download (PNG and its settings)", file_count="multiple")

            def select(evt: gr.SelectData) -> tuple[int, str]:
                return evt.index, f"Painting: **{options[evt.index][0]}**"

            gallery.select(select, None, [picked, picked_label], api_visibility="private")
            event = go.click(
                run,
                [
                    photo,
                    picked,
                    upload,
                    method,
                    size,
                    strength,
                    preserve,
                    iterations,
                    stroke,
                    blend_with,
                    blend,
                    mask,
                    keep_photo,
                ],
                [result, slider, files, status],
                api_visibility="private",
            )
            cancel.click(stop, None, None, cancels=[event], api_visibility="private")
        with gr.Tab("Webcam"):
            models = list(shipped_models())
            with gr.Row():
                cam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Camera")
                live = gr.Image(label="Painted", streaming=True, elem_id="webcam-out")
            choice = gr.Dropdown(models, value=models[0] if models else None, label="Model")
            cam.stream(webcam, [cam, choice], [live], stream_every=0.1, concurrency_limit=1, api_visibility="private")
        with gr.Row(visible=False):  # the API endpoint's components (gradio_client: handle_file(...) for each)
            api_content = gr.Image(type="filepath", label="content")
            api_style = gr.Image(type="filepath", label="style")
            api_out = gr.Image(type="pil", format="png", label="stylised")
            api_go = gr.Button("transfer")
        api_go.click(api_transfer, [api_content, api_style], [api_out], api_name="transfer")
    app.queue(max_size=cfg.queue_size, default_concurrency_limit=cfg.concurrency)
    app.painter = painter
    return app


def _drawn(mask: Any) -> Any:
    """The editor's picture, or None when nothing was uploaded or drawn."""
    if isinstance(mask, dict):
        layers = [m for m in [mask.get("background"), *(mask.get("layers") or [])] if m is not None]
        if not any(np.asarray(m).any() for m in layers):
            return None
        return mask
    return mask


def check_address(host: str, port: int) -> None:
    """One-line errors, before anything starts, for a host that does not resolve or a port already taken."""
    import socket

    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise PainterlyError(f"cannot serve on host '{host}': {getattr(e, 'strerror', None) or e}") from None
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: a port in TIME_WAIT is free
        try:
            s.bind(addr)
        except OSError as e:
            raise PainterlyError(f"cannot serve on {host}:{port}: {e.strerror or e} (choose another --port)") from None


def serve(cfg: Optional[ServeConfig] = None, block: bool = True) -> Any:
    """Start the page; returns the app (with ``block=False``, running in the background)."""
    cfg = cfg or ServeConfig()
    check_address(cfg.host, cfg.port)
    app = build_app(cfg)
    app.launch(
        server_name=cfg.host,
        server_port=cfg.port,
        max_file_size=cfg.max_bytes,
        show_error=True,
        prevent_thread_lock=not block,
        quiet=not block,
        footer_links=["api"],
        allowed_paths=[],
        blocked_paths=[],
    )
    return app
