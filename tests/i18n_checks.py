"""Checks on rendered pages shared by the i18n tests: which script a text is in, leftover
English, the wrong Chinese script, external resources."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Names that stay in Latin letters in every language (products, services, formats).
ALLOWED_LATIN = (
    "Tor Browser for Android",
    "Tor Browser",
    "Onion Browser",
    "Tor Project",
    "Connection Assist",
    ".onion available",
    "App Store",
    "Snowflake",
    "WebTunnel",
    "obfs4",
    "OpenPGP",
    "GetTor",
    "Telegram",
    "WeChat",
    "Gmail",
    "Riseup",
    "Windows",
    "macOS",
    "Linux",
    "Android",
    "iPhone",
    "iPad",
    "iOS",
    "GPS",
    "DNA",
    "IP",
    "QQ",
    "Tor2web",
    "Tor",
    # Tor Browser has no Uyghur or Tibetan interface: its English level name is given too.
    "Safest",
    "New Identity",
    "onion",
    # The unit of the size limits, as phones and Tor Browser show it in every language here.
    "MB",
    # The default instance name (config.toml [site] name).
    "Sealdrop",
)

# Attributes whose values a person reads (or hears from a screen reader).
_READ_ATTRIBUTES = frozenset({"alt", "title", "placeholder", "aria-label"})


@dataclass
class PageText:
    """What a reader sees on a page, split from what is shown left-to-right on purpose."""

    text: list[str] = field(default_factory=list)
    isolated: list[str] = field(default_factory=list)  # inside <bdi>/<code>: addresses, receipts
    html_lang: str = ""
    html_dir: str = ""
    external: list[str] = field(default_factory=list)
    scripts: int = 0

    @property
    def visible(self) -> str:
        """All text outside <bdi> and <code>, attributes included."""
        return "\n".join(self.text)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = PageText()
        self._skip = 0  # depth inside <style>/<script>
        self._isolated = 0  # depth inside <bdi>/<code>
        self._foreign: list[str] = []  # open elements in another language (language links)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.page.html_lang = values.get("lang", "")
            self.page.html_dir = values.get("dir", "")
        if tag == "script":
            self.page.scripts += 1
        if tag in ("style", "script"):
            self._skip += 1
        if tag in ("bdi", "code"):
            self._isolated += 1
        if self._foreign or values.get("lang", self.page.html_lang) != self.page.html_lang:
            self._foreign.append(tag)
        for name in ("src", "href", "action", "srcset", "data", "poster", "formaction"):
            value = values.get(name, "")
            absolute = re.match(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", value, re.IGNORECASE)
            if absolute and not value.lower().startswith("mailto:"):
                self.page.external.append(value)
        for name in _READ_ATTRIBUTES:
            if values.get(name) and not self._foreign:
                self.page.text.append(values[name])
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            self.page.text.append(values.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self._skip:
            self._skip -= 1
        if tag in ("bdi", "code") and self._isolated:
            self._isolated -= 1
        if self._foreign and self._foreign[-1] == tag:
            self._foreign.pop()

    def handle_data(self, data: str) -> None:
        if self._skip or self._foreign or not data.strip():
            return
        (self.page.isolated if self._isolated else self.page.text).append(data.strip())


def read_page(html: str) -> PageText:
    """Parse a page into what a reader sees."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.page


def count_in(text: str, *ranges: tuple[int, int]) -> int:
    """How many characters of `text` fall in the given code point ranges."""
    return sum(1 for ch in text if any(lo <= ord(ch) <= hi for lo, hi in ranges))


CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF))
TIBETAN = ((0x0F00, 0x0FFF),)
ARABIC = ((0x0600, 0x06FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))

# Common characters that exist in only one of the two Chinese scripts.
SIMPLIFIED_ONLY = (
    "们这网连线与说问题号开关时发资讯读个为会国对过还进检请护证据给写传选择删带过应该远"
)
TRADITIONAL_ONLY = (
    "們這網連線與說問題號開關時發資訊讀個為會國對過還進檢請護證據給寫傳選擇刪帶過應該遠"
)


def latin_runs(text: str, min_words: int = 3) -> list[str]:
    """Runs of `min_words` or more Latin-letter words left after removing allowed names."""
    for name in ALLOWED_LATIN:
        text = text.replace(name, " ")
    word = r"[A-Za-z][A-Za-z'\u2019-]*"
    pattern = rf"{word}(?:[ \t,;:]+{word}){{{min_words - 1},}}"
    return re.findall(pattern, text)


ENGLISH_WORDS = frozenset(
    {"the", "and", "you", "your", "with", "this", "that", "will", "not", "are", "for"}
    | {"from", "our", "has", "have", "here", "when", "what", "which", "please", "send"}
)


def english_words_in_french(text: str) -> list[str]:
    """English function words in a French text: a sign of an untranslated sentence."""
    for name in ALLOWED_LATIN:
        text = text.replace(name, " ")
    return [w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in ENGLISH_WORDS]


def script_problems(language_tag: str, page: PageText) -> list[str]:
    """Why a page does not read as `language_tag` (an empty list when it does)."""
    problems: list[str] = []
    text = page.visible
    if language_tag == "fr":
        if leftovers := english_words_in_french(text):
            problems.append(f"English words in French: {leftovers[:10]}")
        return problems
    if language_tag == "en":
        return problems
    ranges = {"zh-Hans": CJK, "zh-Hant": CJK, "ug": ARABIC, "bo": TIBETAN}[language_tag]
    letters = count_in(text, *ranges)
    if letters < 20:
        problems.append(f"only {letters} characters of the {language_tag} script")
    # Any Latin word left (even "Home" or "Other") is an untranslated string.
    if runs := latin_runs(text, min_words=1):
        problems.append(f"leftover Latin-script words: {runs[:5]}")
    if language_tag == "zh-Hans" and (bad := sorted(set(text) & set(TRADITIONAL_ONLY))):
        problems.append(f"Traditional characters in Simplified Chinese: {''.join(bad)}")
    if language_tag == "zh-Hant" and (bad := sorted(set(text) & set(SIMPLIFIED_ONLY))):
        problems.append(f"Simplified characters in Traditional Chinese: {''.join(bad)}")
    if language_tag != "zh-Hans" and language_tag != "zh-Hant" and count_in(text, *CJK):
        problems.append("Chinese characters on a page that is not in Chinese")
    return problems
