#!/usr/bin/env bash
# Capture what a person sees of `tuimail check` in a real terminal (tmux) at 80 and 120 columns,
# against the test mail stack: one account that passes, one whose certificate is not trusted.
# Run as root from the repo root after `bash tests/run` has made .venv: bash screenshots/capture-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
D=$(mktemp -d -p /tmp) && chmod 755 "$D"
trap 'bash tests/mailstack/mailstack.sh stop "$D" >/dev/null 2>&1; rm -rf "$D"' EXIT
MAILSTACK_PORT_BASE=${MAILSTACK_PORT_BASE:-50000} bash tests/mailstack/mailstack.sh start "$D" >/dev/null 2>&1
# shellcheck disable=SC1091
. "$D/mailstack.env"
account() {  # name, extra line
    cat <<TOML
[accounts.$1]
name = "Alice Example"
email = "alice@example.test"
[accounts.$1.incoming]
host = "localhost"
port = $MAILSTACK_IMAPS_PORT
username = "alice"
password_command = "echo alice-pass"
$2
[accounts.$1.outgoing]
host = "localhost"
port = $MAILSTACK_SMTPS_PORT
username = "alice"
$2
TOML
}
{ account work "ca_file = \"$MAILSTACK_CA_CERT\""; account untrusted ""; } > "$D/config.toml"
for name in work untrusted; do
    for cols in 80 120; do
        tmux new -d -s tuimail-shot -x "$cols" -y 50 \
            ".venv/bin/tuimail --config $D/config.toml check $name; echo; echo '[done]'; sleep 60"
        for _ in $(seq 100); do
            tmux capture-pane -p -t tuimail-shot | grep -q '^\[done\]' && break
            sleep 0.1
        done
        tmux capture-pane -p -t tuimail-shot | sed '/^\[done\]/,$d' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' \
            > "screenshots/check-$name-${cols}cols.txt"
        tmux kill-session -t tuimail-shot
    done
done
ls screenshots/check-*.txt
