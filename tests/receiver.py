"""A real HTTP receiver for notification tests: records every request, answers as scripted."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A threaded HTTP server on 127.0.0.1; ``script`` holds (status, headers) answers, then 200."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    default: int = 200

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with owner.lock:
                    owner.received.append(Received(self.path, headers, body, time.monotonic()))
                    code, extra = owner.script.pop(0) if owner.script else (owner.default, {})
                self.send_response(code)
                for k, v in extra.items():
                    self.send_header(k, v)
                payload = (
                    b'{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"}}}'
                    if "/sendMessage" in self.path
                    else b"{}"
                )
                if "/sendMessage" in self.path and code == 429:  # Telegram's flood control
                    payload = (
                        b'{"ok":false,"error_code":429,"description":"Too Many Requests: '
                        b'retry after 3","parameters":{"retry_after":3}}'
                    )
                if "/getMe" in self.path:
                    payload = b'{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"efir","username":"efir_bot"}}'
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r.json() for r in self.received]
