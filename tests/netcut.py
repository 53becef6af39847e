"""Run Python code in a child process that really has no network, to prove "works offline" claims.

Environment variables such as HF_HUB_OFFLINE only ask libraries to behave; a test of "nothing touches the
network" has to take the network away. Preferred: a fresh network namespace from util-linux's `unshare`
(only a downed loopback inside), `unshare -n` as root, else `unshare -rn` (an unprivileged user namespace;
Debian has allowed these since bullseye). Containers that forbid both (Docker's default seccomp profile)
get the fallback: a `sitecustomize` that makes every non-Unix socket connect and every DNS lookup fail.
That only covers Python-level sockets, so `method()` says which one is in use and tests can report it.

    python tests/netcut.py      # prints the method and checks that a connection really fails
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Set FASTTTS_NETCUT=sitecustomize to force the fallback (e.g. to test it).
FORCE_VAR = "FASTTTS_NETCUT"

_SITECUSTOMIZE = """\
import socket as _socket

def _cut(*args, **kwargs):
    raise OSError(101, "Network is unreachable (cut by tests/netcut.py)")

def _guard(method):
    def guarded(self, *args, **kwargs):
        if self.family != getattr(_socket, "AF_UNIX", None):
            _cut()
        return method(self, *args, **kwargs)
    return guarded

for _name in ("connect", "connect_ex", "sendto", "sendmsg"):
    setattr(_socket.socket, _name, _guard(getattr(_socket.socket, _name)))

def _no_dns(*args, **kwargs):
    raise _socket.gaierror(_socket.EAI_NONAME, "DNS cut by tests/netcut.py")

_socket.getaddrinfo = _socket.gethostbyname = _socket.gethostbyname_ex = _no_dns
"""


@functools.cache
def method() -> str:
    """'unshare -n', 'unshare -rn' or 'sitecustomize': how this machine cuts a child's network."""
    if os.environ.get(FORCE_VAR) == "sitecustomize":
        return "sitecustomize"
    if shutil.which("unshare"):
        candidates = (["unshare", "-n"], ["unshare", "-rn"]) if os.geteuid() == 0 else (["unshare", "-rn"],)
        for prefix in candidates:
            try:
                probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if probe.returncode == 0:
                return " ".join(prefix)
    return "sitecustomize"


@functools.cache
def _sitecustomize_dir() -> str:
    folder = tempfile.mkdtemp(prefix="fasttts-netcut-")
    Path(folder, "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    return folder


def run_without_network(
    code: str,
    env: dict[str, str | None] | None = None,
    timeout: float = 300,
    *,
    python: str = sys.executable,
    cwd: str | os.PathLike | None = None,
) -> subprocess.CompletedProcess:
    """Run `python -c code` with the network cut; return the CompletedProcess (text stdout/stderr).

    `env` entries are set on a copy of os.environ (None removes one). The repository root goes first on
    PYTHONPATH, so the child imports this checkout. The result's `netcut` attribute names the method.
    Raises subprocess.TimeoutExpired after `timeout` seconds.
    """
    how = method()
    child_env = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            child_env.pop(key, None)
        else:
            child_env[key] = value
    paths = [str(REPO)]
    if how == "sitecustomize":
        paths.insert(0, _sitecustomize_dir())
    if child_env.get("PYTHONPATH"):
        paths.append(child_env["PYTHONPATH"])
    child_env["PYTHONPATH"] = os.pathsep.join(paths)
    prefix = how.split() if how != "sitecustomize" else []
    result = subprocess.run(
        [*prefix, python, "-c", code],
        env=child_env,
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    result.netcut = how
    return result


PROBE = """
import socket
for target in (("1.1.1.1", 443), ("pypi.org", 443)):
    try:
        socket.create_connection(target, timeout=5).close()
        print("reached", target[0])
    except OSError as exc:
        print("cut", target[0], type(exc).__name__)
"""

if __name__ == "__main__":
    done = run_without_network(PROBE, timeout=60)
    print(f"method: {done.netcut}")
    print(done.stdout.strip() or done.stderr.strip())
    sys.exit(0 if done.returncode == 0 and "reached" not in done.stdout else 1)
