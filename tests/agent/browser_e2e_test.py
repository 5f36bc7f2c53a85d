#!/usr/bin/env python3
"""Headless Chromium in the waiting room, end to end.

Starts a coordinator, the demo origin and an agent on free loopback ports, fills a one-place
room with a first user, then drives Chromium through chromedriver (the W3C WebDriver protocol
over plain HTTP): the browser must see the waiting page with its position, and once the first
user checks out, follow the page's own automatic refresh into the application.

Usage: browser_e2e_test.py BUILD_DIR [SCREENSHOT.png]
Exit 0 on success, 1 on failure, 77 when Chromium or chromedriver is not installed.
"""

import base64
import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "browser-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ports(path, key, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                for line in f:
                    k, _, v = line.strip().partition("=")
                    if k == key:
                        return int(v)
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no {key} port in {path}")


def http_json(method, url, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


class WebDriver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--window-size=1000,750",
                         f"--user-data-dir={tempfile.mkdtemp(prefix='anteroom-chromium-')}"],
            }}}}
        self.session = http_json("POST", self.base + "/session", caps)["value"]["sessionId"]

    def call(self, method, path, body=None):
        return http_json(method, f"{self.base}/session/{self.session}{path}", body)["value"]

    def get(self, url):
        self.call("POST", "/url", {"url": url})

    def text(self):
        return self.call("POST", "/execute/sync",
                         {"script": "return document.body ? document.body.innerText : '';",
                          "args": []})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", "/screenshot")))

    def quit(self):
        try:
            http_json("DELETE", f"{self.base}/session/{self.session}")
        except Exception:
            pass


def main():
    build = os.path.abspath(sys.argv[1])
    screenshot = sys.argv[2] if len(sys.argv) > 2 else None
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    driver_bin = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not chromium or not driver_bin:
        print("SKIP: chromium or chromedriver not installed")
        return 77

    work = tempfile.mkdtemp(prefix="anteroom-browser-")
    procs = []

    def start(args, name):
        log = open(os.path.join(work, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    driver = None
    try:
        start([f"{build}/coordinator/anteroom-coordinator", f"--data-dir={work}/coord",
               "--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0",
               f"--ports-file={work}/coord.ports", f"--admin-token={TOKEN}",
               "--log-level=warn", "--sync-interval-ms=200"], "coordinator")
        grpc_port = wait_ports(f"{work}/coord.ports", "grpc")
        start([f"{build}/tests/origin/anteroom-demo-origin", f"--ports-file={work}/origin.ports",
               "--name=the demo shop"], "origin")
        origin_port = wait_ports(f"{work}/origin.ports", "http")
        env = dict(os.environ, ANTEROOM_COORDINATOR=f"127.0.0.1:{grpc_port}", ANTEROOM_TOKEN=TOKEN)
        subprocess.run([f"{build}/ctl/anteroomctl", "room", "create", "shop", "--route", "/",
                        "--total-active-users", "1", "--new-users-per-minute", "600",
                        "--session-duration", "60s", "--refresh-interval", "3s",
                        "--page-title", "The demo shop"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        start([f"{build}/agent/anteroom-agent", "--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0",
               f"--ports-file={work}/agent.ports", f"--coordinators=127.0.0.1:{grpc_port}",
               f"--default-upstream=127.0.0.1:{origin_port}", "--sync-interval-ms=200",
               "--log-level=warn"], "agent")
        agent = wait_ports(f"{work}/agent.ports", "http")
        admin = wait_ports(f"{work}/agent.ports", "admin")
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=2):
                    break
            except Exception:
                time.sleep(0.1)

        # The first user takes the only place (waiting in line first if it must).
        jar = http.cookiejar.CookieJar()
        holder = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        deadline = time.time() + 20
        while time.time() < deadline:
            with holder.open(f"http://127.0.0.1:{agent}/", timeout=5) as r:
                if r.headers.get("X-Anteroom-Status") != "queued":
                    break
            time.sleep(0.3)
        else:
            print("FAIL: the first user never got in")
            return 1

        driver_port = free_port()
        start([driver_bin, f"--port={driver_port}"], "chromedriver")
        deadline = time.time() + 20
        while True:
            try:
                http_json("GET", f"http://127.0.0.1:{driver_port}/status", timeout=2)
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        driver = WebDriver(driver_port)
        driver.get(f"http://127.0.0.1:{agent}/")
        text = driver.text()
        if "in line" not in text or "1" not in text:
            print("FAIL: expected the waiting page with position 1, got:\n" + text)
            return 1
        time.sleep(1)
        if screenshot:
            driver.screenshot(screenshot)
        print("waiting page seen:", " | ".join(l for l in text.splitlines() if l.strip())[:200])

        # The first user checks out; the browser must get in by itself.
        with holder.open(f"http://127.0.0.1:{agent}/checkout", timeout=5) as r:
            r.read()
        deadline = time.time() + 30
        while time.time() < deadline:
            text = driver.text()
            if "Welcome to the demo shop" in text:
                print("admitted by the page's own refresh")
                print("1 passed, 0 failed")
                return 0
            time.sleep(0.25)
        print("FAIL: the browser was never let in; last page:\n" + text)
        return 1
    finally:
        if driver:
            driver.quit()
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
