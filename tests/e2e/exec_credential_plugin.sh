#!/bin/sh
# A kubectl exec credential plugin for the tests: prints an ExecCredential with the token given
# as $1, in the apiVersion the caller asked for (KUBERNETES_EXEC_INFO), as real plugins do.
case "$KUBERNETES_EXEC_INFO" in
  *v1beta1*) api=client.authentication.k8s.io/v1beta1 ;;
  *) api=client.authentication.k8s.io/v1 ;;
esac
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s"}}\n' "$api" "$1"
