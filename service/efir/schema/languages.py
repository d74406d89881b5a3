"""Language codes an as-run event may carry: ISO 639-1 and ``zxx``.

The list is ISO 639-1 as the ISO 639 Registration Authority publishes it
(183 codes, plus ``bh``, withdrawn in 2021 but still found in older
catalogues). ``zxx`` (ISO 639-2: no linguistic content) marks music without
words and other items in no language. Anything else is refused with a hint:
the classic mistake is ``kz``, Kazakhstan's country code, for Kazakh
(``kk``); three-letter codes of ISO 639-2/3 are refused with the two-letter
code to use (no silent mapping: the adapter should send the standard code).
"""

from __future__ import annotations

ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi
    ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks
    ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl
    nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl
    sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
    vi vo wa wo xh yi yo za zh zu
    """.split()  # noqa: SIM905 - the registry's list as published reads better than 184 literals
)
#: ``zxx``: no linguistic content (instrumental music, tones).
NO_LANGUAGE = "zxx"

#: Hints for codes seen in playout and traffic exports instead of ISO 639-1.
_HINTS = {
    "kz": "kz is Kazakhstan's country code; Kazakh is kk",
    "kaz": "kaz is ISO 639-2; send the ISO 639-1 code kk",
    "rus": "rus is ISO 639-2; send the ISO 639-1 code ru",
    "eng": "eng is ISO 639-2; send the ISO 639-1 code en",
    "uzb": "uzb is ISO 639-2; send the ISO 639-1 code uz",
    "kir": "kir is ISO 639-2; send the ISO 639-1 code ky",
    "tur": "tur is ISO 639-2; send the ISO 639-1 code tr",
    "deu": "deu is ISO 639-2; send the ISO 639-1 code de",
    "ger": "ger is ISO 639-2; send the ISO 639-1 code de",
    "ua": "ua is Ukraine's country code; Ukrainian is uk",
    "gb": "gb is a country code; English is en",
    "cn": "cn is China's country code; Chinese is zh",
    "jp": "jp is Japan's country code; Japanese is ja",
}


def is_language(code: str) -> bool:
    """Whether ``code`` is an ISO 639-1 code or ``zxx``."""
    return code in ISO_639_1 or code == NO_LANGUAGE


def language_problem(code: str) -> str:
    """Why ``code`` is not accepted, with the code to use where one is known."""
    hint = _HINTS.get(code.lower())
    if hint is None and is_language(code.lower()):
        hint = f"codes are lower case: {code.lower()}"
    text = f"{code[:16]!r} is not an ISO 639-1 language code, 'zxx' or null"
    return f"{text} ({hint})" if hint else text
