"""Assertions about exercise Feedback, shared by the tests of every lesson's checks."""

from collections.abc import Callable


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


def in_vietnamese(vietnamese: Callable[[str], str], message: str, hint: str = "", **values) -> str:
    """Return a failed check's text in Vietnamese, given the vietnamese fixture (conftest.py).

    message and hint are the English msgids; values fill their {placeholders}.
    """
    text = "❌ " + vietnamese(message).format(**values)
    if hint:
        text += "\n💡 " + vietnamese("Hint: {hint}").format(hint=vietnamese(hint).format(**values))
    return text
