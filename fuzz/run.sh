#!/usr/bin/env bash
# Runs one fuzz target on stable Rust (no sanitizer) for a fixed time with the protocol dictionary.
# Usage: fuzz/run.sh TARGET SECONDS      e.g. fuzz/run.sh decode_line 60
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 TARGET SECONDS" >&2
    exit 2
fi
target=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)

cd "$here"
# Valid requests (the examples of docs/protocol.md) seed the corpus so fuzzing reaches commits,
# not only the decoder's refusals.
corpora=("corpus/$target")
mkdir -p "corpus/$target"
if [[ -d "seeds/$target" ]]; then
    corpora+=("seeds/$target")
fi
exec cargo fuzz run "$target" -s none "${corpora[@]}" -- -max_total_time="$seconds" -dict="$here/dictionaries/json.dict"
