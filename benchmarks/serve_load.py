"""Load test of `lamina serve`: throughput, latency and correctness under concurrent clients,
then hostile requests mixed into the load.

The server runs as the documented multi-process set-up would start it (`uvicorn --factory
lamina.serve.app:create_app`, models and token from the environment), in a child process
on a free loopback port, with the courses' MLP (784-200-100-60-30-10 Dense, ReLU, softmax)
and a small CNN (two Conv2D/MaxPooling blocks, Dense 64, softmax), both with seeded random
weights. httpx async clients drive it at 1, 8 and 64 concurrent clients, each cell bounded
by a request count and a time limit. Every request carries its own input (one sample) and
every answer is checked against `model.predict` of that input computed here: within 1e-5,
and nearer to its own expected row than to any other (a swapped answer cannot pass). The
server's batch counters (its metrics endpoint) give the mean batch size per cell.

Phase 2 sends malformed and hostile requests while 8 good clients keep the MLP busy:
wrong shapes, a 100 MB body (declared and streamed), broken JSON, NaN, strings, booleans,
deep nesting, too many instances, path names such as ../../etc/passwd and %2e%2e, unknown
models, wrong methods, missing and wrong tokens. Every bad request must get a 4xx and
every good one its correct answer.

    python benchmarks/serve_load.py                  # print the tables
    python benchmarks/serve_load.py --write          # and append them to RESULTS.md
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# httpcore imports sniffio on every request to tell asyncio from trio; where it is not
# installed, each failed import searches sys.path again, which costs the load generator
# more CPU than the server spends on a request. Marked absent, the import fails at once
# and httpcore assumes asyncio, as it does anyway.
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from loadmeter import LoadMeter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "load-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
CLIENTS = (1, 8, 64)


def build_models(folder: Path) -> dict[str, tuple[Any, Path, tuple[int, ...]]]:
    """The two served models, saved as .lamina files: name -> (model, path, sample shape)."""
    import lamina as keras
    from lamina import layers

    keras.utils.set_random_seed(0)
    mlp = keras.Sequential(
        [layers.Input((784,))]
        + [layers.Dense(n, activation="relu") for n in (200, 100, 60, 30)]
        + [layers.Dense(10, activation="softmax")]
    )
    cnn = keras.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    out = {}
    for name, model, shape in (("mlp", mlp, (784,)), ("cnn", cnn, (28, 28, 1))):
        path = folder / f"{name}.lamina"
        model.save(path)
        out[name] = (model, path, shape)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The server in a child process (uvicorn's factory form), stopped on exit."""

    def __init__(self, models: dict[str, Path]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "LAMINA_SERVE_MODELS": json.dumps({k: str(v) for k, v in models.items()}),
            "LAMINA_SERVE_TOKEN": TOKEN,
        }
        self.command = [
            sys.executable, "-m", "uvicorn", "--factory", "lamina.serve.app:create_app",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            "--no-server-header", "--no-access-log",
        ]  # fmt: skip
        self.process = subprocess.Popen(self.command, env=env, cwd=ROOT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Expected the server to start, received: exit {self.process.returncode}"
                )
        raise RuntimeError("Expected the server to start within 120 s, received: no answer")

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def batch_counters(self) -> dict[str, float]:
        text = httpx.get(self.url + "/monitoring/prometheus/metrics", headers=AUTH).text
        found = re.findall(r'^lamina_serve_(\w+?)(?:_total)?\{model="(\w+)"\} (\S+)$', text, re.M)
        return {f"{metric}:{model}": float(value) for metric, model, value in found}

    def response_counts(self) -> collections.Counter:
        """The server's answers to /v1 requests so far, by HTTP status."""
        text = httpx.get(self.url + "/monitoring/prometheus/metrics", headers=AUTH).text
        found = re.findall(r'^lamina_serve_responses_total\{code="(\d+)"\} (\d+)$', text, re.M)
        return collections.Counter({int(code): int(n) for code, n in found})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Cell:
    """One model x concurrency run: answers by request index and latencies."""

    model: str
    clients: int
    answers: dict[int, Any] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    failures: collections.Counter = field(default_factory=collections.Counter)
    seconds: float = 0.0
    sent: int = 0
    client_cpu: float = 0.0


async def drive(url: str, name: str, bodies: list[bytes], clients: int, seconds: float) -> Cell:
    """`clients` concurrent clients send `bodies` (request i = body i) until all are sent
    or `seconds` pass; each answer is kept under its request's index."""
    cell = Cell(name, clients)
    next_index = iter(range(len(bodies)))
    # one client (one connection) per simulated user: httpx's shared pool costs far more CPU
    # at 64 connections. Built and connected (GET /healthz) before the clock starts.
    tls = ssl.create_default_context()  # plain http on loopback: built once, never used
    pool = [httpx.AsyncClient(base_url=url, timeout=60, verify=tls) for _ in range(clients)]
    await asyncio.gather(*(client.get("/healthz") for client in pool))

    async def client_loop(client: httpx.AsyncClient) -> None:
        for i in next_index:
            if time.perf_counter() > deadline:
                return
            cell.sent += 1
            start = time.perf_counter()
            try:
                response = await client.post(
                    f"/v1/models/{name}:predict", content=bodies[i], headers=AUTH
                )
            except httpx.HTTPError as error:
                cell.failures[type(error).__name__] += 1
                continue
            cell.latencies.append(time.perf_counter() - start)
            if response.status_code == 200:
                cell.answers[i] = response.json()["predictions"][0]
            else:
                cell.failures[response.status_code] += 1

    cpu = os.times()
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(client_loop(client) for client in pool))
    cell.seconds = time.perf_counter() - start
    done = os.times()
    cell.client_cpu = done.user + done.system - cpu.user - cpu.system
    for client in pool:
        await client.aclose()
    return cell


def check(cell: Cell, expected: np.ndarray) -> dict[str, Any]:
    """Answers against their own expected rows: within 1e-5, and nearest to their own row."""
    indices = sorted(cell.answers)
    got = np.asarray([cell.answers[i] for i in indices], dtype=np.float64)
    own = expected[indices].astype(np.float64)
    error = np.abs(got - own).max(axis=1) if len(indices) else np.zeros(0)
    nearest = np.concatenate(
        [
            np.argmin(((got[k : k + 100, None, :] - expected[None]) ** 2).sum(-1), axis=1)
            for k in range(0, len(got), 100)
        ]
        or [np.zeros(0, int)]
    )
    return {
        "answered": len(indices),
        "within": int((error <= 1e-5).sum()),
        "swapped": int((nearest != np.asarray(indices)).sum()),
        "max_error": float(error.max()) if len(indices) else 0.0,
        "lost": cell.sent - len(indices) - sum(cell.failures.values()),
    }


def bodies_for(inputs: np.ndarray) -> list[bytes]:
    return [json.dumps({"instances": [x.tolist()]}).encode() for x in inputs]


def min_row_distance(rows: np.ndarray) -> float:
    """The smallest distance between two expected rows: how far apart swapped answers are."""
    sample = rows[:1000].astype(np.float64)
    d = ((sample[:, None, :] - sample[None, :, :]) ** 2).sum(-1) ** 0.5
    d[np.arange(len(sample)), np.arange(len(sample))] = np.inf
    return float(d.min())


# --------------------------------------------------------------------- hostile phase
async def raw_request(port: int, request: bytes) -> int:
    """A request written byte for byte (no client library tidies its path); the status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    line = await reader.readline()
    writer.close()
    return int(line.split()[1])


def hostile_cases(port: int) -> dict[str, Any]:
    """Name -> coroutine factory taking a client and returning the status code."""
    row = [0.5] * 784
    good = json.dumps({"instances": [row]}).encode()

    def post(body: bytes, path: str = "/v1/models/mlp:predict", headers: dict | None = None) -> Any:
        async def send(client: httpx.AsyncClient) -> int:
            try:
                response = await client.post(path, content=body, headers=headers or AUTH)
            except httpx.HTTPError as error:
                return f"reset ({type(error).__name__})"  # type: ignore[return-value]
            return response.status_code

        return send

    def streamed_100mb() -> Any:
        async def send(client: httpx.AsyncClient) -> int:
            async def chunks() -> Any:
                for _ in range(100):
                    yield b"[" * 1_000_000

            try:
                response = await client.post(
                    "/v1/models/mlp:predict", content=chunks(), headers=AUTH
                )
            except httpx.HTTPError as error:
                return f"reset ({type(error).__name__})"  # type: ignore[return-value]
            return response.status_code

        return send

    def expect_continue() -> Any:
        request = (
            b"POST /v1/models/mlp:predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + TOKEN.encode() + b"\r\nContent-Type: application/json\r\n"
            + b"Content-Length: 100000000\r\nExpect: 100-continue\r\n\r\n"
        )  # fmt: skip

        async def send(client: httpx.AsyncClient) -> int:
            return await raw_request(port, request)

        return send

    def raw(path: bytes) -> Any:
        request = (
            b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(good)).encode()
            + b"\r\n\r\n" + good
        )  # fmt: skip

        async def send(client: httpx.AsyncClient) -> int:
            return await raw_request(port, request)

        return send

    def method(verb: str, path: str) -> Any:
        async def send(client: httpx.AsyncClient) -> int:
            return (await client.request(verb, path, headers=AUTH)).status_code

        return send

    return {
        "wrong shape": post(json.dumps({"instances": [[1.0, 2.0, 3.0]]}).encode()),
        "broken JSON": post(b'{"instances": [[0.5, 0.5'),
        "NaN literal": post(b'{"instances": [[NaN' + b", 0.5" * 783 + b"]]}"),
        "Infinity and 1e999": post(b'{"instances": [[1e999' + b", 0.5" * 783 + b"]]}"),
        "strings for numbers": post(json.dumps({"instances": [["0.5"] * 784]}).encode()),
        "booleans for numbers": post(json.dumps({"instances": [[True] + row[1:]]}).encode()),
        "ragged nested lists": post(json.dumps({"inputs": [row, row[:10]]}).encode()),
        "deep nesting": post(b'{"instances": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
        "300 instances (limit 256)": post(json.dumps({"instances": [row] * 300}).encode()),
        "5 MB body (limit 4 MiB)": post(b"[" * 5_000_000),
        "100 MB declared, Expect: 100-continue (as curl)": expect_continue(),
        "100 MB body sent at once (httpx)": post(b"[" * 100_000_000),
        "100 MB body streamed, chunked (httpx)": streamed_100mb(),
        "path ../../etc/passwd (raw)": raw(b"/v1/models/../../etc/passwd:predict"),
        "path %2e%2e/%2e%2e/etc/passwd": raw(b"/v1/models/%2e%2e/%2e%2e/etc/passwd:predict"),
        "name %2e%2e": post(good, "/v1/models/%2e%2e:predict"),
        "unknown model": post(good, "/v1/models/nobody:predict"),
        "GET on :predict": method("GET", "/v1/models/mlp:predict"),
        "no token": post(good, headers={"Content-Type": "application/json"}),
        "wrong token": post(good, headers={**AUTH, "Authorization": f"Bearer {TOKEN}x"}),
    }


async def hostile_phase(
    server: Server, bodies: list[bytes], seconds: float, rounds: int
) -> tuple[Cell, dict[str, collections.Counter]]:
    """8 good MLP clients, and hostile requests sent alongside them `rounds` times."""
    cases = hostile_cases(server.port)
    statuses: dict[str, collections.Counter] = {name: collections.Counter() for name in cases}

    async def attacker() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            for _ in range(rounds):
                for name, send in cases.items():
                    statuses[name][await send(client)] += 1

    good, _ = await asyncio.gather(drive(server.url, "mlp", bodies, 8, seconds), attacker())
    return good, statuses


# --------------------------------------------------------------------------- report
def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q) * 1000) if values else float("nan")


def run(args: argparse.Namespace) -> str:
    loads = [os.getloadavg()]
    rng = np.random.default_rng(0)
    rows: list[str] = []
    checks_ok = True
    with tempfile.TemporaryDirectory() as folder, LoadMeter() as meter:
        models = build_models(Path(folder))
        server = Server({name: item[1] for name, item in models.items()})
        try:
            expected: dict[str, np.ndarray] = {}
            bodies: dict[str, list[bytes]] = {}
            for name, (model, _, shape) in models.items():
                inputs = rng.random((args.requests, *shape), dtype=np.float32)
                expected[name] = model.predict(inputs, batch_size=256, verbose=0)
                bodies[name] = bodies_for(inputs)
                print(
                    f"{name}: smallest distance between expected rows {min_row_distance(expected[name]):.2e}"
                )
            for name in models:
                for clients in CLIENTS:
                    before, cpu0 = server.batch_counters(), server.cpu_seconds()
                    cell = asyncio.run(drive(server.url, name, bodies[name], clients, args.seconds))
                    after, cpu1 = server.batch_counters(), server.cpu_seconds()
                    result = check(cell, expected[name])
                    batches = after[f"batches:{name}"] - before[f"batches:{name}"]
                    samples = after[f"samples:{name}"] - before[f"samples:{name}"]
                    ok = (
                        result["within"] == result["answered"] == cell.sent
                        and result["swapped"] == 0
                        and not cell.failures
                    )
                    checks_ok &= ok
                    rows.append(
                        f"| {name} | {clients} | {cell.sent} | {result['within']} | "
                        f"{result['swapped']} / {result['lost']} / {sum(cell.failures.values())} | "
                        f"{len(cell.latencies) / cell.seconds:.0f} | "
                        f"{percentile(cell.latencies, 50):.1f} | {percentile(cell.latencies, 99):.1f} | "
                        f"{samples / max(batches, 1):.1f} (max {after[f'largest_batch:{name}']:.0f}) | "
                        f"{(cpu1 - cpu0) / max(cell.sent, 1) * 1000:.2f} | "
                        f"{cell.client_cpu / max(cell.sent, 1) * 1000:.2f} | {result['max_error']:.1e} |"
                    )
                    print(rows[-1], flush=True)
            loads.append(os.getloadavg())
            codes_before = server.response_counts()
            good, statuses = asyncio.run(
                hostile_phase(server, bodies["mlp"], args.seconds, args.hostile_rounds)
            )
            server_codes = server.response_counts() - codes_before
            result = check(good, expected["mlp"])
            good_ok = (
                result["within"] == result["answered"] == good.sent
                and result["swapped"] == 0
                and not good.failures
            )
            hostile_sent = sum(sum(c.values()) for c in statuses.values())
            server_4xx = sum(n for code, n in server_codes.items() if 400 <= code < 500)
            client_ok = all(
                (isinstance(s, int) and 400 <= s < 500)
                or (str(s).startswith("reset") and "100 MB" in name)
                for name, counter in statuses.items()
                for s in counter
            )
            bad_ok = (
                client_ok
                and server_4xx == hostile_sent
                and server_codes[200] == good.sent
                and not any(code >= 500 for code in server_codes)
            )
            health = httpx.get(server.url + "/healthz").status_code
        finally:
            server.stop()
    loads.append(os.getloadavg())
    hostile_rows = [
        f"| {name} | {sum(c.values())} | "
        + ", ".join(f"{s} x{n}" for s, n in sorted(c.items(), key=str))
        + " |"
        for name, c in statuses.items()
    ]
    now = datetime.datetime.now(datetime.timezone.utc)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    load_text = ", ".join(f"{a:.2f}" for a, _, _ in loads)
    lines = [
        f"## lamina serve under load: TF Serving REST, dynamic batching, hostile requests ({now:%Y-%m-%d %H:%M} UTC)",
        f"- command: `python benchmarks/serve_load.py --requests {args.requests} --seconds {args.seconds:g}"
        f" --hostile-rounds {args.hostile_rounds}` (main at {commit}); server: `{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(server.command))}`"
        " in a child process, default settings (max batch 64, batch timeout 2 ms, 4 MiB bodies, 256 instances),"
        " bearer token on; clients: httpx async in this process, one sample per request, keep-alive connections",
        f"- machine: {os.cpu_count()} CPUs shared by the server and the clients; 1-min load average at start,"
        f" after phase 1, at the end: {load_text}; other processes kept {meter.load:.2f} cores busy on average",
        "- correct = within 1e-5 of `model.predict` of that request's own input; swapped = nearer to another"
        " request's expected answer; lost = sent without any answer; failed = non-200 or client error;"
        " latency = client-side, request sent to answer parsed; server CPU per request from /proc",
        "",
        "| model | clients | requests | correct | swapped / lost / failed | req/s | p50 ms | p99 ms | mean batch (max) | server CPU ms/req | client CPU ms/req | max abs error |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Hostile requests during load ({args.hostile_rounds} rounds of each, alongside 8 good MLP clients):"
        f" good requests {good.sent} sent, {result['within']} correct, {result['swapped']} swapped,"
        f" {result['lost']} lost, {sum(good.failures.values())} failed"
        f" (p50 {percentile(good.latencies, 50):.1f} ms, p99 {percentile(good.latencies, 99):.1f} ms);"
        f" the server's answers to /v1 in this phase: "
        + ", ".join(f"{code} x{n}" for code, n in sorted(server_codes.items()))
        + f" ({hostile_sent} hostile requests sent; every one answered 4xx by the server, none 5xx,"
        f" each 200 a good request: {bad_ok}); /healthz afterwards: {health}.",
        "",
        "| hostile request | sent | status the client read |",
        "|---|---|---|",
        *hostile_rows,
        "",
        f"All phase-1 checks passed: {checks_ok}; phase 2 good requests all correct: {good_ok}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="Requests per cell, at most.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Time limit per cell.")
    parser.add_argument("--hostile-rounds", type=int, default=3, help="Rounds of hostile requests.")
    parser.add_argument("--write", action="store_true", help="Append the section to RESULTS.md.")
    args = parser.parse_args()
    text = run(args)
    print()
    print(text)
    if args.write:
        results = Path(__file__).with_name("RESULTS.md")
        with results.open("a", encoding="utf-8") as out:
            out.write("\n" + text + "\n")
        print(f"\nappended to {results}")


if __name__ == "__main__":
    main()
