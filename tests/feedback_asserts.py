"""Assertions about exercise Feedback, shared by the tests of every lesson's checks."""


def passes(feedback) -> None:
    """Assert that a check passed."""
    assert feedback and feedback.message.startswith("✅"), feedback.message


def fails_with(feedback, *phrases: str) -> None:
    """Assert that a check failed with a message containing every phrase."""
    assert not feedback
    assert feedback.message.startswith("❌"), feedback.message
    for phrase in phrases:
        assert phrase in feedback.message, feedback.message


def not_attempted(feedback) -> None:
    """Assert that a check says the exercise is not attempted yet."""
    assert not feedback and "Not attempted" in feedback.message, feedback.message


def in_vietnamese(message: str, hint: str = "", **values) -> str:
    """Return a failed check's text as the Vietnamese catalogues write it, read with polib (not through helpers.i18n).

    message and hint are the English msgids; values fill their {placeholders}.
    """
    import polib

    from helpers.i18n import LOCALE_DIR

    vietnamese = {
        entry.msgid: entry.msgstr
        for path in (LOCALE_DIR / "vi" / "LC_MESSAGES").glob("exercises.*.po")
        for entry in polib.pofile(str(path)).translated_entries()
    }
    text = "❌ " + vietnamese[message].format(**values)
    if hint:
        text += "\n💡 " + vietnamese["Hint: {hint}"].format(hint=vietnamese[hint].format(**values))
    return text
