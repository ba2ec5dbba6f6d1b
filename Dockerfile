# The eventsub operator image: `python -m eventsub`. The same image runs consumers too:
# `python -m eventsub.consumer [package.module:function]` (the helper the operator wires).
# BASE: any image with Python 3.11+ whose `python` and `pip` are on PATH (the local stack builds
# on its own Debian base).
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
WORKDIR /src
COPY pyproject.toml ./
# The dependencies first, from pyproject.toml alone: with layer caching, a change of the sources
# rebuilds only what follows.
RUN mkdir -p operator && touch README.md && pip wheel --no-cache-dir --wheel-dir /wheels . \
    && rm /wheels/eventsub-*.whl
COPY README.md ./
COPY operator ./operator
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${BASE}
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# Read-only root filesystem in the chart: no bytecode files written, logs unbuffered.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 EVENTSUB_METRICS_PORT=8080
# A numeric non-root user, as Pod Security "restricted" wants (the chart's runAsUser).
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["python", "-m", "eventsub"]
