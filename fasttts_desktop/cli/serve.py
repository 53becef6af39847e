"""`fasttts-desktop serve [--host H] [--port 8880]`: load the engine, then serve the speech API with uvicorn.

Only this machine can reach it by default (127.0.0.1). Listening anywhere else needs an API key
(--api-key-file or FASTTTS_API_KEY; a key on the command line would be visible to every user in `ps`):
without one the server refuses to start.

Why Starlette + uvicorn: Starlette is the small ASGI toolkit FastAPI is built on (routing, streamed
responses, no schema layer this API does not need), uvicorn the reference ASGI server; both are kept by
the Encode/Kludex maintainers, release often and are what Kokoro-FastAPI itself runs on.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import time
from pathlib import Path

from fasttts_desktop.cli import _load_engine, _Parser
from fasttts_desktop.engine.load_options import add_engine_options

DEFAULT_PORT = 8880  # Kokoro-FastAPI's, which clients are set up for


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="fasttts-desktop serve",
        description="OpenAI-compatible speech API: POST /v1/audio/speech, GET /v1/audio/voices.",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)"
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument(
        "--api-key-file",
        metavar="FILE",
        help="file holding the API key clients must send (or set FASTTTS_API_KEY); required beyond loopback",
    )
    p.add_argument(
        "--queue",
        type=int,
        default=4,
        metavar="N",
        help="requests that may wait while one speaks (default 4)",
    )
    add_engine_options(p)
    return p


def _api_key(args: argparse.Namespace) -> str | None:
    if args.api_key_file:
        key = Path(args.api_key_file).read_text(encoding="utf-8").strip()
        if not key:
            raise ValueError(f"{args.api_key_file} is empty")
        return key
    return os.environ.get("FASTTTS_API_KEY", "").strip() or None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)

    def fail(message: str) -> int:
        print(f"fasttts-desktop: error: {message}", file=sys.stderr)
        return 2

    try:
        api_key = _api_key(args)
    except (OSError, ValueError) as exc:
        return fail(f"cannot read the API key: {exc}")
    if not is_loopback(args.host) and not api_key:
        return fail(
            f"listening on {args.host} lets other machines use this one's speech engine: give an API key "
            "(--api-key-file FILE or FASTTTS_API_KEY), or leave --host at 127.0.0.1"
        )
    if not 0 < args.port < 65536:
        return fail(f"--port must be from 1 to 65535, not {args.port}")
    if args.queue < 0:
        return fail("--queue must be 0 or more")

    import uvicorn

    from fasttts_desktop.engine.types import EngineError
    from fasttts_desktop.server.app import create_app

    t0 = time.perf_counter()
    try:
        engine = _load_engine(args)
    except EngineError as exc:
        return fail(str(exc))
    print(
        f"fasttts-desktop: engine ready in {time.perf_counter() - t0:.1f} s ({engine.description}); "
        f"serving on http://{args.host}:{args.port}/v1",
        file=sys.stderr,
        flush=True,
    )
    hosts = sorted({"localhost", "127.0.0.1", "::1", args.host}) if is_loopback(args.host) else None
    app = create_app(engine, api_key=api_key, queue_size=args.queue, hosts=hosts)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else fail(f"could not listen on {args.host}:{args.port}")
