"""Commands that need no model: `phonemes` (what will be spoken), `lexicon` and `blend` (the user's files)."""

from __future__ import annotations

import argparse

from fasttts_desktop.engine.types import EngineError

COMMANDS = ("phonemes", "lexicon", "blend")


def add_parsers(sub) -> None:
    ph = sub.add_parser("phonemes", help="print the phonemes that will be spoken, chunk by chunk (no model)")
    ph.add_argument("text", nargs="?", help="the text; '-' or omitted reads standard input")
    ph.add_argument("-f", "--file", metavar="TEXTFILE", help="read the text from this file")
    ph.add_argument("--lang", help="language code or name (a b e f h i j p z); default: the voice's")
    ph.add_argument("--voice", help="the voice (or blend) whose language to use; default: American English")

    lex = sub.add_parser("lexicon", help="your pronunciations: add, remove or list entries")
    lex_sub = lex.add_subparsers(dest="lexicon_command", metavar="{add,remove,list}", required=True)
    add = lex_sub.add_parser("add", help="say WORD as REPLACEMENT (a respelling, or /phonemes/)")
    add.add_argument("word", help='a word, phrase or abbreviation as written, e.g. "approx."')
    add.add_argument("replacement", help='e.g. "approximately", or phonemes between slashes: /kˈOkəɹO/')
    add.add_argument("--lang", action="append", default=[], help="only for this language code (repeatable)")
    rm = lex_sub.add_parser("remove", help="forget the entries for WORD")
    rm.add_argument("word")
    lex_sub.add_parser("list", help="list the entries")

    blend = sub.add_parser("blend", help="saved voice blends: save, delete or list")
    blend_sub = blend.add_subparsers(dest="blend_command", metavar="{save,delete,list}", required=True)
    save = blend_sub.add_parser("save", help='save SPEC (e.g. "jm_kumo:60,jf_alpha:40") under NAME')
    save.add_argument("name")
    save.add_argument("spec")
    delete = blend_sub.add_parser("delete", help="forget the blend NAME")
    delete.add_argument("name")
    blend_sub.add_parser("list", help="list the saved blends")


def saves(args: argparse.Namespace) -> bool:
    """Whether the command's whole point is to save something (a lexicon entry, a blend)."""
    return getattr(args, "lexicon_command", None) in ("add", "remove") or getattr(
        args, "blend_command", None
    ) in ("save", "delete")


def run(args: argparse.Namespace, read_text, warn) -> int:
    """`read_text(args)` gives the text (a textinput.Text); `warn(line)` tells the user something."""
    if saves(args):
        from fasttts_desktop.engine.storage import paths, unsaved

        if unsaved.is_stand_in(paths.config_dir()):  # an unwritable home: a change would die with the run
            raise EngineError(f"{unsaved.why('config')}; nothing was changed")
    if args.command == "phonemes":
        given = read_text(args)
        for notice in given.notices:
            warn(notice)
        return _phonemes(args, given.text, warn)
    if args.command == "lexicon":
        return _lexicon(args)
    return _blend(args)


def _phonemes(args: argparse.Namespace, text: str, warn) -> int:
    from fasttts_desktop.engine.text.languages import front_end_for, lang_of_voice, resolve_lang
    from fasttts_desktop.engine.text.lexicon import Lexicon
    from fasttts_desktop.engine.text.prepare import describe_unspoken
    from fasttts_desktop.engine.text.writing_systems import script_warnings

    if not text.strip():
        raise EngineError("there is no text")
    lang = resolve_lang(args.lang) if args.lang else lang_of_voice(args.voice) if args.voice else "a"
    for start, end, message in script_warnings(text, lang):
        warn(f"characters {start}-{end}: {message}")
    count = 0
    unspoken: list[tuple[int, str]] = []
    for count, pc in enumerate(front_end_for(lang).chunks(text, lexicon=Lexicon.load()), 1):
        c = pc.chunk
        print(f"[{count}] {c.start}-{c.end} {' '.join(c.text.split())}")
        print(f"    {c.phonemes}", flush=True)
        unspoken.extend(pc.unspoken)
    if unspoken:
        warn(describe_unspoken(unspoken))
    if not count:
        raise EngineError("the text has nothing speakable in it")
    return 0


def _lexicon(args: argparse.Namespace) -> int:
    from fasttts_desktop.engine.text.lexicon import Lexicon

    if args.lexicon_command == "add":
        with Lexicon.editing() as lexicon:  # locked: a `lexicon add` running beside this one is not lost
            entry = lexicon.add(args.word, args.replacement, args.lang)
        print(f"{entry.text} -> {entry.replacement} ({entry.kind}) saved in {lexicon.path}")
    elif args.lexicon_command == "remove":
        with Lexicon.editing() as lexicon:
            if not lexicon.remove(args.word):
                raise EngineError(f"no lexicon entry for {args.word!r}")
        print(f"removed {args.word}")
    else:
        for e in Lexicon.load().entries():
            langs = f"  [{','.join(e.languages)}]" if e.languages else ""
            print(f"{e.text}\t{e.replacement}\t{e.kind}{langs}")
    return 0


def _blend(args: argparse.Namespace) -> int:
    from fasttts_desktop.engine.storage.blends import delete_blend, save_blend, saved_blends

    if args.blend_command == "save":
        blend = save_blend(args.name, args.spec)
        print(f"saved blend {args.name.strip()} = {blend.spec}")
    elif args.blend_command == "delete":
        if not delete_blend(args.name):
            raise EngineError(f"no saved blend named {args.name!r}")
        print(f"deleted blend {args.name}")
    else:
        for name, blend in sorted(saved_blends().items()):
            print(f"{name}\t{blend.spec}")
    return 0
