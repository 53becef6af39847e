"""`fasttts-desktop serve`: the OpenAI-compatible speech API (POST /v1/audio/speech) on a local port, for
Open WebUI, OpenReader, SillyTavern and the like. `app.py` holds the routes (Starlette), `requests.py`
checks what a client asks for, `jobs.py` shares the one engine among requests with a bounded queue,
`encode.py` turns audio into each response format as it is made, `cli.py` starts it (uvicorn).
No Qt here.
"""
