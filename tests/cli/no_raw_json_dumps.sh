#!/usr/bin/env bash
# no_raw_json_dumps.sh - src/ calls jarena_dumps(), never json_dumps() directly: inside an
# admission request jansson allocates from the request arena (src/base/jarena.h), and a
# json_dumps() result there would be arena memory that free() must never see.
# Usage: no_raw_json_dumps.sh [BINARY] (the binary is not used).
set -uo pipefail
cd "$(dirname "$0")/../.."
hits=$(grep -rnE '\bjson_dumps[[:space:]]*\(' src --include='*.c' | grep -v '^src/base/jarena\.c:' |
       grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*|//)')
if [ -n "$hits" ]; then
    echo "not ok - json_dumps() called directly (use jarena_dumps()):"
    echo "$hits" | sed 's/^/    /'
    exit 1
fi
echo "ok - every json_dumps in src/ goes through jarena_dumps()"
