#!/usr/bin/env bash
# Build llama-cpp-python once per machine as a portable wheel and print its directory
# (for `pip install --find-links`).
#
# Why not pip's default build: it compiles with -march=native, and the 0.3.36 native
# build segfaults on CPUs with AVX-512 FP16 at the first prompt longer than one token
# (every chat request). The portable build (AVX2/FMA/F16C on x86-64, generic elsewhere)
# runs on any machine of the last decade. pip's own cache keys built wheels by source,
# not by build flags, so this wheel lives in a directory named after its flags.
set -euo pipefail
PIP="$1"
VERSION=0.3.36  # keep in step with pyproject.toml
FLAGS="-DGGML_NATIVE=OFF"
if [ "$(uname -m)" = "x86_64" ]; then
  FLAGS="$FLAGS -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
fi
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/hybridagent/wheels/llama-cpp-python-$VERSION-portable"
if ! compgen -G "$DIR/llama_cpp_python-$VERSION-*.whl" >/dev/null; then
  echo "building llama-cpp-python $VERSION (portable build: ~6 min on 2 cores, once per machine)" >&2
  rm -rf "$DIR.partial"
  CMAKE_ARGS="$FLAGS" "$PIP" wheel --quiet --no-deps --no-cache-dir \
    -w "$DIR.partial" "llama-cpp-python==$VERSION" >&2
  rm -rf "$DIR"
  mv "$DIR.partial" "$DIR"
fi
echo "$DIR"
