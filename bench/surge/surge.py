#!/usr/bin/env python3
"""Surge simulator: thousands of simulated browsers against a real coordinator and real agents.

Starts the coordinator, the demo origin and N agents on free loopback ports in a temporary
directory, creates the room with anteroomctl, runs one or more scenarios (bench/surge/scenarios/
*.json) and measures the invariants of DESIGN.md section 4 from the users' side:

  I1   peak active sessions vs total_active_users
  I2   most admissions in any 60 s window vs new_users_per_minute
  I3   FIFO inversions beyond one bucket (1 s)
  I5   time from a freed place to the next admission
  ETA  median / p90 error of every ETA shown, against the wait the user actually had
  lost places, HTTP errors (all users, and users holding a session)

Python 3 standard library only (asyncio); the chart is drawn with gnuplot when it is installed.

Usage:
  surge.py [--build build/release] [--out docs] [--check] [--no-chart] [--seed N]
           [scenario ...]            (names or paths; default: every scenario but ci)
Exit status: 0 ok, 1 an invariant broke (with --check) or the run failed.
"""

import argparse
import asyncio
import base64
import bisect
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TOKEN = "surge-token"
ROOM = "surge"
SYNC_MS = 200

# ---------------------------------------------------------------------------------------------
# Processes


def wait_ports(path, keys, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = {}
        try:
            with open(path) as f:
                for line in f:
                    k, _, v = line.strip().partition("=")
                    if k:
                        found[k] = int(v)
        except (FileNotFoundError, ValueError):
            pass
        if all(k in found for k in keys):
            return found
        time.sleep(0.05)
    raise RuntimeError(f"no {keys} in {path}")


class Cluster:
    """The coordinator, the demo origin and the agents; everything on 127.0.0.1."""

    def __init__(self, build, n_agents, log):
        self.build = build
        self.n_agents = n_agents
        self.log = log
        self.work = tempfile.mkdtemp(prefix="anteroom-surge-")
        self.coordinator = None
        self.grpc_port = 0
        self.coord_admin_port = 0
        self.origin = None
        self.origin_port = 0
        self.agents = []  # dicts: proc, port, admin, alive
        self.procs = []

    def _spawn(self, args, name):
        out = open(os.path.join(self.work, name + ".log"), "a")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.procs.append(p)
        return p

    def start_coordinator(self):
        ports = os.path.join(self.work, "coord.ports")
        if os.path.exists(ports):
            os.remove(ports)
        listen = f"127.0.0.1:{self.grpc_port}"
        admin = f"127.0.0.1:{self.coord_admin_port}"
        self.coordinator = self._spawn([
            f"{self.build}/coordinator/anteroom-coordinator", f"--data-dir={self.work}/coord",
            f"--listen={listen}", f"--admin-listen={admin}", f"--ports-file={ports}",
            f"--admin-token={TOKEN}", "--log-level=warn", f"--sync-interval-ms={SYNC_MS}"],
            "coordinator")
        p = wait_ports(ports, ["grpc", "admin"])
        self.grpc_port, self.coord_admin_port = p["grpc"], p["admin"]

    def kill_coordinator(self):
        self.coordinator.send_signal(signal.SIGKILL)
        self.coordinator.wait()

    def start(self):
        self.start_coordinator()
        self.origin = self._spawn([f"{self.build}/tests/origin/anteroom-demo-origin",
                                   f"--ports-file={self.work}/origin.ports",
                                   "--name=the surge shop"], "origin")
        self.origin_port = wait_ports(f"{self.work}/origin.ports", ["http"])["http"]

    def start_agents(self):
        for i in range(self.n_agents):
            ports = f"{self.work}/agent{i}.ports"
            p = self._spawn([
                f"{self.build}/agent/anteroom-agent", "--listen=127.0.0.1:0",
                "--admin-listen=127.0.0.1:0", f"--ports-file={ports}",
                f"--coordinators=127.0.0.1:{self.grpc_port}",
                f"--default-upstream=127.0.0.1:{self.origin_port}",
                f"--sync-interval-ms={SYNC_MS}", "--log-level=warn", "--io-threads=1"],
                f"agent{i}")
            pp = wait_ports(ports, ["http", "admin"])
            self.agents.append({"proc": p, "port": pp["http"], "admin": pp["admin"],
                                "alive": True})
        deadline = time.time() + 20
        for a in self.agents:
            while not http_ok(a["admin"], "/readyz"):
                if time.time() > deadline:
                    raise RuntimeError("agent not ready")
                time.sleep(0.1)

    def kill_agent(self, i):
        a = self.agents[i]
        a["alive"] = False
        a["proc"].send_signal(signal.SIGKILL)
        a["proc"].wait()

    def ctl(self, *args):
        cmd = [f"{self.build}/ctl/anteroomctl", "--coordinator", f"127.0.0.1:{self.grpc_port}",
               "--token", TOKEN, *args]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"anteroomctl {' '.join(args)}: {r.stdout}")
        return r.stdout

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def cleanup(self, keep=False):
        if keep:
            self.log(f"logs kept in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def http_ok(port, path):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# A small HTTP/1.1 client (one connection per request) and the room's cookie


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None


class ConnectFailed(Exception):
    """Nothing was sent: the request may go to another agent."""


async def http_get(port, path, cookies, accept, timeout=15.0):
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), timeout)
    except (OSError, asyncio.TimeoutError) as e:
        raise ConnectFailed(str(e) or type(e).__name__)
    try:
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Accept: {accept}",
                 "Connection: close"]
        if cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

        async def read():
            head = await reader.readuntil(b"\r\n\r\n")
            first, *rest = head.decode("latin-1").split("\r\n")
            status = int(first.split(" ", 2)[1])
            headers = []
            for line in rest:
                if ":" in line:
                    k, _, v = line.partition(":")
                    headers.append((k.strip().lower(), v.strip()))
            length = None
            chunked = False
            for k, v in headers:
                if k == "content-length":
                    length = int(v)
                elif k == "transfer-encoding" and "chunked" in v.lower():
                    chunked = True
            if chunked:
                body = bytearray()
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")
                        break
                    body += await reader.readexactly(size + 2)
                    del body[-2:]
                body = bytes(body)
            elif length is not None:
                body = await reader.readexactly(length)
            else:
                body = await reader.read()
            return Response(status, headers, body)

        return await asyncio.wait_for(read(), timeout)
    finally:
        writer.close()


def update_jar(jar, resp):
    for k, v in resp.headers:
        if k != "set-cookie":
            continue
        parts = [p.strip() for p in v.split(";")]
        name, _, value = parts[0].partition("=")
        max_age = None
        for p in parts[1:]:
            if p.lower().startswith("max-age="):
                try:
                    max_age = int(p[8:])
                except ValueError:
                    pass
        if max_age is not None and max_age <= 0 or value == "":
            jar.pop(name, None)
        else:
            jar[name] = value


def _varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def _svarint(b, i):
    v, i = _varint(b, i)
    return (v >> 1) ^ -(v & 1), i


def decode_token(value):
    """Reads (without checking the MAC) what the agent's cookie says: see agent/token.cc."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if raw[0] not in (1, 2):
            return None
        state = "queued" if raw[1] == 1 else "active"
        visitor = raw[2:18].hex()
        i = 18
        bucket, i = _svarint(raw, i)
        epoch, i = _svarint(raw, i)
        expiry, i = _svarint(raw, i)
        return {"state": state, "visitor": visitor, "bucket": bucket, "epoch": epoch,
                "expiry": expiry}
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Simulated users


class User:
    def __init__(self, uid, arrive_at, agent, rng, sc):
        self.uid = uid
        self.arrive_at = arrive_at  # scheduled, seconds after the start
        self.agent = agent  # index of the agent it talks to
        self.jar = {}
        self.first_seen = None  # wall time of the first request
        self.bucket = None
        self.visitor = None
        self.queued = False  # got the waiting page at least once
        self.polls = []  # (sent, received, position, eta, refresh_after, bucket)
        self.admit_sent = None
        self.admit_recv = None
        self.expiry = None  # session end from the cookie (unix s)
        self.revoke_sent = None
        self.revoke_recv = None
        self.abandoned = None
        self.lost = []  # reasons
        self.errors = 0
        self.errors_admitted = 0
        self.failovers = 0
        self.error_kinds = []
        b = sc["user"]
        self.session_s = rng.uniform(*b["session_s"])
        self.browse_every = b["browse_every_s"]
        self.checkout = rng.random() < b["checkout_prob"]
        self.abandon_after = (rng.uniform(*b["abandon_after_s"])
                              if rng.random() < b.get("abandon_prob", 0) else None)
        self.switch = rng.random() < b.get("switch_prob", 0)


class Sim:
    def __init__(self, cluster, sc, seed, log):
        self.cluster = cluster
        self.sc = sc
        self.rng = random.Random(seed)
        self.log = log
        self.users = []
        self.events = []  # (wall time, text)
        self.cookie_name = "anteroom_" + ROOM
        self.inflight = 0

    def pick_agent(self, avoid=None):
        alive = [i for i, a in enumerate(self.cluster.agents) if a["alive"] and i != avoid]
        if not alive:
            alive = [i for i, a in enumerate(self.cluster.agents) if a["alive"]]
        return self.rng.choice(alive)

    async def request(self, u, path, admitted):
        """GET through the user's agent. A refused connection, or one the agent dropped before
        answering (it was killed), is retried on another agent the way a load balancer would;
        only what still fails counts as an error."""
        accept = "application/json"
        for attempt in range(3):
            if u.switch:
                u.agent = (u.agent + 1) % len(self.cluster.agents)
            # A user keeps its agent until a request to it fails (a dead agent is found out,
            # not known in advance).
            port = self.cluster.agents[u.agent]["port"]
            sent = time.time()
            try:
                self.inflight += 1
                r = await http_get(port, path, u.jar, accept)
                self.inflight -= 1
            except ConnectFailed as e:
                self.inflight -= 1
                u.failovers += 1
                u.agent = self.pick_agent(u.agent)
                kind = "connect: " + str(e)[:60]
                await asyncio.sleep(0.05)
                continue
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError,
                    asyncio.LimitOverrunError) as e:
                self.inflight -= 1
                kind = f"{type(e).__name__}"
                if not self.cluster.agents[u.agent]["alive"] and attempt < 2:
                    u.failovers += 1
                    u.agent = self.pick_agent(u.agent)
                    continue
                break
            update_jar(u.jar, r)
            return sent, time.time(), r
        u.errors += 1
        u.error_kinds.append(kind)
        if admitted:
            u.errors_admitted += 1
        return None

    def note_cookie(self, u):
        t = decode_token(u.jar.get(self.cookie_name, ""))
        return t

    async def run_user(self, u):
        b = self.sc["user"]
        now = time.time()
        u.first_seen = now
        path = "/"
        status_path = f"/__anteroom/status?room={ROOM}"
        r = None
        # Arrive, then wait in line if needed.
        tries = 0
        while True:
            res = await self.request(u, path, False)
            if res is None or res[2].status >= 400 and res[2].header("x-anteroom-status") is None:
                if res is not None:
                    u.errors += 1
                    u.error_kinds.append(f"status {res[2].status}")
                tries += 1
                if tries > 30:
                    return
                await asyncio.sleep(1.0)
                continue
            sent, recv, r = res
            queued = r.header("x-anteroom-status") == "queued"
            if path == status_path and not queued:
                try:
                    st = json.loads(r.body).get("status")
                except ValueError:
                    st = None
                queued = st != "admitted"
            tok = self.note_cookie(u)
            if not queued:
                u.admit_sent, u.admit_recv = sent, recv
                if tok and tok["state"] == "active":
                    u.expiry = tok["expiry"]
                if u.bucket is None:
                    u.bucket = math.floor(sent)
                break
            u.queued = True
            try:
                js = json.loads(r.body)
            except ValueError:
                js = {}
            if tok is None or tok["state"] != "queued":
                u.lost.append("queued without a queue cookie")
            else:
                if u.visitor is None:
                    u.visitor, u.bucket = tok["visitor"], tok["bucket"]
                elif (tok["visitor"], tok["bucket"]) != (u.visitor, u.bucket):
                    u.lost.append(f"place changed: bucket {u.bucket} -> {tok['bucket']}")
                    u.visitor, u.bucket = tok["visitor"], tok["bucket"]
            refresh = js.get("refresh_after_seconds") or 1
            u.polls.append((sent, recv, js.get("position"), js.get("eta_seconds"), refresh,
                            u.bucket))
            if u.abandon_after is not None and recv - u.first_seen >= u.abandon_after:
                u.abandoned = recv
                return
            await asyncio.sleep(max(0.2, refresh * self.rng.uniform(0.95, 1.1)))
            path = status_path
        # Admitted: into the site, then browse.
        end_browse = u.admit_recv + u.session_s
        pages = ["/", "/products", "/cart"]
        first = path == status_path
        while True:
            if not first:
                await asyncio.sleep(self.rng.uniform(*u.browse_every))
                if time.time() >= end_browse:
                    break
            first = False
            res = await self.request(u, self.rng.choice(pages), True)
            if res is None:
                continue
            sent, recv, r = res
            if r.header("x-anteroom-status") == "queued":
                u.lost.append(f"admitted user queued again at +{recv - u.admit_recv:.1f}s")
                break
            if r.status >= 400:
                u.errors += 1
                u.errors_admitted += 1
                u.error_kinds.append(f"status {r.status}")
                continue
            tok = self.note_cookie(u)
            if tok and tok["state"] == "active":
                u.expiry = max(u.expiry or 0, tok["expiry"])
        if u.checkout:
            res = await self.request(u, "/checkout", True)
            if res is not None and res[2].status < 400:
                u.revoke_sent, u.revoke_recv = res[0], res[1]

    async def action(self, ev):
        kind = ev["action"]
        loop = asyncio.get_running_loop()
        if kind == "kill_agent":
            await loop.run_in_executor(None, self.cluster.kill_agent, ev["agent"])
            self.events.append((time.time(), f"agent {ev['agent']} killed"))
        elif kind == "restart_coordinator":
            await loop.run_in_executor(None, self.cluster.kill_coordinator)
            self.events.append((time.time(), "coordinator killed"))
            await asyncio.sleep(ev.get("down_s", 3))
            await loop.run_in_executor(None, self.cluster.start_coordinator)
            self.events.append((time.time(), "coordinator restarted"))
        else:
            raise ValueError(kind)
        self.log(f"  event: {self.events[-1][1]} at +{self.events[-1][0] - self.t0:.1f}s")

    def schedule(self):
        """Arrival times (Poisson within each phase), relative to the start."""
        times = []
        for ph in self.sc["arrivals"]:
            t = ph["start"]
            rate = ph["rate"]
            while True:
                t += self.rng.expovariate(rate)
                if t >= ph["end"]:
                    break
                times.append(t)
        return sorted(times)

    async def run(self):
        self.t0 = time.time()
        n_agents = len(self.cluster.agents)
        times = self.schedule()
        self.users = [User(i, t, i % n_agents, self.rng, self.sc) for i, t in enumerate(times)]
        self.log(f"  {len(self.users)} users over {times[-1]:.0f}s" if times else "  no users")
        tasks = []
        actions = [asyncio.create_task(self._at(ev["at"], self.action(ev)))
                   for ev in self.sc.get("events", [])]
        progress = asyncio.create_task(self._progress())
        for u in self.users:
            delay = self.t0 + u.arrive_at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.run_user(u)))
        limit = self.sc.get("max_duration_s", 600)
        done, pending = await asyncio.wait(tasks, timeout=max(1, self.t0 + limit - time.time()))
        for t in pending:
            t.cancel()
        for t in actions:
            await t
        progress.cancel()
        for t in done:
            if t.exception():
                raise t.exception()
        self.t_end = time.time()
        if pending:
            self.log(f"  {len(pending)} users still busy at the time limit")

    async def _at(self, at, coro):
        await asyncio.sleep(max(0, self.t0 + at - time.time()))
        await coro

    async def _progress(self):
        while True:
            await asyncio.sleep(15)
            now = time.time()
            waiting = sum(1 for u in self.users if u.first_seen and u.admit_recv is None
                          and u.abandoned is None and u.queued)
            admitted = sum(1 for u in self.users if u.admit_recv)
            self.log(f"  +{now - self.t0:5.0f}s waiting {waiting:5d} admitted {admitted:5d} "
                     f"in flight {self.inflight}")


# ---------------------------------------------------------------------------------------------
# Measurements


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p
    lo = math.floor(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def measure(sim):
    sc = sim.sc
    room = sc["room"]
    cap = room["total_active_users"]
    per_min = room["new_users_per_minute"]
    users = sim.users
    t0 = sim.t0
    t_end = sim.t_end
    adm = [u for u in users if u.admit_recv is not None]

    # Sessions: definitely active from the admission's answer until the checkout was sent or
    # the expiry slot the cookie carries.
    sessions = []
    for u in adm:
        if u.revoke_sent is not None:
            end = u.revoke_sent
        elif u.expiry is not None:
            end = float(u.expiry)
        else:
            end = u.admit_recv + room["session_duration_s"]
        sessions.append((u.admit_recv, end, u))
    ev = []
    for s, e, _ in sessions:
        if e > s:
            ev.append((s, 1))
            ev.append((e, -1))
    ev.sort(key=lambda x: (x[0], x[1]))  # ends before starts at the same instant
    active = peak = 0
    peak_at = None
    for t, d in ev:
        active += d
        if active > peak:
            peak, peak_at = active, t

    # I2: admissions whose whole [sent, answered] interval lies inside one 60 s window (no false
    # alarm from client latency); the nominal count by answer time is reported alongside.
    sends = sorted((u.admit_sent, u.admit_recv) for u in adm)
    i2 = 0
    i2_at = None
    for i, (s0, _) in enumerate(sends):
        c = sum(1 for s, r in sends[i:] if r <= s0 + 60.0)
        if c > i2:
            i2, i2_at = c, s0
    recvs = sorted(u.admit_recv for u in adm)
    i2_nominal = 0
    for i, r0 in enumerate(recvs):
        i2_nominal = max(i2_nominal, bisect.bisect_right(recvs, r0 + 60.0) - i)

    # I3: a user told to wait by a request sent more than 1 s after someone from a bucket at
    # least two seconds younger was admitted (the 1 s covers the marker and budget reaching
    # every agent: five sync ticks).
    adm_by_time = sorted((u.admit_recv, u.bucket, u.uid) for u in adm if u.bucket is not None)
    times = [t for t, _, _ in adm_by_time]
    prefix_max = []  # (bucket, uid) of the youngest admitted so far
    m = (-1 << 62, None)
    for _, b, uid in adm_by_time:
        if b > m[0]:
            m = (b, uid)
        prefix_max.append(m)
    inverted_users = set()
    inversions = 0
    worst_gap = 0
    inversion_examples = []
    eligible_lag_polls = 0
    eligible_lag_users = set()
    eligible_lag_max = 0.0
    for u in users:
        for sent, recv, pos, eta, refresh, bucket in u.polls:
            if bucket is None:
                continue
            k = bisect.bisect_left(times, sent - 1.0)
            if k == 0:
                continue
            if prefix_max[k - 1][0] >= bucket + 2:
                if refresh == 1:
                    # The agent said "eligible, next tick" (refresh_after_seconds 1): the marker
                    # had passed this user, who lacked budget at this agent. Still an inversion
                    # for the user; shown apart too, since it is budget, not the marker.
                    eligible_lag_polls += 1
                    eligible_lag_users.add(u.uid)
                    lag = (u.admit_recv or t_end) - times[k - 1]
                    eligible_lag_max = max(eligible_lag_max, lag)
                inversions += 1
                worst_gap = max(worst_gap, prefix_max[k - 1][0] - bucket)
                if u.uid not in inverted_users and len(inversion_examples) < 5:
                    b = users[prefix_max[k - 1][1]]
                    inversion_examples.append(
                        f"user {u.uid} (bucket {bucket}, first request +{u.first_seen - t0:.2f}s,"
                        f" agent {u.agent}, {len(u.polls)} polls) told to wait (position {pos},"
                        f" eta {eta}) by a poll sent +{sent - t0:.2f}s; admitted "
                        + (f"+{u.admit_recv - t0:.2f}s" if u.admit_recv else "never")
                        + f". User {b.uid} (bucket {b.bucket}, first request +"
                        f"{b.first_seen - t0:.2f}s, {'queued' if b.queued else 'not queued'}, "
                        f"{len(b.polls)} polls) was admitted +{b.admit_recv - t0:.2f}s")
                inverted_users.add(u.uid)

    # Queue length over time (users' side) and how long the queue has existed.
    qev = []
    for u in users:
        if u.queued and u.polls:
            start = u.polls[0][1]
            end = u.admit_recv or u.abandoned or t_end
            qev.append((start, 1))
            qev.append((end, -1))
    qev.sort()
    q_segments = []  # (time, queue length after it)
    q = 0
    for t, d in qev:
        q += d
        q_segments.append((t, q))
    q_times = [t for t, _ in q_segments]

    def queue_at(t):
        k = bisect.bisect_right(q_times, t)
        return q_segments[k - 1][1] if k else 0

    # ETA error, as users live it, for users who waited more than 30 s: the first ETA each one
    # was shown against the wait that user then had, and every later ETA against the wait
    # remaining at that moment (never against the whole wait, which would hide late errors).
    first_err, later_err, abs_err = [], [], []
    for u in users:
        if u.admit_recv is None or not u.polls or u.admit_recv - u.first_seen <= 30:
            continue
        first = True
        for sent, recv, pos, eta, refresh, bucket in u.polls:
            if eta is None:
                continue
            remaining = u.admit_recv - recv
            if remaining <= 0:
                continue
            err = abs(eta - remaining) / remaining
            (first_err if first else later_err).append(err)
            abs_err.append(abs(eta - remaining))
            first = False
    rel_err = first_err + later_err
    if os.environ.get("SURGE_DUMP_POLLS"):
        # Every poll of every admitted user, for looking into the ETA by hand.
        with open(os.environ["SURGE_DUMP_POLLS"], "w") as f:
            json.dump([{"uid": u.uid, "first": u.first_seen - t0, "admit": u.admit_recv - t0,
                        "polls": [(recv - t0, pos, eta, refresh) for _, recv, pos, eta, refresh,
                                  _ in u.polls]}
                       for u in users if u.admit_recv is not None and u.polls], f)

    # Utilisation while present users wait: seats in use (sessions admitted and not ended, as
    # above) over the limit, averaged over the time someone present waits. Present: between a
    # user's first waiting page and admission, or the moment they left.
    wev = []
    for u in users:
        if u.queued and u.polls:
            wev.append((u.polls[0][1], 1))
            wev.append((u.admit_recv or u.abandoned or t_end, -1))
    merged = sorted([(t, "w", d) for t, d in wev] + [(t, "a", d) for t, d in ev])
    waiting = in_use = 0
    last_t = None
    busy = weighted = 0.0
    idle_stretch = longest_idle = 0.0
    stretch_from = None
    adm_times = recvs
    for t, kind, d in merged:
        if last_t is not None and waiting > 0 and t > last_t:
            busy += t - last_t
            weighted += (t - last_t) * min(in_use, cap) / cap
        if kind == "w":
            waiting += d
        else:
            in_use += d
        last_t = t
    # Longest stretch with a present user waiting, a seat free and rate budget left, and no
    # admission.
    step = 0.05
    t = t0
    wtimes = sorted(wev)
    wk, wcount = 0, 0
    ek, acount = 0, 0
    while t <= t_end:
        while wk < len(wtimes) and wtimes[wk][0] <= t:
            wcount += wtimes[wk][1]
            wk += 1
        while ek < len(ev) and ev[ek][0] <= t:
            acount += ev[ek][1]
            ek += 1
        lo = bisect.bisect_left(adm_times, t - 60.0)
        hi = bisect.bisect_right(adm_times, t)
        free = wcount > 0 and acount < cap and hi - lo < per_min
        k = bisect.bisect_right(adm_times, t)
        admitted_now = k > 0 and adm_times[k - 1] > t - step
        if free and not admitted_now:
            if stretch_from is None:
                stretch_from = t
            longest_idle = max(longest_idle, t - stretch_from)
        else:
            stretch_from = None
        t += step
    utilisation = weighted / busy if busy > 0 else None

    # I5: a place freed while the room was full, someone waited and the rate had room: time to
    # the next admission.
    adm_recv_sorted = recvs
    active_ev_times = [t for t, _ in ev]
    active_prefix = []
    a = 0
    for _, d in ev:
        a += d
        active_prefix.append(a)

    def active_before(t):
        k = bisect.bisect_left(active_ev_times, t)
        return active_prefix[k - 1] if k else 0

    gaps = []
    for s, e, u in sessions:
        if e >= t_end - 5 or e <= s:
            continue
        if active_before(e) < cap:
            continue
        if queue_at(e) <= 0:
            continue
        lo = bisect.bisect_left(adm_recv_sorted, e - 60.0)
        hi = bisect.bisect_left(adm_recv_sorted, e)
        if hi - lo > per_min - 2:
            continue
        k = bisect.bisect_right(adm_recv_sorted, e)
        if k < len(adm_recv_sorted):
            gaps.append(adm_recv_sorted[k] - e)

    # Shuffle: among prequeue users, how well admission order follows arrival order.
    shuffle_corr = None
    pre = sc.get("prequeue")
    if pre:
        start = t0 + pre["event_start_after_s"]
        pq = [u for u in adm if u.first_seen < start - 1]
        if len(pq) > 10:
            by_arrival = sorted(pq, key=lambda u: u.first_seen)
            rank = {u.uid: i for i, u in enumerate(sorted(pq, key=lambda u: u.admit_recv))}
            xs = list(range(len(by_arrival)))
            ys = [rank[u.uid] for u in by_arrival]
            shuffle_corr = statistics.correlation(xs, ys)
        late = [u for u in adm if u.first_seen > start + 1]
        # Every prequeue user must precede every later arrival.
        pre_last_u = max(pq, key=lambda u: u.admit_recv, default=None)
        late_first_u = min(late, key=lambda u: u.admit_recv, default=None)
        pre_last = pre_last_u.admit_recv if pre_last_u else None
        late_first = late_first_u.admit_recv if late_first_u else None
    lost_users = [u for u in users if u.lost]
    res = {
        "users": len(users),
        "admitted": len(adm),
        "queued": sum(1 for u in users if u.queued),
        "abandoned": sum(1 for u in users if u.abandoned),
        "peak_active": peak,
        "peak_active_at": (peak_at - t0) if peak_at else None,
        "cap": cap,
        "i2_max_60s": i2,
        "i2_nominal": i2_nominal,
        "i2_at": (i2_at - t0) if i2_at else None,
        "per_min": per_min,
        "fifo_inversions": inversions,
        "fifo_inverted_users": len(inverted_users),
        "fifo_worst_gap_s": worst_gap,
        "fifo_examples": inversion_examples,
        "eligible_lag_users": len(eligible_lag_users),
        "eligible_lag_polls": eligible_lag_polls,
        "eligible_lag_max": eligible_lag_max,
        "starved": sum(1 for u in users if u.first_seen and u.admit_recv is None
                       and u.abandoned is None),
        "i5_median": pct(gaps, 0.5),
        "i5_p90": pct(gaps, 0.9),
        "i5_max": max(gaps) if gaps else None,
        "i5_samples": len(gaps),
        "eta_median": pct(rel_err, 0.5),
        "eta_p90": pct(rel_err, 0.9),
        "eta_first_median": pct(first_err, 0.5),
        "eta_first_p90": pct(first_err, 0.9),
        "eta_first_samples": len(first_err),
        "eta_later_median": pct(later_err, 0.5),
        "eta_later_p90": pct(later_err, 0.9),
        "utilisation": utilisation,
        "waiting_time": busy,
        "longest_idle": longest_idle,
        "eta_abs_median": pct(abs_err, 0.5),
        "eta_abs_p90": pct(abs_err, 0.9),
        "eta_samples": len(rel_err),
        "lost_places": len(lost_users),
        "lost_examples": [u.lost[0] for u in lost_users[:5]],
        "errors": sum(u.errors for u in users),
        "errors_admitted": sum(u.errors_admitted for u in users),
        "error_kinds": sorted({k for u in users for k in u.error_kinds})[:8],
        "failovers": sum(u.failovers for u in users),
        "max_wait": max((u.admit_recv - u.first_seen for u in adm), default=0),
        "duration": t_end - t0,
        "events": [(t - t0, text) for t, text in sim.events],
    }
    if pre:
        res["shuffle_corr"] = shuffle_corr
        res["prequeue_before_later"] = (pre_last is None or late_first is None
                                        or pre_last <= late_first + 1.0)
        if not res["prequeue_before_later"]:
            def who(u):
                return (f"user {u.uid} (first request +{u.first_seen - t0:.2f}s, bucket "
                        f"{u.bucket}, agent {u.agent}, {len(u.polls)} polls, "
                        f"{'queued' if u.queued else 'not queued'}) admitted "
                        f"+{u.admit_recv - t0:.2f}s")
            res["prequeue_example"] = (f"prequeue {who(pre_last_u)}; later arrival "
                                       f"{who(late_first_u)}")
    # Time series for the chart: one row a second.
    series = []
    t = t0
    while t <= t_end:
        lo = bisect.bisect_left(recvs, t - 60.0)
        hi = bisect.bisect_right(recvs, t)
        lo10 = bisect.bisect_left(recvs, t - 10.0)
        series.append((t - t0, queue_at(t), active_before(t + 1e-9) if ev else 0, hi - lo,
                       (hi - lo10) * 6))
        t += 1.0
    res["series"] = series
    return res


def violations(res, sc):
    out = []
    if res["peak_active"] > res["cap"]:
        out.append(f"I1: {res['peak_active']} active > total_active_users {res['cap']} "
                   f"at +{res['peak_active_at']:.1f}s")
    if res["i2_max_60s"] > res["per_min"]:
        out.append(f"I2: {res['i2_max_60s']} admissions in 60 s > new_users_per_minute "
                   f"{res['per_min']} (window from +{res['i2_at']:.1f}s)")
    if res["fifo_inverted_users"] > 0:
        out.append(f"I3: {res['fifo_inverted_users']} users told to wait more than 1 s after "
                   f"a user >= 2 buckets younger got in (worst {res['fifo_worst_gap_s']} s): "
                   + " | ".join(res["fifo_examples"]))
    if res["starved"] > 0:
        out.append(f"{res['starved']} present users were never admitted")
    if res["lost_places"] > 0:
        out.append(f"lost places: {res['lost_places']} users, e.g. {res['lost_examples']}")
    if res["errors_admitted"] > 0:
        out.append(f"errors for admitted users: {res['errors_admitted']} "
                   f"({res['error_kinds']})")
    if sc.get("prequeue") and not res.get("prequeue_before_later", True):
        out.append("prequeue users did not all precede later arrivals: "
                   + res.get("prequeue_example", ""))
    if sc.get("max_errors") is not None and res["errors"] > sc["max_errors"]:
        out.append(f"errors: {res['errors']} > {sc['max_errors']} ({res['error_kinds']})")
    return out


def fmt(v, spec="{:.2f}", none="-"):
    return none if v is None else spec.format(v)


def table(name, sc, res):
    rows = [
        ("users / queued / admitted / abandoned",
         f"{res['users']} / {res['queued']} / {res['admitted']} / {res['abandoned']}", ""),
        ("I1 peak active sessions", f"{res['peak_active']}", f"<= {res['cap']}"),
        ("I2 most admissions in 60 s", f"{res['i2_max_60s']} (by answer time {res['i2_nominal']})",
         f"<= {res['per_min']}"),
        ("I3 FIFO inversions > 1 bucket", f"{res['fifo_inverted_users']} users "
         f"({res['fifo_inversions']} polls)", "0"),
        ("I3 of which eligible, no budget at their agent",
         f"{res['eligible_lag_users']} users ({res['eligible_lag_polls']} polls), worst "
         f"{res['eligible_lag_max']:.1f} s after the younger user", "reported"),
        ("users never admitted (present to the end)", f"{res['starved']}", "0"),
        ("I5 free place -> next admission", f"median {fmt(res['i5_median'])} s, p90 "
         f"{fmt(res['i5_p90'])} s, max {fmt(res['i5_max'])} s (n={res['i5_samples']})",
         f"<= {SYNC_MS / 1000:g} s tick + one poll"),
        ("ETA error, first ETA vs the wait then (waits > 30 s)",
         f"median {fmt(res['eta_first_median'], '{:.1%}')}, p90 "
         f"{fmt(res['eta_first_p90'], '{:.1%}')} (n={res['eta_first_samples']})",
         "median < 10%, p90 < 25%"),
        ("ETA error, later ETAs vs the wait remaining",
         f"median {fmt(res['eta_later_median'], '{:.1%}')}, p90 "
         f"{fmt(res['eta_later_p90'], '{:.1%}')} (n={res['eta_samples'] - res['eta_first_samples']};"
         f" abs median {fmt(res['eta_abs_median'], '{:.1f}')} s, p90 "
         f"{fmt(res['eta_abs_p90'], '{:.1f}')} s)", "median < 10%, p90 < 25%"),
        ("utilisation while present users wait", f"{fmt(res['utilisation'], '{:.3f}')} of the limit"
         f" over {res['waiting_time']:.0f} s", ">= 0.98"),
        ("longest stretch without an admission (seat and rate free, users waiting)",
         f"{res['longest_idle']:.2f} s", "<= 2 s"),
        ("lost places", f"{res['lost_places']}", "0"),
        ("HTTP errors (all / admitted users)", f"{res['errors']} / {res['errors_admitted']}"
         + (f" {res['error_kinds']}" if res['error_kinds'] else ""), "0 for admitted"),
        ("requests moved to another agent", f"{res['failovers']}", ""),
        ("longest wait", f"{res['max_wait']:.1f} s", ""),
    ]
    if "shuffle_corr" in res:
        rows.append(("prequeue: arrival/admission rank correlation",
                     fmt(res["shuffle_corr"], "{:.2f}"), "~0 with shuffle"))
        rows.append(("prequeue users before later arrivals",
                     "yes" if res["prequeue_before_later"] else "NO", "yes"))
    room = sc["room"]
    lines = [f"### {name}", "", sc.get("description", ""), "",
             f"Room: total_active_users {room['total_active_users']}, new_users_per_minute "
             f"{room['new_users_per_minute']}, session_duration {room['session_duration_s']} s, "
             f"refresh_interval {room['refresh_interval_s']} s; {sc.get('agents', 1)} agent(s); "
             f"run {res['duration']:.0f} s.", ""]
    if res["events"]:
        lines.append("Events: " + "; ".join(f"{t:+.0f}s {x}" for t, x in res["events"]))
        lines.append("")
    lines += ["| measure | measured | target |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def chart(name, sc, res, out_png, log):
    gp = shutil.which("gnuplot")
    if not gp:
        log("  gnuplot not installed: no chart")
        return False
    with tempfile.TemporaryDirectory() as d:
        dat = os.path.join(d, "series.dat")
        with open(dat, "w") as f:
            for row in res["series"]:
                f.write(" ".join(str(x) for x in row) + "\n")
        cap = sc["room"]["total_active_users"]
        per_min = sc["room"]["new_users_per_minute"]
        arrows = "\n".join(
            f'set arrow from {t:.1f}, graph 0 to {t:.1f}, graph 1 nohead dt 3 lc rgb "gray40"\n'
            f'set label "{x}" at {t:.1f}, graph 0.97 rotate by 90 right font ",8"'
            for t, x in res["events"])
        script = f"""
set terminal pngcairo size 1000,520 font "sans,10"
set output "{out_png}"
set title "Surge simulator: {name}"
set xlabel "seconds"
set ylabel "users"
set key outside bottom center horizontal noenhanced
set termoption noenhanced
set offsets 0, 0, graph 0.08, 0
set yrange [0:*]
set grid
{arrows}
plot "{dat}" using 1:2 with lines lw 2 lc rgb "#1f77b4" title "waiting", \\
     "" using 1:3 with lines lw 2 lc rgb "#2ca02c" title "active sessions", \\
     "" using 1:4 with lines lw 2 lc rgb "#ff7f0e" title "admissions in last 60 s", \\
     {cap} with lines dt 2 lw 2 lc rgb "#2ca02c" title "total_active_users", \\
     {per_min} with lines dt 2 lw 2 lc rgb "#ff7f0e" title "new_users_per_minute"
"""
        r = subprocess.run([gp], input=script, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, errors="replace")
        if r.returncode != 0:
            # No cairo: fall back to the plain png terminal.
            script = script.replace('pngcairo size 1000,520 font "sans,10"', "png size 1000,520")
            r = subprocess.run([gp], input=script, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, errors="replace")
        if r.returncode != 0:
            log("  gnuplot failed: " + r.stdout[-300:])
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Running a scenario


def load_scenario(arg):
    path = arg if os.path.exists(arg) else os.path.join(HERE, "scenarios", arg + ".json")
    with open(path) as f:
        sc = json.load(f)
    sc.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    return sc


def create_room(cluster, sc, t0):
    room = sc["room"]
    args = ["room", "create", ROOM, "--route", "/",
            "--total-active-users", str(room["total_active_users"]),
            "--new-users-per-minute", str(room["new_users_per_minute"]),
            "--session-duration", f"{room['session_duration_s']}s",
            "--refresh-interval", f"{room['refresh_interval_s']}s",
            "--json-response", "--queueing-method", room.get("queueing_method", "fifo")]
    pre = sc.get("prequeue")
    if pre:
        args += ["--event-prequeue-start", str(int(t0) - 1),
                 "--event-start", str(int(t0 + pre["event_start_after_s"])),
                 f"--event-shuffle={'true' if pre.get('shuffle') else 'false'}"]
    cluster.ctl(*args)


def run_scenario(args, sc, log):
    log(f"== {sc['name']}: {sc.get('description', '')}")
    cluster = Cluster(args.build, sc.get("agents", 1), log)
    ok = False
    try:
        cluster.start()
        # The event times are fixed when the room is made; leave the agents time to start.
        t_room = time.time() + 3
        create_room(cluster, sc, t_room)
        cluster.start_agents()
        sim = Sim(cluster, sc, args.seed, log)
        delay = t_room - time.time()
        if delay > 0:
            time.sleep(delay)
        asyncio.run(sim.run())
        res = measure(sim)
        ok = True
        return res
    finally:
        cluster.stop()
        cluster.cleanup(keep=args.keep or not ok)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="*")
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--out", default=None,
                    help="directory for surge-results.md and surge-<scenario>.png (e.g. docs)")
    ap.add_argument("--check", action="store_true", help="exit 1 when an invariant breaks")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the processes' logs")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)

    def log(msg):
        print(msg, flush=True)

    names = args.scenarios or sorted(
        os.path.splitext(f)[0] for f in os.listdir(os.path.join(HERE, "scenarios"))
        if f.endswith(".json") and f != "ci.json")
    # Thousands of sockets in flight.
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    failed = []
    sections = []
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    for name in names:
        sc = load_scenario(name)
        res = run_scenario(args, sc, log)
        text = table(sc["name"], sc, res)
        bad = violations(res, sc)
        if args.out and not args.no_chart:
            png = os.path.join(args.out, f"surge-{sc['name']}.png")
            if chart(sc["name"], sc, res, os.path.abspath(png), log):
                text += f"\n![{sc['name']}](surge-{sc['name']}.png)\n"
        if bad:
            text += "\n**Invariant broken:**\n\n" + "".join(f"- {b}\n" for b in bad)
            failed.append((sc["name"], bad))
        print(text, flush=True)
        sections.append(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "surge-results.md")
        with open(path, "w") as f:
            f.write("# Surge simulator results\n\n"
                    "Written by `bench/surge/surge.py` (see bench/surge/README.md): real "
                    "coordinator, agents and demo origin on loopback, simulated browsers, all "
                    "measured from the users' side. Time settings are scaled down (sessions of "
                    "seconds, refresh of 2-3 s); the 60 s windows of I2 and the one-minute-old "
                    "queue of the ETA target are not scaled.\n\n")
            f.write("\n".join(sections))
        log(f"wrote {path}")
    if failed:
        for name, bad in failed:
            for b in bad:
                print(f"FAIL {name}: {b}")
        return 1 if args.check else 0
    print(f"{len(names)} scenario(s), no invariant broken")
    return 0


if __name__ == "__main__":
    sys.exit(main())
