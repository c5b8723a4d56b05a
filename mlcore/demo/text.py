"""Vocabulary of the synthetic demo export: topics, their words, places and sentence shapes.

Each topic is an interest group of the demo data: its items carry its tag and words,
and its users' profile fields and descriptions use them too, so content features
carry real signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """One interest group: tag name (a valid ``topic_*`` column suffix) and words."""

    tag: str
    language: str
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    verbs: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "leadership",
        "en",
        ("team", "feedback", "coaching", "delegation", "strategy", "meeting", "vision"),
        ("inclusive", "confident", "effective", "remote"),
        ("lead", "motivate", "coach", "plan"),
    ),
    Topic(
        "datascience",
        "en",
        ("dataset", "regression", "dashboard", "python", "statistics", "forecast", "sql"),
        ("predictive", "clean", "visual", "reproducible"),
        ("analyse", "model", "query", "visualise"),
    ),
    Topic(
        "safety",
        "de",
        ("hazard", "ladder", "helmet", "evacuation", "firstaid", "incident", "ergonomics"),
        ("safe", "compliant", "preventive", "onsite"),
        ("inspect", "report", "prevent", "protect"),
    ),
    Topic(
        "customerservice",
        "en",
        ("customer", "complaint", "call", "empathy", "ticket", "refund", "loyalty"),
        ("friendly", "patient", "fast", "omnichannel"),
        ("listen", "resolve", "apologise", "retain"),
    ),
    Topic(
        "cooking",
        "fr",
        ("recipe", "knife", "sauce", "pastry", "hygiene", "menu", "bread"),
        ("seasonal", "fresh", "classic", "vegetarian"),
        ("bake", "chop", "season", "plate"),
    ),
    Topic(
        "software",
        "en",
        ("code", "testing", "deployment", "api", "refactoring", "git", "container"),
        ("clean", "secure", "scalable", "automated"),
        ("build", "debug", "review", "ship"),
    ),
    Topic(
        "wellbeing",
        "es",
        ("sleep", "stress", "mindfulness", "exercise", "nutrition", "balance", "breathing"),
        ("healthy", "calm", "resilient", "mindful"),
        ("relax", "breathe", "stretch", "rest"),
    ),
    Topic(
        "finance",
        "en",
        ("budget", "invoice", "audit", "tax", "forecast", "ledger", "payroll"),
        ("accurate", "quarterly", "prudent", "transparent"),
        ("reconcile", "budget", "audit", "approve"),
    ),
)

GENERAL_WORDS = ("basics", "essentials", "masterclass", "workshop", "guide", "introduction")
AUDIENCES = ("beginners", "managers", "new starters", "experts", "everyone", "the whole team")

#: language -> (country code, cities); some city names hold commas, spaces or accents.
PLACES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "en": (
        ("NZ", ("Wellington", "Christchurch, Canterbury", "Auckland")),
        ("GB", ("Brighton", "Leeds", "Bath, Somerset")),
        ("US", ("Portland", "Austin")),
    ),
    "fr": (("FR", ("Lyon", "Saint-Étienne", "Paris")), ("BE", ("Liège",))),
    "de": (("DE", ("Köln", "Berlin", "München")), ("AT", ("Wien",))),
    "es": (("ES", ("Sevilla", "Málaga, Andalucía")), ("MX", ("Ciudad de México",))),
}


def _pair(words: tuple[str, ...], first: int, second: int) -> tuple[str, str]:
    """Two different words chosen by two non-negative ints."""
    a = first % len(words)
    return words[a], words[(a + 1 + second % (len(words) - 1)) % len(words)]


def title(topic: Topic, r: Sequence[int]) -> str:
    """A course-like title, e.g. ``Effective Coaching for managers``.

    Args:
        topic: The item's topic.
        r: At least 4 random non-negative ints (pre-drawn, for speed).
    """
    adjective = topic.adjectives[r[0] % len(topic.adjectives)]
    noun = topic.nouns[r[1] % len(topic.nouns)]
    shape = r[2] % 3
    if shape == 0:
        return f"{adjective.title()} {noun.title()} for {AUDIENCES[r[3] % len(AUDIENCES)]}"
    if shape == 1:
        return f"{noun.title()} {GENERAL_WORDS[r[3] % len(GENERAL_WORDS)]}"
    return f"How to {topic.verbs[r[3] % len(topic.verbs)]} {noun}"


def sentence(topic: Topic, r: Sequence[int]) -> str:
    """One sentence of item content from the topic's words (no commas); ``r``: 5 ints."""
    noun, other = _pair(topic.nouns, r[0], r[1])
    verb = topic.verbs[r[2] % len(topic.verbs)]
    adjective = topic.adjectives[r[3] % len(topic.adjectives)]
    shapes = (
        f"Learn to {verb} {adjective} {noun} step by step.",
        f"This module shows how {noun} and {other} work together.",
        f"You'll practise {noun} with {adjective} examples from real teams.",
        f"Why does {noun} matter? Because {other} depends on it.",
    )
    return shapes[r[4] % len(shapes)]


def description(topic: Topic, r: Sequence[int]) -> str:
    """A profile description with the topic's words (may contain ``'``); ``r``: 5 ints."""
    noun, other = _pair(topic.nouns, r[0], r[1])
    shapes = (
        f"I'm interested in {noun} and {other}.",
        f"Working on {topic.adjectives[r[2] % len(topic.adjectives)]} {noun} every day",
        f"Keen to {topic.verbs[r[3] % len(topic.verbs)]} better; ask me about {other}!",
        "",
    )
    return shapes[r[4] % len(shapes)]
