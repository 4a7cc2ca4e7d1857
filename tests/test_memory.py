"""Memory: the up-front estimate refuses what cannot fit (with a size that fits), and a real allocator failure
becomes one line."""

import re
import subprocess
import sys

import pytest
import torch

from painterly import PainterlyError, StyleTransfer
from painterly.memory import estimate_bytes, is_out_of_memory, requested_bytes


def test_estimate_grows_with_pixels_and_fp32_needs_more():
    small = estimate_bytes(512 * 512, 512 * 512, torch.bfloat16)
    big = estimate_bytes(2048 * 2048, 2048 * 2048, torch.bfloat16)
    assert big > 10 * (small - 550 * 10**6)
    assert estimate_bytes(2048 * 2048, 0, torch.float32) > estimate_bytes(2048 * 2048, 0, torch.bfloat16)
    assert big < 8 * 2**30  # the measured 2048x2048 bf16 peak is 6.2 GB


def test_too_big_a_picture_is_painted_in_tiles_and_refused_only_when_tiles_cannot_fit(monkeypatch, small_pair):
    from painterly.images import load_image

    content, style = (load_image(p) for p in small_pair)
    st = StyleTransfer(size=4096, iterations=1, precision="bf16")
    monkeypatch.setenv("PAINTERLY_MEMORY_LIMIT_GB", "4")  # the picture and L-BFGS's history fit, not the whole run
    plan = st.check_memory(content, [style])
    assert 256 <= plan.tile < 4096 and plan.seconds > 0
    monkeypatch.setenv("PAINTERLY_MEMORY_LIMIT_GB", "0.9")  # not even the picture and its optimiser state
    with pytest.raises(PainterlyError, match=r"needs about .* GB .* only 0.9 GB is free; try --size \d+"):
        st.check_memory(content, [style])


def test_an_allocator_failure_becomes_a_one_line_error(monkeypatch, small_pair):
    st = StyleTransfer(size=32, iterations=2)

    def boom(*a, **k):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 99999999999 bytes.")

    monkeypatch.setattr(type(st.backbone), "forward", boom)
    with pytest.raises(
        PainterlyError,
        match=r"ran out of memory painting 32x21 on cpu; (try --size \d+ or smaller|"
        r"free some memory or try a smaller --size)$",
    ):
        st.run(*small_pair)
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_cli_says_the_picture_does_not_fit(tmp_path, small_pair):
    out = tmp_path / "o.png"
    r = subprocess.run(
        [sys.executable, "-m", "painterly", "transfer", *map(str, small_pair), "-o", str(out), "--size", "8192", "-q"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PAINTERLY_MEMORY_LIMIT_GB": "2"},
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "try --size" in r.stderr
    assert not out.exists()


def test_requested_bytes_and_kinds_of_allocator_failure():
    cpu = RuntimeError(
        "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
        "you tried to allocate 5455872000 bytes. Error code 12 (Cannot allocate memory)"
    )
    cuda = torch.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.50 GiB. GPU 0 has a total capacity of "
        "79.19 GiB of which 1.06 GiB is free."
    )
    assert requested_bytes(cpu) == 5455872000 and requested_bytes(cuda) == int(2.5 * 2**30)
    assert all(
        map(
            is_out_of_memory,
            [cpu, cuda, MemoryError(), RuntimeError("std::bad_alloc"), RuntimeError("could not create a primitive")],
        )
    )
    assert requested_bytes(RuntimeError("std::bad_alloc")) == 0


def _limited(gb):
    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (int(gb * 2**30), int(gb * 2**30)))

    return limit


def test_apply_refuses_up_front_a_picture_that_cannot_fit(tmp_path, content_path):
    """Under a 2.5 GB address-space cap (as `ulimit -v` sets): a picture that cannot fit is refused before it
    starts, in one line naming a --size, with no output; that --size then works under the same cap."""
    import re

    out = tmp_path / "o.png"
    argv = [sys.executable, "-m", "painterly", "apply", "starry-night", str(content_path), "-o", str(out), "-q"]
    r = subprocess.run(argv + ["--size", "8000"], capture_output=True, text=True, preexec_fn=_limited(2.5))
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    m = re.search(
        r"painting 8000x\d+ needs more memory on cpu than the [\d.]+ GB free; try --size (\d+) "
        r"\(should fit\)",
        r.stderr,
    )
    assert m and not out.exists(), r.stderr
    fit = int(m.group(1))
    assert 1000 < fit < 8000
    r = subprocess.run(argv + ["--size", str(fit)], capture_output=True, text=True, preexec_fn=_limited(2.5))
    assert r.returncode == 0, r.stderr
    assert max(__import__("PIL.Image", fromlist=["Image"]).open(out).size) == fit


AFTER_FAILURE = """
import re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(2.5 * 2**30),) * 2)
import painterly.memory as memory
import painterly.feedforward.stylizer as models
from painterly import PainterlyError
memory.check_room = lambda *a, **k: None  # skip the check up front: let the allocator fail for real
model = models.Stylizer("starry-night", "cpu")
try:
    model(sys.argv[1], 8000)
    print("no failure")
except PainterlyError as e:
    print(e)
    fit = int(re.search(r"try --size (\\d+) \\(should fit\\)", str(e)).group(1))
    print("painted", model(sys.argv[1], fit).size)
"""


def test_a_real_allocator_failure_names_a_size_that_does_fit(content_path):
    """The allocator really fails (2.5 GB cap, the check up front skipped): one PainterlyError naming a --size,
    and in the same process, with the failed attempt's memory given back, that size paints."""
    r = subprocess.run([sys.executable, "-c", AFTER_FAILURE, str(content_path)], capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and len(lines) == 2, r.stdout + r.stderr
    assert re.match(r"ran out of memory painting 8000x\d+ on cpu; try --size \d+ \(should fit\)", lines[0])
    assert lines[1].startswith("painted (")


def test_untiled_adain_refuses_up_front_with_a_size_that_fits(monkeypatch, content_path):
    from painterly.adain.model import AdaIN
    from painterly.shipped import style_image_path

    scream = style_image_path("the-scream")
    monkeypatch.setenv("PAINTERLY_MEMORY_LIMIT_GB", "0.5")
    model = AdaIN(device="cpu")
    with pytest.raises(PainterlyError, match=r"needs more memory on cpu than the 0.5 GB free; try --size (\d+)") as e:
        model(content_path, scream, size=4000, tile=0)  # untiled; tiles (the default) would fit
    fit = int(re.search(r"--size (\d+)", str(e.value)).group(1))
    assert 256 < fit < 4000
    assert max(model(content_path, scream, size=fit, tile=0).size) == fit  # not refused in turn
