# courtdoc: the intake API (`courtdoc serve`) and the workers (`courtdoc worker`) in one image.
#   docker build -t courtdoc .
# See docker-compose.yml for Redis, the API and two workers sharing a blob volume.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# System packages the checkers use (LibreOffice for .doc, Tesseract for scan titles, …):
# the same list CI installs.
COPY scripts/install-system-deps.sh /tmp/install-system-deps.sh
RUN bash /tmp/install-system-deps.sh \
    && rm -rf /var/lib/apt/lists/* /tmp/install-system-deps.sh

# The repository root is the `courtdoc` package.
COPY . /src
RUN pip install /src && rm -rf /src

RUN useradd --system --uid 10001 --create-home --home-dir /home/courtdoc courtdoc \
    && mkdir -p /var/lib/courtdoc /etc/courtdoc \
    && chown courtdoc:courtdoc /var/lib/courtdoc
USER courtdoc
WORKDIR /home/courtdoc

ENV COURTDOC_DATA_DIR=/var/lib/courtdoc \
    COURTDOC_HOST=0.0.0.0 \
    COURTDOC_PORT=8080
VOLUME ["/var/lib/courtdoc"]
EXPOSE 8080

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)" || exit 1

CMD ["courtdoc", "serve"]
