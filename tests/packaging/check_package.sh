#!/usr/bin/env bash
# Builds the Debian package with scripts/package.sh and checks it without touching this machine:
# its control fields (Depends from dpkg-shlibdeps, Recommends nats-server), its conffile, what it
# ships and what it must not (tests, benchmarks, test support), its maintainer scripts' syntax, an
# unpack by dpkg itself into a throwaway root (dpkg --root), the unpacked binary and configuration,
# and `systemd-analyze verify` of the unit (skipped, with the reason printed, where it cannot run).
#
#   tests/packaging/check_package.sh            (ctest package_deb)
# Environment: WORK_DIR (kept; default a temporary directory, removed), PACKAGE_BUILD_DIR (the package's build directory;
# default one in WORK_DIR), BUILD_TYPE and CMAKE_ARGS (passed to package.sh, so that the package
# build compiles with the flags of the calling build and hits ccache).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -n "${WORK_DIR:-}" ]; then
    mkdir -p "$WORK_DIR"
else
    WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/beamline-package.XXXXXX")
    trap 'rm -rf "$WORK_DIR"' EXIT
fi
say() { printf '[check_package] %s\n' "$*"; }
fail() { say "FAIL: $*" >&2; exit 1; }

PACKAGE_BUILD_DIR="${PACKAGE_BUILD_DIR:-$WORK_DIR/build}" ARTIFACTS_DIR="$WORK_DIR/out" \
    "$ROOT/scripts/package.sh" > "$WORK_DIR/package.log" 2>&1 ||
    { cat "$WORK_DIR/package.log" >&2; fail "scripts/package.sh failed"; }
debs=("$WORK_DIR"/out/beamline-router_*.deb)
[ -f "${debs[0]}" ] || fail "no beamline-router_*.deb in $WORK_DIR/out"
deb=${debs[0]}
say "built ${deb##*/}"

field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = beamline-router ] || fail "Package is '$(field Package)'"
depends=$(field Depends)
for lib in libssl3 libboost-json1.81.0 libboost-program-options1.81.0 libboost-url1.81.0 adduser; do
    grep -qE "(^|, )$lib( |,|$)" <<< "$depends" || fail "Depends lacks $lib: $depends"
done
grep -q nats-server <<< "$(field Recommends)" || fail "Recommends lacks nats-server"
say "Depends: $depends"

mkdir -p "$WORK_DIR/control"
dpkg-deb --control "$deb" "$WORK_DIR/control"
[ "$(cat "$WORK_DIR/control/conffiles")" = /etc/beamline-router/router.conf ] ||
    fail "conffiles is: $(cat "$WORK_DIR/control/conffiles")"
for script in postinst prerm postrm; do
    [ -x "$WORK_DIR/control/$script" ] || fail "maintainer script $script is missing or not executable"
    sh -n "$WORK_DIR/control/$script" || fail "$script is not valid sh"
done

contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}')
for path in ./usr/bin/beamline_router ./etc/beamline-router/router.conf \
    ./usr/lib/systemd/system/beamline-router.service \
    ./usr/share/beamline-router/policies/acme/premium.json \
    ./usr/share/beamline-router/prometheus/prometheus.yml ./usr/share/beamline-router/prometheus/alerts.yml \
    ./usr/share/beamline-router/grafana/beamline-router.json \
    ./usr/share/doc/beamline-router/OPERATIONS.md ./usr/share/doc/beamline-router/README.md; do
    grep -qxF "$path" <<< "$contents" || fail "the package lacks $path"
done
unwanted=$(grep -E '/(unit_|it_)[a-z_]*$|nats_echo_responder|loadgen|bench|_test\.yml$|/tests?/' <<< "$contents" || true)
[ -z "$unwanted" ] || fail "the package ships test or benchmark files:"$'\n'"$unwanted"

# dpkg itself unpacks it into a throwaway root and records it and its conffile there. The package
# has no preinst, so unpacking runs no script; configure (postinst) is for a real system (dpkg -i).
root="$WORK_DIR/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg --root="$root" --log=/dev/null --force-depends --force-not-root --unpack "$deb" > "$WORK_DIR/dpkg.log" 2>&1 ||
    { cat "$WORK_DIR/dpkg.log" >&2; fail "dpkg --root --unpack failed"; }
# Its hash is recorded at configure time; until then dpkg marks it "newconffile".
dpkg --root="$root" --status beamline-router | grep -qE '^ /etc/beamline-router/router.conf ([0-9a-f]{32}|newconffile)$' ||
    fail "dpkg did not record /etc/beamline-router/router.conf as a conffile"
say "unpacked by dpkg into $root ($(dpkg --root="$root" --listfiles beamline-router | wc -l) paths)"

bin="$root/usr/bin/beamline_router"
if ldd "$bin" | grep -q 'not found'; then fail "unresolved libraries: $(ldd "$bin" | grep 'not found')"; fi
"$bin" version | grep -q . || fail "the packaged binary does not run"
# The packaged configuration is accepted as it is (it sets nothing: defaults everywhere). Unpacked
# and not yet configured, dpkg keeps a new conffile as <name>.dpkg-new.
conf="$root/etc/beamline-router/router.conf"
[ -f "$conf" ] || conf="$conf.dpkg-new"
"$bin" config --config "$conf" | grep -q '^policies_dir = ./policies$' ||
    fail "the packaged router.conf is not accepted or changed policies_dir"

unit="$root/usr/lib/systemd/system/beamline-router.service"
for line in Type=notify 'ExecStart=/usr/bin/beamline_router run --config /etc/beamline-router/router.conf' \
    'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure NoNewPrivileges=yes ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes LimitNOFILE=65536 User=beamline-router \
    WorkingDirectory=/var/lib/beamline-router \
    'ReadWritePaths=/var/lib/beamline-router /var/log/beamline-router'; do
    grep -qxF "$line" "$unit" || fail "the unit lacks '$line'"
done
if ! command -v systemd-analyze > /dev/null; then
    say "SKIP systemd-analyze verify: systemd-analyze is not installed (package systemd)"
else
    # Verified in the throwaway root, where ExecStart's /usr/bin/beamline_router exists; it gets the
    # /bin/kill that ExecReload runs (every Debian system has it: procps), and the targets the unit
    # names are not looked for there (--recursive-errors=no): only this unit is judged.
    install -D /bin/kill "$root/bin/kill"
    if ! out=$(systemd-analyze verify --recursive-errors=no --root="$root" \
        /usr/lib/systemd/system/beamline-router.service 2>&1); then
        fail "systemd-analyze verify rejects the unit:"$'\n'"$out"
    fi
    [ -z "$out" ] || fail "systemd-analyze verify warns about the unit:"$'\n'"$out"
    say "systemd-analyze verify: the unit is accepted"
fi
say "PASS"
