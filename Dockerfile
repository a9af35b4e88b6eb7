# The after-sales workflow system: one image for the web app (gunicorn), the timer workers and the
# `aftersales` command line; docker-compose.yml runs it against PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The package is installed into site-packages; the diagrams to deploy stay in the image's /app.
    AFTERSALES_PROCESSES=/app/processes \
    AFTERSALES_INSTANCE_PATH=/app/instance

WORKDIR /app

# Dependencies first (a layer reused while only the code changes), then the code.
COPY pyproject.toml README.md ./
COPY engine engine
COPY handlers handlers
COPY webapp webapp
RUN pip install ".[postgres]"
COPY processes processes

RUN useradd --system --uid 1000 --home-dir /app --shell /usr/sbin/nologin aftersales \
    && mkdir -p /app/instance \
    && chown aftersales /app/instance
USER aftersales

EXPOSE 8000
CMD ["gunicorn", "--workers", "2", "--threads", "4", "--bind", "0.0.0.0:8000", "webapp:create_app()"]
