#!/usr/bin/python3
"""Two screenshots of one page in one headless Chromium, a given time apart.

    chromium_shots.py URL FIRST.png SECOND.png [--wait 3] [--apart 1] [--size 900,700]
                      [--eval EXPR]

Opens URL in a headless Chromium driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: commands on fd 3, answers on fd 4, each a JSON text ended by a NUL
byte), waits --wait seconds, takes a screenshot, waits --apart seconds, takes another, then
prints `eval: VALUE` for each --eval expression evaluated in the page (as JSON). Unlike
`chromium --screenshot`, which shoots as soon as the page's load event fires (for a page
whose images are MJPEG streams that is after their first frames), the page keeps playing
between the two shots. Standard library only; bounded: every answer is awaited at most 20 s.
"""
import argparse
import base64
import json
import os
import select
import subprocess
import sys
import tempfile
import time


class Pipe:
    def __init__(self, to_browser, from_browser):
        self.w, self.r = to_browser, from_browser
        self.buf = b""
        self.next_id = 0

    def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 20
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self.next_id:
                    if "error" in answer:
                        sys.exit(f"{method}: {answer['error']}")
                    return answer.get("result", {})
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                sys.exit(f"{method}: no answer within 20 s")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                sys.exit(f"{method}: the browser closed the pipe")
            self.buf += chunk


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--wait", type=float, default=3.0)
    p.add_argument("--apart", type=float, default=1.0)
    p.add_argument("--size", default="900,700")
    p.add_argument("--chromium", default="chromium")
    p.add_argument("--eval", action="append", default=[])
    a = p.parse_args()
    w, h = (int(x) for x in a.size.split(","))
    # fd 3: the browser reads commands; fd 4: it writes answers.
    cmd_r, cmd_w = os.pipe()
    ans_r, ans_w = os.pipe()
    with tempfile.TemporaryDirectory() as profile:

        # preexec_fn runs before close_fds: 3 and 4 must be kept by number.
        def fds():
            os.dup2(cmd_r, 3)
            os.dup2(ans_w, 4)

        browser = subprocess.Popen(
            [a.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", f"--user-data-dir={profile}", f"--window-size={w},{h}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=fds, close_fds=True)
        os.close(cmd_r)
        os.close(ans_w)
        try:
            pipe = Pipe(cmd_w, ans_r)
            target = pipe.call("Target.createTarget", {"url": a.url})["targetId"]
            session = pipe.call("Target.attachToTarget",
                                {"targetId": target, "flatten": True})["sessionId"]
            pipe.call("Emulation.setDeviceMetricsOverride",
                      {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False},
                      session)
            time.sleep(a.wait)
            for path, pause in ((a.first, a.apart), (a.second, 0)):
                shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session)
                with open(path, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                print(f"{path}: taken at {time.monotonic():.3f}", flush=True)
                time.sleep(pause)
            for expr in a.eval:
                got = pipe.call("Runtime.evaluate",
                                {"expression": expr, "returnByValue": True}, session)
                print("eval: " + json.dumps(got.get("result", {}).get("value")), flush=True)
            try:
                pipe.call("Browser.close")
            except SystemExit:
                pass
        finally:
            try:
                browser.wait(timeout=10)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait()


if __name__ == "__main__":
    main()
