"""Training feed-forward networks: a loss that falls, self-describing checkpoints that load with weights_only=True,
resume, apply (image and folder), bad data, and DistributedDataParallel with 2 CPU processes (gloo)."""

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from painterly import PainterlyError
from painterly.checkpoint import load_checkpoint
from painterly.config import TrainConfig
from painterly.feedforward.stylizer import Stylizer
from painterly.feedforward.train import jittered, train
from painterly.metrics import distances
from painterly.training import scan_photos

ARCHS = [
    "johnson",
    "johnson-nn",
    "depsep",
    "depsep-nn",
    "depsep-nn-bil",
    "fast",
    "realtime",
    "realtime-nn",
    "realtime-bil",
]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Six small photo-like images in nested folders, plus a text file and a broken JPEG to be skipped."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(6):
        yy, xx = np.mgrid[0:40, 0:48]
        img = np.stack([xx * (3 + i), yy * 5, (xx + yy) * 2 + 20 * i], -1) % 256
        img = (img + rng.integers(0, 30, img.shape)).clip(0, 255).astype(np.uint8)
        sub = root / ("a" if i % 2 else "b")
        sub.mkdir(exist_ok=True)
        Image.fromarray(img).save(sub / f"p{i}.png")
    (root / "notes.txt").write_text("not an image")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    return root


def _train_args(style_path, photos, model, steps: int, batch_size: int = 2) -> list[str]:
    """`painterly train`'s arguments for a tiny run on the test photos (the CLI's side of :func:`_cfg`)."""
    return [
        "train",
        str(style_path),
        "--data",
        str(photos),
        "-o",
        str(model),
        "--steps",
        str(steps),
        "--batch-size",
        str(batch_size),
        "--image-size",
        "32",
        "--workers",
        "0",
    ]


def _cfg(tmp_path, photos, style_path, **kw):
    base = dict(
        style=str(style_path),
        data=str(photos),
        output=str(tmp_path / "m.pt"),
        steps=6,
        batch_size=2,
        image_size=32,
        workers=0,
        preview_every=3,
        checkpoint_every=0,
        precision="fp32",
        lr=3e-3,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_scan_skips_unreadable_files(photos):
    good, bad = scan_photos(photos)
    assert len(good) == 6 and bad == 1  # the .txt is not an image suffix; the broken .jpg is counted
    with pytest.raises(PainterlyError, match="not found"):
        scan_photos(photos / "nope")


@pytest.mark.parametrize("arch", ARCHS)
def test_each_architecture_trains_and_round_trips(arch, tmp_path, photos, style_path):
    seen = []
    out = train(_cfg(tmp_path, photos, style_path, arch=arch, steps=8), seen.append)
    assert [it.step for it in seen] == list(range(1, 9))
    first = np.mean([it.terms["total"] for it in seen[:2]])
    last = np.mean([it.terms["total"] for it in seen[-2:]])
    assert last < first  # the loss falls within a few steps
    ck = torch.load(out, weights_only=True)
    assert ck["arch"] == arch and ck["step"] == 8 and [s["name"] for s in ck["styles"]] == [Path(style_path).name]
    assert ck["styles"][0]["thumbnail"].dtype == torch.uint8 and ck["loss"]["style_weight"] == 5.0
    assert "optimizer" in ck and ck["painterly_version"]
    assert (tmp_path / "m.preview.jpg").is_file()
    model = Stylizer(str(out), "cpu")
    img = model(Image.new("RGB", (45, 30), (120, 80, 40)))
    assert img.size == (45, 30)


@pytest.fixture(scope="module")
def two_paintings(tmp_path_factory):
    root = tmp_path_factory.mktemp("paintings")
    rng = np.random.default_rng(1)
    a = np.zeros((48, 48, 3), np.uint8)
    a[:, ::6] = (240, 200, 20)  # yellow stripes on black
    b = (rng.random((48, 48, 3)) * 80 + np.array([20, 60, 160])).astype(np.uint8)  # blue noise
    Image.fromarray(a).save(root / "stripes.png")
    Image.fromarray(b).save(root / "blue.png")
    return root / "stripes.png", root / "blue.png"


def test_one_conditional_network_learns_several_paintings(tmp_path, photos, two_paintings, content_path):
    """Several paintings: one network with conditional instance normalisation (Dumoulin et al. 2017); each
    painting is chosen by name, blends by --mix, and the checkpoint lists the paintings."""
    a, b = two_paintings
    out = train(_cfg(tmp_path, photos, a, extra_style=(str(b),), arch="realtime", steps=80, lr=1e-2, style_weight=20.0))
    ck = load_checkpoint(out)
    assert ck["settings"]["norm"] == "conditional" and ck["settings"]["styles"] == 2
    assert [s["name"] for s in ck["styles"]] == ["stripes.png", "blue.png"]
    photo = Image.open(content_path).convert("RGB").resize((48, 32))
    pictures = {name: Stylizer(str(out), "cpu", mix=name)(photo) for name in ("stripes", "blue")}
    for name, other in (("stripes", b), ("blue", a)):  # each picture is closer to its own painting
        own = a if name == "stripes" else b
        assert distances(pictures[name], photo, own)["style"] < distances(pictures[name], photo, other)["style"]
    stripes, blue = (np.asarray(pictures[k], np.float64) for k in ("stripes", "blue"))
    half = Stylizer(str(out), "cpu", mix="stripes:1,blue:1")
    assert half.name == "stripes:0.5+blue:0.5"
    mid = np.asarray(half(photo), np.float64)
    assert np.abs(mid - stripes).mean() > 1 and np.abs(mid - blue).mean() > 1
    with pytest.raises(PainterlyError, match="holds 2 paintings"):
        Stylizer(str(out), "cpu")
    with pytest.raises(PainterlyError, match="did you mean 'blue'"):
        Stylizer(str(out), "cpu", mix="bleu")
    with pytest.raises(PainterlyError, match="not a number"):
        Stylizer(str(out), "cpu", mix="blue:x")
    # resume needs the same paintings' count
    with pytest.raises(PainterlyError, match="--resume"):
        train(_cfg(tmp_path, photos, a, steps=81, resume=True, arch="realtime"))
    # a third painting added by training its normalisation parameters only: the others paint as before
    third = tmp_path / "red.png"
    Image.new("RGB", (40, 40), (200, 30, 30)).save(third)
    grown = train(
        _cfg(
            tmp_path,
            photos,
            third,
            extend=str(out),
            output=str(tmp_path / "grown.pt"),
            steps=10,
            lr=1e-2,
            style_weight=20.0,
        )
    )
    ck2 = load_checkpoint(grown)
    assert [s["name"] for s in ck2["styles"]] == ["stripes.png", "blue.png", "red.png"]
    assert ck2["arch"] == "realtime" and ck2["settings"]["styles"] == 3
    for k, v in ck["state_dict"].items():
        if ck2["state_dict"][k].shape == v.shape:
            assert torch.equal(ck2["state_dict"][k], v), k  # shared weights untouched
        else:
            assert torch.equal(ck2["state_dict"][k][:2], v), k  # the known paintings' rows untouched
    again = Stylizer(str(grown), "cpu", mix="stripes")(photo)
    assert np.array_equal(np.asarray(again), np.asarray(pictures["stripes"]))
    red = np.asarray(Stylizer(str(grown), "cpu", mix="red")(photo), np.float64)
    assert red[..., 0].mean() > np.asarray(pictures["blue"], np.float64)[..., 0].mean()
    with pytest.raises(PainterlyError, match="holds one painting"):
        train(_cfg(tmp_path, photos, third, extend=str(_single(tmp_path, photos, a)), steps=2))


def _single(tmp_path, photos, painting):
    return train(_cfg(tmp_path, photos, painting, arch="realtime", steps=1, output=str(tmp_path / "single.pt")))


def test_stroke_scale_makes_strokes_larger_without_retraining(tmp_path, photos, two_paintings, content_path):
    """--stroke-scale S paints at 1/S of the size and restores the photo's edges: the stripes' period in the
    picture grows with S, the size stays the same, and the edges follow the photo."""
    out = train(_cfg(tmp_path, photos, two_paintings[0], arch="realtime", steps=30, lr=1e-2, style_weight=20.0))
    photo = Image.open(content_path).convert("RGB").resize((96, 64))

    def fine_energy(img):  # share of the energy in the finest horizontal detail (period about 2-4 px)
        g = np.asarray(img.convert("L"), np.float64)
        spec = np.abs(np.fft.rfft(g - g.mean(axis=1, keepdims=True), axis=1)).mean(0)
        return spec[len(spec) // 2 :].sum() / spec[1:].sum()

    one, two = (Stylizer(str(out), "cpu", stroke_scale=s)(photo) for s in (1.0, 2.0))
    assert one.size == two.size == (96, 64)
    assert fine_energy(two) < 0.8 * fine_energy(one)
    small = Stylizer(str(out), "cpu", stroke_scale=0.5)(photo)
    assert small.size == (96, 64)
    with pytest.raises(PainterlyError, match="stroke-scale"):
        Stylizer(str(out), "cpu", stroke_scale=0)


def test_resume_continues_from_the_saved_step(tmp_path, photos, style_path):
    train(_cfg(tmp_path, photos, style_path, steps=3))
    seen = []
    train(_cfg(tmp_path, photos, style_path, steps=5, resume=True), seen.append)
    assert [it.step for it in seen] == [4, 5]
    ck = load_checkpoint(tmp_path / "m.pt")
    assert ck["step"] == 5 and ck["seconds"] > 0  # training time summed over both runs
    before = (tmp_path / "m.pt").read_bytes()
    train(_cfg(tmp_path, photos, style_path, steps=4, resume=True, style_weight=9.0), seen.append)
    assert (tmp_path / "m.pt").read_bytes() == before and len(seen) == 2  # trained past 4 already: untouched
    with pytest.raises(PainterlyError, match="--resume"):
        train(_cfg(tmp_path, photos, style_path, steps=6, resume=True, arch="depsep"))


def test_jitter_crops_photo_and_picture_alike_and_replays(tmp_path, photos, style_path):
    """Each photo and its picture cut at the same random offset, another for each photo, the same for the same
    seed (a resumed run replays it); small crops take a smaller shift; and a run trains with it."""
    x = torch.arange(2 * 3 * 64 * 64, dtype=torch.float32).reshape(2, 3, 64, 64)
    y = x + 0.5
    cx, cy = jittered(x, y, 16, seed=7)
    assert cx.shape == cy.shape == (2, 3, 48, 48) and torch.equal(cy, cx + 0.5)
    corners = [int(c[0, 0, 0]) for c in cx]  # the offset of each crop, read back from its first value
    offsets = [divmod(c - i * 3 * 64 * 64, 64) for i, c in enumerate(corners)]
    assert all(0 <= a <= 16 and 0 <= b <= 16 for a, b in offsets)
    assert torch.equal(jittered(x, y, 16, seed=7)[0], cx)
    assert len({tuple(o) for seed in range(6) for o in [divmod(int(jittered(x, y, 16, seed)[0][0, 0, 0, 0]), 64)]}) > 1
    assert jittered(x[..., :20, :20], y[..., :20, :20], 16, seed=1)[0].shape[-2:] == (15, 15)  # a quarter at most
    train(_cfg(tmp_path, photos, style_path, steps=2, jitter=8))
    assert load_checkpoint(tmp_path / "m.pt")["train"]["jitter"] == 8


def test_noise_input_trains_paints_the_same_every_time_and_exports(tmp_path, photos, style_path, content_path, cli):
    """--noise: fresh noise while training, a fixed field when painting (the same picture twice, and the same for
    every picture of a batch), at any size, from a checkpoint that describes it; ONNX gives the same picture;
    a network without the setting says so in one line."""
    model = train(_cfg(tmp_path, photos, style_path, arch="realtime-nn", steps=2, noise=3, preview_every=0))
    ck = load_checkpoint(model)
    assert ck["settings"]["noise"] == 3 and ck["train"]["noise"] == 3
    assert "field" not in ck["state_dict"]  # made anew from its seed
    # a resumed run draws the same noise as an uninterrupted one
    cut = tmp_path / "cut.pt"
    train(_cfg(tmp_path, photos, style_path, arch="realtime-nn", steps=1, noise=3, preview_every=0, output=str(cut)))
    again = dict(arch="realtime-nn", steps=2, noise=3, preview_every=0, output=str(cut), resume=True)
    train(_cfg(tmp_path, photos, style_path, **again))
    assert torch.allclose(load_checkpoint(cut)["history"]["total"], ck["history"]["total"], rtol=1e-4)
    stylizer = Stylizer(str(model))
    x = torch.rand(1, 3, 37, 53)
    a, b = stylizer.tensor(x), stylizer.tensor(x)
    assert torch.equal(a, b) and a.shape == (1, 3, 37, 53)
    pair = stylizer.tensor(torch.cat([x, x]))  # every picture of a batch gets the same field
    assert torch.equal(pair[0], pair[1]) and (pair[1:] - a).abs().max() < 0.02  # a batch may round otherwise in bf16
    from painterly.feedforward.networks import create_network

    n = create_network("realtime-nn", noise=3).train()
    assert not torch.equal(n(x), n(x))  # fresh noise every training step
    n.eval()
    assert n(torch.rand(1, 3, 1100, 24)).shape == (1, 3, 1100, 24)  # beyond the field's 1,024 px: repeated
    pytest.importorskip("onnxruntime")
    from painterly.feedforward.export import export_onnx

    diffs = export_onnx(str(model), tmp_path / "m.onnx", check_sizes=((32, 48), (37, 53)))
    assert max(diffs.values()) < 1e-3
    r = cli(*_train_args(style_path, photos, tmp_path / "j.pt", 1), "--arch", "johnson", "--noise", "2", "-q")
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == "painterly: error: the johnson network has no setting noise"


def test_cli_train_apply_models(tmp_path, photos, style_path, content_path, cli):
    model = tmp_path / "cli.pt"
    r = cli(*_train_args(style_path, photos, model, 2), "--quiet")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out.png"
    r = cli("apply", str(model), str(content_path), "-o", str(out), "--size", "40", "-q")
    assert r.returncode == 0, r.stderr
    assert max(Image.open(out).size) == 40
    folder = tmp_path / "styled"
    r = cli("apply", str(model), str(photos), "-o", str(folder), "-q")
    assert r.returncode == 0 and len(list(folder.rglob("*.png"))) == 6
    assert "broken.jpg" in r.stderr  # reported and skipped
    r = cli("apply", str(tmp_path / "nope.pt"), str(content_path), "-o", str(out))
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    r = cli("models", "--json")
    assert r.returncode == 0 and isinstance(json.loads(r.stdout.strip().splitlines()[-1]), list)


def test_ddp_with_two_cpu_processes(tmp_path, photos, style_path):
    model = tmp_path / "ddp.pt"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port=29533",
            "-m",
            "painterly",
            *_train_args(style_path, photos, model, 3, batch_size=1),
            "--quiet",
            "--precision",
            "fp32",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    ck = load_checkpoint(model)
    assert ck["step"] == 3 and ck["arch"] == "johnson"
    assert not any(k.startswith("module.") for k in ck["state_dict"])


def test_export_onnx_matches_pytorch_at_other_sizes(tmp_path, photos, style_path, cli):
    pytest.importorskip("onnxruntime")
    from painterly.feedforward.export import export_onnx

    model = train(_cfg(tmp_path, photos, style_path, arch="fast", steps=1, preview_every=0))
    diffs = export_onnx(str(model), tmp_path / "m.onnx", check_sizes=((32, 48), (37, 53)))
    assert (tmp_path / "m.onnx").stat().st_size > 100_000 and max(diffs.values()) < 1e-3
    r = cli("export", str(model), "-o", str(tmp_path / "m.txt"))
    assert r.returncode == 1 and "unsupported extension" in r.stderr


def test_interrupt_saves_the_last_finished_step(tmp_path, photos, style_path):
    from painterly.errors import Interrupted

    def stop(it):
        if it.step == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as e:
        train(_cfg(tmp_path, photos, style_path, steps=10, preview_every=0), stop)
    assert e.value.saved.step == 2 and load_checkpoint(e.value.saved.path)["step"] == 2
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_killed_midway_then_resumed_gives_the_uninterrupted_loss_curve(sig, tmp_path, photos, style_path):
    """`painterly train` stopped by a signal half-way saves a checkpoint; `--resume` continues it so that the whole
    loss curve matches an uninterrupted run (same batches, same crops, same optimiser state)."""
    steps = 24
    model = tmp_path / "cut.pt"
    argv = [
        sys.executable,
        "-m",
        "painterly",
        *_train_args(style_path, photos, model, steps),
        "--precision",
        "fp32",
        "--lr",
        "3e-3",
        "--preview-every",
        "0",
        "--checkpoint-every",
        "3",
        "--style-size",
        "64",
        "-q",
    ]
    # the uninterrupted run the same way (same process kind, same threads: the curves then agree to rounding)
    whole = tmp_path / "whole.pt"
    r = subprocess.run([*argv[:-1], "-o", str(whole), "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    expected = load_checkpoint(whole)["history"]["total"]
    proc = subprocess.Popen(
        argv, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    deadline = time.time() + 120
    while not model.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(sig)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    m = re.search(r"saved the checkpoint at step (\d+) to (\S+) \(continue with --resume\)", err)
    assert m and Path(m.group(2)) == model and "Traceback" not in err, err
    cut = int(m.group(1))
    assert 3 <= cut < steps  # stopped midway
    ck = load_checkpoint(model)
    assert ck["step"] == cut and len(ck["history"]["total"]) == cut
    r = subprocess.run(argv + ["--resume"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = load_checkpoint(model)["history"]["total"]
    assert len(got) == steps
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=0)  # the same curve, within noise


def test_divergence_stops_with_a_message_and_keeps_the_last_checkpoint(tmp_path, photos, style_path, capsys):
    from painterly.app.cli import main

    model = tmp_path / "m.pt"
    argv = [*_train_args(style_path, photos, model, 4), "--precision", "fp32", "--preview-every", "0", "-q"]
    assert main(argv) == 0
    before = model.read_bytes()
    assert main(argv + ["--steps", "10", "--resume", "--lr", "1e12"]) == 1  # a learning rate that blows up
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(
        r"training diverged at step [56] \(loss (nan|inf)\); the checkpoint of step 4 at .*m.pt is kept", err
    )
    assert model.read_bytes() == before and load_checkpoint(model)["step"] == 4
