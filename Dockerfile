# llm-proxy: docker build -t llm-proxy . && docker run -p 7788:7788 -e LLM_KEYS='[...]' llm-proxy
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies in a layer of their own: rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The code stays owned by root: the user the proxy runs as cannot change it.
COPY wsgi.py gunicorn.conf.py ./
COPY llm_proxy/ ./llm_proxy/
COPY static/ ./static/

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin proxy
USER proxy

EXPOSE 7788

# /healthz answers without a token and without calling any upstream.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('PORT') or '7788'), timeout=4)"]

# gunicorn reads ./gunicorn.conf.py. On SIGTERM open streams get graceful_timeout (300 s)
# to finish: stop the container with as long a grace period (docker stop -t 300).
CMD ["gunicorn", "wsgi:app"]
