"""The folded form members are searched in (issue 26): case, accents and compatibility forms
dropped, so "Muller" finds Müller and "garcon" Garçon. The one normalisation: the stored
member.search_text and the words staff type both go through fold()."""

import unicodedata

# Letters that have no decomposition but that readers take for a plain Latin letter or two.
UNDECOMPOSED = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "\u0131": "i", "ð": "d", "þ": "th"}
    | {"æ": "ae", "œ": "oe"}
)
# What the member list searches in: every word typed must be found in one of these.
SEARCHED = ("first_name", "last_name", "full_name", "email", "username", "imis_id")
SEPARATOR = "\n"  # a searched word holds no whitespace, so no match spans two fields


def fold(text: str) -> str:
    """Casefolded, decomposed (NFKD: "ﬁ" is "fi", "é" is "e" and a mark), the marks dropped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(UNDECOMPOSED)


def of(member: object) -> str:
    """A member's search_text: its searched fields (attributes of `member`), folded."""
    values = (getattr(member, name) for name in SEARCHED)
    return SEPARATOR.join(fold(value) for value in values if value)
