#!/usr/bin/env python3
"""Run the hostile corpus (scripts/hostile_corpus.py) against the synthmark CLI and server and
judge the results against the acceptance bounds. Driven by scripts/hostile.sh; standard library
only.

Measurements:
  * CLI: exit status (or signal), peak RSS from wait4() (ru_maxrss of the process itself), wall
    time, SHA-256 of the input before and after. Every run has a timeout and an address-space cap
    (RLIMIT_AS), so a bomb cannot take the machine down: hitting either is reported, never hidden.
  * server: a fresh `synthmark serve --listen 127.0.0.1:0` per phase (isolated HOME, --token),
    its peak RSS polled from /proc/PID/status (VmHWM/VmRSS) every 20 ms and taken from wait4()
    when it exits, the statuses the clients get.

Usage: hostile_probe.py --bin SYNTHMARK --corpus DIR --work DIR [--quick]
Environment: HOSTILE_DEADLINE_S (whole run, default 600), HOSTILE_CLI_TIMEOUT_S (default 60),
             HOSTILE_CLI_AS_MB (default 4096), HOSTILE_SERVER_AS_MB (default 6144).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import http.client
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time

TOKEN = "hostile-token"
START = time.monotonic()
DEADLINE = START + float(os.environ.get("HOSTILE_DEADLINE_S", "600"))
CLI_TIMEOUT = float(os.environ.get("HOSTILE_CLI_TIMEOUT_S", "60"))
CLI_AS = int(os.environ.get("HOSTILE_CLI_AS_MB", "4096")) << 20
SERVER_AS = int(os.environ.get("HOSTILE_SERVER_AS_MB", "6144")) << 20
REQUEST_TIMEOUT = 90.0  # client side; the server's own request timeout is 30 s

# (key, description): the acceptance bounds, in the order they are reported.
BOUNDS = [
    ("cli-ztxt", "cli check ztxt-bomb-40 <= 256 MB"),
    ("cli-huge", "cli stamp huge-20000 refused/bounded <= 512 MB"),
    ("srv-ztxt", "server peak <= 500 MB during 4+4 zTXt-bomb checks"),
    ("srv-slowbody", "authorised /v1/stamp OK while 16 slow bodies stall"),
    ("srv-slowhdr", "50 slow-header conns closed within 40 s, /healthz answering throughout"),
    ("srv-sigterm", "SIGTERM with a slow-header client: exit <= 30 s"),
    ("srv-deep16", "16 x 39.7 MP 16-bit uploads: no 5xx but 503+Retry-After, peak <= 1 GB"),
    ("srv-malformed", "no 5xx for malformed /v1/stamp uploads"),
    ("srv-manifest", "/v1/manifests/%ff answers JSON"),
    ("srv-bearer", "lower-case 'bearer' scheme accepted"),
    ("inputs", "inputs never modified"),
    ("cli-abort", "no CLI run aborted (signal, exit >= 128, timeout, memory cap)"),
]

rows: list[dict] = []


def row(case, target, status, rss_mb, secs, note="", bounds=None):
    r = dict(case=case, target=target, status=status, rss=rss_mb, secs=secs, note=note, bounds=bounds or {})
    rows.append(r)
    # progress on stderr, so a long run shows where it is
    print(f"  .. {case} | {target} | {status} | {fmt_mb(rss_mb)} | {fmt_s(secs)}", file=sys.stderr, flush=True)


def fmt_mb(v):
    return "-" if v is None else f"{v:.0f}"


def fmt_s(v):
    return "-" if v is None else f"{v:.1f}"


def remaining():
    return DEADLINE - time.monotonic()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def isolated_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHMARK_") and k != "RUST_LOG"}
    env.update(
        HOME=home,
        XDG_DATA_HOME=os.path.join(home, ".local", "share"),
        XDG_CONFIG_HOME=os.path.join(home, ".config"),
        XDG_CACHE_HOME=os.path.join(home, ".cache"),
        RUST_BACKTRACE="0",
    )
    return env


def cap_memory(limit):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def describe_exit(code):
    if code is None:
        return "running"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def stderr_findings(text):
    """The lines worth quoting: allocation failures (memory cap), panics, the final error."""
    for line in text.splitlines():
        if "memory allocation of" in line:
            return "MEMORY CAP: " + line.strip()
    for line in text.splitlines():
        if "panicked at" in line:
            return "PANIC: " + line.strip()
    return ""


def shorten(text, n=110):
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------------------------------------
# CLI


def run_cli(argv, env, timeout, out_path, err_path):
    """Run once; returns (exit code or -signal, timed_out, peak RSS MB, seconds)."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                preexec_fn=cap_memory(CLI_AS))
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        secs = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, timed_out.is_set(), usage.ru_maxrss / 1024, secs


def cli_phase(binary, corpus, work, env, quick):
    if quick:
        names = ["ztxt-bomb-40.png", "zero-size.png", "cyclic-ifd.tiff"]
    else:
        names = [
            "control-256.png", "ztxt-bomb-40.png", "ztxt-bomb-200.png", "itxt-bomb-40.png",
            "huge-20000.png", "deep16-39.7mp.png", "deep16rgb-39.7mp.png", "cyclic-ifd.tiff",
            "junk.heic", "junk.avif", "broken-jumbf.jpg", "zero-size.png", "no-idat.png",
            "corrupt-vp8l.webp", "truncated.jpg", "empty.jpg", "text.png",
        ]
    logs = os.path.join(work, "cli-logs")
    os.makedirs(logs, exist_ok=True)
    for n, name in enumerate(names):
        path = os.path.join(corpus, name)
        for target in ("cli-check", "cli-stamp"):
            tag = f"{n:02}-{name}-{target}"
            timeout = min(CLI_TIMEOUT, remaining() - 5)
            bounds = {}
            if timeout < 5:
                if name == "ztxt-bomb-40.png" and target == "cli-check":
                    bounds["cli-ztxt"] = False
                if name == "huge-20000.png" and target == "cli-stamp":
                    bounds["cli-huge"] = False
                bounds["cli-abort"] = False
                row(name, target, "skipped", None, None, "NOT RUN: the run's deadline was reached", bounds)
                continue
            if target == "cli-check":
                argv = [binary, "check", path, "--format", "json"]
            else:
                outdir = os.path.join(work, "cli-out", tag)
                argv = [binary, "-q", "stamp", path, "--out", outdir, "--no-registry"]
            before = sha256(path)
            out_path, err_path = os.path.join(logs, tag + ".out"), os.path.join(logs, tag + ".err")
            code, timed_out, rss, secs = run_cli(argv, env, timeout, out_path, err_path)
            after = sha256(path)
            err_text = open(err_path, "rb").read().decode("utf-8", "replace")
            found = stderr_findings(err_text)
            notes = []
            if timed_out:
                status = f"timeout {timeout:.0f}s"
            else:
                status = describe_exit(code)
            if found:
                notes.append(found)
            elif target == "cli-check":
                size = os.path.getsize(out_path)
                try:
                    if size > 50 << 20:
                        raise ValueError
                    report = json.load(open(out_path, "rb"))[0]
                    notes.append(f"verdict {report.get('verdict')}")
                    if report.get("error"):
                        notes.append(shorten(str(report["error"]), 80))
                except Exception:
                    notes.append(shorten(err_text.strip().splitlines()[-1], 90) if err_text.strip() else "no JSON")
                if size > 1 << 20:
                    notes.append(f"stdout {size / (1 << 20):.0f} MB")
            else:
                stamped = os.path.isdir(os.path.join(work, "cli-out", tag)) and any(
                    files for _, _, files in os.walk(os.path.join(work, "cli-out", tag)))
                notes.append("stamped" if stamped else "not stamped")
                # the per-file lines ("PATH: reason"), without the path and without repeats
                reasons = []
                for line in err_text.splitlines():
                    line = line.strip()
                    if line.startswith(path + ":"):
                        reason = line[len(path) + 1:].strip()
                        if reason not in reasons:
                            reasons.append(reason)
                if not reasons and err_text.strip():
                    reasons.append(err_text.strip().splitlines()[-1].replace(work, "$WORK"))
                notes.extend(shorten(r, 100) for r in reasons)
            aborted = timed_out or code < 0 or code >= 128  # memory cap: alloc failure aborts
            if before != after:
                notes.append("INPUT MODIFIED")
            bounds["inputs"] = before == after
            bounds["cli-abort"] = not aborted
            if name == "ztxt-bomb-40.png" and target == "cli-check":
                bounds["cli-ztxt"] = not aborted and rss <= 256
            if name == "huge-20000.png" and target == "cli-stamp":
                bounds["cli-huge"] = not aborted and rss <= 512
            row(name, target, status, rss, secs, "; ".join(notes), bounds)


# ---------------------------------------------------------------------------------------------
# server


class Server:
    def __init__(self, binary, env, work, label):
        self.out_path = os.path.join(work, f"serve-{label}.out")
        self.log_path = os.path.join(work, f"serve-{label}.log")
        self.pid_file = os.path.join(work, "server.pid")
        self.peak_kb = 0
        self.exit_code = None
        self.exited_at = None
        with open(self.out_path, "wb") as out, open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "serve", "--dev", "--listen", "127.0.0.1:0", "--token", TOKEN],
                stdout=out, stderr=log, stdin=subprocess.DEVNULL, env=env,
                preexec_fn=cap_memory(SERVER_AS),
            )
        with open(self.pid_file, "w") as f:
            f.write(str(self.proc.pid))
        self.monitor = threading.Thread(target=self._watch, daemon=True)
        self.monitor.start()
        started = time.monotonic()
        self.addr = None
        while time.monotonic() - started < 60 and self.alive():
            text = open(self.out_path, "rb").read().decode("utf-8", "replace")
            for line in text.splitlines():
                if line.startswith("listening on http://"):
                    host, port = line.split("//", 1)[1].strip().rsplit(":", 1)
                    assert host == "127.0.0.1", host
                    self.addr = (host, int(port))
            if self.addr:
                break
            time.sleep(0.05)
        if not self.addr:
            self.stop()
            raise RuntimeError(f"the server did not start: {self.log_tail()}")

    def _watch(self):
        pid = self.proc.pid
        while True:
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith(("VmHWM:", "VmRSS:")):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                self.exited_at = time.monotonic()
                self.exit_code = os.waitstatus_to_exitcode(status)
                self.proc.returncode = self.exit_code
                self.peak_kb = max(self.peak_kb, usage.ru_maxrss)
                return
            time.sleep(0.02)

    def alive(self):
        return self.exit_code is None

    def peak_mb(self):
        return self.peak_kb / 1024

    def log_tail(self, n=2):
        try:
            text = open(self.log_path, "rb").read().decode("utf-8", "replace")
        except OSError:
            return ""
        found = stderr_findings(text)
        if found:
            return found
        return shorten(" / ".join(l for l in text.splitlines()[-n:]), 160)

    def death_note(self):
        if self.alive():
            return ""
        return f"SERVER DIED ({describe_exit(self.exit_code)}): {self.log_tail()}"

    def wait_exit(self, timeout):
        self.monitor.join(timeout)
        return not self.alive()

    def stop(self):
        if self.alive():
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            if not self.wait_exit(10):
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
                self.wait_exit(10)
        try:
            os.unlink(self.pid_file)
        except OSError:
            pass


Resp = collections.namedtuple("Resp", "status ctype retry_after body secs error")


def request(addr, method, path, body=None, headers=None, timeout=REQUEST_TIMEOUT):
    started = time.monotonic()
    conn = http.client.HTTPConnection(addr[0], addr[1], timeout=max(1.0, min(timeout, remaining())))
    try:
        try:
            conn.request(method, path, body=body, headers=headers or {})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413, 4xx) before reading the whole body
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.getheader("Content-Type"), r.getheader("Retry-After"), data,
                    time.monotonic() - started, None)
    except Exception as e:  # noqa: BLE001 - every failure is a finding
        return Resp(None, None, None, b"", time.monotonic() - started, f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def error_text(resp):
    if resp.error:
        return resp.error
    try:
        return str(json.loads(resp.body).get("error", ""))
    except Exception:
        return ""


def verdict_of(resp):
    try:
        report = json.loads(resp.body)
        report = report[0] if isinstance(report, list) else report
        return report.get("verdict")
    except Exception:
        return None


def status_text(resp):
    return str(resp.status) if resp.status is not None else "conn-error"


def summarise(resps):
    counts = collections.Counter(status_text(r) for r in resps)
    return " ".join(f"{k}x{v}" for k, v in sorted(counts.items()))


def concurrently(jobs):
    """Run the callables at once (released together); results in order."""
    results = [None] * len(jobs)
    gate = threading.Barrier(len(jobs))

    def run(i, job):
        gate.wait()
        results[i] = job()

    threads = [threading.Thread(target=run, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def read(corpus, name):
    with open(os.path.join(corpus, name), "rb") as f:
        return f.read()


def bearer(scheme="Bearer"):
    return {"Authorization": f"{scheme} {TOKEN}", "Content-Type": "application/octet-stream"}


def phase_misc(binary, env, work, corpus):
    srv = Server(binary, env, work, "misc")
    try:
        addr = srv.addr
        control = read(corpus, "control-256.png")
        r = request(addr, "GET", "/v1/manifests/%ff")
        is_json = bool(r.ctype and "json" in r.ctype.lower())
        row("/v1/manifests/%ff", "server GET", status_text(r), srv.peak_mb(), r.secs,
            f"Content-Type: {r.ctype}; {shorten(error_text(r) or r.body.decode('utf-8', 'replace'), 70)}",
            {"srv-manifest": is_json})
        r = request(addr, "POST", "/v1/stamp", control, bearer("Bearer"))
        row("control-256.png", "server stamp (Bearer)", status_text(r), srv.peak_mb(), r.secs,
            shorten(error_text(r), 90) or f"{len(r.body)} bytes back")
        r = request(addr, "POST", "/v1/stamp", control, bearer("bearer"))
        row("control-256.png", "server stamp (lower-case bearer)", status_text(r), srv.peak_mb(), r.secs,
            shorten(error_text(r), 90) or f"{len(r.body)} bytes back", {"srv-bearer": r.status == 200})
        for name in ["cyclic-ifd.tiff", "junk.heic", "junk.avif", "broken-jumbf.jpg", "zero-size.png",
                     "no-idat.png", "corrupt-vp8l.webp", "truncated.jpg", "empty.jpg", "text.png"]:
            r = request(addr, "POST", "/v1/stamp", read(corpus, name), bearer())
            ok = r.status is not None and r.status < 500
            note = shorten(error_text(r), 90) or (f"{len(r.body)} bytes back" if r.status == 200 else "")
            row(name, "server stamp (malformed)", status_text(r), srv.peak_mb(), r.secs,
                (note + ("; " + srv.death_note() if not srv.alive() else "")).strip("; "), {"srv-malformed": ok})
            if not srv.alive():
                srv.stop()
                srv = Server(binary, env, work, f"misc-{name}")
                addr = srv.addr
    finally:
        srv.stop()


def phase_bombs(binary, env, work, corpus):
    srv = Server(binary, env, work, "bombs")
    try:
        bomb = read(corpus, "ztxt-bomb-40.png")
        headers = {"Content-Type": "image/png"}
        jobs = [lambda: request(srv.addr, "POST", "/v1/check?watermark=false", bomb, headers) for _ in range(4)]
        jobs += [lambda: request(srv.addr, "POST", "/v1/check", bomb, headers) for _ in range(4)]
        started = time.monotonic()
        resps = concurrently(jobs)
        secs = time.monotonic() - started
        time.sleep(0.1)
        peak = srv.peak_mb()
        errors = {shorten(error_text(r), 60) for r in resps if error_text(r)}
        verdicts = {verdict_of(r) for r in resps} - {None}
        note = f"wm=false: {summarise(resps[:4])}; full: {summarise(resps[4:])}"
        if verdicts:
            note += f"; verdicts {','.join(sorted(verdicts))}"
        if errors:
            note += "; " + " | ".join(sorted(errors))
        if not srv.alive():
            note += "; " + srv.death_note()
        row("ztxt-bomb-40.png", "server 4x check?watermark=false + 4x check", summarise(resps), peak, secs,
            note, {"srv-ztxt": srv.alive() and peak <= 500})
    finally:
        srv.stop()


def phase_deep16(binary, env, work, corpus):
    srv = Server(binary, env, work, "deep16")
    try:
        files = [read(corpus, "deep16-39.7mp.png"), read(corpus, "deep16rgb-39.7mp.png")]
        headers = {"Content-Type": "image/png"}
        jobs = [lambda b=files[i % 2]: request(srv.addr, "POST", "/v1/check", b, headers) for i in range(16)]
        started = time.monotonic()
        resps = concurrently(jobs)
        secs = time.monotonic() - started
        time.sleep(0.1)
        peak = srv.peak_mb()
        bad = [r for r in resps
               if r.status is None or (r.status >= 500 and not (r.status == 503 and r.retry_after))]
        no_retry = sum(1 for r in resps if r.status == 503 and not r.retry_after)
        errors = {shorten(error_text(r), 60) for r in resps if error_text(r)}
        note = f"rgba: {summarise(resps[0::2])}; rgb: {summarise(resps[1::2])}"
        note += f"; slowest {max(r.secs for r in resps):.1f}s"
        if no_retry:
            note += f"; {no_retry} 503 without Retry-After"
        if errors:
            note += "; " + " | ".join(sorted(errors))
        if not srv.alive():
            note += "; " + srv.death_note()
        row("deep16*-39.7mp.png", "server 16x check (concurrent)", summarise(resps), peak, secs, note,
            {"srv-deep16": not bad and srv.alive() and peak <= 1024})
    finally:
        srv.stop()


def open_slow(addr, payload):
    s = socket.create_connection(addr, timeout=5)
    s.sendall(payload)
    return s


def phase_slow_body(binary, env, work, corpus):
    srv = Server(binary, env, work, "slowbody")
    slow = []
    try:
        head = (b"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                b"Content-Length: 100000\r\n\r\n\x89P")
        for _ in range(16):
            slow.append(open_slow(srv.addr, head))
        time.sleep(1.0)
        control = read(corpus, "control-256.png")
        stamp, check = concurrently([
            lambda: request(srv.addr, "POST", "/v1/stamp", control, bearer()),
            lambda: request(srv.addr, "POST", "/v1/check", control, {"Content-Type": "image/png"}),
        ])
        # What became of the stalled uploads meanwhile?
        answered = 0
        for s in slow:
            ready, _, _ = select.select([s], [], [], 0)
            if ready:
                answered += 1
        fate = f"{answered}/16 stalled uploads answered or closed by the server meanwhile"
        peak = srv.peak_mb()
        death = srv.death_note()
        row("control-256.png", "server stamp while 16 slow bodies", status_text(stamp), peak, stamp.secs,
            "; ".join(x for x in [shorten(error_text(stamp), 80), fate, death] if x),
            {"srv-slowbody": stamp.status == 200})
        row("control-256.png", "server check while 16 slow bodies", status_text(check), peak, check.secs,
            "; ".join(x for x in [shorten(error_text(check), 80), death] if x))
    finally:
        for s in slow:
            s.close()
        srv.stop()


def phase_slow_headers(binary, env, work, corpus, window=40.0):
    srv = Server(binary, env, work, "slowhdr")
    socks = []
    try:
        partials = [b"POST /v1/ch", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a"]
        for i in range(50):
            socks.append(open_slow(srv.addr, partials[i % 2]))
        opened = time.monotonic()
        closed_at = {}
        health = []  # (ok, seconds, detail)
        stop = threading.Event()

        def poll_health():
            while not stop.is_set():
                tick = time.monotonic()
                r = request(srv.addr, "GET", "/healthz", timeout=2.0)
                health.append((r.status == 200, r.secs, status_text(r) if r.status != 200 else ""))
                stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

        poller = threading.Thread(target=poll_health)
        poller.start()
        while time.monotonic() - opened < window:
            open_socks = [s for s in socks if s not in closed_at]
            if not open_socks:
                break
            ready, _, _ = select.select(open_socks, [], [], 0.25)
            for s in ready:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    closed_at[s] = time.monotonic() - opened
                # data (e.g. a 408) is read and ignored; closure follows
        stop.set()
        poller.join()
        secs = time.monotonic() - opened
        failures = [h for h in health if not h[0]]
        ok_health = sum(1 for h in health if h[0])
        max_health = max((h[1] for h in health), default=0.0)
        note = f"/healthz {ok_health}/{len(health)} OK, max {max_health * 1000:.0f} ms"
        if failures:
            note += f" (failures: {', '.join(sorted({h[2] for h in failures}))})"
        if closed_at:
            note += f"; closes at {min(closed_at.values()):.1f}-{max(closed_at.values()):.1f}s"
        if not srv.alive():
            note += "; " + srv.death_note()
        row("50 slow-header conns", f"server, {window:.0f}s window", f"closed {len(closed_at)}/50",
            srv.peak_mb(), secs, note, {"srv-slowhdr": len(closed_at) == 50 and not failures})
    finally:
        for s in socks:
            s.close()
        srv.stop()


def phase_sigterm(binary, env, work, corpus, cap=120.0):
    srv = Server(binary, env, work, "sigterm")
    sock = None
    try:
        sock = open_slow(srv.addr, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        time.sleep(0.5)
        sent = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        exited = srv.wait_exit(min(cap, max(1.0, remaining() - 5)))
        if exited:
            secs = srv.exited_at - sent
            status = describe_exit(srv.exit_code)
            note = f"exited {secs:.1f}s after SIGTERM"
        else:
            secs = time.monotonic() - sent
            status = "still running"
            note = f"not exited {secs:.0f}s after SIGTERM: SIGKILLed"
            srv.proc.kill()
            srv.wait_exit(10)
        row("1 slow-header conn", "server SIGTERM", status, srv.peak_mb(), secs, note,
            {"srv-sigterm": exited and secs <= 30})
    finally:
        if sock:
            sock.close()
        srv.stop()


def server_phases(binary, env, work, corpus):
    # (function, bound it decides, seconds it may need at worst)
    phases = [
        (phase_misc, ["srv-manifest", "srv-bearer", "srv-malformed"], 30),
        (phase_bombs, ["srv-ztxt"], 60),
        (phase_deep16, ["srv-deep16"], 60),
        (phase_slow_body, ["srv-slowbody"], 40),
        (phase_slow_headers, ["srv-slowhdr"], 45),
        (phase_sigterm, ["srv-sigterm"], 35),
    ]
    for fn, bounds, need in phases:
        name = fn.__name__.removeprefix("phase_")
        if remaining() < need:
            row(name, "server", "skipped", None, None, "NOT RUN: the run's deadline was reached",
                {b: False for b in bounds})
            continue
        try:
            fn(binary, env, work, corpus)
        except Exception as e:  # noqa: BLE001
            row(name, "server", "harness error", None, None, shorten(f"{type(e).__name__}: {e}", 120),
                {b: False for b in bounds})


# ---------------------------------------------------------------------------------------------


def report(quick):
    headers = ["case", "target", "status/exit", "peak RSS MB", "time s", "note"]
    table = [[r["case"], r["target"], r["status"], fmt_mb(r["rss"]), fmt_s(r["secs"]), r["note"]] for r in rows]
    widths = [max(len(str(x[i])) for x in table + [headers]) for i in range(5)]

    def line(cells):
        return " | ".join(str(c).ljust(widths[i]) if i < 5 else str(c) for i, c in enumerate(cells)).rstrip()

    print(line(headers))
    print("-|-".join("-" * w for w in widths) + "-|-" + "-" * 4)
    for cells in table:
        print(line(cells))
    print()
    verdicts = []
    for key, text in BOUNDS:
        results = [r["bounds"][key] for r in rows if key in r["bounds"]]
        if not results:
            verdict = "SKIP"
        else:
            verdict = "PASS" if all(results) else "FAIL"
        verdicts.append((key, verdict))
        print(f"{verdict}  {text}")
    failed = [k for k, v in verdicts if v == "FAIL"]
    mode = "quick" if quick else "full"
    print(f"RESULT ({mode}, {time.monotonic() - START:.0f}s): " + " ".join(f"{k}={v}" for k, v in verdicts)
          + f" => {'FAIL' if failed else 'PASS'} ({len(failed)} bound(s) failed)")
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    home = os.path.join(args.work, "home")
    os.makedirs(home, exist_ok=True)
    env = isolated_env(home)
    print("== CLI: check and stamp each case", file=sys.stderr)
    cli_phase(args.bin, args.corpus, args.work, env, args.quick)
    if not args.quick:
        print("== server phases", file=sys.stderr)
        server_phases(args.bin, env, args.work, args.corpus)
    print(file=sys.stderr)
    return report(args.quick)


if __name__ == "__main__":
    sys.exit(main())
