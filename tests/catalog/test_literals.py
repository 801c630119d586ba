"""Text arrays passed as literals (`store.array_literal`, for `update_rows`' array-valued columns):
PostgreSQL reads back exactly the values sent."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zentropy.catalog import store

# Text as sources send it: quotes, backslashes, braces, commas, blanks, "NULL", any Unicode but lone
# surrogates (not UTF-8: no decoded payload holds one)
CHARACTERS = st.sampled_from(string.printable + '"\\{},é€日') | st.characters(exclude_categories=("Cs",))
TEXTS = st.text(CHARACTERS, max_size=20) | st.just("NULL")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(TEXTS.filter(lambda t: "\x00" not in t), max_size=10))
@example(values=["a\\b", 'say "hi"', "{x,y}", "NULL", "", " padded "])
async def test_text_reads_back_as_sent(runtime, values):
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT $1::text::text[]", store.array_literal(values)) == values
