"""Where each path's time goes, in one run: every path a user takes, timed as a whole and split into start-up
(the Python interpreter, then importing painterly, torch and the rest), the network (the work a faster network
or machine would shorten: the feed-forward networks, AdaIN's encoder and decoder, the optimisation's steps) and
the rest (reading, resizing, writing, decoding and encoding video, the web page's request, and the process's
exit).

    python benchmarks/paths_time.py [--size 512] [--clip-frames 150] [--transfer-iterations 100] [--skip web]

Each command-line path runs as its own process, exactly as a user types it, under a small wrapper that times its
imports and adds up the time spent inside the network functions.  The web page is started in this process and
asked through its API (gradio_client), as a script would.  Run it on an idle machine: it prints one table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from video_speed import make_clip  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: run a painterly command under timers: imports, then the network functions' total, then the whole
WRAPPER = r"""
import json, sys, time
t0 = time.perf_counter()
import painterly.app.cli as cli
from painterly.adain.model import AdaIN
from painterly.feedforward.stylizer import Stylizer
from painterly.gatys.engine import StyleTransfer
t1 = time.perf_counter()
inside = [0.0, 0]

def timed(cls, name):
    f = getattr(cls, name)
    def g(*a, **k):
        inside[1] += 1
        if inside[1] > 1:  # nested: counted by the outer call
            try:
                return f(*a, **k)
            finally:
                inside[1] -= 1
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            inside[0] += time.perf_counter() - t
            inside[1] -= 1
    setattr(cls, name, g)

for cls, name in ((Stylizer, "_paint"), (AdaIN, "encode"), (AdaIN, "decode"), (AdaIN, "code_of"),
                  (StyleTransfer, "_scale")):
    timed(cls, name)
rc = cli.main(sys.argv[1:])
t2 = time.perf_counter()
print("TIMES " + json.dumps({"imports": t1 - t0, "network": inside[0], "run": t2 - t1, "rc": rc}), file=sys.stderr)
cli.exit_quickly(rc)  # as the painterly command ends
"""


def run_path(args: list[str]) -> dict[str, float]:
    """A whole painterly command: its wall time, and the wrapper's split of it."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t
    line = [x for x in r.stderr.splitlines() if x.startswith("TIMES ")]
    if r.returncode or not line:
        raise SystemExit(f"painterly {' '.join(args)} failed:\n{r.stderr[-2000:]}")
    times = json.loads(line[-1][6:])
    return {"wall": wall, **times}


def interpreter_start() -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - t)
    return best


def web_page(photo: Path, painting: Path, size: int) -> dict[str, float]:
    """The page started here, then one painting through its API (AdaIN) as a script asks for it; the network's
    share timed inside the server."""
    import socket

    from gradio_client import Client, handle_file

    from painterly.adain.model import AdaIN
    from painterly.app.web import serve
    from painterly.config import ServeConfig

    inside = [0.0]
    for name in ("encode", "decode", "code_of"):
        f = getattr(AdaIN, name)

        def g(*a, _f=f, **k):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return _f(*a, **k)
            finally:
                inside[0] += time.perf_counter() - t

        setattr(AdaIN, name, g)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    app = serve(ServeConfig(port=port), block=False)
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    startup = time.perf_counter() - t
    client.predict(handle_file(str(photo)), handle_file(str(painting)), api_name="/transfer")  # warm: first use
    inside[0] = 0.0
    t = time.perf_counter()
    client.predict(handle_file(str(photo)), handle_file(str(painting)), api_name="/transfer")
    wall = time.perf_counter() - t
    app.close()
    return {"startup": startup, "wall": wall, "network": inside[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--clip-frames", type=int, default=150)
    ap.add_argument("--transfer-iterations", type=int, default=100)
    ap.add_argument("--model", default="starry-night")
    ap.add_argument("--skip", nargs="*", default=[], choices=["transfer", "web"])
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="painterly-paths-"))
    photo, painting = DATA / "content" / "jcj_tubingen.jpg", DATA / "styles" / "picabia_udnie.jpg"
    clip = make_clip(work / "clip.mp4", a.clip_frames, 640, 360)
    folder = work / "photos"
    folder.mkdir()
    from PIL import Image

    from painterly.media.video import read_frames

    for i, f in enumerate(read_frames(clip, limit=30)):
        Image.fromarray(f).save(folder / f"{i:03d}.jpg", quality=92)
    size = str(a.size)
    paths = {
        "apply (one photo)": ["apply", a.model, str(photo), "-o", str(work / "a.png"), "--size", size, "-q"],
        "adain (one photo, a new painting)": [
            "adain",
            str(photo),
            str(painting),
            "-o",
            str(work / "b.png"),
            "--size",
            size,
            "-q",
        ],
        "apply (a folder of 30 640x360 pictures)": ["apply", a.model, str(folder), "-o", str(work / "painted"), "-q"],
        f"apply (a video, {a.clip_frames} frames of 640x360)": [
            "apply",
            a.model,
            str(clip),
            "-o",
            str(work / "v.mp4"),
            "-q",
        ],
        f"webcam (headless, the clip as camera, {a.clip_frames} frames)": [
            "webcam",
            a.model,
            "--camera",
            str(clip),
            "--headless",
            "--frames",
            str(a.clip_frames),
        ],
    }
    if "transfer" not in a.skip:
        paths[f"transfer ({a.transfer_iterations} iterations)"] = [
            "transfer",
            str(photo),
            str(painting),
            "-o",
            str(work / "t.png"),
            "--size",
            size,
            "--iterations",
            str(a.transfer_iterations),
            "-q",
        ]
    interp = interpreter_start()
    rows = []
    for label, args in paths.items():
        r = run_path(args)
        startup = interp + r["imports"]
        rest = r["wall"] - startup - r["network"]
        rows.append((label, r["wall"], startup, r["network"], rest))
        print(json.dumps({"path": label, **{k: round(v, 3) for k, v in r.items()}}), flush=True)
    if "web" not in a.skip:
        w = web_page(photo, painting, a.size)
        rows.append(
            ("web page: one AdaIN request (server warm)", w["wall"], 0.0, w["network"], w["wall"] - w["network"])
        )
        rows.append(("web page: start until it answers", w["startup"], w["startup"], 0.0, 0.0))
    print(f"\nPython interpreter alone: {interp:.2f} s")
    print("| path | whole (s) | start-up | network | the rest |\n|---|---|---|---|---|")
    for label, wall, startup, net, rest in rows:
        print(f"| {label} | {wall:.2f} | {startup:.2f} | {net:.2f} | {rest:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
