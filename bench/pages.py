"""HTTP benchmark: the busiest pages and API lists, served by gunicorn, against a trivial route.

    python bench/pages.py            # 100k technicians, 5k firms, 200k assignments
    python bench/pages.py --quick    # 10k, 500, 20k (and shorter runs)

PostgreSQL holds the data (bench/http_data.py: generated with COPY once per
schema revision, kept as a template database; each run works on a fresh copy).
gunicorn serves the production configuration with 2 workers on 127.0.0.1 (with
the repository's gunicorn.conf.py, as `gunicorn wsgi:app` in its root reads it; rate
limits off: every request comes from one address). wrk (Debian's package,
installed when missing and run as root) keeps 8 connections busy on one request
at a time, each request rotating among 32 signed-in users (session cookies from
a real sign-in for pages, personal API tokens for the API):

    the technician's feed (page and API), the firm's assignment list (page and
    API), a dispatcher's assignment page with its matches, a technician's offer
    page, the admin review queue,

and, in the same run, /healthz of the same app under the same server as the
ceiling, measured before each request and once more at the end (each request is
judged against the two around it). Prints req/s, p50 and p99 for each and its
share of the ceiling, then one JSON line. Target: every request at least 15% of
the ceiling with a p99 of at most 100 ms.
"""
from __future__ import annotations

import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(_BENCH)
# Siblings are imported from the repository root (`from bench import http_data`).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _BENCH]
sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import requests  # noqa: E402

from bench import http_data  # noqa: E402

USER_AGENT = "onsite-bench/1"
TARGET_RATIO = 0.15
TARGET_P99_MS = 100.0


@dataclass
class Spec:
    name: str
    targets: list[tuple[str, dict[str, str]]]   # (path, headers), one per user
    bodies: list[str] | None = None             # POST bodies, one per target, sent in order
    # Whether the request is judged by its share of the ceiling too (writes are not).
    ratio_target: bool = True


# --- tools -------------------------------------------------------------------------------

def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (Debian package)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        sys.exit("bench/pages.py needs wrk: install it with `apt-get install wrk` "
                 "(run this benchmark as root and it installs it itself)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the server -------------------------------------------------------------------------

class Server:
    """gunicorn with the production configuration on a copy of the data."""

    def __init__(self, database_url: str, workers: int, log_dir: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(log_dir, "gunicorn.log")
        self.dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SMTP_URL")}
        env.update(SECRET_KEY=secrets.token_hex(32), DATABASE_URL=database_url,
                   MARKETPLACE_CONFIG="production", PYTHONUNBUFFERED="1")
        factory = "marketplace:create_app('production', {'RATELIMIT_ENABLED': False})"
        self.log = open(self.log_path, "w")  # noqa: SIM115  (closed by stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config",
             os.path.join(ROOT, "gunicorn.conf.py"), "--workers", str(workers), "--bind",
             f"127.0.0.1:{self.port}", "--chdir", ROOT, "--log-level", "warning", factory],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        sys.exit("gunicorn did not start:\n" + self.tail())

    def pids(self) -> list[int]:
        """gunicorn's processes and the database sessions of the benchmark's database."""
        import psycopg
        found = [self.proc.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                            found.append(int(entry))
                except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                    continue
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            found += [pid for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")]
        return found

    def tail(self, lines: int = 40) -> str:
        with open(self.log_path) as f:
            return "".join(f.readlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def sign_in(base: str, email: str) -> dict[str, str]:
    """A real sign-in (CSRF token and all); the session cookie, as a request header."""
    headers = {"User-Agent": USER_AGENT}
    page = requests.get(base + "/login", headers=headers, timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    if page.status_code != 200 or token is None:
        sys.exit(f"no sign-in form at {base}/login ({page.status_code})")
    cookie = f"session={page.cookies['session']}"
    done = requests.post(base + "/login", allow_redirects=False, timeout=10,
                         headers={**headers, "Cookie": cookie},
                         data={"csrf_token": token.group(1), "email": email,
                               "password": http_data.PASSWORD})
    if done.status_code != 302 or "session" not in done.cookies:
        sys.exit(f"sign-in failed for {email}: {done.status_code}")
    return {"Cookie": f"session={done.cookies['session']}"}


# --- load ----------------------------------------------------------------------------------

LUA = """
local targets = {%s}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  built = {}
  for i, t in ipairs(targets) do
    local headers = {["User-Agent"] = "%s"}
    for k, v in pairs(t[2]) do headers[k] = v end
    if t[3] then
      built[i] = wrk.format("POST", t[1], headers, t[3])
    else
      built[i] = wrk.format("GET", t[1], headers)
    end
  end
  n = %s
end

function request()
  n = n %% #built + 1
  return built[n]
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local nbad = 0
  for _, t in ipairs(threads) do nbad = nbad + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"non_200": %%d, "errors": %%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), nbad,
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lua_script(spec: Spec, directory: str) -> str:
    entries = []
    bodies = spec.bodies or [None] * len(spec.targets)
    for (path, headers), body in zip(spec.targets, bodies, strict=True):
        pairs = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
        tail = "" if body is None else ", " + _lua_string(body)
        entries.append(f"{{{_lua_string(path)}, {{{pairs}}}{tail}}}")
    path = os.path.join(directory, re.sub(r"\W+", "_", spec.name) + ".lua")
    # POST bodies are sent once each, in order (a phone's queue); GETs from a random start.
    with open(path, "w") as f:
        f.write(LUA % (",\n  ".join(entries), USER_AGENT,
                       "0" if spec.bodies else "math.random(#built)"))
    return path


def run_wrk(wrk: str, base: str, script: str, seconds: float, connections: int) -> dict:
    out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                          "--timeout", "10s", "-s", script, base], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        sys.exit(f"wrk failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        sys.exit("wrk printed no result:\n" + out.stdout + out.stderr)
    raw = json.loads(line[len("BENCHJSON "):])
    return {"rps": raw["requests"] / (raw["duration_us"] / 1e6),
            "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "requests": raw["requests"], "failed": raw["non_200"] + raw["errors"]}


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU time of each process so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def measure(wrk: str, server: Server, spec: Spec, directory: str, seconds: float,
            warmup: float, connections: int) -> dict:
    """req/s and latency from wrk; and the CPU the server and its database sessions
    spent per request, which the machine's other work does not inflate much."""
    script = lua_script(spec, directory)
    if warmup:
        run_wrk(wrk, server.base, script, warmup, connections)
    before = cpu_seconds(server.pids())
    result = run_wrk(wrk, server.base, script, seconds, connections)
    after = cpu_seconds(server.pids())
    if result["failed"]:
        sys.exit(f"{spec.name}: {result['failed']} of {result['requests']} requests failed")
    spent = sum(t - before.get(pid, 0.0) for pid, t in after.items())
    result["cpu_ms"] = 1000 * spent / max(1, result["requests"])
    return result


def check(base: str, spec: Spec) -> int:
    """Every target answers 200 with content, signed in (no redirect to the sign-in);
    returns the mean size of the answers."""
    sizes = []
    for path, headers in spec.targets:
        r = requests.get(base + path, headers={**headers, "User-Agent": USER_AGENT},
                         allow_redirects=False, timeout=30)
        if r.status_code != 200 or not r.content:
            sys.exit(f"{spec.name}: {path} answered {r.status_code}")
        sizes.append(len(r.content))
    return sum(sizes) // len(sizes)


# --- the run --------------------------------------------------------------------------------

def specs(base: str, users: dict[str, list[dict]]) -> list[Spec]:
    techs, dispatchers, admins = users["technician"], users["dispatcher"], users["admin"]
    t_cookie = [sign_in(base, u["email"]) for u in techs]
    d_cookie = [sign_in(base, u["email"]) for u in dispatchers]
    a_cookie = [sign_in(base, u["email"]) for u in admins]
    bearer = lambda u: {"Authorization": f"Bearer {u['token']}"}  # noqa: E731
    return [
        Spec("feed page", [("/feed", c) for c in t_cookie]),
        Spec("feed api", [("/api/v1/feed", bearer(u)) for u in techs]),
        Spec("assignment list page", [("/assignments", c) for c in d_cookie]),
        Spec("assignment list api", [("/api/v1/assignments", bearer(u)) for u in dispatchers]),
        Spec("assignment page (matches)", [(f"/assignments/{u['assignment_id']}", c)
                                           for u, c in zip(dispatchers, d_cookie)]),
        Spec("offer page", [(f"/offers/{u['offer_id']}", c) for u, c in zip(techs, t_cookie)]),
        Spec("admin review queue", [("/verify/review", c) for c in a_cookie]),
    ]


REPLAY_PATH = "/api/v1/work/sync"


def replay_specs(url: str, phones: int, rounds: tuple[int, int],
                 seed: int = 5) -> tuple[Spec, Spec, dict[int, int]]:
    """bench/checkin.py's offline replay over HTTP: `phones` technicians with assigned work,
    each syncing a visit per round (check-in, seven answers, check-out, in two batches,
    one action of each visit delivered twice) through the API with their own token. A
    round sends every phone's first batch, then every second one: a phone's batches stay
    in order, far apart (more phones than connections). Returns the warm-up's spec, the
    measured one's (rounds[0] and rounds[1] rounds) and the technicians' ids by user."""
    import random
    from datetime import timedelta

    from bench import checkin
    from marketplace.core import clock
    work = checkin.pick_work(url, phones)
    users = [{"user_id": row[0]} for row in work]
    http_data.add_tokens(url, users)
    token = {u["user_id"]: u["token"] for u in users}
    order = {row[0]: i for i, row in enumerate(work)}
    rng, now = random.Random(seed), clock.now()
    total = sum(rounds)
    batches = []
    for r in range(total):
        made, _ = checkin.queues(work, rng, now - timedelta(minutes=100 * (total - r)))
        seen: dict[int, int] = {}
        ranked = []
        for user_id, items in made:
            seen[user_id] = seen.get(user_id, 0) + 1
            ranked.append(((seen[user_id], order[user_id]), user_id, items))
        batches.append([(u, items) for _, u, items in sorted(ranked, key=lambda x: x[0])])

    def spec(name: str, part: list) -> Spec:
        flat = [b for round_ in part for b in round_]
        return Spec(name, [(REPLAY_PATH, {"Authorization": f"Bearer {token[u]}",
                                          "Content-Type": "application/json"})
                           for u, _ in flat],
                    [json.dumps({"actions": items}) for _, items in flat], ratio_target=False)
    return (spec("offline replay (warm-up)", batches[:rounds[0]]),
            spec("offline replay (api sync)", batches[rounds[0]:]),
            {row[0]: row[1] for row in work})


def replay_effects(url: str, techs: list[int]) -> dict:
    """What the replay left: keys stored, effects audited, duplicates applied (an audited
    effect beyond one per key applied)."""
    import psycopg
    with psycopg.connect(http_data.templates.dsn(url)) as conn:
        applied, ok = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status < 400) FROM applied_actions "
            "WHERE technician_id = ANY(%s)", (techs,)).fetchone()
        audited = conn.execute(
            "SELECT count(*) FROM audit_log a JOIN technicians t ON t.user_id = a.actor_id "
            "WHERE t.id = ANY(%s) AND a.action IN ('visit.checked_in', 'visit.checked_out', "
            "'task.answered')", (techs,)).fetchone()[0]
    return {"keys": applied, "applied_ok": ok, "audited": audited,
            "duplicates_applied": audited - ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="10k technicians, 500 firms, 20k assignments; shorter runs")
    parser.add_argument("--duration", type=float, help="seconds measured per request")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each")
    parser.add_argument("--connections", type=int, default=8)
    # One sync worker a core: on the replay, 5 workers on two cores did 36 batches/s at
    # 21 CPU ms a batch against 2 workers' 59 at 12 ms (the same run, load about 11).
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=32, help="signed-in users per request")
    parser.add_argument("--rebuild", action="store_true", help="generate the data anew")
    parser.add_argument("--keep", action="store_true", help="keep the run's database")
    parser.add_argument("--only", help="run only the requests whose name contains this")
    parser.add_argument("--phones", type=int, default=64,
                        help="technicians replaying offline queues over the API")
    args = parser.parse_args()
    seconds = args.duration or (8.0 if args.quick else 20.0)
    size = http_data.QUICK if args.quick else http_data.FULL

    from tests.services import postgres_available
    if not postgres_available():
        sys.exit("bench/pages.py needs PostgreSQL (TEST_POSTGRES_URL, default 127.0.0.1:5432)")
    wrk = ensure_wrk()
    started = time.perf_counter()
    template = http_data.ensure_template(size, rebuild=args.rebuild,
                                         log=lambda m: print(m, flush=True))
    url = http_data.copy_of(template, f"run{os.getpid()}")
    server = None
    try:
        users = http_data.bench_users(url, args.users)
        http_data.add_tokens(url, users["technician"] + users["dispatcher"])
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(url, args.workers, tmp)
            print(f"{size.technicians} technicians, {size.firms} firms, {size.assignments} "
                  f"assignments; gunicorn {args.workers} workers; wrk {args.connections} "
                  f"connections, {seconds:g} s each", flush=True)
            chosen = [s for s in specs(server.base, users)
                      if not args.only or args.only in s.name]
            warm_replay = replay_techs = None
            if not args.only or args.only in "offline replay (api sync)":
                # Rounds: the warm-up's, then more than the measured seconds can send
                # (at 600 batches/s, half again the fastest run measured; past its end a
                # queue would be sent again, cheaply, and the run says so).
                rounds = math.ceil(600 * seconds / (2 * args.phones))
                warm_replay, replay, replay_techs = replay_specs(
                    url, args.phones, (2, rounds))
                chosen.append(replay)
            if not chosen:
                sys.exit(f"no request's name contains {args.only!r}")
            ceiling_spec = Spec("ceiling (/healthz)", [("/healthz", {})])
            sizes = {spec.name: check(server.base, spec) if spec.bodies is None else
                     sum(map(len, spec.bodies)) // len(spec.bodies)
                     for spec in chosen + [ceiling_spec]}

            def run(spec, length=seconds):
                if spec.bodies is not None:     # its own warm-up: other phones' queues
                    run_wrk(wrk, server.base, lua_script(warm_replay, tmp), args.warmup,
                            args.connections)
                    return measure(wrk, server, spec, tmp, length, 0, args.connections)
                return measure(wrk, server, spec, tmp, length, args.warmup, args.connections)
            # The ceiling is measured before every request and once more at the end,
            # each request judged against the mean of the two around it: on a shared
            # machine the load of the moment weighs on both alike.
            ceilings = [run(ceiling_spec, seconds / 2)]
            results = {}
            for spec in chosen:
                r = results[spec.name] = run(spec)
                r["bytes"] = sizes[spec.name]
                ceilings.append(run(ceiling_spec, seconds / 2))
                r["ceiling_rps"] = (ceilings[-2]["rps"] + ceilings[-1]["rps"]) / 2
                r["ratio"] = r["rps"] / r["ceiling_rps"]
                print(f"  {spec.name:28s} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.1f} ms  "
                      f"p99 {r['p99_ms']:6.1f} ms  ({r['ratio']:.0%} of "
                      f"{r['ceiling_rps']:.0f} req/s; {r['cpu_ms']:.2f} CPU ms a request; "
                      f"{r['bytes'] / 1024:.1f} KB; {len(spec.targets)} users)", flush=True)
            server.stop()
            if replay_techs:
                effects = replay_effects(url, list(replay_techs.values()))
                sent = results["offline replay (api sync)"]["requests"]
                if sent > len(replay.targets):
                    print(f"  offline replay: the queues ran out ({sent} requests for "
                          f"{len(replay.targets)} batches): later ones were repeats",
                          flush=True)
                print(f"  offline replay: {sent} batches from {len(replay_techs)} phones "
                      f"(warm-up included: {effects['keys']} keys stored, "
                      f"{effects['applied_ok']} applied, {effects['audited']} effects "
                      f"audited); duplicates applied: {effects['duplicates_applied']}",
                      flush=True)
                results["offline replay (api sync)"]["duplicates_applied"] = \
                    effects["duplicates_applied"]
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            http_data.drop_database(url)
    rates = sorted(c["rps"] for c in ceilings)
    ceiling_rps = rates[len(rates) // 2]
    ceiling_cpu = sorted(c["cpu_ms"] for c in ceilings)[len(ceilings) // 2]
    print(f"ceiling /healthz: median {ceiling_rps:.0f} req/s of {len(rates)} runs "
          f"({rates[0]:.0f}-{rates[-1]:.0f}); p99 "
          f"{max(c['p99_ms'] for c in ceilings):.1f} ms at most; {ceiling_cpu:.2f} CPU ms "
          "a request")
    # "CPU ratio": the ceiling's server CPU per request over the request's (server and
    # database): what the share would be if serving were the machine's only work.
    print(f"{'request':28s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'ceiling':>8s} "
          f"{'CPU ms':>7s} {'CPU ratio':>9s}")
    misses = []
    judged = {spec.name: spec.ratio_target for spec in chosen}
    for name, r in results.items():
        ok = (r["ratio"] >= TARGET_RATIO or not judged[name]) and r["p99_ms"] <= TARGET_P99_MS
        misses += [] if ok else [name]
        print(f"{name:28s} {r['rps']:8.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
              f"{r['ratio']:8.0%} {r['cpu_ms']:7.2f} {ceiling_cpu / r['cpu_ms']:9.0%}"
              f"{'' if ok else '  misses the target'}")
    print(f"target: every page >= {TARGET_RATIO:.0%} of the ceiling, every request p99 <= "
          f"{TARGET_P99_MS:g} ms: {'met' if not misses else 'missed by ' + ', '.join(misses)}"
          f" (run took {time.perf_counter() - started:.0f} s; load average "
          f"{os.getloadavg()[1]:.1f} over the last 5 minutes on {os.cpu_count()} cores)")
    print(json.dumps({
        "bench": "http", "technicians": size.technicians, "firms": size.firms,
        "assignments": size.assignments, "ceiling_rps": round(ceiling_rps, 1),
        "min_ratio": round(min(r["ratio"] for r in results.values()), 3),
        "max_p99_ms": round(max(r["p99_ms"] for r in results.values()), 1),
        "ceiling_cpu_ms": round(ceiling_cpu, 3), "loadavg_5min": round(os.getloadavg()[1], 1),
        **({"replay_p99_ms": round(results["offline replay (api sync)"]["p99_ms"], 1),
            "replay_duplicates_applied":
                results["offline replay (api sync)"].get("duplicates_applied")}
           if "offline replay (api sync)" in results else {}),
        "requests": {name: {"rps": round(r["rps"], 1), "p50_ms": round(r["p50_ms"], 2),
                            "p99_ms": round(r["p99_ms"], 2), "ratio": round(r["ratio"], 3),
                            "cpu_ms": round(r["cpu_ms"], 2)} for name, r in results.items()},
    }))


if __name__ == "__main__":
    main()
