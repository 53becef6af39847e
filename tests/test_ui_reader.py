"""The reader in the window (offscreen, fake engine, fake sound output on a real-time clock): playback keys,
read from the cursor or the last position, the heard word highlighted on the audio clock, following and
scrolling away, the status bar's position, the make-ahead bar, the not-spoken notice.
"""

from __future__ import annotations

import re

from fake_engine import FakeEngine
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QTextCursor, QWheelEvent
from PySide6.QtWidgets import QApplication

pytest_plugins = ["app_fixtures"]

K, M = Qt.Key, Qt.KeyboardModifier
THREE = "One two three four. Five six seven eight. Nine ten eleven twelve."
PARAGRAPHS = "First one. First two.\n\nSecond one. Second two.\n\nThird one. Third two."


def ready_app(make_app, engine=None, **kwargs):
    """The window with the engine loaded, active (keys go to the active window, as for a user)."""
    app = make_app(engine or FakeEngine(chunk_s=2.0, synth_s=0.02), **kwargs)
    app.window.activateWindow()
    QApplication.processEvents()
    return app


def key(qtbot, window, k, modifier=M.NoModifier):
    qtbot.keyClick(window.text_edit, k, modifier)


def word_at(text: str, span) -> str | None:
    return text[span[0] : span[1]] if span else None


def wait_heard(qtbot, w, word: str, timeout=5000):
    text = w.text_edit.toPlainText()
    qtbot.waitUntil(lambda: word_at(text, w.text_edit.highlighted_word) == word, timeout=timeout)


def test_playback_keys_reach_the_service(qtbot, make_app):
    app = ready_app(make_app)
    w, s, engine = app.window, app.service, app.engine
    qtbot.waitUntil(lambda: s.is_ready)
    w.text_edit.setPlainText(THREE)
    key(qtbot, w, K.Key_Return, M.ControlModifier)
    assert s.busy
    qtbot.waitUntil(lambda: engine.starts == [0])
    wait_heard(qtbot, w, "two")

    key(qtbot, w, K.Key_Space, M.ControlModifier)
    assert s.paused and w.pause_button.text() == "Resume" and w.status_label.text() == "Paused."
    key(qtbot, w, K.Key_Space, M.ControlModifier)
    assert not s.paused and w.pause_button.text() == "Pause"
    key(qtbot, w, K.Key_MediaTogglePlayPause)
    assert s.paused
    key(qtbot, w, K.Key_MediaPlay)  # what X11 sends for the usual Play/Pause key
    assert not s.paused
    key(qtbot, w, K.Key_MediaPause)
    key(qtbot, w, K.Key_MediaPause)  # pause only: a second press does not resume
    assert s.paused
    w.pause_button.click()
    assert not s.paused

    key(qtbot, w, K.Key_Right, M.AltModifier)
    qtbot.waitUntil(lambda: engine.starts[-1] == THREE.index("Five"), timeout=2000)
    wait_heard(qtbot, w, "Five")
    assert word_at(THREE, w.text_edit.highlighted_sentence) == "Five six seven eight."
    key(qtbot, w, K.Key_Left, M.AltModifier)
    qtbot.waitUntil(lambda: engine.starts[-1] == 0, timeout=2000)
    wait_heard(qtbot, w, "One")

    key(qtbot, w, K.Key_Escape)
    assert not s.busy and w.status_label.text() == "Stopped."
    assert w.text_edit.toPlainText() == THREE


def test_paragraph_keys_and_buttons(qtbot, make_app):
    app = ready_app(make_app)
    w, engine = app.window, app.engine
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(PARAGRAPHS)
    w.speak_button.click()
    wait_heard(qtbot, w, "First")
    key(qtbot, w, K.Key_Down, M.AltModifier)
    qtbot.waitUntil(lambda: engine.starts[-1] == PARAGRAPHS.index("Second one"), timeout=2000)
    next_paragraph = next(b for b in w.nav_buttons if b.objectName() == "next-paragraph")
    next_paragraph.click()
    qtbot.waitUntil(lambda: engine.starts[-1] == PARAGRAPHS.index("Third one"), timeout=2000)
    key(qtbot, w, K.Key_Right, M.AltModifier)
    qtbot.waitUntil(lambda: engine.starts[-1] == PARAGRAPHS.index("Third two"), timeout=2000)
    key(qtbot, w, K.Key_Up, M.AltModifier)  # inside a paragraph: back to its start
    qtbot.waitUntil(lambda: engine.starts[-1] == PARAGRAPHS.index("Third one"), timeout=2000)
    key(qtbot, w, K.Key_Up, M.AltModifier)  # at its start: the paragraph before
    qtbot.waitUntil(lambda: engine.starts[-1] == PARAGRAPHS.index("Second one"), timeout=2000)
    calls = len(engine.starts)
    w.stop()
    key(qtbot, w, K.Key_Down, M.AltModifier)  # not reading: moves where the next Speak starts
    assert len(engine.starts) == calls
    assert word_at(PARAGRAPHS, w.text_edit.highlighted_sentence) == "Third one."
    key(qtbot, w, K.Key_Return, M.ControlModifier)
    qtbot.waitUntil(lambda: engine.starts[-1] == PARAGRAPHS.index("Third one"), timeout=2000)


def test_speak_reads_from_the_cursor_the_user_put_somewhere_else_from_the_last_position(qtbot, make_app):
    app = ready_app(make_app)
    w, engine = app.window, app.engine
    qtbot.waitUntil(lambda: app.service.is_ready)
    qtbot.keyClicks(w.text_edit, THREE)  # typing leaves the cursor at the end: that is not "from here"
    key(qtbot, w, K.Key_Return, M.ControlModifier)
    qtbot.waitUntil(lambda: engine.starts == [0], timeout=2000)
    key(qtbot, w, K.Key_Right, M.AltModifier)
    wait_heard(qtbot, w, "six")
    key(qtbot, w, K.Key_Escape)
    key(qtbot, w, K.Key_Return, M.ControlModifier)  # from the sentence last heard
    qtbot.waitUntil(lambda: engine.starts[-1] == THREE.index("Five"), timeout=2000)
    key(qtbot, w, K.Key_Escape)

    # A click in the third sentence, then Speak: read from there.
    cursor = QTextCursor(w.text_edit.document())
    cursor.setPosition(THREE.index("ten"))
    point = w.text_edit.cursorRect(cursor).center()
    qtbot.mouseClick(w.text_edit.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert w.text_edit.cursor_placed
    key(qtbot, w, K.Key_Return, M.ControlModifier)
    qtbot.waitUntil(lambda: engine.starts[-1] == THREE.index("Nine"), timeout=2000)
    assert not w.text_edit.cursor_placed  # used up: the next Speak goes on from the position
    with qtbot.waitSignal(app.service.utterance_finished, timeout=8000):
        pass
    # Read to the end: the next Speak starts from the top.
    key(qtbot, w, K.Key_Return, M.ControlModifier)
    qtbot.waitUntil(lambda: engine.starts[-1] == 0, timeout=2000)


def test_the_highlight_follows_the_audio_clock_word_by_word(qtbot, make_app):
    app = ready_app(make_app, FakeEngine(chunk_s=1.2, synth_s=0.02))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(THREE)
    seen: list[str] = []
    sentences: set[str] = set()

    def sample():
        word = word_at(THREE, w.text_edit.highlighted_word)
        if word and (not seen or seen[-1] != word):
            seen.append(word)
            sentences.add(word_at(THREE, w.text_edit.highlighted_sentence))
        heard = app.service.heard()
        if heard is not None and w.text_edit.highlighted_word:
            # What is lit is what the clock says now (or the word just before it, a poll ago).
            assert heard.offset >= w.text_edit.highlighted_word[0]

    probe = QTimer(interval=10)
    probe.timeout.connect(sample)
    probe.start()
    with qtbot.waitSignal(app.service.utterance_finished, timeout=10000):
        w.speak()
    probe.stop()
    assert seen == re.findall(r"\w+", THREE)  # every word, in order, none skipped
    assert sentences == {"One two three four.", "Five six seven eight.", "Nine ten eleven twelve."}
    assert w.text_edit.highlighted_word is None  # finished: nothing lit


def test_the_view_follows_until_the_user_scrolls_away_and_speak_or_resume_bring_it_back(qtbot, make_app):
    app = ready_app(make_app, FakeEngine(chunk_s=0.8, synth_s=0.01))
    w, edit = app.window, app.window.text_edit
    qtbot.waitUntil(lambda: app.service.is_ready)
    text = "\n\n".join(f"Paragraph {n} begins. It has words." for n in range(300))
    edit.setPlainText(text)
    bar = edit.verticalScrollBar()
    assert bar.value() == 0
    # Start far down (as after reopening a book): the view must scroll there and keep up.
    start = text.index("Paragraph 200 begins")
    app.window.reader.go_to(start)
    w.speak()
    qtbot.waitUntil(lambda: word_at(text, edit.highlighted_word) == "begins", timeout=3000)
    assert bar.value() > 0 and edit.is_visible(edit.highlighted_word[0])
    assert w.commands.follow.isChecked()

    user_wheel(edit, up=True)
    assert not edit.following and not w.commands.follow.isChecked()
    assert "Ctrl+L" in w.status_label.text()
    left_at = bar.value()
    w.reader.skip_paragraphs(-150)  # far from the view; the view stays where the user put it
    qtbot.wait(600)
    assert bar.value() == left_at and not edit.is_visible(edit.highlighted_word[0])

    qtbot.keyClick(edit, K.Key_Space, M.ControlModifier)  # pause
    qtbot.keyClick(edit, K.Key_Space, M.ControlModifier)  # resume: follows again
    assert edit.following and w.commands.follow.isChecked()
    qtbot.waitUntil(lambda: edit.is_visible(edit.highlighted_word[0]), timeout=2000)

    user_wheel(edit, up=False)
    assert not edit.following
    qtbot.keyClick(edit, K.Key_L, M.ControlModifier)  # View > Follow Along
    assert edit.following
    qtbot.waitUntil(lambda: edit.is_visible(edit.highlighted_word[0]), timeout=2000)
    w.stop()


def user_wheel(edit, up: bool) -> None:
    delta = QPoint(0, 120 * 5 if up else -120 * 5)
    event = QWheelEvent(
        QPointF(30, 30),
        QPointF(edit.viewport().mapToGlobal(QPoint(30, 30))),
        QPoint(0, 0),
        delta,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(edit.viewport(), event)


def test_status_bar_shows_sentence_i_of_n_percent_and_time(qtbot, make_app):
    app = ready_app(make_app)
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(THREE)
    w.speak()
    qtbot.waitUntil(lambda: w.position_label.text().startswith("Sentence 1 of 3 · 0% · 0:0"), timeout=2000)
    assert re.search(r"about \d+:\d\d left$", w.position_label.text())
    key(qtbot, w, K.Key_Right, M.AltModifier)
    qtbot.waitUntil(lambda: w.position_label.text().startswith("Sentence 2 of 3 · 30%"), timeout=2000)
    w.stop()


def test_a_long_text_shows_the_audio_made_ahead(qtbot, make_app):
    app = make_app(FakeEngine(chunk_s=0.5, synth_s=0.01))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(" ".join(f"Sentence number {n}." for n in range(40)))
    w.speak()
    qtbot.waitUntil(lambda: re.fullmatch(r"\d+ s made ahead", w.progress.format()) is not None, timeout=3000)
    qtbot.waitUntil(lambda: w.progress.value() >= 20, timeout=3000)  # two seconds and more, in tenths
    assert w.progress.isVisible()
    w.stop()


def test_voice_or_speed_changed_while_reading_restarts_the_sentence(qtbot, make_app):
    app = ready_app(make_app)
    w, engine = app.window, app.engine
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(THREE)
    w.speak()
    key(qtbot, w, K.Key_Right, M.AltModifier)
    wait_heard(qtbot, w, "Five")
    w.speed_box.setValue(1.5)
    w.speed_box.setValue(1.6)  # settles once, not once per step
    qtbot.waitUntil(lambda: engine.calls[-1][2] == 1.6, timeout=2000)
    assert engine.starts[-1] == THREE.index("Five") and [c[2] for c in engine.calls].count(1.5) == 0
    w.stop()


class UnspeakableEngine(FakeEngine):
    """Reports the snowmen and knights of its text as not spoken, the way the real engine reports what
    its front end could not read.
    """

    def stream(self, text, *args, **kwargs):
        for chunk in super().stream(text, *args, **kwargs):
            text, start = chunk.chunk.text, chunk.chunk.start
            chunk.unspoken = tuple((start + i, c) for i, c in enumerate(text) if c in "☃♞")
            if "broken" in text:
                chunk.failed, chunk.audio = "the model gave up", chunk.audio[:0]
            yield chunk


def test_characters_not_spoken_are_shown_after_the_utterance(qtbot, make_app):
    app = make_app(UnspeakableEngine(chunk_s=0.3))
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText("A snowman ☃ here. Two ☃ and a knight ♞. A broken one. Nothing odd.")
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        w.speak()
    assert w.notice_bar.isVisible()
    assert w.notice_bar.label.text() == (
        "3 characters were not spoken: ☃ (2), ♞\n"
        "Could not read 1 part of the text, skipped: “A broken one.” (the model gave up)"
    )
    w.notice_bar.close_button.click()
    assert not w.notice_bar.isVisible()
    w.text_edit.setPlainText("Plain words.")
    with qtbot.waitSignal(app.service.utterance_finished, timeout=5000):
        w.speak()
    assert not w.notice_bar.isVisible()


def test_typed_text_is_editable_only_while_nothing_is_read(qtbot, make_app):
    app = ready_app(make_app)
    w = app.window
    qtbot.waitUntil(lambda: app.service.is_ready)
    assert not w.text_edit.isReadOnly()
    w.text_edit.setPlainText(THREE)
    w.speak()
    assert w.text_edit.isReadOnly()
    qtbot.keyClicks(w.text_edit, "xyz")
    assert w.text_edit.toPlainText() == THREE
    w.stop()
    assert not w.text_edit.isReadOnly()


def test_the_context_menu_reads_from_the_sentence_under_the_mouse(qtbot, make_app):
    app = ready_app(make_app)
    w, engine = app.window, app.engine
    qtbot.waitUntil(lambda: app.service.is_ready)
    w.text_edit.setPlainText(THREE)
    cursor = QTextCursor(w.text_edit.document())
    cursor.setPosition(THREE.index("seven"))
    menu = w.text_edit.context_menu(w.text_edit.cursorRect(cursor).center())
    first = menu.actions()[0]
    assert first.text() == "Read from &Here" and any("Copy" in a.text() for a in menu.actions())
    first.trigger()
    qtbot.waitUntil(lambda: engine.starts == [THREE.index("Five")], timeout=2000)
    wait_heard(qtbot, w, "Five")
    w.stop()


def test_highlights_land_on_the_right_characters_after_emoji(qtbot, make_app):
    app = make_app()
    edit = app.window.text_edit
    text = "Hi 😀 there 𝔄 friend. Next one."
    edit.setPlainText(text)
    app.window.reader.snapshot()  # the reader indexes what the box holds
    start = text.index("friend")
    edit.show_reading((text.index("Hi"), text.index(".") + 1), (start, start + len("friend")))
    sentence, word = (s.cursor.selectedText() for s in edit.extraSelections())
    assert word == "friend" and sentence == "Hi 😀 there 𝔄 friend."
