"""Salaries in posting text: amounts, currency and period, normalized to a yearly amount."""

from __future__ import annotations

import re

import msgspec

from zentropy.sources.contract import SalaryPeriod

# Full-time hours, days, weeks and months in a year.
PER_YEAR: dict[str, float] = {"hour": 2080, "day": 260, "week": 52, "month": 12, "year": 1}
SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
CODES = ("USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "INR", "JPY", "SGD")
PERIOD_WORDS = {
    "hour": "hour", "hr": "hour", "hourly": "hour", "h": "hour",
    "day": "day", "daily": "day",
    "week": "week", "weekly": "week", "wk": "week",
    "month": "month", "monthly": "month", "mo": "month",
    "year": "year", "yearly": "year", "annum": "year", "annual": "year", "annually": "year", "yr": "year",
    "pa": "year", "p.a.": "year",
}


class ParsedSalary(msgspec.Struct, frozen=True, kw_only=True):
    min: float | None
    max: float | None
    currency: str
    period: SalaryPeriod


def to_yearly(amount: float | None, period: str) -> float | None:
    if amount is None:
        return None
    return round(amount * PER_YEAR[period], 2)


_CUR = r"(?:[$€£¥₹]|\b(?:" + "|".join(CODES) + r")\b)"
_NUM = r"\d{1,3}(?:[,.\u00a0 ]\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d+)?"
_PERIOD = r"(?:/\s*|\bper\s+|\ban?\s+|\beach\s+|\s)(?P<period>hour|hr|h|day|week|wk|month|mo|year|yr|annum)\b" \
          r"|\b(?P<adverb>hourly|daily|weekly|monthly|yearly|annually|annual|p\.a\.|pa)\b"
SALARY = re.compile(
    rf"(?P<cur1>{_CUR})?\s?(?P<a>{_NUM})(?![\d])\s?(?P<ka>[kK])?(?!\s?(?:million|billion|mn|bn|m|b)\b)"
    rf"(?:\s*(?:-|–|—|to)\s*(?P<cur2>{_CUR})?\s?(?P<b>{_NUM})(?![\d])\s?(?P<kb>[kK])?)?"
    rf"\s?(?P<cur3>\b(?:{'|'.join(CODES)})\b)?\s*(?:{_PERIOD})?",
    re.IGNORECASE,
)


def _number(text: str) -> float:
    text = text.replace("\u00a0", " ")
    if re.fullmatch(r"\d{1,3}(?:[,. ]\d{3})+(?:\.\d{1,2})?", text):
        grouped, _, cents = text.rpartition(".") if re.search(r"\.\d{1,2}$", text) else (text, "", "")
        return float(re.sub(r"[,. ]", "", grouped) + (f".{cents}" if cents else ""))
    return float(text)


def _currency(*tokens: str | None) -> str | None:
    for token in tokens:
        if token:
            return SYMBOLS.get(token, token.upper())
    return None


def parse_salary(text: str) -> ParsedSalary | None:
    """The first salary stated in `text` (an amount or a range with a currency), or None.

    Without a stated period: up to 500 is taken as hourly, from 10,000 as yearly, else monthly.
    """
    for match in SALARY.finditer(text):
        currency = _currency(match["cur1"], match["cur2"], match["cur3"])
        if currency is None:
            continue
        a = _number(match["a"]) * (1000 if match["ka"] else 1)
        b = _number(match["b"]) * (1000 if match["kb"] else 1) if match["b"] else None
        if b is not None and match["kb"] and not match["ka"] and a < 1000:
            a *= 1000  # "80-100k"
        word = (match["period"] or match["adverb"] or "").lower()
        period = PERIOD_WORDS.get(word)
        top = b if b is not None else a
        if period is None:
            if top < 20 and not (match["ka"] or match["kb"]):
                continue  # "$5" alone is not a salary
            period = "hour" if top <= 500 else "year" if top >= 10_000 else "month"
        low, high = (a, b) if b is not None else (a, None)
        if high is not None and low > high:
            low, high = high, low
        return ParsedSalary(min=low, max=high, currency=currency, period=period)  # type: ignore[arg-type]
    return None
