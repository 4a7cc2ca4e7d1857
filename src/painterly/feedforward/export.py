"""Sharing a trained feed-forward network: a slim checkpoint (no optimiser state, float16) or ONNX."""

from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np
import torch

from ..checkpoint import for_distribution, load_checkpoint, save_checkpoint
from ..errors import PainterlyError
from ..images import atomic_write
from .networks import for_inference, network_from_checkpoint
from .stylizer import resolve_model


def slim_checkpoint(model: str, output: Union[str, Path], half: bool = True) -> Path:
    """Write MODEL for distribution (:func:`for_distribution`)."""
    return save_checkpoint(output, for_distribution(load_checkpoint(resolve_model(model)[0]), half))


def export_onnx(
    model: str,
    output: Union[str, Path],
    check_sizes: tuple[tuple[int, int], ...] = ((64, 80), (50, 77)),
    tolerance: float = 1e-3,
) -> dict[str, float]:
    """Export a feed-forward model to ONNX (fp32, dynamic height and width) and check it with onnxruntime against
    PyTorch at ``check_sizes``; returns the largest absolute difference per size.  Needs ``painterly[export]``."""
    try:
        import onnxruntime as ort
        import onnxscript  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        raise PainterlyError(
            "ONNX export needs onnx, onnxscript and onnxruntime: pip install 'painterly[export]'"
        ) from None
    import logging
    import warnings

    path = resolve_model(model)[0]
    ck = load_checkpoint(path)
    net = for_inference(network_from_checkpoint(ck, path))
    out = Path(output)
    dim_h = torch.export.Dim("height", min=16, max=16384)
    dim_w = torch.export.Dim("width", min=16, max=16384)

    def write(tmp: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("torch.onnx").setLevel(logging.ERROR)
            prog = torch.onnx.export(
                net,
                (torch.rand(1, 3, 64, 64),),
                dynamo=True,
                verbose=False,
                input_names=["image"],
                output_names=["stylised"],
                dynamic_shapes={"x": {2: dim_h, 3: dim_w}},
            )
            assert prog is not None
            prog.save(tmp)
        session = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
        for h, w in check_sizes:
            x = torch.rand(1, 3, h, w)
            got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
            with torch.no_grad():
                want = net(x).numpy()
            diffs[f"{h}x{w}"] = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
        bad = {k: v for k, v in diffs.items() if not v <= tolerance}
        if bad:
            raise PainterlyError(f"the ONNX model differs from PyTorch by more than {tolerance} at {bad}")

    diffs: dict[str, float] = {}
    atomic_write(out, write)
    return diffs
