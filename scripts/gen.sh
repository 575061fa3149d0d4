#!/usr/bin/env bash
# Regenerates everything under gen/ from the contracts and the Prisma schema.
# Runs on `npm install` (postinstall), so a fresh clone needs no extra step.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
# --path: only our contracts; Google's annotation protos (buf.yaml) are imports.
buf generate --path proto/whaleshark
mkdir -p gen
# Descriptor set for gRPC server reflection (lib/grpc). Outside gen/ts because
# buf's `clean: true` wipes that folder.
buf build --path proto/whaleshark --exclude-source-info -o gen/descriptor.binpb
# The Prisma CLI would download its schema engine, which `generate` does not
# need; /bin/false keeps it offline (TOOLCHAIN.md §3).
PRISMA_SCHEMA_ENGINE_BINARY=/bin/false prisma generate >/dev/null
