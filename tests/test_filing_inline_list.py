"""An attachment list written inline after its header, separated by semicolons or by commas."""

from __future__ import annotations

from courtdoc.checks.filing.listparse import Line, parse_attachments
from courtdoc.checks.outline import lexicon_for
from courtdoc.core.policy import default_policy

LEXICON = lexicon_for(default_policy())


def names_document(text: str) -> bool:
    return bool(LEXICON.tokens(text).types)


def titles(text: str) -> list[str]:
    return [e.title for e in parse_attachments([Line(text)], names_document)]


def test_commas_split_when_every_part_names_a_document() -> None:
    assert len(titles("Приложение: доверенность, квитанция об оплате госпошлины.")) == 2
    assert len(titles("Attachments: power of attorney, receipt of the state fee.")) == 2
    assert len(titles("Қосымшалар: сенімхат, мемлекеттік баж төленгені туралы түбіртек")) == 2


def test_a_comma_inside_one_title_does_not_split_it() -> None:
    assert len(titles("Приложение: справка о доходах, выданная работодателем")) == 1


def test_semicolons_still_split() -> None:
    assert len(titles("Приложения: доверенность на 1 л.; квитанция на 1 л.")) == 2
