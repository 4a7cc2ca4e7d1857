"""`painterly serve`: the page in a real browser (headless Chromium through Playwright), the API endpoint through
gradio_client (one call, a burst of 8, bad uploads), and the server's guards (localhost, no file reading)."""

import os
import shutil
import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio", reason="the web extra is not installed (pip install 'painterly[web]')")
from gradio_client import Client, handle_file  # noqa: E402

from painterly.app.web import paintings, serve  # noqa: E402
from painterly.config import ServeConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    app = serve(ServeConfig(port=port, max_size=256), block=False)
    yield f"http://127.0.0.1:{port}/", app
    app.close()


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    p = tmp_path_factory.mktemp("web") / "photo.png"
    Image.open(ROOT / "examples" / "chelsea.jpg").convert("RGB").resize((96, 64)).save(p)
    return p


def test_binds_to_localhost_by_default(server):
    assert ServeConfig().host == "127.0.0.1"
    url, app = server
    assert app.server_name == "127.0.0.1"


def test_api_transfer(server, photo):
    url, _ = server
    out = Client(url, verbose=False).predict(
        handle_file(str(photo)), handle_file(str(paintings()[0][1])), api_name="/transfer"
    )
    img = Image.open(out)
    assert img.size == (96, 64)
    assert np.abs(np.asarray(img, np.float32) - np.asarray(Image.open(photo), np.float32)).mean() > 10


def test_api_burst_of_eight(server, photo, tmp_path):
    url, _ = server
    style = handle_file(str(paintings()[1][1]))

    def call(i):  # each client downloads into its own folder (gradio_client's shared cache races)
        return Image.open(
            Client(url, verbose=False, download_files=tmp_path / str(i)).predict(
                handle_file(str(photo)), style, api_name="/transfer"
            )
        ).size

    with ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(call, range(8)))
    assert sizes == [(96, 64)] * 8


def test_api_bad_upload_is_a_message(server, tmp_path, photo):
    url, _ = server
    bad = tmp_path / "fake.png"
    bad.write_text("not an image")
    with pytest.raises(Exception) as e:
        Client(url, verbose=False).predict(handle_file(str(bad)), handle_file(str(photo)), api_name="/transfer")
    assert "not an image" in str(e.value) or "cannot" in str(e.value).lower(), str(e.value)


def test_no_file_outside_the_app_is_served(server):
    url, _ = server
    for path in (
        "gradio_api/file=/etc/passwd",
        "gradio_api/file=../../../../etc/passwd",
        f"gradio_api/file={ROOT / 'pyproject.toml'}",
        "file=/etc/passwd",
    ):
        try:
            with urllib.request.urlopen(url + path) as r:
                body = r.read()
            assert b"root:" not in body and b"[project]" not in body, path
        except urllib.error.HTTPError as e:
            assert e.code in (403, 404, 400), (path, e.code)


def test_api_parameters_cannot_name_a_server_file(server):
    """The API's file parameters must be uploads: a payload naming a file on the server (an image the server could
    read, or /etc/passwd) is refused."""
    import json

    url, _ = server
    call = url + "gradio_api/call/transfer"
    for path in (ROOT / "examples" / "chelsea.jpg", Path("/etc/passwd"), Path("/tmp/../etc/passwd")):
        data = {
            "data": [
                {"path": str(path), "meta": {"_type": "gradio.FileData"}},
                {"path": str(ROOT / "examples" / "starry_night.jpg"), "meta": {"_type": "gradio.FileData"}},
            ]
        }
        req = urllib.request.Request(call, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            event = json.loads(r.read())["event_id"]
        with urllib.request.urlopen(f"{call}/{event}") as r:
            body = r.read().decode()
        assert "event: error" in body and "not uploaded by a user" in body, body[:300]


@pytest.mark.skipif(not CHROMIUM, reason="Chromium is not installed (Debian: apt install chromium chromium-driver)")
def test_page_in_a_real_browser(server, photo):
    """Load the page, upload a photo, pick a painting, paint with a shipped model; the result appears."""
    from playwright.sync_api import sync_playwright

    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        page.locator("input[type=file]").first.set_input_files(str(photo))
        page.locator("#paintings button.thumbnail-item").nth(1).click()
        page.get_by_text("Painting: **", exact=False)
        page.get_by_role("button", name="Paint", exact=True).click()
        page.wait_for_selector("#result img", timeout=60_000)
        page.wait_for_selector("#status:has-text('done')", timeout=60_000)
        src = page.locator("#result img").get_attribute("src")
        assert src
        if os.environ.get("PAINTERLY_SCREENSHOT"):
            page.screenshot(path=os.environ["PAINTERLY_SCREENSHOT"], full_page=True)
        browser.close()


def test_painter_limits_and_methods(tmp_path, photo):
    """The page's work without the page: upload limits, each method, live pictures and cancel for optimisation."""
    import threading

    from painterly.app.web import METHODS, Painter
    from painterly.errors import PainterlyError

    p = Painter(ServeConfig(max_bytes=20_000, max_pixels=100 * 100, max_size=128))
    big = tmp_path / "big.png"
    Image.fromarray((np.random.default_rng(0).random((120, 120, 3)) * 255).astype(np.uint8)).save(big)
    with pytest.raises(PainterlyError, match="bytes, above the limit"):
        p.image(big, "photo")
    wide = tmp_path / "wide.png"
    Image.new("RGB", (200, 60)).save(wide)
    with pytest.raises(PainterlyError, match="above the limit of 10,000"):
        p.image(wide, "photo")
    with pytest.raises(PainterlyError, match="no photo"):
        p.image(None, "photo")
    for index in (99, -1, "abc", None, 1.5e300):
        with pytest.raises(PainterlyError, match="pick a painting"):
            p.painting(index, None)
    # no parameter names a file on the server: a model by path (a real one) is refused like any unknown name
    from painterly.shipped import shipped_models

    real = str(next(iter(shipped_models().values())))
    for name in (real, "../" * 8 + "etc/passwd", "/etc/passwd"):
        with pytest.raises(PainterlyError, match="no shipped model named"):
            p.model(name)
    img = p.image(photo, "photo")
    name, painting = p.painting(0, None)
    for method in (*METHODS[:2], METHODS[3]):
        out, status, done = list(p.paint(img, name, painting, method, 64, 1.0, False, 10))[-1]
        assert max(out.size) == 64 and "done" in status and done == 1.0
    # a shipped model with larger strokes and blended with another shipped painting (each its own network)
    plain = np.asarray(list(p.paint(img, name, painting, METHODS[0], 64, 1.0, False, 10))[-1][0], np.float64)
    other = sorted(shipped_models())[1] if sorted(shipped_models())[0] == name else sorted(shipped_models())[0]
    for kw in ({"stroke_scale": 2.0}, {"blend_with": other, "blend": 0.5}):
        out = np.asarray(list(p.paint(img, name, painting, METHODS[0], 64, 1.0, False, 10, **kw))[-1][0], np.float64)
        assert out.shape == plain.shape and np.abs(out - plain).mean() > 2, kw
    with pytest.raises(PainterlyError, match="no shipped model"):
        list(p.paint(img, "no-such-painting", painting, METHODS[0], 64, 1.0, False, 10))
    steps = list(p.paint(img, name, painting, METHODS[2], 48, 1.0, False, 20))
    assert len(steps) >= 3 and "step 10 of" in steps[0][1] and "done" in steps[-1][1]
    assert 0 < steps[0][2] < 1 and steps[-1][2] == 1  # the fraction for the progress bar
    cancel = threading.Event()
    seen = []
    for _, status, _ in p.paint(img, name, painting, METHODS[2], 48, 1.0, False, 10**12, cancel):
        seen.append(status)
        cancel.set()
    assert "stopped at step" in seen[-1] and len(seen) <= 3
    assert "of 500" in seen[0]  # a request cannot ask for more steps than --max-iterations
    # a drawn mask (the editor's layers, flattened): the top half takes the painting, the bottom keeps the photo
    drawn = np.zeros((64, 96, 4), np.uint8)
    drawn[:32] = 255
    out, status, _ = list(
        p.paint(img, name, painting, METHODS[2], 48, 1.0, False, 20, mask={"composite": drawn}, keep_photo=True)
    )[-1]
    small = np.asarray(img.resize(out.size), np.float64)
    got = np.asarray(out, np.float64)
    h = out.size[1]
    assert np.abs(got[h * 3 // 4 :] - small[h * 3 // 4 :]).mean() < 4 < np.abs(got[: h // 4] - small[: h // 4]).mean()
    with pytest.raises(PainterlyError, match="second painting"):
        list(p.paint(img, name, painting, METHODS[2], 48, 1.0, False, 10, mask={"composite": drawn}))
    files = p.save(out, {"method": METHODS[2]})
    assert Path(files[0]).suffix == ".png" and Path(files[0]).parent == p.workdir


@pytest.mark.skipif(not CHROMIUM, reason="Chromium is not installed (Debian: apt install chromium chromium-driver)")
def test_webcam_tab_streams_the_browser_camera(server):
    """Chromium's synthetic camera streamed through a shipped model: painted frames come back."""
    import time

    from playwright.sync_api import sync_playwright

    url, app = server
    calls = []
    model = app.painter.model
    app.painter.model = lambda name: calls.append(name) or model(name)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                ],
            )
            page = browser.new_context(permissions=["camera"]).new_page()
            page.goto(url)
            page.get_by_role("tab", name="Webcam").click()
            page.get_by_role("button", name="Click to Access Webcam").click()
            page.get_by_text("Record", exact=True).click()
            deadline = time.time() + 30
            while len(calls) < 3 and time.time() < deadline:
                page.wait_for_timeout(250)
            assert len(calls) >= 3
            page.wait_for_selector("#webcam-out img", timeout=10_000)
            browser.close()
    finally:
        app.painter.model = model


def test_serve_command_starts_and_stops(tmp_path, capsys):
    import signal
    import subprocess
    import sys
    import time

    from painterly.app.cli import main

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "painterly", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline, up = time.time() + 90, False
        while time.time() < deadline and not up:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    up = r.status == 200 and b"painterly" in r.read()
            except OSError:
                time.sleep(0.5)
        assert up
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130) and "Traceback" not in err, err
    with socket.socket() as taken:  # a port in use, a port out of range, a host that does not resolve
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = str(taken.getsockname()[1])
        for argv, says in (
            (["--port", "0"], "--port"),
            (["--port", busy], f"cannot serve on 127.0.0.1:{busy}"),
            (["--port", "99999"], "--port"),
            (["--host", "no-such-host.invalid"], "cannot serve on host 'no-such-host.invalid'"),
        ):
            assert main(["serve", *argv]) == 1
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and says in err, err
