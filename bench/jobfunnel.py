"""JobFunnel's duplicate filter, for comparison: TF-IDF cosine similarity of descriptions >= 0.75.

As `jobfunnel.backend.tools.filters.tfidf_filter` does it with scikit-learn's `TfidfVectorizer(
strip_accents='unicode', lowercase=True, analyzer='word', stop_words=<NLTK English>)`: the
vectorizer is fitted on every description at hand, terms are words of two or more characters,
idf = ln((1 + n) / (1 + df)) + 1 (smoothed), vectors are L2-normalized. Reimplemented here in a
few lines rather than adding scikit-learn and NLTK as dependencies.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

THRESHOLD = 0.75
# NLTK's English stop words (nltk.corpus.stopwords.words("english"), 179 words)
STOP_WORDS = frozenset("""
i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves he him his
himself she she's her hers herself it it's its itself they them their theirs themselves what which who whom this
that that'll these those am is are was were be been being have has had having do does did doing a an the and but
if or because as until while of at by for with about against between into through during before after above below
to from up down in out on off over under again further then once here there when where why how all any both each
few more most other some such no nor not only own same so than too very s t can will just don don't should
should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't
haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't
weren weren't won won't wouldn wouldn't
""".split())
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return [t for t in _TOKEN.findall(text) if t not in STOP_WORDS]


class TfIdf:
    def __init__(self, corpus: Sequence[str]) -> None:
        counts = [Counter(_tokens(doc)) for doc in corpus]
        df = Counter(term for c in counts for term in c)
        n = len(corpus)
        self.idf = {term: math.log((1 + n) / (1 + d)) + 1 for term, d in df.items()}

    def vector(self, text: str) -> dict[str, float]:
        weights = {t: c * self.idf.get(t, 0.0) for t, c in Counter(_tokens(text)).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    def cosine(self, a: str, b: str) -> float:
        va, vb = self.vector(a), self.vector(b)
        if len(va) > len(vb):
            va, vb = vb, va
        return sum(w * vb.get(t, 0.0) for t, w in va.items())
