"""Shared fixtures for the helper tests: the course tokenizer and data, loaded once per session."""

import copy

import pytest

from helpers.data import load_raw_qa, load_support_desk
from helpers.models import load_tokenizer
from helpers.templates import use_training_template


@pytest.fixture(scope="session")
def tokenizer():
    """SmolLM2-Instruct's tokenizer with its own (original) chat template. Do not mutate it."""
    return load_tokenizer("instruct", verbose=False)


@pytest.fixture(scope="session")
def training_tokenizer(tokenizer):
    """A copy of the tokenizer with the course's training template installed, as the notebooks use it."""
    return use_training_template(copy.deepcopy(tokenizer))


@pytest.fixture(scope="session")
def support_desk():
    return load_support_desk()


@pytest.fixture(scope="session")
def raw_qa():
    return load_raw_qa()
