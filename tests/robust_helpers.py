"""Real faults for the robustness tests: a full disk, a read-only folder, an unprivileged user.

Tests run as root on CI, and root ignores permission bits. So a read-only folder is a read-only tmpfs
mount (EROFS stops root too) where mounting is allowed, else a folder with its write bits off (which stops
anyone else); `unprivileged` drops this process's effective uid for a block. (A child process cannot run as
another user here: the interpreter lives under /root, which only root may enter.)
A full disk is a tiny tmpfs where mounting is allowed, else a file-size limit (RLIMIT_FSIZE, which the
kernel enforces the same way on any write; the error is then "File too large" instead of ENOSPC).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NOBODY = 65534


def is_root() -> bool:
    return os.geteuid() == 0


def _mount(*args: str) -> bool:
    if not (is_root() and shutil.which("mount")):
        return False
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    """An empty folder nobody (root included, where mounting is allowed) can write in."""
    path.mkdir(parents=True, exist_ok=True)
    if _mount("-t", "tmpfs", "-o", "ro,size=16k,mode=0755", "tmpfs", str(path)):
        try:
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)
        return
    if is_root():
        import pytest

        pytest.skip("root without the right to mount cannot make a folder it cannot write")
    path.chmod(0o555)
    try:
        yield path
    finally:
        path.chmod(0o755)


@contextmanager
def unprivileged() -> Iterator[None]:
    """The current process as `nobody` for the block (effective ids only, so root comes back after)."""
    if not is_root():
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@contextmanager
def open_folder(prefix: str = "fasttts-robust-") -> Iterator[Path]:
    """A temp folder every user can enter and write (pytest's own is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o777)
    try:
        yield path
    finally:
        for p in path.rglob("*"):  # a test may have locked some of it
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o777)
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def full_disk(path: Path, size_kb: int = 64) -> Iterator[Path]:
    """A folder on which writing more than `size_kb` fails (see the module docstring)."""
    path.mkdir(parents=True, exist_ok=True)
    if _mount("-t", "tmpfs", "-o", f"size={size_kb}k,mode=0777", "tmpfs", str(path)):
        try:
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)
        return
    with file_size_limit(size_kb):
        yield path


@contextmanager
def file_size_limit(size_kb: int) -> Iterator[None]:
    """Writing a file past `size_kb` fails with EFBIG ("file too large") in this process, for the block."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write instead of death
    resource.setrlimit(resource.RLIMIT_FSIZE, (size_kb * 1024, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def full_disk_child_limit(size_kb: int):
    """preexec_fn for a child process writing to a `full_disk` folder that could not be mounted."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size_kb * 1024, resource.RLIM_INFINITY))

    return limit


# --- the CLI as a user runs it ----------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def run_cli(args: list, env: dict, *, stdin=None, cwd=None, timeout: float = 600, **kw):
    """`python -m fasttts_desktop ARGS` (bytes arguments allowed); stdout/stderr as text (bad bytes
    escaped)."""
    import sys

    feed = {"stdin": stdin} if hasattr(stdin, "read") else {"input": stdin}
    return subprocess.run(
        [sys.executable, "-m", "fasttts_desktop", *args],
        **feed,
        capture_output=True,
        env=env,
        cwd=cwd or tempfile.gettempdir(),  # never the repo: python -m would import the tree from there
        timeout=timeout,
        check=False,
        **kw,
    )


def text_of(stream) -> str:
    return stream.decode("utf-8", "backslashreplace") if isinstance(stream, bytes) else stream


def error_lines(stderr) -> list[str]:
    return [line for line in text_of(stderr).splitlines() if line.startswith("fasttts-desktop: error:")]


def assert_one_line_error(result, fragment: str, code: int = 2) -> str:
    """Exit status `code`, exactly one error line holding `fragment`, and no traceback."""
    err = text_of(result.stderr)
    assert result.returncode == code, (result.returncode, err)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    errors = error_lines(err)
    assert len(errors) == 1 and fragment in errors[0], err
    return errors[0]


def assert_model_not_loaded(result) -> None:
    """The engine's load reports its steps ("... Loading the cached model"); none may have begun."""
    assert not [line for line in text_of(result.stderr).splitlines() if line.startswith("... ")], (
        result.stderr
    )


def assert_whole_wav_or_absent(path: Path, expect: bool | None = None) -> None:
    """The output is a complete WAV (its header's length matches the file) or does not exist; no temp."""
    import wave

    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".part")]
    assert not leftovers, leftovers
    if not path.exists():
        assert expect is not True, f"{path} was not written"
        return
    assert expect is not False, f"{path} was written"
    with wave.open(str(path), "rb") as w:
        frames, width, channels = w.getnframes(), w.getsampwidth(), w.getnchannels()
    assert (width, channels) == (2, 1) and frames > 0
    # the RIFF size covers the whole file and the data chunk ends it (a title adds a LIST chunk before it)
    blob = path.read_bytes()
    assert int.from_bytes(blob[4:8], "little") == len(blob) - 8, "the header does not describe the whole file"
    at = 12  # walk the chunks after "RIFF....WAVE": fmt, maybe LIST, then data to the end
    while blob[at : at + 4] != b"data":
        size = int.from_bytes(blob[at + 4 : at + 8], "little")
        at += 8 + size + (size & 1)  # chunks are padded to an even length
        assert at < len(blob), "no data chunk"
    data_size = int.from_bytes(blob[at + 4 : at + 8], "little")
    assert data_size == frames * width == len(blob) - at - 8, "the samples do not fill the data chunk"


# -- outputs that are not regular files (issue 9: `-o FIFO` was replaced by a WAV; as root, -o /dev/null
# deleted /dev/null): each makes one at tmp_path/out.wav


def make_fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "out.wav")
    return tmp_path / "out.wav"


def make_link_to_dev_null(tmp_path: Path) -> Path:
    (tmp_path / "out.wav").symlink_to("/dev/null")
    return tmp_path / "out.wav"


def make_char_device(tmp_path: Path) -> Path:
    import pytest

    try:
        os.mknod(tmp_path / "out.wav", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # another /dev/null
    except PermissionError:
        pytest.skip("creating device nodes needs CAP_MKNOD; the FIFO and the /dev/null link cover this")
    return tmp_path / "out.wav"


def not_regular_files() -> list:
    """The makers above as pytest parameters."""
    import pytest

    return [
        pytest.param(make_fifo, id="fifo"),
        pytest.param(make_link_to_dev_null, id="link-to-dev-null"),
        pytest.param(make_char_device, id="char-device"),
    ]


# -- hostile documents: zip members that lie about their size, and what opening one costs in memory

_EPUB_CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles>'
    "</container>"
)
_EPUB_OPF = (
    '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata/>'
    '<manifest><item id="c" href="ch.xhtml" media-type="application/xhtml+xml"/></manifest>'
    '<spine><itemref idref="c"/></spine></package>'
)


def one_chapter_epub(path: Path, blocks, *, method: int, declared: int | None = None) -> Path:
    """An EPUB whose one chapter (ch.xhtml) is the byte blocks `blocks`, compressed with `method` as they
    come (a gigabyte costs no memory to write); with `declared`, the zip's headers then claim that size."""
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr("META-INF/container.xml", _EPUB_CONTAINER)
        z.writestr("content.opf", _EPUB_OPF)
        info = zipfile.ZipInfo("ch.xhtml")
        info.compress_type = method
        with z.open(info, "w") as member:
            for block in blocks:
                member.write(block)
    if declared is not None:
        lie_about_size(path, "ch.xhtml", declared)
    return path


def lie_about_size(path: Path, member: str, declared: int) -> None:
    """Rewrite the uncompressed size that `member`'s local header and central directory entry state."""
    import struct
    import zipfile

    blob = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        local = z.getinfo(member).header_offset
        central = z.start_dir
    assert blob[local : local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", blob, local + 22, declared)
    at = central
    while blob[at : at + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", blob, at + 28)
        if blob[at + 46 : at + 46 + name_len].decode() == member:
            struct.pack_into("<I", blob, at + 24, declared)
        at += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(blob))


_OPEN_AND_MEASURE = """
import json, sys
from fasttts_desktop.engine.text.documents import DocumentError, load_document
from fasttts_desktop.engine.text.documents import epub, html, plain  # their imports are not the document's

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak starts again from what is resident now (Linux 4.0+)
before = peak_kb()
try:
    result = {"chars": len(load_document(sys.argv[1]).text)}
except DocumentError as exc:
    result = {"error": str(exc)}
result["peak_growth_mb"] = (peak_kb() - before) / 1024
print(json.dumps(result))
"""


def open_in_fresh_process(path: Path) -> dict:
    """load_document(path) in a new interpreter: {"chars": n} or {"error": line}, and "peak_growth_mb",
    how far its peak resident memory rose while opening the document (imports done before)."""
    import json
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _OPEN_AND_MEASURE, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout.splitlines()[-1])
