#!/usr/bin/env bash
# Generates the certificates for NATS over (mutual) TLS with openssl.
#
#   scripts/generate_certs.sh [--force] [--other-ca] [--quiet]
#
# Writes into ${CERTS_DIR:-<repo>/certs}:
#   ca.pem, ca-key.pem            a self-signed CA ("Beamline Test CA")
#   server.pem, server-key.pem    CN localhost, SAN DNS:localhost + IP:127.0.0.1, extendedKeyUsage serverAuth
#   client.pem, client-key.pem    CN beamline-client, extendedKeyUsage clientAuth
# With --other-ca, also into $CERTS_DIR/other/: a second, unrelated CA and a client certificate it
# signed (CN beamline-other-client), for checking that a client from another CA is refused.
#
# Idempotent: a complete, valid set (chain verifies, not expiring within a day, key matches the
# certificate) is kept; anything else is regenerated. --force regenerates regardless.
# Keys are EC P-256 and mode 0600. Nothing written here is ever committed.
# Environment: CERTS_DIR, CERT_DAYS (825), SERVER_CN (localhost), CLIENT_CN (beamline-client).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { usage_from_header; }

force=false
other=false
quiet=false
for arg in "$@"; do
    case "$arg" in
        --force) force=true ;;
        --other-ca) other=true ;;
        --quiet) quiet=true ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$arg' (see --help)" ;;
    esac
done

command -v openssl > /dev/null || die "openssl is not installed (apt-get install openssl)"

CERTS_DIR="${CERTS_DIR:-$BEAMLINE_ROOT/certs}"
CERT_DAYS="${CERT_DAYS:-825}"
SERVER_CN="${SERVER_CN:-localhost}"
CLIENT_CN="${CLIENT_CN:-beamline-client}"
[[ "$CERT_DAYS" =~ ^[1-9][0-9]*$ ]] || die "CERT_DAYS must be a positive number of days, got '$CERT_DAYS'"

say() { $quiet || log "$@"; }

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2> /dev/null; }

# make_ca DIR CN: a self-signed CA certificate and its key.
make_ca() {
    local dir=$1 cn=$2
    new_key "$dir/ca-key.pem" || return 1
    openssl req -x509 -new -key "$dir/ca-key.pem" -out "$dir/ca.pem" -days "$CERT_DAYS" \
        -subj "/O=Beamline/CN=$cn" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" 2> /dev/null || return 1
}

# make_leaf DIR NAME CN EXTENSIONS: NAME.pem/NAME-key.pem signed by DIR/ca.pem.
make_leaf() {
    local dir=$1 name=$2 cn=$3 ext=$4
    new_key "$dir/$name-key.pem" || return 1
    openssl req -new -key "$dir/$name-key.pem" -out "$dir/$name.csr" -subj "/O=Beamline/CN=$cn" \
        2> /dev/null || return 1
    printf '%s\n' "$ext" > "$dir/$name.ext" || return 1
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
        -set_serial "0x$(openssl rand -hex 16)" -days "$CERT_DAYS" -extfile "$dir/$name.ext" \
        -out "$dir/$name.pem" 2> /dev/null || return 1
    rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# shellcheck disable=SC2034 # read through ${!ext_var}
SERVER_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
# shellcheck disable=SC2034
CLIENT_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

# valid_pair DIR NAME PURPOSE: NAME.pem chains to DIR/ca.pem for PURPOSE, both still valid a day
# from now, and NAME-key.pem is its key.
valid_pair() {
    local dir=$1 name=$2 purpose=$3
    [ -s "$dir/ca.pem" ] && [ -s "$dir/ca-key.pem" ] && [ -s "$dir/$name.pem" ] && [ -s "$dir/$name-key.pem" ] ||
        return 1
    openssl verify -purpose "$purpose" -attime $(($(date +%s) + 86400)) -CAfile "$dir/ca.pem" \
        "$dir/$name.pem" > /dev/null 2>&1 || return 1
    [ "$(openssl x509 -in "$dir/$name.pem" -noout -pubkey 2> /dev/null)" = \
      "$(openssl pkey -in "$dir/$name-key.pem" -pubout 2> /dev/null)" ]
}

# ensure_set DIR CA_CN LEAVES...: (re)generates DIR's set in a scratch directory next to it and
# moves it into place, so a reader never sees half a set. A LEAF is name:cn:purpose:extensions-var.
ensure_set() {
    local dir=$1 ca_cn=$2
    shift 2
    local complete=true spec name cn purpose
    if ! $force; then
        for spec in "$@"; do
            IFS=: read -r name cn purpose _ <<< "$spec"
            valid_pair "$dir" "$name" "$purpose" || complete=false
        done
        if $complete; then
            say "kept valid certificates in $dir"
            return
        fi
    fi
    mkdir -p "$dir"
    local scratch
    scratch=$(mktemp -d "$dir/.generate.XXXXXX")
    (
        umask 077
        make_ca "$scratch" "$ca_cn" || exit 1
        for spec in "$@"; do
            IFS=: read -r name cn purpose ext_var <<< "$spec"
            make_leaf "$scratch" "$name" "$cn" "${!ext_var}" || exit 1
        done
    ) || { rm -rf "$scratch"; die "openssl failed while generating certificates in $dir"; }
    chmod 0644 "$scratch"/*.pem
    chmod 0600 "$scratch"/*-key.pem
    local f
    for f in "$scratch"/*.pem; do mv -f "$f" "$dir/"; done
    rm -rf "$scratch"
    for f in "$dir"/ca.pem "$dir"/ca-key.pem; do say "wrote $f"; done
    for spec in "$@"; do
        IFS=: read -r name _ <<< "$spec"
        say "wrote $dir/$name.pem"
        say "wrote $dir/$name-key.pem"
    done
}

ensure_set "$CERTS_DIR" "Beamline Test CA" \
    "server:$SERVER_CN:sslserver:SERVER_EXT" \
    "client:$CLIENT_CN:sslclient:CLIENT_EXT"
if $other; then
    ensure_set "$CERTS_DIR/other" "Beamline Unrelated CA" \
        "client:beamline-other-client:sslclient:CLIENT_EXT"
fi
