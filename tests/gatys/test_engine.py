import math

import pytest
from PIL import Image

import painterly
from painterly import StyleTransfer, TransferConfig
from painterly.errors import DivergedError, Interrupted, PainterlyError
from painterly.losses import CONTENT_LOSSES, parse_layers


def test_loss_falls_and_output_size_and_mode(content_path, style_path):
    res = StyleTransfer(size=64, iterations=15).run(content_path, style_path)
    totals = [h["total"] for h in res.history]
    assert len(totals) == 15 and res.steps == 15
    assert sum(totals[-5:]) < 0.6 * sum(totals[:5])  # falls (L-BFGS without line search may wobble)
    assert totals[-1] < 0.5 * totals[0]
    assert res.history[-1]["style"] < 0.5 * res.history[0]["style"]
    assert res.image.mode == "RGB" and res.image.size == (64, 43)  # 451x300 scaled to long side 64
    rec = res.record()
    assert rec["options"]["size"] == 64 and rec["stopped"] == "completed"
    assert set(rec["final_loss"]) == {"content", "style", "total"}


def test_api_transfer_accepts_pil_and_returns_pil(small_pair):
    c, s = small_pair
    out = painterly.transfer(Image.open(c), Image.open(s), size=40, iterations=2)
    assert isinstance(out, Image.Image) and out.size == (40, 27)


def test_api_unknown_option_suggests():
    with pytest.raises(PainterlyError, match="did you mean 'iterations'"):
        StyleTransfer(iteratons=3)


@pytest.mark.parametrize(
    "bad",
    [
        dict(size=0),
        dict(iterations=0),
        dict(style_weight=-1.0),
        dict(lr=0.0),
        dict(content_weight=math.nan),
        dict(optimizer="sgd"),
        dict(init="zeros"),
        dict(device="tpu"),
    ],
)
def test_bad_options_are_one_line_errors(bad):
    with pytest.raises(PainterlyError) as e:
        StyleTransfer(**bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("init", ["content", "noise", "style"])
def test_inits(small_pair, init):
    c, s = small_pair
    calls = []
    res = StyleTransfer(size=32, iterations=3, init=init).run(c, s, callback=calls.append)
    assert [i.step for i in calls] == [1, 2, 3]
    assert calls[0].image.shape == (1, 3, 21, 32)
    assert res.history[-1]["total"] < res.history[0]["total"]


@pytest.mark.parametrize("name", ["adam", "adamw", "nadam"])
def test_first_order_optimizers_reduce_loss(small_pair, name):
    c, s = small_pair
    res = StyleTransfer(size=32, iterations=15, optimizer=name).run(c, s)
    assert res.history[-1]["total"] < res.history[0]["total"]


def test_content_weight_only_keeps_content(small_pair):
    c, s = small_pair
    res = StyleTransfer(size=32, iterations=3, style_weight=0.0).run(c, s)
    assert res.history[0]["content"] == 0.0  # starts at the content image, nothing pulls it away


def test_layer_specs():
    assert parse_layers(["relu1_1:3", "relu2_1"], ()) == {"relu1_1": 0.75, "relu2_1": 0.25}
    assert parse_layers((), ("a", "b")) == {"a": 0.5, "b": 0.5}
    with pytest.raises(PainterlyError):
        parse_layers(["relu1_1:x"], ())
    with pytest.raises(PainterlyError):
        StyleTransfer(size=32, style_layers=("relu9_9",)).backbone


def test_divergence_stops_with_last_finite_picture(small_pair):
    c, s = small_pair
    calls = {"n": 0}

    def exploding(x, t):
        calls["n"] += 1
        base = CONTENT_LOSSES.get("mse")(x, t)
        return base * (math.nan if calls["n"] >= 4 else 1.0)

    CONTENT_LOSSES._items["test-exploding"] = exploding
    try:
        with pytest.raises(DivergedError, match="diverged at step 4") as e:
            StyleTransfer(size=32, iterations=10, content_loss="test-exploding").run(c, s)
        res = e.value.saved.result
        assert res.steps == 3 and res.stopped == "diverged"
        assert res.image.size == (32, 21)
    finally:
        del CONTENT_LOSSES._items["test-exploding"]


def test_interrupt_returns_picture_so_far(small_pair):
    c, s = small_pair

    def stop(it):
        if it.step == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as e:
        StyleTransfer(size=32, iterations=10).run(c, s, callback=stop)
    assert e.value.saved.result.steps == 2 and e.value.saved.result.stopped == "interrupted"
    # stopped while still at a coarser scale: the picture so far comes at the size asked for
    with pytest.raises(Interrupted) as e:
        StyleTransfer(size=128, iterations=10, scales="64:10").run(c, s, callback=stop)
    assert e.value.saved.result.steps == 2 and e.value.saved.result.image.size == (128, 85)


def test_config_defaults_are_paper_defaults():
    cfg = TransferConfig()
    assert cfg.backbone == "vgg19" and cfg.optimizer == "lbfgs" and cfg.init == "content"
    net = StyleTransfer(size=32).backbone
    assert net.default_content_layers == ("relu4_2",)
    assert net.default_style_layers == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert net.layer_names[-1] == "relu5_1"  # truncated after the deepest needed layer


def test_bf16_keeps_image_and_losses_fp32_and_still_converges(content_path, style_path):
    fp32 = StyleTransfer(size=64, iterations=12, precision="fp32").run(content_path, style_path)
    bf16 = StyleTransfer(size=64, iterations=12, precision="bf16").run(content_path, style_path)
    assert bf16.compute["dtype"] == "bfloat16" and fp32.compute["dtype"] == "float32"
    assert bf16.history[-1]["total"] < 0.5 * bf16.history[0]["total"]
    # same optimisation within bf16 rounding: final losses agree to 15 %
    assert abs(bf16.history[-1]["total"] - fp32.history[-1]["total"]) < 0.15 * fp32.history[-1]["total"]
    assert bf16.record()["compute"]["dtype"] == "bfloat16"


def test_coarse_to_fine_schedule(content_path, style_path):
    from painterly.gatys.schedule import parse_scales

    assert parse_scales("", 256, 30) == parse_scales("none", 256, 30) == [(256, 30)]
    # auto: halve down to >= 100 px; a quarter of the steps per finer scale (equal time per scale), at least 10
    assert parse_scales("auto", 512, 160) == [(128, 160), (256, 40), (512, 10)]
    assert parse_scales("auto", 600, 400) == [(150, 400), (300, 100), (600, 25)]
    assert parse_scales("auto", 190, 50) == [(190, 50)]
    assert parse_scales("auto", 2048, 160)[-2:] == [(1024, 10), (2048, 10)]
    assert parse_scales("64:20,128", 256, 30) == [(64, 20), (128, 30), (256, 30)]
    assert parse_scales("64:20,256:5", 256, 30) == [(64, 20), (256, 5)]
    for bad in ("x", "512:3", "64:-1"):
        with pytest.raises(PainterlyError):
            parse_scales(bad, 256, 30)
    seen = []
    res = StyleTransfer(size=64, iterations=4, scales="32:6").run(content_path, style_path, callback=seen.append)
    assert [i.scale for i in seen] == [32] * 6 + [64] * 4 and seen[-1].total == 10
    assert seen[0].image.shape[-1] == 32 and res.image.size == (64, 43)
    photo_start = StyleTransfer(size=64, iterations=1).run(content_path, style_path).history[0]["total"]
    assert res.history[6]["total"] < photo_start  # the upsampled picture starts ahead of the photo


def test_tolerance_stops_early(content_path, style_path):
    res = StyleTransfer(size=48, iterations=300, tolerance=0.02).run(content_path, style_path)
    assert 10 < res.steps < 300 and res.stopped == "completed"
    h = [x["total"] for x in res.history]
    assert h[-11] - h[-1] < 0.02 * h[-11]


def test_lbfgs_history_is_bounded_by_memory():
    from painterly.gatys.optimizers import LBFGS_HISTORY_BYTES, lbfgs_history

    assert lbfgs_history(3 * 512 * 384) == 100
    big = 3 * 2048 * 2048
    assert 5 <= lbfgs_history(big) < 100 and lbfgs_history(big) * 8 * big <= LBFGS_HISTORY_BYTES
    assert lbfgs_history(3 * 8192 * 8192) == 5


def test_the_first_step_at_a_finer_scale_makes_progress(content_path, style_path):
    # L-BFGS starts each finer scale with the coarser scale's curvature, rescaled for the pixel count; torch's
    # cold start would take a step of length 1/|g|_1 (practically nothing) there
    h = StyleTransfer(size=96, scales="48:15", iterations=3, precision="fp32").run(content_path, style_path).history
    assert h[16]["total"] < 0.97 * h[15]["total"]
