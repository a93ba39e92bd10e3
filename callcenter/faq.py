"""Policy and FAQ answers, from the curated `prompts/faq.toml`: never improvised.

Callers ask general questions ("what's your refund policy", "when are you open", "can you
change my shipping address") that need no account and so no verification. The answers are
the company's, written once in `prompts/faq.toml` (one topic per table: what it is about,
the answer as the caller hears it, whether it ends with the offer of a person, and how
callers ask it), and spoken word for word:

- the language model picks a topic for the shared tool `answer_policy_question` (the topic
  names are the tool's enum; `OTHER` when none fits), and says the answer it returns;
- the degraded mode picks the topic itself with the file's `asked` patterns, and treats a
  sentence with a policy cue (`[cues] policy`) that no topic answers as `OTHER`.

`OTHER` is answered with `[unanswered]` and the offer of a person, on both paths, so a
question the file cannot answer is never answered from a model's general knowledge.

`load()` validates the file (every field present and of the right type, patterns that
compile, only the facts code fills in), raising `FaqError` naming the topic and field; the
worker loads it when the shared tools are imported, so a broken file stops it at start-up.
"""

from __future__ import annotations

import functools
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from callcenter.prompts import PROMPTS_DIR

FAQ_FILE: Final = PROMPTS_DIR / "faq.toml"
OTHER: Final = "other"
"""The topic for a question the file does not answer: an honest "I don't know" and a person."""

FACTS: Final = frozenset({"company", "hours", "return_days"})
"""The only placeholders an answer may use; code fills them in (`Faq.answer`)."""


class FaqError(ValueError):
    """`prompts/faq.toml` does not validate; the message names the topic and field."""


@dataclass(frozen=True, slots=True)
class Topic:
    """One policy answer."""

    name: str
    about: str
    answer: str
    person: bool
    """The answer is "we can't do that here": it ends with the offer of a person."""
    asked: tuple[re.Pattern[str], ...]
    examples: tuple[str, ...]

    def matches(self, text: str) -> bool:
        return any(p.search(text) for p in self.asked)


@dataclass(frozen=True, slots=True)
class Faq:
    """The validated file: topics in file order, the unanswered line, the policy cues."""

    topics: dict[str, Topic]
    unanswered: str
    cues: tuple[re.Pattern[str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every topic name, then `OTHER` (the tool's enum)."""
        return (*self.topics, OTHER)

    def topic_for(self, text: str) -> Topic | None:
        """The first topic (file order) one of whose `asked` patterns matches `text`."""
        lowered = " ".join(text.lower().split())
        return next((t for t in self.topics.values() if t.matches(lowered)), None)

    def is_policy_question(self, text: str) -> bool:
        """Does `text` ask about a policy at all (a `[cues] policy` pattern matches)?"""
        lowered = " ".join(text.lower().split())
        return any(p.search(lowered) for p in self.cues)

    def answer(self, name: str, **facts: Any) -> tuple[str, bool]:
        """(what the caller hears, whether to offer a person) for a topic name; `OTHER` or
        an unknown name gives the unanswered line and the offer."""
        topic = self.topics.get(name)
        if topic is None:
            return self.unanswered, True
        missing = _placeholders(topic.answer) - facts.keys()
        if missing:
            raise FaqError(f"topic {name!r} needs facts {sorted(missing)}")
        return topic.answer.format(**facts), topic.person

    def describe_topics(self) -> str:
        """`name: about` per topic, for the tool's argument description."""
        lines = [f"{t.name}: {t.about}" for t in self.topics.values()]
        return "; ".join([*lines, f"{OTHER}: anything else (the caller is offered a person)"])


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FaqError(f"{where}: `{key}` must be non-empty text")
    return " ".join(value.split())


def _patterns(values: Any, where: str) -> tuple[re.Pattern[str], ...]:
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise FaqError(f"{where}: must be a non-empty list of regular expressions")
    compiled = []
    for value in values:
        try:
            compiled.append(re.compile(value))
        except re.error as exc:
            raise FaqError(f"{where}: {value!r} is not a regular expression ({exc})") from None
    return tuple(compiled)


def _topic(name: str, table: Any) -> Topic:
    where = f"topics.{name}"
    if not isinstance(table, dict):
        raise FaqError(f"{where} must be a table")
    unknown = set(table) - {"about", "answer", "person", "asked", "examples"}
    if unknown:
        raise FaqError(f"{where}: unknown field(s) {sorted(unknown)}")
    if not re.fullmatch(r"[a-z][a-z_]*", name) or name == OTHER:
        raise FaqError(f"{where}: a topic name is lower_case words, and not {OTHER!r}")
    answer = _text(table, "answer", where)
    try:
        extra = _placeholders(answer) - FACTS
    except ValueError as exc:
        raise FaqError(f"{where}.answer: {exc}") from None
    if extra:
        raise FaqError(
            f"{where}.answer: unknown placeholder(s) {sorted(extra)}; use {sorted(FACTS)}"
        )
    person = table.get("person", False)
    if not isinstance(person, bool):
        raise FaqError(f"{where}.person must be true or false")
    examples = table.get("examples", [])
    if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
        raise FaqError(f"{where}.examples must be a list of questions")
    return Topic(
        name=name,
        about=_text(table, "about", where),
        answer=answer,
        person=person,
        asked=_patterns(table.get("asked"), f"{where}.asked"),
        examples=tuple(examples),
    )


def parse(data: dict[str, Any]) -> Faq:
    """Validate the file's parsed TOML; `FaqError` says what to fix."""
    topics = data.get("topics")
    if not isinstance(topics, dict) or not topics:
        raise FaqError("the file needs at least one [topics.NAME] table")
    unanswered = data.get("unanswered")
    cues = data.get("cues")
    if not isinstance(unanswered, dict) or not isinstance(cues, dict):
        raise FaqError("the file needs an [unanswered] answer and [cues] policy patterns")
    return Faq(
        topics={name: _topic(name, table) for name, table in topics.items()},
        unanswered=_text(unanswered, "answer", "unanswered"),
        cues=_patterns(cues.get("policy"), "cues.policy"),
    )


def load(path: Path = FAQ_FILE) -> Faq:
    """Read and validate a FAQ file (`FaqError` for a bad one, naming the file)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FaqError(f"{path}: {exc}") from None
    try:
        return parse(data)
    except FaqError as exc:
        raise FaqError(f"{path}: {exc}") from None


@functools.cache
def faq() -> Faq:
    """The product's FAQ (`prompts/faq.toml`), loaded once per process."""
    return load()
