"""An HTTP proxy in front of the local registry that demands basic authentication, as a
registry with users would: the local Apicurio Registry runs without authentication."""

from __future__ import annotations

import base64
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class AuthenticatingProxy:
    """`with AuthenticatingProxy(registry_url, user, password) as proxy:` proxy.url is the
    registry's API behind it; proxy.refused counts the requests it turned away."""

    def __init__(self, registry_url: str, user: str, password: str) -> None:
        parts = urlsplit(registry_url)
        self.upstream = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.refused = 0
        self.served = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> AuthenticatingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def _forward(self) -> None:
                if self.headers.get("Authorization") != proxy.expected:
                    proxy.refused += 1
                    self._answer(401, b'{"error_code":401,"message":"Unauthorized"}')
                    return
                proxy.served += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                request = urllib.request.Request(
                    proxy.upstream + self.path, data=body, method=self.command,
                    headers={k: v for k, v in self.headers.items()
                             if k.lower() in ("content-type", "accept")})
                try:
                    with urllib.request.urlopen(request, timeout=20) as response:
                        self._answer(response.status, response.read())
                except urllib.error.HTTPError as error:
                    self._answer(error.code, error.read())

            def _answer(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        return Handler
