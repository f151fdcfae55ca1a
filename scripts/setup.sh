#!/usr/bin/env bash
# Installs every dependency from Debian packages (only what is missing) and builds the project.
#   scripts/setup.sh            install + configure + build into $BUILD_DIR (default ./build)
#   scripts/setup.sh --deps     install only
# Environment: BUILD_DIR, BUILD_TYPE (RelWithDebInfo), CMAKE_ARGS (extra), CI=true turns on -Werror.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PACKAGES=(
    build-essential cmake ninja-build ccache pkg-config git
    libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
    libboost-test1.81-dev libboost-url1.81-dev
    libssl-dev openssl
    nats-server libnats-dev
    curl procps iproute2 prometheus python3
    dpkg-dev   # dpkg-shlibdeps: the Debian package's Depends (scripts/package.sh)
)

install_deps() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "dependencies already installed"
        return
    fi
    log "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
    local werror=OFF
    [ "${CI:-}" = "true" ] && werror=ON
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        cmake -S "$BEAMLINE_ROOT" -B "$BUILD_DIR" -G Ninja \
            -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
            -DBEAMLINE_WERROR=$werror ${CMAKE_ARGS:-}
    fi
    cmake --build "$BUILD_DIR" -j "$(nproc)"
}

install_deps
[ "${1:-}" = "--deps" ] && exit 0
build
log "built into $BUILD_DIR"
