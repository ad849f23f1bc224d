#!/usr/bin/env bash
# Runs inside `dbus-run-session`: starts GNOME Keyring on this private session bus with a
# freshly created, unlocked login keyring, then runs exactly the README's test command.
set -euo pipefail

cd "$(dirname "$0")/.."

# The keyring files and control socket go to a scratch folder, never the user's own:
# a login keyring left from another run would have another password and stay locked.
KEYRING_HOME=$(mktemp -d /tmp/mailsettings-ci-keyring.XXXXXX)
chmod 700 "$KEYRING_HOME"
keyring_pid=""
cleanup() {
    if [[ -n "$keyring_pid" ]]; then
        kill "$keyring_pid" 2>/dev/null || true
        wait "$keyring_pid" 2>/dev/null || true
    fi
    rm -rf "$KEYRING_HOME"
}
trap cleanup EXIT

# --unlock reads the password from stdin and creates the login keyring with it if needed.
printf '%s' "ci-keyring-password" \
    | XDG_DATA_HOME="$KEYRING_HOME/data" XDG_RUNTIME_DIR="$KEYRING_HOME" \
      gnome-keyring-daemon --foreground --unlock --components=secrets \
      >"$KEYRING_HOME/env" 2>"$KEYRING_HOME/log" &
keyring_pid=$!

# Wait (bounded) until it owns the Secret Service name; asking earlier would let D-Bus
# start a second, locked daemon.
has_secret_service() {
    local reply
    reply=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null) || return 1
    [[ "$reply" == *"boolean true"* ]]
}
for _ in $(seq 1 100); do
    has_secret_service && break
    if ! kill -0 "$keyring_pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if ! has_secret_service; then
    echo "gnome-keyring-daemon did not provide the Secret Service; its log:" >&2
    cat "$KEYRING_HOME/log" >&2
    exit 1
fi
# Export whatever it printed (GNOME_KEYRING_CONTROL=..., one per line).
while IFS= read -r line; do
    if [[ "$line" == *=* ]]; then
        export "${line?}"
    fi
done <"$KEYRING_HOME/env"
echo "gnome-keyring-daemon running (pid $keyring_pid) on $DBUS_SESSION_BUS_ADDRESS"

# The README's test command, word for word.
python -m pip install -e ".[test]" && python -m pytest
