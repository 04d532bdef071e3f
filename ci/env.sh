# Shared settings for ci/ scripts (sourced). Build output and the tools ci/ installs live
# outside the clone, under one cache directory (PATCHBAY_CACHE; ci/time-cold points it at an
# empty one), so repeated runs, and fresh clones on the same machine, reuse them.
export PATCHBAY_CACHE="${PATCHBAY_CACHE:-$HOME/.cache/patchbay}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PATCHBAY_CACHE/target}"
# The browser app (wasm32) builds in its own directory, so that it can build while the native
# tests do without waiting on their lock.
WASM_TARGET_DIR="${WASM_TARGET_DIR:-$PATCHBAY_CACHE/wasm-target}"
# trunk and wasm-bindgen-cli (`cargo install --root`), ahead of anything installed by hand.
TOOLS_ROOT="$PATCHBAY_CACHE/tools"
export PATH="$TOOLS_ROOT/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"

# Cargo keys our crates' builds by package, not by where the clone is: after a build from
# another clone, this clone's sources (older than those artifacts) look built, and tests would
# run the other clone's code, CARGO_MANIFEST_DIR included. When the clone changes, the crate
# root is touched here, so that our crates rebuild (everything of ours depends on the library)
# while dependencies stay built; nothing in the shared directory is removed, so a build of the
# other clone that is running meanwhile is not disturbed.
rebuild_if_other_clone_built() {
  local dir="$1" here stamp
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
  stamp="$dir/.patchbay-clone"
  [ -f "$here/src/lib.rs" ] || return 0
  if [ ! -d "$dir" ]; then
    # Nothing built yet: claimed now, so that a script sourcing this later in the same run
    # (ci/test's ci/dist) does not touch the crate while it builds.
    mkdir -p "$dir" && printf '%s\n' "$here" >"$stamp"
    return 0
  fi
  [ "$(cat "$stamp" 2>/dev/null)" = "$here" ] && return 0
  touch "$here/src/lib.rs"
  printf '%s\n' "$here" >"$stamp"
}
# wgpu/Vulkan loaders complain without it on headless machines.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
TRUNK_VERSION=0.21.14
# Must equal the `wasm-bindgen = "=…"` pin in Cargo.toml and `[tools]` in Trunk.toml.
WASM_BINDGEN_VERSION=0.2.130

log() { printf '\n==> [%s] %s\n' "$(date +%T)" "$*" >&2; }

source "$(dirname "${BASH_SOURCE[0]}")/stages.sh"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  log "installing Debian packages: $*"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_wasm_target() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown || {
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  }
}

ensure_trunk() {
  if ! "$TOOLS_ROOT/bin/trunk" --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
    log "installing trunk $TRUNK_VERSION (takes a while once)"
    # A debug build of trunk is fast enough and builds in half the time; without debug info it
    # also links faster. Its own target dir, so it never waits on the project's build lock.
    CARGO_PROFILE_DEV_DEBUG=false CARGO_TARGET_DIR="$PATCHBAY_CACHE/tools-target" cargo install --root "$TOOLS_ROOT" trunk --version "$TRUNK_VERSION" --locked --debug
  fi
}

ensure_wasm_bindgen() {
  if ! "$TOOLS_ROOT/bin/wasm-bindgen" --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # Not --locked: its lock file pins a yanked crate. At -O1: it runs for seconds per build
    # (README, "CI from a fresh machine"), and builds in less time than at -O3.
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_TARGET_DIR="$PATCHBAY_CACHE/tools-target" cargo install --root "$TOOLS_ROOT" wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

# wasm-opt from npm's binaryen (Debian's binaryen 108 corrupts the module). Trunk finds it on
# PATH and checks its version against `[tools] wasm_opt` in Trunk.toml.
BINARYEN_VERSION=132
NPM_TOOLS="$PATCHBAY_CACHE/npm-tools"
export PATH="$NPM_TOOLS/node_modules/.bin:$PATH"

ensure_wasm_opt() {
  if ! wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    log "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
    mkdir -p "$NPM_TOOLS"
    npm install --prefix "$NPM_TOOLS" --no-audit --no-fund --no-save "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
}

# ruff (pinned) for ci/lint-exports, in a virtual environment under the cache.
RUFF_VERSION=0.17.5
LINT_VENV="$PATCHBAY_CACHE/lint-venv"
export PATH="$LINT_VENV/bin:$PATH"

ensure_python_linter() {
  if ! ruff --version 2>/dev/null | grep -q " $RUFF_VERSION"; then
    log "installing ruff $RUFF_VERSION (PyPI) into $LINT_VENV"
    python3 -m venv "$LINT_VENV"
    "$LINT_VENV/bin/pip" install -q "ruff==$RUFF_VERSION"
  fi
}

ensure_lavapipe() {
  # Mesa's software Vulkan driver: the wgpu backend's tests run on it where there is no GPU.
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || apt_install mesa-vulkan-drivers libvulkan1
}

ensure_web_tools() {
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_trunk
}

ensure_browser_tests() {
  # Debian's Chromium (a browser download by Playwright is impossible here) and playwright-core.
  [ -x /usr/bin/chromium ] || apt_install chromium
  if [ ! -d tests/e2e/node_modules/playwright-core ] || [ ! -d tests/e2e/node_modules/axe-core ]; then
    log "installing the e2e test packages (npm ci)"
    (cd tests/e2e && npm ci --no-audit --no-fund)
  fi
}

rebuild_if_other_clone_built "$CARGO_TARGET_DIR"
rebuild_if_other_clone_built "$WASM_TARGET_DIR"
rebuild_if_other_clone_built "$PATCHBAY_CACHE/fuzz-target"

# The benchmarks' Python: TransformerLens 3.9 / torch 2.15 / transformers 5.24 (torch's PyPI
# wheel, CUDA included). ci/interop's pinned environment holds the same versions: it is used
# where it exists instead of installing 6 GB twice. Prints the venv's directory.
bench_venv() {
  local pins=(torch==2.15.0 transformers==5.24.0 transformer-lens==3.9.0)
  local venv
  for venv in "$PATCHBAY_CACHE/bench-venv" "$PATCHBAY_CACHE/interop-venv"; do
    if "$venv/bin/python" - "${pins[@]}" <<'PY' 2>/dev/null; then echo "$venv"; return; fi
import sys
from importlib.metadata import version
sys.exit(any(version(name) != want for name, want in (p.split("==") for p in sys.argv[1:])))
PY
  done
  venv="$PATCHBAY_CACHE/bench-venv"
  log "installing ${pins[*]} into $venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "${pins[@]}" numpy safetensors >&2
  echo "$venv"
}

# transformers.js's side of the browser benchmarks: GPT-2 small's depth with random weights at
# width $1 (768: GPT-2 small; 48: the `narrow` model) exported to ONNX once (bench/tjs/export.py,
# in its own venv: optimum pins the transformers it exports with), and the library's npm
# packages. Prints the model's directory.
tjs_model() {
  local width="$1" onnx_venv="$PATCHBAY_CACHE/onnx-venv"
  local model="$PATCHBAY_CACHE/gpt2-random-onnx"
  [ "$width" = 768 ] || model="$model-$width"
  if [ ! -f "$model/onnx/model.onnx" ]; then
    "$onnx_venv/bin/python" -c "import optimum.exporters.onnx" 2>/dev/null || {
      log "installing optimum-onnx into $onnx_venv"
      python3 -m venv "$onnx_venv" >&2
      "$onnx_venv/bin/pip" install -q torch==2.15.0 optimum-onnx onnx onnxruntime >&2
    }
    "$onnx_venv/bin/python" bench/tjs/export.py "${PATCHBAY_REFS:-../shared/refs}/tiny-gpt2" "$model" "$width" >&2
  fi
  [ -d bench/tjs/node_modules/@huggingface/transformers ] ||
    (cd bench/tjs && npm install --no-audit --no-fund --ignore-scripts >&2)
  echo "$model"
}
