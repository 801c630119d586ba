"""Helpers plugins use to turn a provider's items into `Posting`s: text, dates, salaries, filters."""

from __future__ import annotations

import html
import logging
import math
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import html_text
import msgspec
import nh3

from zentropy.sources.contract import (
    EmploymentType,
    Posting,
    RemotePolicy,
    Salary,
    SalaryPeriod,
    SearchQuery,
    SourceError,
)

log = logging.getLogger(__name__)

COUNTRY_CURRENCY = {
    "at": "EUR", "au": "AUD", "be": "EUR", "br": "BRL", "ca": "CAD", "ch": "CHF", "de": "EUR", "dk": "DKK",
    "es": "EUR", "fi": "EUR", "fr": "EUR", "gb": "GBP", "ie": "EUR", "in": "INR", "it": "EUR", "jp": "JPY",
    "mx": "MXN", "nl": "EUR", "no": "NOK", "nz": "NZD", "pl": "PLN", "pt": "EUR", "se": "SEK", "sg": "SGD",
    "uk": "GBP", "us": "USD", "za": "ZAR",
}
_SYMBOLS = {"$": "USD", "£": "GBP", "€": "EUR", "₹": "INR", "¥": "JPY", "₩": "KRW", "zł": "PLN", "CHF": "CHF"}
_CODES = {"USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "INR", "SGD", "SEK", "NOK", "DKK", "PLN", "ZAR",
          "JPY", "BRL", "MXN"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")


# -- text --------------------------------------------------------------------------------------
def clean_text(value: Any) -> str:
    """A string with control characters (NUL included, which PostgreSQL refuses) removed, trimmed."""
    if value is None:
        return ""
    return _CONTROL.sub("", str(value)).strip()


def html_to_text(markup: str | None, *, escaped: bool = False) -> str:
    """Plain text of an HTML fragment: block layout kept as line breaks, entities decoded.

    escaped: the HTML itself is entity-escaped (Greenhouse's `content`), so unescape it first.
    """
    if not markup:
        return ""
    if escaped:
        markup = html.unescape(markup)
    text = html_text.extract_text(_CONTROL.sub("", markup), guess_layout=True)
    lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def safe_html(markup: str | None, *, escaped: bool = False) -> str | None:
    """The HTML with scripts, handlers and unknown tags removed (it will be served to browsers)."""
    if not markup:
        return None
    if escaped:
        markup = html.unescape(markup)
    cleaned = nh3.clean(_CONTROL.sub("", markup)).strip()
    return cleaned or None


# -- dates ---------------------------------------------------------------------------------------
_EPOCH_MIN, _EPOCH_MAX = datetime(1990, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)


def parse_datetime(value: Any, *, milliseconds: bool | None = None) -> datetime | None:
    """An aware UTC datetime from ISO 8601 (no zone: UTC) or an epoch number; None if unreadable.

    milliseconds: whether an epoch number counts milliseconds (None: guess from its size).
    """
    when: datetime | None = None
    try:
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, (int, float)):
            if not math.isfinite(value):
                return None
            in_ms = abs(value) > 1e11 if milliseconds is None else milliseconds
            seconds = value / 1000 if in_ms else value
            when = datetime.fromtimestamp(seconds, tz=timezone.utc)
        elif isinstance(value, str) and value.strip():
            text = value.strip()
            if text.endswith(" UTC"):
                text = text[:-4]
            when = datetime.fromisoformat(text)
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            when = when.astimezone(timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    if when is None or not _EPOCH_MIN <= when <= _EPOCH_MAX:
        return None
    return when


_AGO = re.compile(r"(\d+)\+?\s*(minute|min|hour|hr|day|week|month|year)s?\s+ago", re.I)
_UNITS = {"minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400, "week": 7 * 86400,
          "month": 30 * 86400, "year": 365 * 86400}


def parse_ago(text: Any, now: datetime | None = None) -> datetime | None:
    """'3 days ago', '30+ days ago', '12 hours ago' → when, relative to `now`."""
    if not isinstance(text, str):
        return None
    match = _AGO.search(text)
    if not match:
        return None
    now = now or datetime.now(timezone.utc)
    seconds = min(int(match.group(1)), 10_000) * _UNITS[match.group(2).lower()]
    return now - timedelta(seconds=seconds)


# -- salaries ---------------------------------------------------------------------------------------
_NUMBER = re.compile(r"(\d[\d.,\s]*\d|\d)\s*([kKmM])?(?![a-zA-Z])")
_PERIODS: list[tuple[re.Pattern[str], SalaryPeriod]] = [
    (re.compile(r"\b(hour|hourly|hr)\b|/\s*h\b|\bph\b", re.I), "hour"),
    (re.compile(r"\b(day|daily)\b|/\s*d\b", re.I), "day"),
    (re.compile(r"\b(week|weekly|wk)\b", re.I), "week"),
    (re.compile(r"\b(month|monthly|mo)\b|/\s*m\b", re.I), "month"),
    (re.compile(r"\b(year|yearly|annual|annually|annum|yr|pa)\b|p\.a\.|/\s*y\b", re.I), "year"),
]


def _amount(digits: str) -> float | None:
    digits = re.sub(r"\s", "", digits)
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", digits):
        digits = digits.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", digits):
        digits = digits.replace(".", "").replace(",", ".")
    else:
        digits = digits.replace(",", ".")
    try:
        value = float(digits)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_salary_text(text: Any, *, currency: str | None = None, period: SalaryPeriod | None = None,
                      predicted: bool = False) -> Salary | None:
    """A salary from free text ('$175k - $225k', '81K–120K a year', '£30-34k', '15.50 an hour')."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text[:200]
    amounts: list[float] = []
    suffixes: list[str | None] = []
    for match in _NUMBER.finditer(text):
        value = _amount(match.group(1))
        if value is None:
            continue
        amounts.append(value)
        suffixes.append((match.group(2) or "").lower() or None)
        if len(amounts) == 2:
            break
    if not amounts:
        return None
    scale = {"k": 1_000, "m": 1_000_000}
    last = suffixes[-1]
    values = []
    for value, suffix in zip(amounts, suffixes):
        suffix = suffix or (last if last and value < 1000 else None)  # '30-34k': the k is for both
        values.append(value * scale.get(suffix or "", 1))
    lowered = text.lower()
    if len(values) == 1:
        low, high = (None, values[0]) if "up to" in lowered else (values[0], values[0])
        if any(w in lowered for w in ("from ", "starting", "at least", "+")):
            low, high = values[0], None
    else:
        low, high = sorted(values)
    detected = next((p for pattern, p in _PERIODS if pattern.search(text)), None)
    top = high if high is not None else low
    if detected is None and period is None and top is not None:
        detected = "year" if top >= 10_000 else "hour" if top < 300 else None
    found_currency = next((code for code in _CODES if re.search(rf"\b{code}\b", text)), None)
    found_currency = found_currency or next((c for s, c in _SYMBOLS.items() if s in text), None)
    return Salary(min=low, max=high, currency=found_currency or currency, period=detected or period,
                  predicted=predicted)


def salary_range(low: Any, high: Any, *, currency: str | None, period: SalaryPeriod | None,
                 predicted: bool = False) -> Salary | None:
    """A salary from numeric bounds (either may be missing); None when neither is a number."""
    def number(v: Any) -> float | None:
        if isinstance(v, bool):
            return None
        if isinstance(v, str):
            return _amount(v.strip()) if v.strip() else None
        if isinstance(v, (int, float)) and math.isfinite(v) and v >= 0:
            return float(v)
        return None

    lo, hi = number(low), number(high)
    if lo is None and hi is None:
        return None
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return Salary(min=lo, max=hi, currency=currency, period=period, predicted=predicted)


# -- kinds ---------------------------------------------------------------------------------------
_EMPLOYMENT: list[tuple[re.Pattern[str], EmploymentType]] = [
    (re.compile(r"intern|praktik|werkstudent|trainee|apprentice", re.I), "internship"),
    (re.compile(r"part[\s_-]?time|teilzeit|minijob", re.I), "part_time"),
    (re.compile(r"full[\s_-]?time|vollzeit", re.I), "full_time"),
    (re.compile(r"contract|freelanc|self[\s_-]?employed", re.I), "contract"),
    (re.compile(r"temp(orary)?\b|seasonal|befristet", re.I), "temporary"),
    (re.compile(r"permanent|festanstellung|unbefristet", re.I), "permanent"),
]


def employment_type(*texts: Any) -> EmploymentType | None:
    for text in texts:
        if not isinstance(text, str):
            continue
        for pattern, kind in _EMPLOYMENT:
            if pattern.search(text):
                return kind
    return None


_HYBRID = re.compile(r"\bhybrid\b", re.I)
_REMOTE = re.compile(r"\bremote\b|\banywhere\b|work from home|\bwfh\b|home[\s-]?office|fully distributed", re.I)
_ONSITE = re.compile(r"\bon[\s-]?site\b|\bin[\s-]office\b", re.I)


def remote_policy(*texts: Any) -> RemotePolicy:
    """What the words say about where the work happens (locations and titles; not descriptions)."""
    joined = " ".join(t for t in texts if isinstance(t, str))
    if _HYBRID.search(joined):
        return "hybrid"
    if _REMOTE.search(joined):
        return "remote"
    if _ONSITE.search(joined):
        return "onsite"
    return "unknown"


def strings(values: Any) -> list[str]:
    """The non-empty strings of a list (anything else: empty list)."""
    if not isinstance(values, list):
        return []
    return [clean_text(v) for v in values if isinstance(v, str) and clean_text(v)]


# -- pages ---------------------------------------------------------------------------------------
def normalize_items(source: str, items: Any, normalize: Callable[[Any], Posting]) -> tuple[list[Posting], int]:
    """Each item normalized; one that fails is skipped and counted, the rest kept.

    `items` that is not a list means the page itself is unreadable: a `bad_response` SourceError.
    """
    if not isinstance(items, list):
        raise SourceError(source, "bad_response", "the response has no list of jobs where one was expected")
    postings: list[Posting] = []
    skipped = 0
    for index, item in enumerate(items):
        try:
            posting = normalize(item)
            if not posting.external_id or not posting.title:
                raise ValueError("a posting needs an external_id and a title")
            encoded = msgspec.json.encode(posting)
            if b"\\u0000" in encoded:  # PostgreSQL takes no NUL, in text or in jsonb
                encoded = msgspec.json.encode(_without_nul(msgspec.to_builtins(posting)))
            posting = msgspec.json.decode(encoded, type=Posting)  # types checked
        except Exception as exc:  # noqa: BLE001 — a bad item never takes the page down
            skipped += 1
            log.info("source item skipped", extra={"source": source, "index": index, "error": type(exc).__name__})
            continue
        postings.append(posting)
    return postings, skipped


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def matches(posting: Posting, query: SearchQuery, honours: Iterable[str], now: datetime | None = None) -> bool:
    """Whether `posting` meets `query` on the fields in `honours` (for sources that filter locally)."""
    honours = set(honours)
    if "keywords" in honours and query.keywords.strip():
        hay = " ".join([posting.title, posting.company or "", posting.category or "", *posting.tags,
                        *posting.locations, posting.description_text]).casefold()
        if not all(word in hay for word in query.keywords.casefold().split()):
            return False
    if "location" in honours and query.location and query.location.strip():
        place = query.location.split(",")[0].strip().casefold()
        if place and place not in " ".join(posting.locations).casefold():
            return False
    if "country" in honours and query.country and (posting.country or "").lower() != query.country.lower():
        return False
    if "remote_only" in honours and query.remote_only and posting.remote != "remote":
        return False
    if "posted_within_days" in honours and query.posted_within_days is not None:
        now = now or datetime.now(timezone.utc)
        if posting.posted_at is None or posting.posted_at < now - timedelta(days=query.posted_within_days):
            return False
    if "employment_type" in honours and query.employment_type and posting.employment_type != query.employment_type:
        return False
    return True


def page_size(query: SearchQuery, maximum: int = 100) -> int:
    return max(1, min(query.page_size, maximum))


def offset_cursor(cursor: str | None, source: str) -> int:
    """The offset a local-paging cursor holds (None: 0); a foreign cursor is an `unsupported_query`."""
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit():
        raise SourceError(source, "unsupported_query", "the cursor is not one this source issued")
    return int(cursor)
