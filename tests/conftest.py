"""Shared fixtures for the helper tests: the course tokenizer and data, loaded once per session, and the helpers' language."""

import copy

import pytest
from fakes import make_turn_model

from helpers import reply_cache
from helpers.data import load_raw_qa, load_support_desk
from helpers.i18n import LANGUAGE_VARIABLE, catalogue
from helpers.models import load_model_and_tokenizer, load_tokenizer
from helpers.templates import set_training_template


@pytest.fixture(scope="session", autouse=True)
def replies_generated_afresh():
    """Every reply a unit test asks for is generated, none given from the course cache (tests/test_reply_cache.py turns it on)."""
    # Patched in this process only: the notebooks' kernels, started by nbval from the same worker, keep the cache.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reply_cache, "switched_on", lambda: False)
        yield


@pytest.fixture(scope="session")
def tokenizer():
    """SmolLM2-Instruct's tokenizer with its own (original) chat template. Do not mutate it."""
    return load_tokenizer("instruct", verbose=False)


@pytest.fixture(scope="session")
def training_tokenizer(tokenizer):
    """A copy of the tokenizer with the course's training template installed, as the notebooks use it."""
    return set_training_template(copy.deepcopy(tokenizer))


@pytest.fixture(scope="session")
def instruct_model_and_tokenizer():
    """SmolLM2-135M-Instruct (offline: the bundled one) and its tokenizer, loaded once. Do not train or change them."""
    return load_model_and_tokenizer("instruct", verbose=False)


@pytest.fixture(scope="session")
def base_model_and_tokenizer():
    """The base model (offline: the stand-in) in eval mode, its tokenizer with the training template, loaded once.

    Shared by every test that only reads it: do not train, wrap or change it (copy.deepcopy it first).
    """
    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    return model.eval(), set_training_template(tokenizer)


@pytest.fixture(scope="session")
def support_desk():
    return load_support_desk()


@pytest.fixture(scope="session")
def raw_qa():
    return load_raw_qa()


@pytest.fixture
def base_tokenizer():
    """A fresh tokenizer of the base model (stand-in offline): eos <|endoftext|>, with the training template."""
    return set_training_template(load_tokenizer("base", verbose=False))


@pytest.fixture
def turn_model(base_tokenizer):
    """The bigram model of fakes.py, which answers "Hello", ends its turn, then runs on with " Tom"."""
    return make_turn_model(base_tokenizer)


class Vietnamese:
    """The language the helpers speak in a test: English until on(); calling it gives a message's Vietnamese translation."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self._monkeypatch = monkeypatch
        self.off()

    def __call__(self, message: str) -> str:
        """Return the Vietnamese of an English message (its msgid) from the helpers' catalogues; the English where it has none."""
        return catalogue("vi").gettext(message)

    def on(self) -> None:
        """Make the helpers speak Vietnamese, as a Vietnamese notebook's set-up cell does."""
        self._monkeypatch.setenv(LANGUAGE_VARIABLE, "vi")

    def off(self) -> None:
        """Make the helpers speak English, the default."""
        self._monkeypatch.delenv(LANGUAGE_VARIABLE, raising=False)


@pytest.fixture
def vietnamese(monkeypatch) -> Vietnamese:
    """The helpers speak English until vietnamese.on(); vietnamese(message) is the message's Vietnamese translation."""
    return Vietnamese(monkeypatch)
