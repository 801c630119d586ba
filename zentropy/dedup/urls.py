"""Canonical URLs (tracking parameters removed) and how much an apply URL is worth.

An applicant tracking system's URL (the employer's own form) beats a company site's, which beats a
job board's or aggregator's.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

TRACKING_PARAMS = frozenset(
    {"gclid", "gclsrc", "dclid", "fbclid", "msclkid", "yclid", "igshid", "twclid", "li_fat_id", "mc_cid",
     "mc_eid", "_hsenc", "_hsmi", "hsctatracking", "mkt_tok", "ref", "referrer", "refid", "ref_src",
     "source", "src", "gh_src", "lever-source", "lever-origin", "trk", "trkinfo", "trackingid", "tracking",
     "refer", "campaign", "cmpid", "icid", "s_kwcid", "sc_cid", "spm", "from", "feedid", "se",
     "utm", "clickid", "jobsource", "source_id", "iis", "iisn", "ccuid", "adref"}
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hs_", "oly_", "vero_", "_ga", "__hs")

# Hosts (or host suffixes) of applicant tracking systems: the employer's own application form.
ATS_HOSTS = (
    "greenhouse.io", "lever.co", "myworkdayjobs.com", "myworkdaysite.com", "workday.com", "ashbyhq.com",
    "smartrecruiters.com", "workable.com", "icims.com", "jobvite.com", "bamboohr.com", "recruitee.com",
    "personio.de", "personio.com", "teamtailor.com", "breezy.hr", "applytojob.com", "taleo.net",
    "successfactors.com", "successfactors.eu", "jazzhr.com", "pinpointhq.com", "rippling-ats.com",
    "ats.rippling.com", "dover.com", "gem.com", "eightfold.ai", "oraclecloud.com", "ultipro.com",
    "paylocity.com", "adp.com", "jobs.ashbyhq.com", "wellfound.com",
)
# Job boards and aggregators: they list other people's postings.
AGGREGATOR_HOSTS = (
    "adzuna.com", "adzuna.co.uk", "adzuna.de", "adzuna.fr", "indeed.com", "linkedin.com", "glassdoor.com",
    "ziprecruiter.com", "google.com", "serpapi.com", "remotive.com", "remotive.io", "arbeitnow.com",
    "monster.com", "simplyhired.com", "careerbuilder.com", "dice.com", "jooble.org", "talent.com",
    "stepstone.de", "totaljobs.com", "reed.co.uk", "weworkremotely.com", "remoteok.com", "themuse.com",
    "builtin.com", "snagajob.com", "jobrapido.com", "neuvoo.com", "careerjet.com", "trovit.com",
    "bebee.com", "learn4good.com", "whatjobs.com", "salary.com", "lensa.com", "tallo.com",
)
ATS, DIRECT, AGGREGATOR = 2, 1, 0
# scheme, authority, path, query (RFC 3986 appendix B, http(s) or scheme-less only)
_URL = re.compile(r"^\s*(?:([A-Za-z][A-Za-z0-9+.-]*):)?//([^/?#\s]*)([^?#\s]*)(?:\?([^#\s]*))?")
_AUTHORITY = re.compile(r"^(?:[^@]*@)?(\[[^\]]*\]|[^:]*)(?::(\d*))?$")
_ADZUNA_LOCALE = re.compile(r"^adzuna\.[a-z.]+$")


_ATS = frozenset(ATS_HOSTS)
_AGGREGATORS = frozenset(AGGREGATOR_HOSTS)


def _host_matches(host: str, suffixes: frozenset[str]) -> bool:
    """`host` is one of `suffixes` or a subdomain of one."""
    labels = host.split(".")
    return any(".".join(labels[i:]) in suffixes for i in range(len(labels) - 1))


def _tracking(name: str) -> bool:
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _parts(url: str) -> tuple[str, str, str] | None:
    """(host with non-default port, path, query) of an http(s) URL, or None."""
    match = _URL.match(url)
    if not match:
        return None
    scheme, authority, path, query = match.groups()
    if scheme and scheme.lower() not in ("http", "https"):
        return None
    host_port = _AUTHORITY.match(authority)
    if not host_port or not host_port.group(1):
        return None
    host, port = host_port.group(1).lower().rstrip("."), host_port.group(2)
    if host.startswith("www."):
        host = host[4:]
    if port and port not in ("80", "443"):
        host = f"{host}:{int(port)}"
    return host, path, query or ""


def canonical_url(url: str | None) -> str | None:
    """Scheme-less, `www.`-less, lower-case host, no default port, fragment or tracking parameters,
    remaining parameters sorted: the same page always gives the same string."""
    parts = _parts(url) if url else None
    return None if parts is None else _canonical(*parts)


def _canonical(host: str, path: str, query: str) -> str:
    path = re.sub(r"/{2,}", "/", path).rstrip("/")
    if query:
        kept = sorted((k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _tracking(k.lower()))
        query = urlencode(kept)
    return f"{host}{path}?{query}" if query else f"{host}{path}"


def url_rank(url: str | None) -> int:
    """ATS (2) > a company's own site (1) > a job board or aggregator (0); no URL ranks -1."""
    parts = _parts(url) if url else None
    return -1 if parts is None else _host_rank(parts[0])


def canonical_url_and_rank(url: str | None) -> tuple[str | None, int]:
    """`(canonical_url(url), url_rank(url))`, parsing the URL once."""
    parts = _parts(url) if url else None
    if parts is None:
        return None, -1
    return _canonical(*parts), _host_rank(parts[0])


@lru_cache(maxsize=1 << 14)
def _host_rank(host: str) -> int:
    host = host.split(":")[0]
    if _host_matches(host, _ATS):
        return ATS
    if _host_matches(host, _AGGREGATORS) or _ADZUNA_LOCALE.match(host):
        return AGGREGATOR
    return DIRECT
