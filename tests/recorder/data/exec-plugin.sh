#!/bin/sh
# A test exec credential plugin (client.authentication.k8s.io ExecCredential on stdout).
#   exec-plugin.sh token API_VERSION TOKEN [EXPIRATION]  an ExecCredential holding TOKEN
#   exec-plugin.sh file PATH [EXIT_CODE]                  prints the file PATH, exits EXIT_CODE
# When PLUGIN_INFO_OUT is set, KUBERNETES_EXEC_INFO is written to that file first, and
# PLUGIN_ENV_OUT gets the value of $PLUGIN_TEST_VAR (to check the exec env block).
set -eu
if [ -n "${PLUGIN_INFO_OUT:-}" ]; then printf '%s' "${KUBERNETES_EXEC_INFO:-}" > "$PLUGIN_INFO_OUT"; fi
if [ -n "${PLUGIN_ENV_OUT:-}" ]; then printf '%s' "${PLUGIN_TEST_VAR:-}" > "$PLUGIN_ENV_OUT"; fi
case "$1" in
  token)
    expiration=""
    if [ $# -ge 4 ]; then expiration=",\"expirationTimestamp\":\"$4\""; fi
    printf '{"kind":"ExecCredential","apiVersion":"%s","status":{"token":"%s"%s}}\n' "$2" "$3" "$expiration"
    ;;
  file)
    cat "$2"
    exit "${3:-0}"
    ;;
  *)
    echo "exec-plugin.sh: unknown mode $1" >&2
    exit 2
    ;;
esac
