"""A real chat-completions HTTP server on 127.0.0.1 for the generative summaries tests (a fixture shared by
the summaries and secrets tests)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class ChatServer:
    """A real HTTP server on 127.0.0.1 answering chat completions with whatever `respond` says."""

    respond: Callable[[dict], tuple[int, bytes]]
    requests: list[tuple[dict, dict[str, str]]] = field(default_factory=list)
    url: str = ""


@pytest.fixture()
def chat_server() -> Iterator[Callable[[Callable[[dict], tuple[int, bytes]]], ChatServer]]:
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Callable[[dict], tuple[int, bytes]]) -> ChatServer:
        record = ChatServer(respond)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                record.requests.append((body, dict(self.headers)))
                status, payload = record.respond(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        record.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        return record

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def completion(content: str) -> tuple[int, bytes]:
    return 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
