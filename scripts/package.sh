#!/usr/bin/env bash
# Builds the beamline-router Debian package (CPack DEB) into _artifacts/.
#   scripts/package.sh            configure a release build for /usr in $PACKAGE_BUILD_DIR, build the
#                                 daemon, and write _artifacts/beamline-router_<version>_<arch>.deb
#   scripts/package.sh --help
# Install it with `dpkg -i _artifacts/beamline-router_*.deb` (the Depends come from dpkg-shlibdeps),
# then configure /etc/beamline-router/router.conf and `systemctl enable --now beamline-router`.
# Environment: PACKAGE_BUILD_DIR (build-package), ARTIFACTS_DIR (_artifacts), BUILD_TYPE (RelWithDebInfo),
# CMAKE_ARGS (extra cmake arguments, e.g. -DBEAMLINE_WERROR=ON).
# The package build is separate from build/: it is configured with CMAKE_INSTALL_PREFIX=/usr and
# without tests or benchmarks; ccache makes the compile cheap when build/ is up to date.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
only_help_argument "$@"

PACKAGE_BUILD_DIR="${PACKAGE_BUILD_DIR:-$BEAMLINE_ROOT/build-package}"
for tool in cmake cpack dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" > /dev/null || die "$tool is missing (scripts/setup.sh --deps installs it)"
done

mkdir -p "$PACKAGE_BUILD_DIR"
cmake -S "$BEAMLINE_ROOT" -B "$PACKAGE_BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DCMAKE_INSTALL_PREFIX=/usr \
    -DBEAMLINE_BUILD_TESTS=OFF -DBEAMLINE_BUILD_PERF=OFF ${CMAKE_ARGS:-} > "$PACKAGE_BUILD_DIR/configure.log" 2>&1 ||
    { cat "$PACKAGE_BUILD_DIR/configure.log" >&2; die "cmake configure failed"; }
cmake --build "$PACKAGE_BUILD_DIR" --target beamline_router
rm -rf "$PACKAGE_BUILD_DIR/packages"
(cd "$PACKAGE_BUILD_DIR" && cpack -G DEB > cpack.log 2>&1) ||
    { cat "$PACKAGE_BUILD_DIR/cpack.log" >&2; die "cpack failed"; }

mkdir -p "$ARTIFACTS_DIR"
shopt -s nullglob
debs=("$PACKAGE_BUILD_DIR"/packages/*.deb)
[ ${#debs[@]} -eq 1 ] || die "cpack wrote ${#debs[@]} packages, expected one"
cp "${debs[0]}" "$ARTIFACTS_DIR/"
deb="$ARTIFACTS_DIR/${debs[0]##*/}"
log "built $deb"
dpkg-deb --field "$deb" Package Version Architecture Depends Recommends
