"""The web page's webcam tab: painted frames per second delivered to a browser (headless Chromium with its
synthetic camera) through a shipped model, over 20 seconds.  Needs the web extra, playwright and Chromium.

Usage: python benchmarks/web_webcam.py [--seconds 20]   (the tab's default model, the first shipped one)
"""

from __future__ import annotations

import argparse
import shutil
import socket
import time

from playwright.sync_api import sync_playwright

from painterly.app.web import serve
from painterly.config import ServeConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = serve(ServeConfig(port=port), block=False)
    calls: list[float] = []
    model = app.painter.model
    app.painter.model = lambda name: calls.append(time.perf_counter()) or model(name)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--no-first-run",
            ],
        )
        page = b.new_context(permissions=["camera"]).new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_role("tab", name="Webcam").click()
        page.get_by_role("button", name="Click to Access Webcam").click()
        page.get_by_text("Record", exact=True).click()
        page.wait_for_timeout(3000)  # warm-up
        t0 = time.perf_counter()
        page.wait_for_timeout(a.seconds * 1000)
        n = len([c for c in calls if c >= t0])
        b.close()
    app.close()
    print(
        f"webcam tab: {n} painted frames in {a.seconds:.0f} s = {n / a.seconds:.1f} frames/s "
        f"(480 px long side, stream every 0.1 s)"
    )


if __name__ == "__main__":
    main()
