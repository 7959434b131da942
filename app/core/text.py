"""Vietnamese text normalisation for search, done in the application so it works on any
PostgreSQL (no unaccent, no pg_trgm)."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ → d) and collapse everything else to single spaces.

    The result starts and ends with a space, so a query folded the same way and searched as
    ``' ' + query`` matches only at word starts: "y te" finds "Y tế" but not "quy tế".
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    words = _NON_WORD.sub(" ", stripped.lower()).split()
    return " " + " ".join(words) + " " if words else ""


def fold_query(query: str) -> str:
    """The needle for a folded haystack: word-start anchored, no trailing anchor."""
    folded = fold(query)
    return folded[:-1] if folded else ""
