"""The routes: OpenAI's POST /v1/audio/speech, Kokoro-FastAPI's voice list and captioned speech (word
timestamps), and the model list clients probe first.

Errors are JSON in OpenAI's shape ({"error": {"message", "type", "param", "code"}}) with a 4xx status
for anything the client can fix, so that the openai library raises its matching exception with our line.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.server.encode import MEDIA_TYPES, Encoder
from fasttts_desktop.server.jobs import DONE, Busy, Job, Jobs
from fasttts_desktop.server.requests import MODELS, BadRequest, Speech, speech_request

if TYPE_CHECKING:
    from fasttts_desktop.engine import Engine

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # MAX_INPUT_CHARS of text fit with room to spare


def error(status: int, message: str, param: str | None = None, headers: dict | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    code = {401: "invalid_api_key", 404: "not_found", 413: "request_too_large", 415: "unsupported_media_type"}
    code[429] = "rate_limit_exceeded"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code.get(status)}}
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(
    engine: Engine, *, api_key: str | None = None, queue_size: int = 4, hosts: list[str] | None = None
) -> Starlette:
    """`hosts`: the Host headers accepted (None: any). On loopback that keeps out a web page whose own
    name was made to point at 127.0.0.1 (DNS rebinding): it would send its own name."""
    jobs = Jobs(queue_size)

    def authorized(request: Request) -> bool:
        if not api_key:
            return True
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode())

    async def read_json(request: Request) -> object:
        # JSON only: a web page from another origin cannot send that without a CORS preflight, which is
        # never answered, so a page in the user's browser cannot make this machine speak.
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise BadRequest("Send the request as JSON (Content-Type: application/json).", status=415)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise BadRequest(f"The request body is over {MAX_BODY_BYTES:,} bytes.", status=413)
        data = b""
        async for part in request.stream():
            data += part
            if len(data) > MAX_BODY_BYTES:
                raise BadRequest(f"The request body is over {MAX_BODY_BYTES:,} bytes.", status=413)
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"The request body is not valid JSON: {exc}.") from exc

    async def speak(request: Request, captioned: bool) -> Response:
        if not authorized(request):
            return error(401, "Missing or wrong API key: send 'Authorization: Bearer <key>'.")
        try:
            speech = speech_request(await read_json(request), engine.voice)
        except BadRequest as exc:
            return error(exc.status, str(exc), exc.param)
        try:
            job = jobs.start(lambda job: _audio_items(engine, speech, job, captioned))
        except Busy as exc:
            return error(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)})
        try:
            first = await job.next()  # a voice or text the engine refuses is still a clean 400
        except EngineError as exc:
            return error(400, str(exc), "input")
        except Exception:
            job.cancel.set()
            log.exception("speech failed")
            return error(500, "Speech failed; see the server's log.")

        async def body():
            try:
                item = first
                while item is not DONE:
                    yield _line(item) if captioned else item
                    item = await job.next()
            except Exception:  # headers are gone: the stream just ends early; the log says why
                log.exception("speech failed mid-stream")
            finally:
                job.cancel.set()  # also when the client went away

        media = "application/x-ndjson" if captioned else MEDIA_TYPES[speech.format]
        return StreamingResponse(body(), media_type=media)

    async def audio_speech(request: Request) -> Response:
        return await speak(request, captioned=False)

    async def captioned_speech(request: Request) -> Response:
        return await speak(request, captioned=True)

    async def voices(request: Request) -> Response:
        if not authorized(request):
            return error(401, "Missing or wrong API key: send 'Authorization: Bearer <key>'.")
        return JSONResponse(
            {
                "voices": [v.name for v in engine.voices],
                "default": engine.default_voice,
                "details": [
                    {"name": v.name, "language": v.language, "lang_code": v.lang_code, "gender": v.gender}
                    for v in engine.voices
                ],
            }
        )

    async def models(request: Request) -> Response:
        if not authorized(request):
            return error(401, "Missing or wrong API key: send 'Authorization: Bearer <key>'.")
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fasttts-desktop"} for m in MODELS]
        return JSONResponse({"object": "list", "data": data})

    @asynccontextmanager
    async def lifespan(_app: Starlette):
        yield
        jobs.shutdown()

    async def not_found(request: Request, _exc: Exception) -> Response:
        return error(404, f"No such endpoint: {request.method} {request.url.path}.")

    async def not_allowed(request: Request, _exc: Exception) -> Response:
        return error(405, f"{request.method} is not allowed on {request.url.path}.")

    app = Starlette(
        routes=[
            Route("/v1/audio/speech", audio_speech, methods=["POST"]),
            Route("/v1/audio/speech/captioned", captioned_speech, methods=["POST"]),
            Route("/dev/captioned_speech", captioned_speech, methods=["POST"]),  # Kokoro-FastAPI's path
            Route("/v1/audio/voices", voices, methods=["GET"]),
            Route("/v1/models", models, methods=["GET"]),
        ],
        exception_handlers={404: not_found, 405: not_allowed},
        lifespan=lifespan,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)] if hosts else [],
    )
    app.state.jobs = jobs
    return app


def _audio_items(engine: Engine, speech: Speech, job: Job, captioned: bool) -> Iterator[object]:
    """Runs on the engine's thread: encoded audio as each chunk is made (with its words when captioned)."""
    encoder = Encoder(speech.format)
    offset_s = 0.0
    try:
        for chunk in engine.stream(speech.text, speech.voice, speech.speed, cancel=job.cancel.is_set):
            data = encoder.feed(chunk.audio)
            if captioned:
                words = [
                    {"word": w.text, "start_time": offset_s + w.start_s, "end_time": offset_s + w.end_s}
                    for w in chunk.words
                ]
                yield {"audio": data, "timestamps": words}
            elif data:
                yield data
            offset_s += chunk.seconds
        rest = encoder.finish()
    except BaseException:
        encoder.close()
        raise
    if captioned:
        yield {"audio": rest, "timestamps": []}
    elif rest:
        yield rest


def _line(item: object) -> bytes:
    assert isinstance(item, dict)  # noqa: S101 - captioned jobs make dicts
    out = {"audio": base64.b64encode(item["audio"]).decode("ascii"), "timestamps": item["timestamps"]}
    return (json.dumps(out) + "\n").encode()
