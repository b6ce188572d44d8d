"""benchmarks/wrk.py and storm.lua against a real wrk and a small echo server on loopback.

The echo server answers each request with what identified it (the
Authorization header and the body), after a random few milliseconds so that
connections answer in another order than they sent; so a reply paired with
the wrong user shows. It refuses some users with a problem JSON, and never
answers a request whose token is "hold".
"""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks import wrk
from tests.helpers.e2e import secrets_absent

ROOT = Path(__file__).resolve().parents[3]
HOLD = "Bearer hold"


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the broker
    # Headers and body go out in two writes; with Nagle's algorithm the body
    # would wait for wrk's delayed ACK, 40 ms an answer.
    disable_nagle_algorithm = True
    released = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        authorization = self.headers.get("Authorization", "")
        if authorization == HOLD:
            self.released.wait(60)
            return
        time.sleep(random.uniform(0, 0.005))
        user = int(authorization.rsplit("-", 1)[1]) if authorization else -1
        if user % 7 == 3:
            self.answer(409, {"code": "no_machine_free", "authorization": authorization})
        else:
            self.answer(200, {"authorization": authorization, "body": body})

    def do_GET(self) -> None:
        self.answer(200, {"status": "ok"})

    def answer(self, status: int, reply: dict[str, str]) -> None:
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # wrk's connections reset as it stops; nothing to see


@pytest.fixture
def echo(wrk_installed: None) -> Iterator[str]:
    server = Server(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Echo.released.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        Echo.released.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def token(user: int) -> str:
    return f"Bearer token-{user}"


def test_each_request_is_sent_once_and_each_answer_paired_with_its_user(
    echo: str, tmp_path: Path
) -> None:
    requests = [
        wrk.Request(n, authorization=token(n), body=json.dumps({"user": n})) for n in range(300)
    ]
    targets = [
        wrk.Target(f"{echo}/launch", 4, requests[:170]),
        wrk.Target(f"{echo}/launch", 3, requests[170:]),
        wrk.Target(f"{echo}/launch", 2, []),  # a node with nobody to serve
    ]
    with wrk.each_once(targets, method="POST", workdir=tmp_path, name="t", stall=30) as load:
        folders = [tmp_path / "t-1", tmp_path / "t-2"]
        # The tokens are in files only we can read, and on no command line.
        for folder in folders:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
            for file in [*folder.glob("in-*"), *folder.glob("out-*")]:
                assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert len(load.pids) == 2
        for pid in load.pids:
            secrets_absent(pid, "token-")
        load.wait()
    first, second, empty = load.results
    assert (first.threads, second.threads, empty.threads) == (4, 3, 0)
    assert empty.replies == []
    for result, sent in ((first, requests[:170]), (second, requests[170:])):
        assert sorted(r.user for r in result.replies) == [r.user for r in sent]
        assert result.requests == len(sent)
        refused = sum(r.user % 7 == 3 for r in sent)
        assert {k: v for k, v in result.errors.items() if v} == {"status": refused}
    for reply in first.replies + second.replies:
        answer = json.loads(reply.body)
        assert answer["authorization"] == token(reply.user)
        if reply.user % 7 == 3:
            assert (reply.status, answer["code"]) == (409, "no_machine_free")
        else:
            assert reply.status == 200
            assert json.loads(answer["body"]) == {"user": reply.user}
        assert 0 < reply.latency < 5
    # The folders that held the tokens are gone; the wrk processes too.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t-1.log", "t-2.log"]
    for pid in (first.pid, second.pid):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_request_never_answered_leaves_its_users_missing_after_the_stall(
    echo: str, tmp_path: Path
) -> None:
    requests = [
        wrk.Request(1, authorization=token(1)),
        wrk.Request(2, authorization=HOLD),
        wrk.Request(4, authorization=token(4)),
    ]
    started = time.monotonic()
    with wrk.each_once(
        [wrk.Target(f"{echo}/launch", 1, requests)],
        method="POST",
        workdir=tmp_path,
        name="t",
        stall=1.0,
    ) as load:
        load.wait()
    # One connection: user 4 waits behind the held request and is never sent.
    assert [r.user for r in load.results[0].replies] == [1]
    assert time.monotonic() - started < 20


def test_fixed_rate_runs_for_the_time_given(echo: str, tmp_path: Path) -> None:
    started = time.monotonic()
    targets = [wrk.Target(f"{echo}/bare", 4), wrk.Target(f"{echo}/bare", 2)]
    results = wrk.fixed_rate(targets, threads=2, seconds=1.5, workdir=tmp_path, name="bare")
    assert time.monotonic() - started < 10
    for result in results:
        assert 1.4 < result.seconds < 3
        assert result.requests > 100, result
        assert not any(result.errors.values()), result.errors
        assert result.cpu > 0, result
        assert result.replies == []  # nothing recorded per answer
    assert [r.threads for r in results] == [2, 2]


def test_without_wrk_the_storm_says_what_to_install(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "storm.py"), "--smoke"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert "wrk is not installed: apt-get install wrk" in done.stderr
    assert done.stdout == ""
