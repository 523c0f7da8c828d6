#!/usr/bin/env bash
# Capture what a person sees of `tuimail sync`, `list`, `search`, `read` and `folders` in a real
# terminal (tmux) at 80 and 120 columns, against the test mail stack seeded with 2,000 messages.
# Run as root from the repo root after `bash tests/run` has made .venv: bash screenshots/capture-mail.sh
set -euo pipefail
cd "$(dirname "$0")/.."
D=$(mktemp -d -p /tmp) && chmod 755 "$D"
trap 'tmux kill-session -t tuimail-shot 2>/dev/null || true; bash tests/mailstack/mailstack.sh stop "$D" >/dev/null 2>&1; rm -rf "$D"' EXIT
MAILSTACK_PORT_BASE=${MAILSTACK_PORT_BASE:-51000} bash tests/mailstack/mailstack.sh start "$D" >/dev/null 2>&1
# shellcheck disable=SC1091
. "$D/mailstack.env"
bash tests/mailstack/mailstack.sh seed "$D" alice 2000 INBOX >/dev/null 2>&1
cat > "$D/config.toml" <<TOML
[accounts.work]
name = "Alice Example"
email = "alice@example.test"
[accounts.work.incoming]
host = "localhost"
port = $MAILSTACK_IMAPS_PORT
username = "alice"
password_command = "echo alice-pass"
ca_file = "$MAILSTACK_CA_CERT"
TOML
export XDG_CACHE_HOME="$D/cache" XDG_DATA_HOME="$D/data"
run() {  # name, columns, command...
    local name=$1 cols=$2; shift 2
    tmux new -d -s tuimail-shot -x "$cols" -y 60 \
        -e XDG_CACHE_HOME="$XDG_CACHE_HOME" -e XDG_DATA_HOME="$XDG_DATA_HOME" \
        "$* ; echo; echo '[done]'; sleep 60"
    for _ in $(seq 300); do
        tmux capture-pane -p -t tuimail-shot | grep -q '^\[done\]' && break
        sleep 0.1
    done
    tmux capture-pane -p -t tuimail-shot | sed '/^\[done\]/,$d' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' \
        > "screenshots/mail-$name-${cols}cols.txt"
    tmux kill-session -t tuimail-shot
}
T=".venv/bin/tuimail --config $D/config.toml"
run sync 80 "$T sync"
ID=$($T list --limit 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
for cols in 80 120; do
    run list "$cols" "$T list --limit 15"
    run search "$cols" "$T search 'from:guido is:unread' --limit 8"
    run folders "$cols" "$T folders"
    run read "$cols" "$T read $ID"
done
ls screenshots/mail-*.txt
