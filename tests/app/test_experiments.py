import csv

import pytest
from PIL import Image

from painterly.app.cli import main
from painterly.app.experiments import parse_studies
from painterly.config import ExperimentConfig
from painterly.errors import PainterlyError
from painterly.metrics import distances, mse, ssim


def test_metrics(small_pair, tmp_path):
    c, s = small_pair
    assert mse(c, c) == 0 and ssim(c, c) == pytest.approx(1.0)
    other = tmp_path / "o.png"
    Image.new("RGB", (48, 32), (128, 128, 128)).save(other)
    assert mse(c, other) > 100 and ssim(c, other) < 0.5
    d_self = distances(c, c, s)
    assert d_self["content"] == 0 and d_self["style"] > 0
    assert distances(s, c, s)["style"] < 0.05  # the painting resized to itself: near-identical Gram statistics


def test_parse_studies():
    st = parse_studies(ExperimentConfig(vary=("optimizer=lbfgs,adam", "style-weight=1,5", "preserve-color=true")))
    assert [(x.option, x.values) for x in st] == [
        ("optimizer", ["lbfgs", "adam"]),
        ("style_weight", [1.0, 5.0]),
        ("preserve_color", [True]),
    ]
    with pytest.raises(PainterlyError, match="did you mean 'optimizer'"):
        parse_studies(ExperimentConfig(vary=("optimiser=adam",)))
    with pytest.raises(PainterlyError, match="must be floats"):
        parse_studies(ExperimentConfig(vary=("style-weight=a,b",)))


def test_experiment_cli_writes_tables_plots_and_sheets(capsys, tmp_path, small_pair):
    c, s = small_pair
    ref = tmp_path / "ref.png"
    Image.open(c).save(ref)
    out = tmp_path / "exp"
    code = main(
        [
            "experiment",
            "--content",
            str(c),
            "--style",
            str(s),
            "--vary",
            "optimizer=lbfgs,adam",
            "--vary",
            "content-loss=mse,charbonnier",
            "--iterations-sweep",
            "2,4",
            "--reference",
            str(ref),
            "--size",
            "32",
            "--iterations",
            "3",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    for study in ("optimizer", "content-loss"):
        rows = list(csv.DictReader(open(out / study / "results.csv")))
        assert len(rows) == 2 and {
            "seconds",
            "final_total_loss",
            "style_distance",
            "ssim_vs_reference",
            "style_distance_x2",
            "cf",
            "ge",
            "lp",
            "lp2",
            "lattice",
        } <= set(rows[0])
        assert (out / study / "results.md").read_text().count("\n") == 4
        for png in ("loss_curves.png", "summary.png"):
            assert Image.open(out / study / png).size[0] > 100
        assert Image.open(out / study / "contact_sheet.jpg").size == (4 * 160, 16 + 176)
    rows = list(csv.DictReader(open(out / "iterations" / "results.csv")))
    assert [r["value"] for r in rows] == ["2", "4"] and float(rows[-1]["ssim_vs_final"]) == pytest.approx(1.0)
    assert (out / "iterations" / "quality_vs_iterations.png").exists()


def test_experiment_needs_something_to_compare(capsys, small_pair, tmp_path):
    c, s = small_pair
    code = main(["experiment", "--content", str(c), "--style", str(s), "--out", str(tmp_path / "e")])
    assert code == 1 and "nothing to compare" in capsys.readouterr().err


def test_backbone_study_uses_weights_for(capsys, tmp_path, small_pair):
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1] / "gatys"))
    from test_options import _torchvision_vgg_file

    from painterly.backbones.vgg import VGG16_CFG

    w = _torchvision_vgg_file(tmp_path / "vgg16.pth", VGG16_CFG)
    c, s = small_pair
    code = main(
        [
            "experiment",
            "--content",
            str(c),
            "--style",
            str(s),
            "--vary",
            "backbone=vgg19,vgg16",
            "--weights-for",
            f"vgg16={w}",
            "--size",
            "32",
            "--iterations",
            "2",
            "--out",
            str(tmp_path / "e"),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader(open(tmp_path / "e" / "backbone" / "results.csv")))
    assert [r["value"] for r in rows] == ["vgg19", "vgg16"]
    assert '"weights_for"' in (tmp_path / "e" / "backbone" / "settings.json").read_text()


def test_a_diverging_setting_is_a_row_not_a_crash(capsys, tmp_path, small_pair):
    c, s = small_pair
    code = main(
        [
            "experiment",
            "--content",
            str(c),
            "--style",
            str(s),
            "--vary",
            "lr=1,1e30",
            "--size",
            "32",
            "--iterations",
            "4",
            "--scales",
            "none",
            "--out",
            str(tmp_path / "e"),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    table = (tmp_path / "e" / "lr" / "results.md").read_text()
    assert "| completed |" in table and "| diverged |" in table


def test_ctrl_c_keeps_the_finished_runs(tmp_path, small_pair):
    import signal
    import subprocess
    import sys
    import time

    c, s = small_pair
    out = tmp_path / "e"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "painterly",
            "experiment",
            "--content",
            str(c),
            "--style",
            str(s),
            "--vary",
            "iterations=2,100000",
            "--size",
            "32",
            "--scales",
            "none",
            "--out",
            str(out),
            "-q",
        ],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = out / "iterations" / "images"
    deadline = time.time() + 120
    while not list(first.glob("*__2.png")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(3.0)  # its scores computed, well into the long run
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert f"the finished runs are in {out / 'iterations'}/results.md" in err
    rows = (out / "iterations" / "results.md").read_text().strip().splitlines()[2:]
    assert len(rows) == 1 and "| 2 |" in rows[0]


def test_a_bundled_painting_by_name(capsys, tmp_path, small_pair):
    c, _ = small_pair
    code = main(
        [
            "experiment",
            "--content",
            str(c),
            "--style",
            "the-scream",
            "--vary",
            "optimizer=adam",
            "--size",
            "32",
            "--iterations",
            "1",
            "--scales",
            "none",
            "--out",
            str(tmp_path / "e"),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "| the-scream.jpg |" in (tmp_path / "e" / "optimizer" / "results.md").read_text()
