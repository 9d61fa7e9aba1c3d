#!/bin/sh
# The official image's entrypoint contract (https://github.com/nodejs/docker-node/blob/main/README.md):
# `docker run node:24-slim sh -c …` runs the command; what is not a command is node's arguments
# (`docker run node:24-slim -e …`, `… app.js`). Either way the process replaces this script, so
# it is PID 1 and receives `docker stop`'s SIGTERM itself.
set -e

runnable() {
  case "$1" in
    '' | -*) return 1 ;;
  esac
  command -v "$1" >/dev/null 2>&1 || return 1
  # A script named by its path (`./app.js`) without the execute bit is node's to run.
  [ ! -f "$1" ] || [ -x "$1" ]
}

if runnable "${1:-}"; then exec "$@"; fi
exec node "$@"
