"""The CLI end to end: every flag of `painterly transfer` and `painterly layers`, and bad input."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from painterly.app.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_transfer_end_to_end_64px(capsys, tmp_path, content_path, style_path):
    out = tmp_path / "out.png"
    code, _, err = run(
        capsys, "transfer", content_path, style_path, "-o", out, "--size", 64, "--iterations", 4, "--save-every", 2
    )
    assert code == 0, err
    img = Image.open(out)
    assert img.size == (64, 43) and img.mode == "RGB"
    rec = json.loads(out.with_suffix(".json").read_text())
    assert rec["options"]["size"] == 64 and rec["options"]["iterations"] == 4
    assert rec["steps"] == 4 and rec["seconds"] > 0 and rec["painterly_version"]
    assert set(rec["final_loss"]) >= {"content", "style", "total"}
    assert (tmp_path / "out.step0002.png").exists()
    assert "step" in err and "wrote" in err  # progress bar and summary on stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "out.png", "out.step0002.png"]


def test_transfer_all_engine_flags(capsys, tmp_path, small_pair):
    c, s = small_pair
    out = tmp_path / "o.jpg"
    code, _, err = run(
        capsys,
        "transfer",
        c,
        s,
        "-o",
        out,
        "--size",
        32,
        "--iterations",
        3,
        "--content-weight",
        2,
        "--style-weight",
        5,
        "--tv-weight",
        0.1,
        "--content-layers",
        "relu3_2",
        "--style-layers",
        "relu1_1:2",
        "relu2_1",
        "--content-loss",
        "mse",
        "--backbone",
        "vgg19",
        "--pool",
        "avg",
        "--optimizer",
        "adam",
        "--lr",
        0.05,
        "--init",
        "noise",
        "--style-scale",
        1.5,
        "--seed",
        3,
        "--device",
        "cpu",
        "--precision",
        "bf16",
        "--scales",
        "16:2",
        "--tolerance",
        "0.001",
        "--quiet",
    )
    assert code == 0, err
    assert err == ""  # --quiet: nothing on stderr
    rec = json.loads(out.with_suffix(".json").read_text())["options"]
    assert rec["style_layers"] == ["relu1_1:2", "relu2_1"] and rec["pool"] == "avg" and rec["lr"] == 0.05
    compute = json.loads(out.with_suffix(".json").read_text())["compute"]
    assert compute["dtype"] == "bfloat16" and compute["scales"] == "16:2,32:3"
    assert "tv" in json.loads(out.with_suffix(".json").read_text())["final_loss"]


def test_weights_flag_uses_given_file(capsys, tmp_path, small_pair):
    c, s = small_pair
    code, _, err = run(
        capsys,
        "transfer",
        c,
        s,
        "-o",
        tmp_path / "o.png",
        "--weights",
        tmp_path / "none.bin",
        "--size",
        32,
        "--iterations",
        1,
    )
    assert code == 1 and "none.bin" in err and "not found" in err
    assert not (tmp_path / "o.png").exists()


def test_layers_command(capsys):
    code, out, _ = run(capsys, "layers")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "conv1_1" and "relu4_2  (content default)" in lines
    assert sum("style default" in line for line in lines) == 5


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--size", "0"], "--size must be at least 1"),
        (["--size", "-5"], "--size must be at least 1"),
        (["--iterations", "abc"], "invalid int value"),
        (["--style-layers", "relu4_22"], "did you mean 'relu4_2'"),
        (["--optimizer", "lbgfs"], "did you mean 'lbfgs'"),
        (["--save-every", "-1"], "--save-every must be at least 0"),
    ],
)
def test_bad_flags_are_one_line_errors(capsys, tmp_path, small_pair, argv, match):
    c, s = small_pair
    out = tmp_path / "o.png"
    code, _, err = run_catching(capsys, "transfer", c, s, "-o", out, "--iterations", 1, *argv)
    assert code in (1, 2) and match in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def run_catching(capsys, *argv):
    try:
        return run(capsys, *argv)
    except SystemExit as e:  # argparse exits for usage errors
        out, err = capsys.readouterr()
        return e.code, out, err


@pytest.mark.parametrize("which", ["content", "style"])
@pytest.mark.parametrize(
    "kind, match", [("missing", "does not exist"), ("text", "not an image"), ("dir", "is a directory")]
)
def test_bad_images(capsys, tmp_path, small_pair, which, kind, match):
    c, s = small_pair
    bad = tmp_path / "bad.jpg"
    if kind == "text":
        bad.write_text("nope")
    elif kind == "dir":
        bad.mkdir()
    args = (bad, s) if which == "content" else (c, bad)
    out = tmp_path / "o.png"
    code, _, err = run(capsys, "transfer", *args, "-o", out, "--iterations", 1)
    assert code == 1 and f"{which} image" in err and match in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_output_paths(capsys, tmp_path, small_pair):
    c, s = small_pair
    code, _, err = run(capsys, "transfer", c, s, "-o", tmp_path / "missing" / "o.png")
    assert code == 1 and "does not exist" in err
    code, _, err = run(capsys, "transfer", c, s, "-o", tmp_path / "o.gifx")
    assert code == 1 and "unsupported extension" in err
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        code, _, err = run(capsys, "transfer", c, s, "-o", ro / "o.png")
        assert code == 1 and "not writable" in err
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_python_dash_m_and_a_signal_saves_picture_so_far(sig, tmp_path, content_path, style_path):
    out = tmp_path / "o.png"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "painterly",
            "transfer",
            str(content_path),
            str(style_path),
            "-o",
            str(out),
            "--size",
            "64",
            "--iterations",
            "100000",
        ],
        stderr=subprocess.PIPE,
        text=True,
        # a runner started in the background (nohup ... &) ignores SIGINT, and children inherit it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    buf = ""
    while time.time() < deadline and not re.search(r"\| [1-9]\d*/100000", buf):  # wait for a finished step
        buf += proc.stderr.read(1)
    time.sleep(1.0)
    proc.send_signal(sig)
    err = buf + proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and f"saved the picture so far to {out}" in err and "Traceback" not in err
    assert Image.open(out).size == (64, 43)
    assert json.loads(out.with_suffix(".json").read_text())["stopped"] == "interrupted"


def test_no_command_prints_help(capsys):
    code, _, err = run(capsys)
    assert code == 2 and "transfer" in err


def test_layers_of_another_backbone_with_weights_file(capsys, tmp_path):
    import torch

    from painterly.backbones.vgg import VGG, VGG16_CFG

    net = VGG("x", VGG16_CFG, "max", "torchvision")
    torch.save({f"features.{k}": v for k, v in net.layers.state_dict().items()}, tmp_path / "v.pth")
    code, out, _ = run(capsys, "layers", "--backbone", "vgg16", "--weights", tmp_path / "v.pth")
    assert code == 0 and "relu3_3  (style default)" in out.splitlines() and "relu2_2  (content, style default)" in out


def test_bench_transfer_json(capsys):
    # (--vs-pastiche, which times pastiche's CLI beside it, is exercised by benchmarks/, not here: two more
    # processes that each load VGG19)
    code, out, _ = run(capsys, "bench", "transfer", "--size", 32, "--steps", 1, "--json")
    assert code == 0
    res = json.loads(out.strip().splitlines()[-1])
    assert res["size"] == 32 and all(v > 0 for v in res["seconds_per_step"].values())
    assert "fp32" in res["seconds_per_step"] and "fp32-channels-last" in res["seconds_per_step"]
    assert "speedup_vs_pastiche" not in res


def test_bench_times_one_scale_at_the_requested_size(monkeypatch, content_path, style_path):
    import painterly.app.bench as bench

    sides = []
    real = bench.StyleTransfer

    class Spy(real):
        def run(self, *a, **k):
            res = real.run(self, *a, **k)
            sides.append(res.compute["scales"])
            return res

    monkeypatch.setattr(bench, "StyleTransfer", Spy)
    bench.seconds_per_step(str(content_path), str(style_path), 256, 1, "fp32")
    assert sides == ["256:3"]


def test_bench_feedforward_json(capsys):
    code, out, _ = run(capsys, "bench", "feedforward", "--size", 32, "--runs", 1, "--json")
    assert code == 0
    res = json.loads(out.strip().splitlines()[-1])
    assert {"johnson", "depsep", "depsep-nn", "depsep-nn-bil", "fast"} <= set(res) and all(v > 0 for v in res.values())


def test_the_command_exits_quickly_with_its_output_whole_and_its_status(tmp_path, content_path):
    """`painterly` ends without tearing torch down: the picture is whole, the status is the command's, what it
    printed arrives (also through a pipe), a temporary folder made with an exit handler is gone, and a process
    whose threads still work exits the usual way."""
    out = tmp_path / "o.png"
    r = subprocess.run(
        [sys.executable, "-m", "painterly", "apply", "starry-night", str(content_path), "-o", str(out), "--size", "64"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and "wrote" in r.stderr, r.stderr
    assert Image.open(out).size[0] == 64 and Image.open(out).load() is not None
    r = subprocess.run([sys.executable, "-m", "painterly", "models", "--json"], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)
    r = subprocess.run(
        [sys.executable, "-m", "painterly", "apply", "nope", str(content_path), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr and "nope" in r.stderr
    script = (
        "import tempfile, threading, time, sys\n"
        "from painterly.app import cli\n"
        "d = tempfile.TemporaryDirectory(); print(d.name, flush=True)\n"
        "if sys.argv[1] == 'thread':\n"
        "    threading.Thread(target=lambda: (time.sleep(0.5), print('thread done', flush=True))).start()\n"
        "cli.exit_quickly(3)\n"
    )
    for mode in ("plain", "thread"):
        r = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True)
        folder = r.stdout.splitlines()[0]
        assert r.returncode == 3 and not Path(folder).exists(), (mode, r)
        assert ("thread done" in r.stdout) == (mode == "thread")
