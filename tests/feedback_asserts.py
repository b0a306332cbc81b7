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
