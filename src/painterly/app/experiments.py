"""`painterly experiment`: the ablations of the project reports (Basheer et al.'s ResNet50/NAdam comparison and
loss-per-epoch curves; Jain et al.'s studies of feature extractors, optimisers, losses and iteration counts) run
side by side, written as CSV and Markdown tables, PNG plots and contact sheets, with every measure of
``painterly evaluate`` as columns."""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from PIL import Image, ImageDraw

from ..config import ExperimentConfig, TransferConfig
from ..errors import DivergedError, Interrupted, PainterlyError, Saved, suggest
from ..gatys.engine import Iterate, StyleTransfer, TransferResult
from ..images import atomic_write, load_image, resize_long_side, save_image
from ..metrics import distances, lattice, mse, multiscale_style, ssim, wang_criteria
from ..progress import Progress


@dataclass
class Study:
    name: str
    option: str
    values: list[Any] = field(default_factory=list)


def parse_studies(cfg: ExperimentConfig) -> list[Study]:
    """``optimizer=lbfgs,adam`` -> Study('optimizer', 'optimizer', ['lbfgs', 'adam']), values typed by the field."""
    fields = {f.name: f for f in dataclasses.fields(TransferConfig)}
    hints = typing.get_type_hints(TransferConfig)
    studies = []
    for spec in cfg.vary:
        key, sep, vals = spec.partition("=")
        name = key.strip().replace("-", "_")
        if not sep or not vals.strip():
            raise PainterlyError(f"--vary '{spec}' must look like OPTION=V1,V2")
        if name not in fields:
            raise PainterlyError(f"--vary: unknown option '{key}'{suggest(name, fields)}")
        t = hints[name]
        base = [a for a in typing.get_args(t) if a is not type(None)][0] if typing.get_origin(t) is typing.Union else t
        conv: Callable[[str], Any] = {  # type: ignore[assignment]
            int: int,
            float: float,
            bool: lambda v: v.lower() in ("1", "true", "yes", "on"),
            str: str,
        }.get(base, str)
        try:
            values = [conv(v.strip()) for v in vals.split(",") if v.strip()]
        except ValueError:
            raise PainterlyError(f"--vary '{spec}': values must be {base.__name__}s") from None
        studies.append(Study(name.replace("_", "-"), name, values))
    return studies


def _sweep(cfg: ExperimentConfig) -> list[int]:
    if not cfg.iterations_sweep:
        return []
    try:
        steps = sorted({int(v) for v in cfg.iterations_sweep.split(",") if v.strip()})
    except ValueError:
        raise PainterlyError(f"--iterations-sweep '{cfg.iterations_sweep}' must be integers like 10,50,100") from None
    if not steps or steps[0] < 1:
        raise PainterlyError("--iterations-sweep needs positive step counts")
    return steps


def _reference(cfg: ExperimentConfig, content: str, style: str) -> Optional[Path]:
    if not cfg.reference:
        return None
    ref = Path(cfg.reference)
    if ref.is_dir():
        p = ref / f"{Path(content).stem}__{Path(style).stem}.png"
        return p if p.is_file() else None
    if len(cfg.content) * len(cfg.style) > 1:
        raise PainterlyError("--reference must be a folder (CONTENT__STYLE.png per pair) when there are several pairs")
    return ref


def adain_references(pairs: Sequence[tuple[str, str]], size: int, folder: Path) -> Path:
    """Pseudo-ground truths (Jain et al.'s report, sec. 4): every pair through AdaIN (Huang & Belongie 2017) at
    ``size``, as ``folder/CONTENT__STYLE.png``."""
    from ..adain.model import AdaIN

    folder.mkdir(parents=True, exist_ok=True)
    model = AdaIN()
    for c, s in pairs:
        save_image(model(c, s, size=size), folder / f"{Path(c).stem}__{Path(s).stem}.png")
    return folder


def _quality(row: dict[str, Any], image: Path, content: str, style: str, ref: Optional[Path]) -> None:
    """The measures of ``painterly evaluate`` as columns: distances (also at 1/2 and 1/4 size), Wang et al.
    (2021)'s criteria, the lattice of a motif every 8 px, and MSE/SSIM against the reference picture when there
    is one."""
    row.update({f"{k}_distance": round(v, 5) for k, v in distances(image, content, style).items()})
    # style_x2 -> style_distance_x2
    row.update({k.replace("style", "style_distance"): round(v, 5) for k, v in multiscale_style(image, style).items()})
    row.update({k: round(v, 4) for k, v in wang_criteria(image, content, style).items()})
    row["lattice"] = round(lattice(image), 2)
    if ref is not None:
        row["mse_vs_reference"] = round(mse(image, ref), 3)
        row["ssim_vs_reference"] = round(ssim(image, ref), 4)


@dataclass
class ExperimentProgress(Progress):
    """A step of one run of an experiment: the run's ``label`` (study, value, pair) with its step report; step 0
    marks the start of a run."""

    label: str = ""
    loss: float = 0.0


def run_experiment(
    cfg: ExperimentConfig, base: TransferConfig, progress: Optional[Callable[[ExperimentProgress], None]] = None
) -> Path:
    """Run every study over every (content, style) pair; write tables, plots and sheets under ``cfg.out``.
    Ctrl-C writes the finished runs' table and raises :class:`painterly.errors.Interrupted`."""
    if not cfg.content or not cfg.style:
        raise PainterlyError("experiment needs at least one --content and one --style")
    studies, sweep = parse_studies(cfg), _sweep(cfg)
    if not studies and not sweep:
        raise PainterlyError("nothing to compare: give --vary OPTION=V1,V2 and/or --iterations-sweep")
    for p in (*cfg.content, *cfg.style):
        load_image(p, "content image" if p in cfg.content else "style image")
    weights_for = dict(w.split("=", 1) for w in cfg.weights_for if "=" in w)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = [(c, s) for c in cfg.content for s in cfg.style]

    def note(label: str, it: Optional[Iterate]) -> None:
        if progress is not None:
            progress(
                ExperimentProgress(it.step, it.total, it.elapsed, it.terms, label, it.loss)
                if it is not None
                else ExperimentProgress(0, 0, 0.0, label=label)
            )

    if cfg.reference == "adain":
        cfg = dataclasses.replace(cfg, reference=str(adain_references(pairs, base.size, out / "reference")))

    for study in studies:
        rows, curves = [], {}
        folder = out / study.name
        (folder / "images").mkdir(parents=True, exist_ok=True)
        try:
            for c, s in pairs:
                for value in study.values:
                    changes: dict[str, Any] = {study.option: value}
                    if study.option == "backbone":
                        changes["weights"] = weights_for.get(str(value))
                    run_cfg = base.replace(**changes)
                    label = f"{study.name}={value} {Path(c).stem}+{Path(s).stem}"
                    note(label, None)
                    res: Optional[TransferResult]
                    try:
                        res = StyleTransfer(run_cfg).run(c, s, callback=functools.partial(note, label))
                    except DivergedError as e:  # a setting that blows up is a result too: its last finite picture
                        res = e.saved.result if e.saved else None
                        if res is None or not res.steps:
                            raise
                    img = folder / "images" / f"{Path(c).stem}__{Path(s).stem}__{value}.png"
                    save_image(res.image, img)
                    row: dict[str, Any] = {
                        "study": study.name,
                        "value": value,
                        "content": Path(c).name,
                        "style": Path(s).name,
                        "seconds": round(res.seconds, 2),
                        "steps": res.steps,
                        "s_per_step": round(res.seconds / max(1, res.steps), 4),
                        "stopped": res.stopped,
                    }
                    row.update({f"final_{k}_loss": round(v, 5) for k, v in res.terms.items()})
                    _quality(row, img, c, s, _reference(cfg, c, s))
                    rows.append(row)
                    curves[(c, s, value)] = (
                        [h["total"] for h in res.history],
                        [h["content"] for h in res.history],
                        [h["style"] for h in res.history],
                    )
        except KeyboardInterrupt:  # the finished runs' table, then stop
            raise _interrupted(folder, rows) from None
        _write_tables(folder, rows)
        _plot_curves(folder, study, pairs, curves)
        _plot_summary(folder, study, rows)
        _contact_sheet(
            folder / "contact_sheet.jpg",
            pairs,
            [str(v) for v in study.values],
            lambda c, s, v: folder / "images" / f"{Path(c).stem}__{Path(s).stem}__{v}.png",
        )

    if sweep:
        folder = out / "iterations"
        (folder / "images").mkdir(parents=True, exist_ok=True)
        rows = []
        try:
            for c, s in pairs:
                run_cfg = base.replace(iterations=sweep[-1], scales="none")
                snaps: dict[int, tuple[Image.Image, float]] = {}
                label = f"iterations {Path(c).stem}+{Path(s).stem}"

                def grab(it: Iterate, lb: str = label) -> None:
                    note(lb, it)
                    if it.step in sweep:
                        snaps[it.step] = (it.pil(), it.elapsed)

                note(label, None)
                res = StyleTransfer(run_cfg).run(c, s, callback=grab)
                for n in sweep:  # counts the run did not reach (--tolerance stopped it): its final picture
                    snaps.setdefault(n, (res.image, res.seconds))
                final = folder / "images" / f"{Path(c).stem}__{Path(s).stem}__final.png"
                save_image(res.image, final)
                for n, (im, _) in sorted(snaps.items()):
                    img = folder / "images" / f"{Path(c).stem}__{Path(s).stem}__{n}.png"
                    save_image(im, img)
                for n, (_, secs) in sorted(snaps.items()):
                    img = folder / "images" / f"{Path(c).stem}__{Path(s).stem}__{n}.png"
                    row = {
                        "study": "iterations",
                        "value": n,
                        "content": Path(c).name,
                        "style": Path(s).name,
                        "steps_run": min(n, res.steps),
                        "seconds": round(secs, 2),
                    }
                    _quality(row, img, c, s, _reference(cfg, c, s))
                    row["mse_vs_final"] = round(mse(img, final), 3)
                    row["ssim_vs_final"] = round(ssim(img, final), 4)
                    rows.append(row)
        except KeyboardInterrupt:
            raise _interrupted(folder, rows) from None
        _write_tables(folder, rows)
        _plot_sweep(folder, pairs, rows)
        _contact_sheet(
            folder / "contact_sheet.jpg",
            pairs,
            [str(n) for n in sweep],
            lambda c, s, v: folder / "images" / f"{Path(c).stem}__{Path(s).stem}__{v}.png",
        )
    settings = json.dumps({"experiment": dataclasses.asdict(cfg), "transfer": dataclasses.asdict(base)}, indent=2)
    for name in [s.name for s in studies] + (["iterations"] if sweep else []):
        atomic_write(out / name / "settings.json", lambda tmp: Path(tmp).write_text(settings))
    return out


def _interrupted(folder: Path, rows: list[dict[str, Any]]) -> Interrupted:
    """The finished runs' table written, as what an interrupted experiment kept."""
    if rows:
        _write_tables(folder, rows)
        return Interrupted(Saved(f"the table of {len(rows)} finished runs", folder / "results.md", step=len(rows)))
    return Interrupted(Saved("no finished run"))


def _write_tables(folder: Path, rows: list[dict[str, Any]]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))

    def csv_file(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
    atomic_write(folder / "results.csv", csv_file)
    atomic_write(folder / "results.md", lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_curves(folder: Path, study: Study, pairs: Sequence[tuple[str, str]], curves: dict) -> None:
    plt = _plt()
    fig, axes = plt.subplots(3, len(pairs), figsize=(3.2 * len(pairs), 7.5), squeeze=False, sharex=True)
    for j, (c, s) in enumerate(pairs):
        for i, name in enumerate(("total", "content", "style")):
            ax = axes[i][j]
            for v in study.values:
                ax.plot(range(1, len(curves[(c, s, v)][i]) + 1), curves[(c, s, v)][i], label=str(v))
            if name != "content":  # content starts at 0 from the photo: linear axis
                ax.set_yscale("log")
            ax.set_title(f"{Path(c).stem}+{Path(s).stem}" if i == 0 else "", fontsize=8)
            ax.set_ylabel(f"{name} loss" if j == 0 else "")
            ax.grid(alpha=0.3)
        axes[-1][j].set_xlabel("iteration")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"loss per iteration, by {study.name}")
    fig.tight_layout()
    fig.savefig(folder / "loss_curves.png", dpi=80)
    plt.close(fig)


def _plot_summary(folder: Path, study: Study, rows: list[dict[str, Any]]) -> None:
    plt = _plt()
    metrics = ["seconds", "style_distance", "content_distance"] + (
        ["ssim_vs_reference"] if "ssim_vs_reference" in rows[0] else []
    )
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3))
    labels = [str(v) for v in study.values]
    for ax, m in zip(axes, metrics):
        means = [
            sum(r[m] for r in rows if str(r["value"]) == v) / max(1, sum(str(r["value"]) == v for r in rows))
            for v in labels
        ]
        ax.bar(labels, means, color="tab:blue")
        ax.set_title(f"{m} (mean over pairs)", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(folder / "summary.png", dpi=80)
    plt.close(fig)


def _plot_sweep(folder: Path, pairs: Sequence[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
    plt = _plt()
    metrics = ["style_distance", "content_distance", "ssim_vs_final", "mse_vs_final"]
    metrics += [m for m in ("ssim_vs_reference", "mse_vs_reference") if m in rows[0]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3))
    for ax, m in zip(axes, metrics):
        for c, s in pairs:
            pts = [(r["value"], r[m]) for r in rows if r["content"] == Path(c).name and r["style"] == Path(s).name]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{Path(c).stem}+{Path(s).stem}")
        ax.set_xscale("log")
        ax.set_xlabel("iterations")
        ax.set_title(m, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(folder / "quality_vs_iterations.png", dpi=80)
    plt.close(fig)


def _contact_sheet(
    path: Path,
    pairs: Sequence[tuple[str, str]],
    labels: list[str],
    image_for: Callable[[str, str, str], Path],
    cell: int = 160,
) -> None:
    cols = 2 + len(labels)
    pad = 16
    sheet = Image.new("RGB", (cols * cell, pad + len(pairs) * (cell + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, text in enumerate(["photo", "painting", *labels]):
        draw.text((j * cell + 4, 2), text, fill="black")
    for i, (c, s) in enumerate(pairs):
        y = pad + i * (cell + pad)
        cells: list[Any] = [c, s, *[image_for(c, s, v) for v in labels]]
        for j, p in enumerate(cells):
            if Path(p).is_file():
                im = resize_long_side(load_image(p), cell)
                sheet.paste(im, (j * cell + (cell - im.size[0]) // 2, y + (cell - im.size[1]) // 2))
    save_image(sheet, path)
