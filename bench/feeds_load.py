"""Feeds under load: 200 podcast apps at once against the embedded server and gunicorn.

    .venv/bin/python -m bench.feeds_load [--clients 200] [--seconds 20] [--interval 1.0]

Seeds a fresh data folder (SQLite, local encrypted storage) with a show of 12 published
episodes (8 public, 4 internal, each a minute of MP3) and one listener per client, then
runs each server in turn on loopback:

- ``embedded``: ``diaryroom serve`` (waitress, 8 threads), what ``make run`` starts;
- ``gunicorn``: ``gunicorn -w 4 diaryroom.wsgi:app`` (sync workers), as in compose.

Each client is one listener's podcast app: it asks for its private feed, the public feed
and a 256 KiB range of an episode's audio, in turn. Two passes per server:

- ``paced``: every client sends a request every ``--interval`` seconds (jittered), so
  the server sees ``clients / interval`` requests a second however fast it answers:
  the latency people get at that load (the p99 target, < 50 ms for feeds, is for this);
- ``flat out``: every client sends its next request as soon as the last is answered:
  the most requests a second the server manages (latency here is queueing: Little's law
  makes it clients / throughput).

The client is asyncio in this process, on the same two cores as the server, so the
numbers are a floor for what the server does alone. Every answer is checked (status and
length, and that a private feed holds its own listener's token and nobody else's).
Writes ``bench/results/feeds_load.json``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent
RANGE = 256 * 1024  # bytes a client asks for at once, as apps do when they stream
TIMEOUT = 30.0  # seconds: a request taking longer counts as an error
TOKEN = re.compile(rb"/private/([A-Za-z0-9_-]{20,})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(data: Path, port: int) -> dict[str, str]:
    from diaryroom.crypto import generate_key

    key_file = data / "bench_key"
    if not key_file.exists():
        key_file.write_text(generate_key())
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIARYROOM_")}
    env.update(DIARYROOM_DATA_DIR=str(data), DIARYROOM_SECRET_KEY="bench-" + "x" * 40,
               DIARYROOM_ENCRYPTION_KEY=key_file.read_text(),
               DIARYROOM_BASE_URL=f"http://127.0.0.1:{port}", DIARYROOM_LOG_LEVEL="WARNING",
               DIARYROOM_COOKIE_SECURE="false")
    return env


def seed(data: Path, env: dict[str, str], clients: int) -> dict:
    """The show, its episodes and one listener per client, made as the app makes them."""
    subprocess.run([str(BIN / "diaryroom"), "init"], env=env, check=True,
                   capture_output=True, timeout=300)
    os.environ.update(env)
    from diaryroom import accounts, create_app, tenancy
    from diaryroom.extensions import db
    from diaryroom.models import Organisation
    from podcast.publishing.listeners import create_listener
    from podcast.publishing.models import INTERNAL, PUBLIC
    from tests.integration.publish_support import publish_row, rendered_episode, tone_mp3

    app = create_app()
    mp3 = tone_mp3(data / "minute.mp3", seconds=60)
    with app.app_context():
        org = db.session.query(Organisation).order_by(Organisation.id).first()
        org_id, slug = org.id, org.slug
    episodes = []
    for n in range(12):
        audience = PUBLIC if n < 8 else INTERNAL
        ids = rendered_episode(app, org_id, mp3, title=f"Episode {n + 1}", audience="public")
        publish_row(app, org_id, ids["episode_id"], INTERNAL, user_id=None)
        if audience == PUBLIC:
            publish_row(app, org_id, ids["episode_id"], PUBLIC, user_id=None)
        episodes.append(ids["episode_id"])
    tokens = []
    with app.app_context(), tenancy.as_org(org_id):
        for n in range(clients):
            user, _ = accounts.create_user(org_id, f"listener{n}@bench.example.org", "panel",
                                           secrets.token_urlsafe(16))
            _, token = create_listener(user, by=None)
            tokens.append(token)
    return {"slug": slug, "tokens": tokens, "episodes": len(episodes)}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)


async def fetch(port: int, path: str, headers: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], bytes]:
    return await asyncio.wait_for(_fetch(port, path, headers), TIMEOUT)


async def _fetch(port: int, path: str, headers: dict[str, str] | None
                 ) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             "User-Agent: bench-feeds-load"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {k.strip().lower(): v.strip() for k, _, v in
              (h.partition(":") for h in header_lines)}
    if "chunked" in parsed.get("transfer-encoding", ""):
        body = dechunk(body)
    return int(status_line.split()[1]), parsed, body


def dechunk(body: bytes) -> bytes:
    out, rest = bytearray(), body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return bytes(out)


async def listener(n: int, port: int, setup: dict, audio_paths: list[str], tally: Tally,
                   until: float, interval: float | None) -> None:
    token = setup["tokens"][n]
    slug = setup["slug"]
    plan = [("private feed", f"/feeds/{slug}/private/{token}.xml", None),
            ("public feed", f"/feeds/{slug}/public.xml", None)]
    rng = random.Random(n)
    step = n
    if interval:
        await asyncio.sleep(rng.uniform(0, interval))
    while time.perf_counter() < until:
        if step % 3 == 2:
            start = rng.randrange(0, 200_000) // 4096 * 4096  # a minute at 64 kb/s: 480 KB
            kind, path = "audio range", rng.choice(audio_paths)
            path = path.replace("{token}", token)
            headers = {"Range": f"bytes={start}-{start + RANGE - 1}"}
        else:
            kind, path, headers = plan[step % 3]
        step += 1
        began = time.perf_counter()
        try:
            status, got, body = await fetch(port, path, headers)
        except (OSError, TimeoutError) as e:
            tally.errors.append(f"{kind}: {type(e).__name__}")
            continue
        took = time.perf_counter() - began
        ok = status == (206 if kind == "audio range" else 200)
        if kind == "audio range":
            ok = ok and len(body) == int(got.get("content-length", -1)) > 0
        if kind == "private feed":
            ok = ok and set(TOKEN.findall(body)) == {token.encode()}
        if not ok:
            tally.errors.append(f"{kind}: {status}")
        else:
            tally.add(kind, took)
        if interval:
            await asyncio.sleep(max(0.0, rng.uniform(0.5, 1.5) * interval - took))


def audio_paths(port: int, setup: dict) -> list[str]:
    """The enclosure links the public feed and one private feed give (private links have
    the listener's token swapped for a placeholder, filled in per client)."""
    async def both():
        slug, token = setup["slug"], setup["tokens"][0]
        _, _, public = await fetch(port, f"/feeds/{slug}/public.xml")
        _, _, private = await fetch(port, f"/feeds/{slug}/private/{token}.xml")
        return public, private
    public, private = asyncio.run(both())
    urls = re.findall(rb'<enclosure url="([^"]+)"', public)
    urls += [u.replace(setup["tokens"][0].encode(), b"{token}")
             for u in re.findall(rb'<enclosure url="([^"]+)"', private)]
    paths = sorted({re.sub(r"^https?://[^/]+", "", u.decode()) for u in urls})
    if len(paths) < setup["episodes"]:
        raise SystemExit(f"expected enclosures for {setup['episodes']} episodes, found "
                         f"{len(paths)}")
    return paths


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_pass(port: int, setup: dict, paths: list[str], clients: int, seconds: float,
             interval: float | None) -> dict:
    tally = Tally()

    async def everyone():
        until = time.perf_counter() + seconds
        await asyncio.gather(*(listener(n, port, setup, paths, tally, until, interval)
                               for n in range(clients)))
    began = time.perf_counter()
    asyncio.run(everyone())
    wall = time.perf_counter() - began
    result = {"requests": sum(len(v) for v in tally.latencies.values()),
              "errors": len(tally.errors), "error_kinds": sorted(set(tally.errors))[:5],
              "seconds": round(wall, 2)}
    result["requests_per_second"] = round(result["requests"] / wall, 1)
    for kind, values in sorted(tally.latencies.items()):
        result[kind] = {"count": len(values),
                        "p50_ms": round(percentile(values, 50) * 1000, 1),
                        "p99_ms": round(percentile(values, 99) * 1000, 1)}
    return result


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            status, _, _ = asyncio.run(fetch(port, "/healthz"))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not start")


SERVERS = {
    "embedded": lambda port: [str(BIN / "diaryroom"), "serve", "--no-workers",
                              "--port", str(port)],
    "gunicorn": lambda port: [str(BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}",
                              "--backlog", "2048", "--log-level", "warning",
                              "diaryroom.wsgi:app"],
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between one client's requests in the paced pass")
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    parser.add_argument("--out", default="feeds_load.json",
                        help="file name under bench/results/")
    args = parser.parse_args(argv)
    results: dict = {"clients": args.clients, "seconds": args.seconds,
                     "paced_interval": args.interval, "cpus": os.cpu_count(), "servers": {}}
    with tempfile.TemporaryDirectory(prefix="feeds-load-") as tmp:
        data = Path(tmp)
        port = free_port()
        env = environment(data, port)
        setup = seed(data, env, args.clients)
        print(f"seeded {args.clients} listeners, {setup['episodes']} episodes", flush=True)
        for name in args.servers:
            # To a file, never a pipe nobody reads: waitress warns on stderr when its queue
            # is deep, and a full pipe would stall the server mid-run.
            log = (data / f"{name}.log").open("wb")
            proc = subprocess.Popen(SERVERS[name](port), env=env, cwd=ROOT,
                                    stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_ready(port, proc)
                print(f"{name}: ready", flush=True)
                paths = audio_paths(port, setup)
                run_pass(port, setup, paths, 20, 2.0, None)  # warm every worker's cache
                results["servers"][name] = {
                    "paced": run_pass(port, setup, paths, args.clients, args.seconds,
                                      args.interval),
                    "flat_out": run_pass(port, setup, paths, args.clients, args.seconds,
                                         None)}
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                log.close()
            print(name, json.dumps(results["servers"][name], indent=1), flush=True)
    out = BENCH / "results" / args.out
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return results


if __name__ == "__main__":
    main()
